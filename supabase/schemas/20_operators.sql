/**
 * A verified human who does tasks. `id` is the `sub` of the operator's identity token (a Clerk
 * user id in production).
 */
create table public.operators (
  id text primary key check (id ~ '^[A-Za-z0-9_.:@|-]{1,128}$'),
  name text not null check (char_length(name) between 1 and 100),
  email text not null check (char_length(email) between 3 and 320),
  phone text check (char_length(phone) between 5 and 32),
  city text not null check (char_length(city) between 1 and 100),
  country text not null check (country ~ '^[A-Z]{2}$'),
  lat double precision check (lat between -90 and 90),
  lng double precision check (lng between -180 and 180),
  skills text[] not null default '{}' check (cardinality(skills) <= 20),
  kyc_status text not null check (kyc_status in ('PENDING', 'VERIFIED', 'REJECTED')),
  kyc_reviewed_at timestamptz,
  rating_sum bigint not null default 0,
  rating_count integer not null default 0,
  created_at timestamptz not null default now(),
  -- Where payouts go (EIP-55), proven by a signature; a changed address is usable only after a
  -- cool-down, so a stolen session cannot redirect earnings at once.
  payout_address text check (payout_address ~ '^0x[0-9a-fA-F]{40}$'),
  payout_address_usable_at timestamptz,
  constraint payout_address_has_its_start check ((payout_address is null) = (payout_address_usable_at is null)),
  -- How far from home the operator will go for a task; null: no limit of their own.
  travel_radius_km integer check (travel_radius_km between 1 and 500),
  -- Tasks this operator took and handed back (or let go unstarted past the hold); agents see it.
  releases integer not null default 0 check (releases >= 0),
  constraint coordinates_come_in_pairs check ((lat is null) = (lng is null))
);

create index operators_verified_by_latitude on public.operators (lat) where kyc_status = 'VERIFIED' and lat is not null;

alter table public.operators enable row level security;

/** The calling operator: the `sub` of an authenticated identity that is not an agent, else null. */
create function api.current_operator_id() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  return case when v_claims->>'role' = 'authenticated' and coalesce(v_claims->>'humanops_role', 'operator') = 'operator'
              then v_claims->>'sub' end;
end
$$;
grant execute on function api.current_operator_id() to authenticated, service_role;

/** The calling operator when its KYC is VERIFIED, else null: what open-task reads are keyed on. */
create function api.current_verified_operator_id() returns text
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return (select o.id from public.operators o where o.id = api.current_operator_id() and o.kyc_status = 'VERIFIED');
end
$$;
grant execute on function api.current_verified_operator_id() to authenticated;

/** The calling operator's row, or 401/403. `p_verified` demands KYC VERIFIED. */
create function private.require_operator(p_verified boolean) returns public.operators
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_operator public.operators;
  v_id text := api.current_operator_id();
begin
  if v_id is null then
    perform private.fail(401, 'unauthenticated', 'This action needs an operator token');
  end if;
  select * into v_operator from public.operators o where o.id = v_id;
  if v_operator.id is null then
    perform private.fail(403, 'operator_not_registered', 'Register as an operator first (POST /operator/register)');
  end if;
  if p_verified and v_operator.kyc_status <> 'VERIFIED' then
    perform private.fail(403, 'kyc_required', format('KYC verification required (status: %s)', v_operator.kyc_status),
                         jsonb_build_object('kyc_status', v_operator.kyc_status));
  end if;
  return v_operator;
end
$$;

/** Claims an idempotency key for the calling registered operator (see private.claim_idempotency_key). */
create function api.claim_operator_idempotency_key(p_key text, p_request_hash text)
  returns table (state text, response_status integer, response_body jsonb)
  language sql
  security definer
  set search_path = ''
  as $$
  select * from private.claim_idempotency_key(null, (private.require_operator(false)).id, p_key, p_request_hash);
$$;
grant execute on function api.claim_operator_idempotency_key(text, text) to authenticated;

create function api.store_operator_idempotent_response(p_key text, p_status integer, p_body jsonb) returns void
  language sql
  security definer
  set search_path = ''
  as $$
  select private.store_idempotent_response(null, (private.require_operator(false)).id, p_key, p_status, p_body);
