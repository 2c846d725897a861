/**
 * Browsing open tasks at scale: "open, my skills, within r km, nearest first" served by a GiST
 * index in O(log n), digital and recent tasks by their own btree, and a security-definer function
 * that states the operator's visibility rule itself so the index conditions can be used.
 *
 * Places are points on the unit sphere in 3-D (`cube`, a contrib extension present on hosted
 * Supabase, Debian's Postgres and the embedded one; PostGIS is not everywhere we run). The straight-
 * line (chord) distance between two such points grows with the great-circle distance, so ordering
 * by cube's `<->` is exactly nearest first, and a cube around the centre bounds a radius. We build
 * the point ourselves rather than with earthdistance's ll_to_earth, whose body resolves names
 * through the search_path and so breaks index maintenance run under an empty one.
 */
do $$
begin
  if not exists (select from pg_extension where extname = 'cube') then
    create schema if not exists extensions;
    create extension cube with schema extensions;
  end if;
end
$$;
-- The planner inlines sphere_point (below) into every query on tasks, as the caller, so callers
-- need to see the schema its body names. Hosted Supabase grants this already.
grant usage on schema extensions to authenticated, service_role;

/**
 * A latitude/longitude as a point on the unit sphere; null when either is null. Unlike our other
 * functions it has no `set search_path`: Postgres inlines only SQL functions without SET clauses,
 * and inlined, the point costs a few arithmetic calls per row instead of a function call. Every
 * name in it is schema-qualified or a pg_catalog built-in (searched first).
 */
create function private.sphere_point(p_lat double precision, p_lng double precision) returns extensions.cube
  language sql immutable strict parallel safe
  as $$
  select extensions.cube(array[cos(radians(p_lat)) * cos(radians(p_lng)),
                               cos(radians(p_lat)) * sin(radians(p_lng)),
                               sin(radians(p_lat))])
$$;

/** The chord on the unit sphere that spans `p_km` of great circle (capped at the diameter). */
create function private.chord_of_km(p_km double precision) returns double precision
  language sql immutable strict parallel safe
  set search_path = ''
  as $$ select 2 * sin(least(p_km / 6371.0, pi()) / 2) $$;

-- Replaces the latitude band (a btree on latitude still read every task of the band worldwide).
drop index public.tasks_open_by_latitude;
create index tasks_open_physical_by_place on public.tasks
  using gist (private.sphere_point(location_lat, location_lng))
  where status = 'PENDING' and operator_id is null and task_domain = 'PHYSICAL';
-- Open tasks newest first, per domain: digital tasks after the physical ones near an operator, and
-- every open task (a merge of both domains) when the operator gives no place.
create index tasks_open_by_recency on public.tasks (task_domain, created_at desc, id desc)
  where status = 'PENDING' and operator_id is null;
-- An operator's own tasks, most recently changed first (GET /operator/my-tasks), so a page is read
-- from where it starts instead of sorting everything the operator ever held.
create index tasks_held_by_operator on public.tasks
  (operator_id, (coalesce(submitted_at, started_at, accepted_at, created_at)) desc, id)
  where operator_id is not null;

/**
 * One page of open tasks for the calling operator, registered and KYC-verified (else 403). Open
 * means PENDING, unclaimed and before its deadline, exactly what public.open_tasks shows, with the
 * same columns hidden (digital instructions, the agent's public key); an operator with skills sees
 * only those task types. Security definer, like that view, and not a query on the view: behind a
 * security barrier (or row-level security) Postgres will not use a non-leakproof operator such as
 * cube's as an index condition, and the nearby search would read every open task.
 *
 * With a place (p_lat, p_lng): physical tasks within p_radius_km, nearest first (phase 'near'),
 * then digital tasks, newest first (phase 'recent'). Without one: every open task newest first.
 * Pages by `p_offset`, or after a keyset: (p_after_phase, p_after_chord | p_after_created, p_after_id)
 * of the last row seen. Each branch reads at most offset + limit rows of its index.
 */
create function api.browse_open_tasks(
  p_lat double precision, p_lng double precision, p_radius_km double precision, p_task_type text,
  p_task_domain text, p_min_reward_cents bigint, p_limit integer, p_offset integer default 0,
  p_after_phase text default null, p_after_chord double precision default null,
  p_after_created timestamptz default null, p_after_id text default null
) returns table (
  id text, title text, description text, task_type text, task_domain text, proof_type text,
  location_lat double precision, location_lng double precision, location_address text, reward_cents bigint,
  deadline timestamptz, proof_requirements text[], digital_instructions text, agent_public_key text,
  created_at timestamptz, phase text, chord double precision, distance_km double precision
)
  language plpgsql stable
  security definer
  set search_path = ''
  -- Planned for the actual arguments, so unused branches and keysets fold away and a keyset is an
  -- index condition; and never a bitmap scan, which would read the whole radius before sorting.
  set plan_cache_mode = force_custom_plan
  set enable_bitmapscan = off
  as $$
declare
  v_skills text[] := (private.require_operator(true)).skills;
  v_near boolean := p_lat is not null and p_lng is not null;
  v_centre extensions.cube := private.sphere_point(p_lat, p_lng);
  v_chord double precision := private.chord_of_km(p_radius_km);
  v_box extensions.cube := extensions.cube_enlarge(v_centre, v_chord, 3);
  v_rows integer := p_offset + p_limit;
