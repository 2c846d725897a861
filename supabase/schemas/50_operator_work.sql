/**
 * Files an operator uploaded as proof for a task it holds; submitted photo URLs must name one.
 * Proof uploaded without naming its task waits, unbound (no task_id), until the operator submits it.
 */
create table public.proof_files (
  path text primary key check (char_length(path) <= 512),
  operator_id text not null references public.operators (id),
  task_id text references public.tasks (id),
  content_type text not null check (content_type in ('image/jpeg', 'image/png', 'image/webp', 'image/heic')),
  size_bytes bigint not null check (size_bytes > 0),
  created_at timestamptz not null default now(),
  -- What the server read from the file when it stored it (api.record_photo_facts): its SHA-256,
  -- and for a JPEG the Guardian's difference hash and brightness spread. Null until then.
  brightness_spread real,
  dhash bigint,
  sha256 bytea check (octet_length(sha256) = 32),
  -- The words read in the pixels ('' when none); null when they were not read. Untrusted text.
  pixel_text text check (char_length(pixel_text) <= 10000)
);

create index proof_files_by_task on public.proof_files (task_id, operator_id);

create index proof_files_unbound on public.proof_files (operator_id) where task_id is null;

alter table public.proof_files enable row level security;

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
  created_at timestamptz, max_distance_m integer, phase text, chord double precision, distance_km double precision
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
           null::text, null::text, r.created_at, r.max_distance_m, r.phase, r.chord,
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
grant execute on function api.browse_open_tasks(double precision, double precision, double precision, text, text, bigint, integer, integer, text, double precision, timestamp with time zone, text) to authenticated;

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
  -- The capped count reads the open-task indexes only: where most tasks are closed, a sequential
  -- scan stopped at the cap could still read most of the table to find that many.
  set enable_seqscan = off
  set enable_bitmapscan = off
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
grant execute on function api.count_open_tasks(double precision, double precision, double precision, text, text, bigint, integer) to authenticated;

/**
 * Claims a PENDING task for the calling (verified) operator. The task row lock makes racing
 * operators queue: the first wins, the rest find it taken (409). Past its deadline, EXPIRED or
 * not yet marked so: 410.
 */