$$;
grant execute on function api.store_operator_idempotent_response(text, integer, jsonb) to authenticated;

/** Great-circle distance in km (haversine on a 6371 km sphere); a pure function anyone may call. */
create function api.distance_km(lat1 double precision, lng1 double precision, lat2 double precision, lng2 double precision)
  returns double precision
  language sql immutable parallel safe
  set search_path = ''
  as $$
  select 2 * 6371 * asin(sqrt(
    power(sin(radians(lat2 - lat1) / 2), 2) + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lng2 - lng1) / 2), 2)))
$$;
grant execute on function api.distance_km(double precision, double precision, double precision, double precision) to authenticated, service_role;

/**
 * The centre of the 0.02° grid cell holding a coordinate. Operator search must not locate a
 * person: exact distances let three searches trilaterate an operator to about a metre, and
 * rounding alone would not help, since an agent that moves its search point until a rounded figure
 * (or the radius filter) flips learns the exact distance at that point. So every distance, the
 * radius filter and the order are computed from the centre of the 0.02° × 0.02° cell (about 2.2 km
 * north-south, less east-west away from the equator) that holds the operator, never from its
 * stored coordinates, and reported in whole kilometres (at least 1). The most any number of
 * searches can learn is that cell.
 */
create function private.coarse_coordinate(p_degrees double precision) returns double precision
  language sql immutable parallel safe
  set search_path = ''
  as $$ select (floor(p_degrees / 0.02) + 0.5) * 0.02 $$;

/**
 * A point on the unit sphere (cube), for the nearest-first index on open tasks. The straight-line
 * (chord) distance between two such points grows with the great-circle distance, so ordering by
 * cube's `<->` is exactly nearest first, and a cube around the centre bounds a radius. Built here
 * rather than with earthdistance's ll_to_earth, whose body resolves names through the search_path
 * and so breaks index maintenance run under an empty one. As plpgsql: a strict SQL function whose
 * body is not strict is neither inlined nor cached, and every task insert evaluates it.
 */
create function private.sphere_point(p_lat double precision, p_lng double precision) returns extensions.cube
  language plpgsql immutable parallel safe strict
  as $$
begin
  return extensions.cube(array[cos(radians(p_lat)) * cos(radians(p_lng)),
                               cos(radians(p_lat)) * sin(radians(p_lng)),
                               sin(radians(p_lat))]);
end
$$;

/** The chord on the unit sphere that spans `p_km` of great circle (capped at the diameter). */
create function private.chord_of_km(p_km double precision) returns double precision
  language sql immutable strict parallel safe
  set search_path = ''
  as $$ select 2 * sin(least(p_km / 6371.0, pi()) / 2) $$;

/** Creates an operator for an identity, with its earnings accounts. KYC status is decided by the API (mode). */
create function api.register_operator(
  p_operator_id text, p_name text, p_email text, p_phone text, p_city text, p_country text,
  p_lat double precision, p_lng double precision, p_skills text[], p_kyc_status text,
  p_travel_radius_km integer default null
) returns public.operators
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators;
begin
  insert into public.operators (id, name, email, phone, city, country, lat, lng, travel_radius_km, skills, kyc_status, kyc_reviewed_at)
  values (p_operator_id, p_name, p_email, p_phone, p_city, p_country, p_lat, p_lng, p_travel_radius_km, p_skills, p_kyc_status,
          case when p_kyc_status <> 'PENDING' then now() end)
  on conflict (id) do nothing
  returning * into v_operator;
  if v_operator.id is null then
    perform private.fail(409, 'operator_exists', 'This identity is already registered as an operator');
  end if;
  insert into public.ledger_accounts (kind, operator_id) values ('operator_pending', p_operator_id), ('operator_available', p_operator_id);
  return v_operator;
end
$$;
grant execute on function api.register_operator(text, text, text, text, text, text, double precision, double precision, text[], text, integer) to service_role;