begin
  return query
    select r.id, r.title, r.description, r.task_type, r.task_domain, r.proof_type, r.location_lat, r.location_lng,
           r.location_address, r.reward_cents, r.deadline, r.proof_requirements,
           -- As public.open_tasks shows them: nothing of the agent's before the task is held.
           null::text, null::text, r.created_at, r.phase, r.chord,
           case when r.phase = 'near' then api.distance_km(p_lat, p_lng, r.location_lat, r.location_lng) end
      from (
        (select t.*, 'near'::text as phase,
                private.sphere_point(t.location_lat, t.location_lng) operator(extensions.<->) v_centre as chord
           from public.tasks t
          where v_near and (p_after_phase is null or p_after_phase = 'near')
            and (p_task_domain is null or p_task_domain = 'PHYSICAL')
            and t.status = 'PENDING' and t.operator_id is null and t.task_domain = 'PHYSICAL'
            and private.sphere_point(t.location_lat, t.location_lng) operator(extensions.<@) v_box
            and private.sphere_point(t.location_lat, t.location_lng) operator(extensions.<->) v_centre <= v_chord
            and t.deadline > now()
            and (p_task_type is null or t.task_type = p_task_type)
            and (p_min_reward_cents is null or t.reward_cents >= p_min_reward_cents)
            and (cardinality(v_skills) = 0 or t.task_type = any (v_skills))
            and (p_after_phase is null
                 or (private.sphere_point(t.location_lat, t.location_lng) operator(extensions.<->) v_centre, t.id) > (p_after_chord, p_after_id))
          order by private.sphere_point(t.location_lat, t.location_lng) operator(extensions.<->) v_centre, t.id
          limit v_rows)
        union all
        (select t.*, 'recent'::text, null::double precision
           from public.tasks t
          where t.status = 'PENDING' and t.operator_id is null and t.task_domain = 'DIGITAL'
            and (p_task_domain is null or p_task_domain = 'DIGITAL')
            and (p_after_phase is distinct from 'recent' or (t.created_at, t.id) < (p_after_created, p_after_id))
            and t.deadline > now()
            and (p_task_type is null or t.task_type = p_task_type)
            and (p_min_reward_cents is null or t.reward_cents >= p_min_reward_cents)
            and (cardinality(v_skills) = 0 or t.task_type = any (v_skills))
          order by t.created_at desc, t.id desc
          limit v_rows)
        union all
        (select t.*, 'recent'::text, null::double precision
           from public.tasks t
          where not v_near and (p_task_domain is null or p_task_domain = 'PHYSICAL')
            and t.status = 'PENDING' and t.operator_id is null and t.task_domain = 'PHYSICAL'
            and (p_after_phase is distinct from 'recent' or (t.created_at, t.id) < (p_after_created, p_after_id))
            and t.deadline > now()
            and (p_task_type is null or t.task_type = p_task_type)
            and (p_min_reward_cents is null or t.reward_cents >= p_min_reward_cents)
            and (cardinality(v_skills) = 0 or t.task_type = any (v_skills))
          order by t.created_at desc, t.id desc
          limit v_rows)
      ) r
     order by r.phase, r.chord, case when r.phase = 'near' then r.id end, r.created_at desc, r.id desc
     offset p_offset
     limit p_limit;
end
$$;

/**
 * How many open tasks a browse would list, counted up to `p_cap` (then exactly `p_cap`): the count
 * costs at most `p_cap` index entries whatever the number of tasks.
 */
create function api.count_open_tasks(
  p_lat double precision, p_lng double precision, p_radius_km double precision, p_task_type text,
  p_task_domain text, p_min_reward_cents bigint, p_cap integer
) returns integer
  language plpgsql stable
  security definer
  set search_path = ''
  set plan_cache_mode = force_custom_plan
  as $$
declare
  v_skills text[] := (private.require_operator(true)).skills;
  v_near boolean := p_lat is not null and p_lng is not null;
  v_centre extensions.cube := private.sphere_point(p_lat, p_lng);
  v_chord double precision := private.chord_of_km(p_radius_km);
  v_box extensions.cube := extensions.cube_enlarge(v_centre, v_chord, 3);
begin
  return (
    select count(*) from (
      (select from public.tasks t
        where v_near and (p_task_domain is null or p_task_domain = 'PHYSICAL')
          and t.status = 'PENDING' and t.operator_id is null and t.task_domain = 'PHYSICAL'
          and private.sphere_point(t.location_lat, t.location_lng) operator(extensions.<@) v_box
          and private.sphere_point(t.location_lat, t.location_lng) operator(extensions.<->) v_centre <= v_chord
          and t.deadline > now()
          and (p_task_type is null or t.task_type = p_task_type)
          and (p_min_reward_cents is null or t.reward_cents >= p_min_reward_cents)
          and (cardinality(v_skills) = 0 or t.task_type = any (v_skills))
        limit p_cap)
      union all
      (select from public.tasks t
        where t.status = 'PENDING' and t.operator_id is null and (t.task_domain = 'DIGITAL' or not v_near)
          and (p_task_domain is null or t.task_domain = p_task_domain)
          and t.deadline > now()
          and (p_task_type is null or t.task_type = p_task_type)
          and (p_min_reward_cents is null or t.reward_cents >= p_min_reward_cents)
          and (cardinality(v_skills) = 0 or t.task_type = any (v_skills))
        limit p_cap)
      limit p_cap) c);
end
$$;

revoke all on function api.browse_open_tasks(double precision, double precision, double precision, text, text, bigint,
  integer, integer, text, double precision, timestamptz, text) from public;
revoke all on function api.count_open_tasks(double precision, double precision, double precision, text, text, bigint, integer)
  from public;
grant execute on function api.browse_open_tasks(double precision, double precision, double precision, text, text, bigint,
  integer, integer, text, double precision, timestamptz, text) to authenticated;
grant execute on function api.count_open_tasks(double precision, double precision, double precision, text, text, bigint, integer)
  to authenticated;