create function api.accept_task(p_task_id text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks;
begin
  select * into v_task from public.tasks t where t.id = p_task_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status = 'EXPIRED' or (v_task.status = 'PENDING' and v_task.deadline <= now()) then
    perform private.fail(410, 'task_expired', 'This task has passed its deadline');
  end if;
  if v_task.status <> 'PENDING' or v_task.operator_id is not null then
    perform private.fail(409, 'task_unavailable', format('This task is no longer available (status: %s)', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  update public.tasks t set operator_id = v_operator.id where t.id = p_task_id;
  perform private.transition_task(p_task_id, 'ACCEPTED', 'operator:' || v_operator.id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
grant execute on function api.accept_task(text) to authenticated;

/** The task the calling operator holds, locked, or 404 (a task held by someone else is not revealed). */
create function private.held_task(p_task_id text, p_operator_id text) returns public.tasks
  language plpgsql
  set search_path = ''
  as $$
declare
  v_task public.tasks;
begin
  select * into v_task from public.tasks t where t.id = p_task_id and t.operator_id = p_operator_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  return v_task;
end
$$;

/** ACCEPTED → IN_PROGRESS for the operator who holds the task. */
create function api.start_task(p_task_id text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks := private.held_task(p_task_id, v_operator.id);
begin
  if v_task.status <> 'ACCEPTED' then
    perform private.fail(409, 'invalid_transition', format('Only an ACCEPTED task can be started; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  perform private.transition_task(p_task_id, 'IN_PROGRESS', 'operator:' || v_operator.id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
grant execute on function api.start_task(text) to authenticated;

/**
 * Hands a held task back (its row locked by the caller): PENDING again and open to others, the
 * operator's uploaded files forgotten (their paths returned, for the caller to remove from storage),
 * and the release counted on the operator's record.
 */
create function private.release_task(p_task public.tasks, p_actor text) returns text[]
  language plpgsql
  set search_path = ''
  as $$
declare
  v_paths text[];
begin
  perform private.transition_task(p_task.id, 'PENDING', p_actor);
  update public.tasks t set operator_id = null, accepted_at = null, started_at = null where t.id = p_task.id;
  with gone as (delete from public.proof_files f where f.task_id = p_task.id returning f.path)
  select coalesce(array_agg(g.path), '{}') into v_paths from gone g;
  update public.operators o set releases = o.releases + 1 where o.id = p_task.operator_id;
  return v_paths;
end
$$;

/**
 * The calling operator hands back a task it holds and has not submitted (ACCEPTED or IN_PROGRESS):
 * it goes back to the feed, the agent hears task.released, and the paths of the proof files it
 * had uploaded come back for the API to remove.
 */
create function api.release_task(p_task_id text) returns table (id text, status text, discarded_files text[])
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(false);
  v_task public.tasks := private.held_task(p_task_id, v_operator.id);
  v_paths text[];
begin
  if v_task.status not in ('ACCEPTED', 'IN_PROGRESS') then
    perform private.fail(409, 'task_not_releasable', format('Only an ACCEPTED or IN_PROGRESS task can be handed back; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  v_paths := private.release_task(v_task, 'operator:' || v_operator.id);
  return query select v_task.id, 'PENDING'::text, v_paths;
end
$$;
grant execute on function api.release_task(text) to authenticated;

/**
 * Accepted tasks their operator did not start within the hold go back to the feed by themselves,
 * as if handed back (counted on the operator's record): physical tasks after `p_physical_hold`,
 * digital ones after `p_digital_hold` (null: never). Returns each task with its discarded files' paths.
 */
create function api.release_unstarted_tasks(p_physical_hold interval, p_digital_hold interval, p_limit integer default 500)
  returns table (task_id text, discarded_files text[])
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
begin
  for v_task in
    select * from public.tasks t
     where t.status = 'ACCEPTED'
       -- The shorter hold bounds the index range; each task is then held to its own domain's.
       and t.accepted_at <= now() - least(p_physical_hold, coalesce(p_digital_hold, p_physical_hold))
       and t.accepted_at <= now() - case t.task_domain when 'PHYSICAL' then p_physical_hold else p_digital_hold end
       and t.deadline > now()
     order by t.accepted_at
     limit p_limit
       for update skip locked
  loop
    return query select v_task.id, private.release_task(v_task, 'system');
  end loop;
end
$$;
grant execute on function api.release_unstarted_tasks(interval, interval, integer) to service_role;

/**
 * Records a proof file. With a task: one the calling operator holds and is working on. Without
 * one: the operator's own unbound file (at most 50 waiting), bound to a task when submitted.
 */
create function api.record_proof_file(p_task_id text, p_path text, p_content_type text, p_size_bytes bigint) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks;
begin
  if p_task_id is null then
    perform 1 from public.operators o where o.id = v_operator.id for update;
    if (select count(*) from public.proof_files f where f.operator_id = v_operator.id and f.task_id is null) >= 50 then
      perform private.fail(409, 'too_many_files', 'At most 50 uploads may wait unsubmitted; submit them or upload with task_id');
    end if;
  else
    v_task := private.held_task(p_task_id, v_operator.id);
    -- A DISPUTED task takes new proof while its operator may still resubmit it.
    if not (v_task.status in ('ACCEPTED', 'IN_PROGRESS')
            or (v_task.status = 'DISPUTED' and v_task.resubmitted_at is null and v_task.deadline > now())) then
      perform private.fail(409, 'task_not_in_progress', format('Proof can only be uploaded while the task is ACCEPTED or IN_PROGRESS, or DISPUTED and open to one resubmission; it is %s', v_task.status));
    end if;
    if (select count(*) from public.proof_files f where f.task_id = p_task_id) >= 50 then
      perform private.fail(409, 'too_many_files', 'A task takes at most 50 proof files');
    end if;
  end if;
  insert into public.proof_files (path, operator_id, task_id, content_type, size_bytes)
  values (p_path, v_operator.id, p_task_id, p_content_type, p_size_bytes);
end
$$;
grant execute on function api.record_proof_file(text, text, text, bigint) to authenticated;

/**
 * Forgets up to `p_limit` unbound proof files (uploaded without a task and never submitted) older
 * than `p_older_than`, and returns their paths for the caller to remove from storage. The rows go
 * first: once gone, no submit can bind the file, so removing it afterwards cannot take a photo
 * from a proof.
 */
create function api.sweep_unbound_proof_files(p_older_than interval, p_limit integer) returns setof text
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  return query
    delete from public.proof_files f
     where f.path in (select u.path from public.proof_files u
                       where u.task_id is null and u.created_at < now() - p_older_than
                       order by u.created_at
                       limit p_limit
                         for update skip locked)
    returning f.path;
end
$$;
grant execute on function api.sweep_unbound_proof_files(interval, integer) to service_role;

/**
 * Records what the server read from a file it stored: its SHA-256 (hex) and, for a JPEG, its
 * difference hash (16 hex digits), brightness spread and the words read in its pixels. The API calls it as service_role right
 * after storing the file, so nothing an operator sends can set them.
 */
create function api.record_photo_facts(p_path text, p_sha256 text, p_dhash text, p_spread real, p_text text) returns void
  language sql
  security definer
  set search_path = ''
  as $$
  update public.proof_files
     set sha256 = decode(p_sha256, 'hex'),
         dhash = case when p_dhash is null then null else ('x' || p_dhash)::bit(64)::bigint end,
         brightness_spread = p_spread,
         pixel_text = p_text
   where path = p_path
$$;
grant execute on function api.record_photo_facts(text, text, text, real, text) to service_role;

/**
 * Stores the proof for a task the operator holds (its row locked by the caller): every photo path
 * must be a file this operator uploaded, for this task or for none (those are bound to this task
 * now), and each at most once.
 */
create function private.store_proof(p_task_id text, p_operator_id text, p_proof jsonb, p_photo_paths text[]) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_unknown text;
begin
  if cardinality(p_photo_paths) <> (select count(distinct p) from unnest(p_photo_paths) p) then
    perform private.fail(400, 'duplicate_photo', 'photos: lists the same file more than once');
  end if;
  update public.proof_files f set task_id = p_task_id
   where f.path = any (p_photo_paths) and f.operator_id = p_operator_id and f.task_id is null;
  select p into v_unknown from unnest(p_photo_paths) p
   where not exists (select from public.proof_files f where f.path = p and f.task_id = p_task_id and f.operator_id = p_operator_id)
   limit 1;
  if v_unknown is not null then
    perform private.fail(400, 'unknown_photo', 'photos: every photo must be a file you uploaded for this task with POST /operator/upload',
                         jsonb_build_object('photo', v_unknown));
  end if;
  update public.tasks t set proof = p_proof where t.id = p_task_id;
end
$$;

/**
 * Submits proof for a task the calling operator holds (ACCEPTED or IN_PROGRESS, before its
 * deadline): stores it (private.store_proof), moves the task to SUBMITTED and queues it for the
 * Guardian.
 */
create function api.submit_task(p_task_id text, p_proof jsonb, p_photo_paths text[]) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks := private.held_task(p_task_id, v_operator.id);
begin
  if v_task.status not in ('ACCEPTED', 'IN_PROGRESS') then
    perform private.fail(409, 'invalid_transition', format('Only an ACCEPTED or IN_PROGRESS task can be submitted; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  if v_task.deadline <= now() then
    perform private.fail(410, 'task_expired', 'This task has passed its deadline');
  end if;
  perform private.store_proof(p_task_id, v_operator.id, p_proof, p_photo_paths);
  perform private.transition_task(p_task_id, 'SUBMITTED', 'operator:' || v_operator.id);
  insert into public.guardian_jobs (task_id) values (p_task_id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
grant execute on function api.submit_task(text, jsonb, text[]) to authenticated;

/**
 * The operator of one of the calling agent's tasks as the reference shows it: id, short name
 * ("Jane D."), mean rating; and how many tasks it handed back. Nothing else about the operator (no
 * email, no phone).
 */
create function api.task_operator(p_task_id text) returns table (id text, name text, rating numeric, releases integer)
  language sql stable
  security definer
  set search_path = ''
  as $$
  select o.id,
         split_part(o.name, ' ', 1) || coalesce(' ' || nullif(left(split_part(o.name, ' ', 2), 1), '') || '.', ''),
         case when o.rating_count > 0 then round(o.rating_sum::numeric / o.rating_count, 2) end,
         o.releases
    from public.tasks t
    join public.operators o on o.id = t.operator_id
   where t.id = p_task_id and t.agent_id = (select private.require_agent())
$$;
grant execute on function api.task_operator(text) to authenticated;

/**
 * Open tasks as a verified operator sees them before accepting. The view runs with its owner's
 * rights (so past the policy above) and filters on the caller itself; security_barrier keeps a
 * caller's own conditions from being evaluated before that filter. Its columns mirror the task's,
 * with the hidden ones null, so one query shape serves open and held tasks.
 */
create view public.open_tasks with (security_barrier) as
  select t.id, t.title, t.description, t.status, t.task_type, t.task_domain, t.proof_type,
         t.location_lat, t.location_lng, t.location_address, t.reward_cents, t.deadline, t.proof_requirements,
         null::text as digital_instructions, null::text as agent_public_key, null::text as operator_id,
         null::jsonb as guardian_result, null::timestamptz as accepted_at, null::timestamptz as started_at,
         null::timestamptz as submitted_at, t.created_at, t.max_distance_m
    from public.tasks t
   where t.status = 'PENDING' and t.operator_id is null and t.deadline > now()
     and (select api.current_verified_operator_id()) is not null;

-- Who reads what: an operator reads its proof files, and a verified operator the open tasks.
create policy "an operator reads its proof files" on public.proof_files for select to authenticated
  using (operator_id = (select api.current_operator_id()));
grant select on public.proof_files to authenticated, service_role;
grant select on public.open_tasks to authenticated;