/**
 * The calling operator edits its profile: each key present in `p_changes` replaces that part (name,
 * phone, skills, travel_radius_km, or the whole home area under location), absent keys stay. A null
 * phone or travel radius clears it. The API has validated every value; the table's checks stand behind it.
 */
create function api.update_operator(p_changes jsonb) returns public.operators
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(false);
  v_location jsonb := p_changes->'location';
begin
  update public.operators o
     set name = case when p_changes ? 'name' then p_changes->>'name' else o.name end,
         phone = case when p_changes ? 'phone' then p_changes->>'phone' else o.phone end,
         skills = case when p_changes ? 'skills'
                       then array(select jsonb_array_elements_text(p_changes->'skills')) else o.skills end,
         travel_radius_km = case when p_changes ? 'travel_radius_km'
                                 then (p_changes->>'travel_radius_km')::integer else o.travel_radius_km end,
         city = case when v_location is not null then v_location->>'city' else o.city end,
         country = case when v_location is not null then v_location->>'country' else o.country end,
         lat = case when v_location is not null then (v_location->>'lat')::double precision else o.lat end,
         lng = case when v_location is not null then (v_location->>'lng')::double precision else o.lng end
   where o.id = v_operator.id
  returning * into v_operator;
  return v_operator;
end
$$;
grant execute on function api.update_operator(jsonb) to authenticated;

/** Admin: settles an operator's KYC review. */
create function api.set_operator_kyc(p_operator_id text, p_status text) returns public.operators
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators;
begin
  update public.operators o set kyc_status = p_status, kyc_reviewed_at = now()
   where o.id = p_operator_id
  returning * into v_operator;
  if v_operator.id is null then
    perform private.fail(404, 'operator_not_found', 'No operator with this id');
  end if;
  return v_operator;
end
$$;
grant execute on function api.set_operator_kyc(text, text) to service_role;

/**
 * Verified operators near a point for an agent: within `p_radius_km` of it and within the operator's own
 * travel radius (when set), both judged from the operator's grid cell (see private.coarse_coordinate).
 */
create function api.search_operators(
  p_lat double precision, p_lng double precision, p_radius_km double precision,
  p_task_type text default null, p_min_rating numeric default null, p_limit integer default 20
) returns table (
  operator_id text, name text, city text, country text, skills text[], rating numeric, rating_count integer,
  completed_tasks bigint, distance_km double precision
)
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  -- A latitude band first (indexed, widened by a cell), then the distance to the operator's cell.
  v_band double precision := p_radius_km / 111.0 + 0.02;
begin
  return query
    select c.id, c.short_name, c.city, c.country, c.skills, c.rating, c.rating_count, c.completed,
           greatest(1, round(c.distance))::double precision
      from (
        select o.id,
               split_part(o.name, ' ', 1) || coalesce(' ' || nullif(left(split_part(o.name, ' ', 2), 1), '') || '.', '') as short_name,
               o.city, o.country, o.skills, o.travel_radius_km,
               case when o.rating_count > 0 then round(o.rating_sum::numeric / o.rating_count, 2) end as rating,
               o.rating_count,
               (select count(*) from public.tasks t where t.operator_id = o.id and t.status = 'COMPLETED') as completed,
               api.distance_km(p_lat, p_lng, private.coarse_coordinate(o.lat), private.coarse_coordinate(o.lng)) as distance
          from public.operators o
         where o.kyc_status = 'VERIFIED'
           and o.lat between p_lat - v_band and p_lat + v_band
           and (p_task_type is null or cardinality(o.skills) = 0 or p_task_type = any (o.skills))
           and (p_min_rating is null or (o.rating_count > 0 and o.rating_sum::numeric / o.rating_count >= p_min_rating))
      ) c
     where c.distance <= p_radius_km
       and (c.travel_radius_km is null or c.distance <= c.travel_radius_km)
     order by c.distance, c.id
     limit p_limit;
end
$$;
grant execute on function api.search_operators(double precision, double precision, double precision, text, numeric, integer) to authenticated;

-- Who reads what: an operator reads itself.
create policy "an operator reads itself" on public.operators for select to authenticated
  using (id = (select api.current_operator_id()));
grant select on public.operators to authenticated, service_role;
