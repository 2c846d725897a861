-- Baseline: the whole schema, squashed from the migrations written before supabase/schemas/ existed
-- (none of them had been deployed). Generated once from supabase/schemas/*.sql, each file below in
-- the order it applies; the drift test (test/schema-drift.test.ts) keeps the two equal. Do not edit:
-- change a schema file and generate a migration with `npm run db:diff -- <name>`.

-- ===== supabase/schemas/00_bootstrap.sql =====

/**
 * Bootstrap: what a hosted Supabase project already has, created here only where it is missing,
 * so the same schema applies to Supabase and to a plain Postgres (the local stack, the tests).
 *
 * - the roles PostgREST and our API switch to: anon, authenticated, service_role;
 * - the auth schema with auth.jwt() (the request's claims) and auth.uid()/auth.role() for parity.
 *   Identities are text (`sub`): Clerk ids and our agent ids are not uuids, so policies read
 *   auth.jwt()->>'sub' and never auth.uid().
 * - the schemas of our own: `api` (functions the API and clients may call, granted by name) and
 *   `private` (helpers nobody calls directly).
 */
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

do $$
begin
  if not exists (select from pg_namespace where nspname = 'auth') then
    create schema auth;
    grant usage on schema auth to anon, authenticated, service_role;
  end if;

  if not exists (select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = 'auth' and p.proname = 'jwt') then
    create function auth.jwt() returns jsonb
      language sql stable
      as 'select coalesce(nullif(current_setting(''request.jwt.claim'', true), ''''),
                          nullif(current_setting(''request.jwt.claims'', true), ''''))::jsonb';
    grant execute on function auth.jwt() to anon, authenticated, service_role;
  end if;

  if not exists (select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = 'auth' and p.proname = 'uid') then
    create function auth.uid() returns uuid
      language sql stable
      as 'select nullif(auth.jwt()->>''sub'', '''')::uuid';
    grant execute on function auth.uid() to anon, authenticated, service_role;
  end if;

  if not exists (select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = 'auth' and p.proname = 'role') then
    create function auth.role() returns text
      language sql stable
      as 'select auth.jwt()->>''role''';
    grant execute on function auth.role() to anon, authenticated, service_role;
  end if;
end
$$;

create schema if not exists private;
create schema if not exists api;
revoke all on schema private from public;
grant usage on schema api to authenticated, service_role;

-- Postgres lets PUBLIC execute every new function, and hosted Supabase grants ALL on every new
-- table, sequence and function in `public` to anon, authenticated and service_role. From here on
-- every object starts with no client privileges and is granted by name, beside its definition.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke all on tables from anon, authenticated, service_role;
alter default privileges in schema public revoke all on sequences from anon, authenticated, service_role;
alter default privileges in schema public revoke all on functions from anon, authenticated, service_role;

/**
 * Places are points on the unit sphere in 3-D (`cube`, a contrib extension present on hosted
 * Supabase, Debian's Postgres and the embedded one; PostGIS is not everywhere we run); see
 * private.sphere_point.
 */
do $$
begin
  if not exists (select from pg_extension where extname = 'cube') then
    create schema if not exists extensions;
    create extension cube with schema extensions;
  end if;
end
$$;
grant usage on schema extensions to authenticated, service_role;

/**
 * Conventions of every function below: `set search_path = ''` with every name qualified, so no
 * caller's search_path can redirect a name. Small helpers are plpgsql rather than `language sql`: a
 * SQL function that sets a parameter is never inlined, and before Postgres 18 its body is parsed
 * and planned again in every transaction that calls it, while plpgsql compiles once per
 * connection and keeps its statements' plans. The functions on the path of POST /tasks also say
 * `plan_cache_mode = force_generic_plan` (their generic plans are the same index probes) and plan
 * once per connection; see the benchmark figures in docs/design.md.
 */

/** A random, prefixed, URL-safe id such as `task_5f0c…`. */
create function private.new_id(prefix text) returns text
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  return prefix || '_' || replace(gen_random_uuid()::text, '-', '');
end
$$;

/**
 * Errors are raised with SQLSTATE `HO<status>` (e.g. HO409), a message for people, a machine code
 * in HINT and optional JSON details in DETAIL; the API maps them to `{ error, code, details }`.
 */
create function private.fail(p_status integer, p_code text, p_message text, p_details jsonb default null)
  returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  raise exception using
    errcode = 'HO' || p_status::text,
    message = p_message,
    hint = p_code,
    detail = coalesce(p_details::text, '');
end
$$;

-- ===== supabase/schemas/10_agents_and_keys.sql =====

/**
 * An AI agent: a program that posts tasks and pays for them. Every agent gets its own USDC deposit
 * address on Base: the non-hardened child `deposit_index` of the platform's extended public key
 * (DEPOSIT_XPUB). The server derives addresses without any private key, and a transfer's
 * recipient names the agent.
 */
create table public.agents (
  id text primary key default private.new_id('agt'),
  name text not null check (char_length(name) between 1 and 100),
  email text not null check (char_length(email) between 3 and 320),
  company text check (char_length(company) <= 200),
  mode text not null check (mode in ('test', 'live')),
  created_at timestamptz not null default now(),
  deposit_index integer generated always as identity (minvalue 0 start with 0)
    constraint agents_deposit_index_unique unique
    constraint deposit_index_is_not_hardened check (deposit_index between 0 and 2147483647)
);

alter table public.agents enable row level security;

/**
 * API keys: only a SHA-256 hash and a display prefix are kept; the key is shown once.
 *
 * A key holds one or more scopes: `owner` manages keys and spending policies and approves tasks,
 * `agent` posts and manages tasks, `read` reads; every key reads. The key registration returns
 * holds owner and agent. A key never mints a key with more power than it holds. The API passes the
 * calling key in the request's claims (`humanops_key`, `humanops_scopes`), beside the agent id, so
 * SQL knows which key acts and applies its scopes and spending policy.
 */
create table public.api_keys (
  id text primary key default private.new_id('key'),
  agent_id text not null references public.agents (id),
  name text check (char_length(name) between 1 and 100),
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  key_prefix text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  scopes text[] not null default '{owner,agent}'
    constraint api_key_scopes_known check (cardinality(scopes) between 1 and 3 and scopes <@ '{owner,agent,read}'::text[]),
  expires_at timestamptz
);

create index api_keys_active_by_agent on public.api_keys (agent_id, created_at) where revoked_at is null;

alter table public.api_keys enable row level security;

/** The calling agent: the `sub` of the request's claims when they name an agent, else null. */
create function api.current_agent_id() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  return case when v_claims->>'humanops_role' = 'agent' then v_claims->>'sub' end;
end
$$;
grant execute on function api.current_agent_id() to authenticated, service_role;

/** The calling agent's key (`humanops_key` in the claims), which its scopes and spending policy belong to. */
create function api.current_key_id() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  return case when v_claims->>'humanops_role' = 'agent' then v_claims->>'humanops_key' end;
end
$$;
grant execute on function api.current_key_id() to authenticated, service_role;

/** The calling key's scopes (`humanops_scopes`), or null when no agent calls. */
create function private.current_key_scopes() returns text[]
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  if v_claims->>'humanops_role' is distinct from 'agent' then
    return null;
  end if;
  return coalesce(array(select jsonb_array_elements_text(v_claims->'humanops_scopes')), '{}');
end
$$;

/** The calling agent, or a 401 when the request carries no agent identity. */
create function private.require_agent() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_agent_id text := api.current_agent_id();
begin
  if v_agent_id is null then
    perform private.fail(401, 'unauthenticated', 'This action needs an agent API key');
  end if;
  return v_agent_id;
end
$$;

/** The calling agent, or a 403 unless its key holds `p_scope`. */
create function private.require_scope(p_scope text) returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_scopes text[] := coalesce(private.current_key_scopes(), '{}');
begin
  if not (p_scope = any (v_scopes)) then
    perform private.fail(403, 'insufficient_scope',
      format('This action needs a key with the %s scope; this key holds %s', p_scope,
             coalesce(nullif(array_to_string(v_scopes, ' and '), ''), 'none')),
      jsonb_build_object('key_scopes', to_jsonb(v_scopes), 'required_scopes', jsonb_build_array(p_scope)));
  end if;
  return v_agent_id;
end
$$;

/** A key works until it is revoked or expires. */
create function private.key_is_active(p_key public.api_keys) returns boolean
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return p_key.revoked_at is null and (p_key.expires_at is null or p_key.expires_at > now());
end
$$;

/** Creates an agent with its first key (named "default") and its deposit account. */
create function api.register_agent(
  p_name text, p_email text, p_company text, p_mode text, p_key_hash text, p_key_prefix text
) returns table (agent_id text, key_id text)
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  insert into public.agents (name, email, company, mode)
  values (p_name, p_email, p_company, p_mode)
  returning id into agent_id;

  insert into public.api_keys (agent_id, name, key_hash, key_prefix)
  values (agent_id, 'default', p_key_hash, p_key_prefix)
  returning id into key_id;

  insert into public.ledger_accounts (kind, agent_id) values ('agent_deposit', agent_id);
  return next;
end
$$;
grant execute on function api.register_agent(text, text, text, text, text, text) to service_role;

/**
 * Finds the agent behind a key hash with the key's scopes, or no row when the key is unknown,
 * revoked or expired. `last_used_at` is written at most once a minute per key.
 */
create function api.authenticate_agent(p_key_hash text)
  returns table (agent_id text, key_id text, mode text, scopes text[])
  language plpgsql
  security definer
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  set enable_seqscan = off
  as $$
begin
  update public.api_keys k
     set last_used_at = now()
   where k.key_hash = p_key_hash
     and private.key_is_active(k)
     and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');

  return query
    select k.agent_id, k.id, a.mode, k.scopes
      from public.api_keys k
      join public.agents a on a.id = k.agent_id
     where k.key_hash = p_key_hash and private.key_is_active(k);
end
$$;
grant execute on function api.authenticate_agent(text) to service_role;

/**
 * Adds a key for the calling agent (owner scope). Its scopes default to the calling key's and may
 * not exceed them; a key that expires can only mint keys that expire no later. At most 20 active
 * keys per agent.
 */
create function api.create_api_key(
  p_name text, p_key_hash text, p_key_prefix text, p_scopes text[] default null, p_expires_at timestamptz default null
) returns table (id text, name text, key_prefix text, scopes text[], expires_at timestamptz, created_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
  v_caller public.api_keys;
  v_held text[] := private.current_key_scopes() || '{read}'::text[];
  v_scopes text[];
  v_expires_at timestamptz;
begin
  perform 1 from public.agents a where a.id = v_agent_id for update;
  select * into v_caller from public.api_keys k where k.id = api.current_key_id() and k.agent_id = v_agent_id;
  v_scopes := coalesce(p_scopes, private.current_key_scopes());
  if not (v_scopes <@ v_held) then
    perform private.fail(403, 'insufficient_scope',
      format('A key cannot mint a key with more power than it holds: this key holds %s, the new key asks for %s',
             array_to_string(private.current_key_scopes(), ' and '), array_to_string(v_scopes, ' and ')),
      jsonb_build_object('key_scopes', to_jsonb(private.current_key_scopes()), 'requested_scopes', to_jsonb(v_scopes)));
  end if;
  v_expires_at := coalesce(p_expires_at, v_caller.expires_at);
  if v_expires_at is not null and v_expires_at <= now() then
    perform private.fail(400, 'validation_error', 'expires_at: must be in the future');
  end if;
  if v_caller.expires_at is not null and v_expires_at > v_caller.expires_at then
    perform private.fail(403, 'insufficient_scope',
      format('A key cannot mint a key that outlives it: this key expires at %s',
             to_char(v_caller.expires_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
      jsonb_build_object('key_expires_at', v_caller.expires_at));
  end if;
  if (select count(*) from public.api_keys k where k.agent_id = v_agent_id and private.key_is_active(k)) >= 20 then
    perform private.fail(409, 'key_limit_reached', 'An agent may have at most 20 active API keys; revoke one first');
  end if;
  return query
    insert into public.api_keys as k (agent_id, name, key_hash, key_prefix, scopes, expires_at)
    values (v_agent_id, p_name, p_key_hash, p_key_prefix, v_scopes, v_expires_at)
    returning k.id, k.name, k.key_prefix, k.scopes, k.expires_at, k.created_at;
end
$$;
grant execute on function api.create_api_key(text, text, text, text[], timestamp with time zone) to authenticated;

/**
 * Revokes one of the calling agent's keys (owner scope), at once and for good. The last active
 * key, and the last active owner key, cannot be revoked: the account would be out of reach, or
 * nobody could manage it any more.
 */
create function api.revoke_api_key(p_key_id text) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
  v_key public.api_keys;
begin
  perform 1 from public.agents a where a.id = v_agent_id for update;
  select * into v_key from public.api_keys k where k.id = p_key_id and k.agent_id = v_agent_id and private.key_is_active(k);
  if v_key.id is null then
    perform private.fail(404, 'key_not_found', 'No active API key with this id');
  end if;
  if (select count(*) from public.api_keys k where k.agent_id = v_agent_id and private.key_is_active(k)) = 1 then
    perform private.fail(409, 'last_key', 'This is your only active API key; create another before revoking it');
  end if;
  if 'owner' = any (v_key.scopes)
     and (select count(*) from public.api_keys k
           where k.agent_id = v_agent_id and private.key_is_active(k) and 'owner' = any (k.scopes)) = 1 then
    perform private.fail(409, 'last_owner_key', 'This is your only active key with the owner scope; create another owner key before revoking it');
  end if;
  update public.api_keys k set revoked_at = now() where k.id = p_key_id;
end
$$;
grant execute on function api.revoke_api_key(text) to authenticated;

-- Who reads what: an agent reads itself and its keys, never a key's hash.
create policy "an agent reads itself" on public.agents for select to authenticated
  using (id = (select api.current_agent_id()));
grant select on public.agents to authenticated, service_role;
create policy "an agent reads its keys" on public.api_keys for select to authenticated
  using (agent_id = (select api.current_agent_id()));
grant select on public.api_keys to service_role;
grant select (id, agent_id, name, key_prefix, created_at, last_used_at, revoked_at, scopes, expires_at) on public.api_keys to authenticated;

-- ===== supabase/schemas/15_idempotency_and_rate_limits.sql =====

/**
 * Idempotency keys: the first request under a key inserts its row in its own transaction, so a
 * concurrent duplicate waits on that row and then replays the stored response. Kept 7 days.
 */
create table public.idempotency_keys (
  agent_id text not null references public.agents (id),
  key text not null check (char_length(key) between 1 and 255),
  request_hash text not null,
  response_status integer,
  response_body jsonb,
  created_at timestamptz not null default now(),
  primary key (agent_id, key)
);

create index idempotency_keys_by_age on public.idempotency_keys (created_at);

alter table public.idempotency_keys enable row level security;

/**
 * Rate limits: a fixed window per (client IP, route), counted on up to 16 rows per window. A
 * request adds to the row of its database connection's shard (backend pid mod 16) and reads the
 * others, so requests on different connections (and instances) never wait on each other's row; the
 * sum over the shards is the window's count, shared by every instance through the table. Two
 * requests counting at the same moment may each miss the other's uncommitted hit, so the limit can
 * be passed by at most the number of requests in flight at that moment; a one-row counter would be
 * exact only by making them queue. The window (not a sliding log) keeps a hit at one row write.
 * Unlogged: losing the counters on a crash is harmless.
 */
create unlogged table public.rate_limits (
  bucket text not null,
  window_start timestamptz not null,
  hits integer not null,
  shard smallint not null default 0,
  primary key (bucket, window_start, shard)
);

alter table public.rate_limits enable row level security;

/**
 * Claims an idempotency key for the calling agent inside the request's transaction.
 * 'new': this request owns the key and must store its response; 'replay': a finished request
 * with the same body, whose response is returned; 'mismatch': the key was used for another body.
 */
create function api.claim_idempotency_key(p_key text, p_request_hash text)
  returns table (state text, response_status integer, response_body jsonb)
  language plpgsql
  security definer
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  set enable_seqscan = off
  as $$
declare
  v_agent_id text := private.require_agent();
  v_row public.idempotency_keys;
begin
  insert into public.idempotency_keys (agent_id, key, request_hash)
  values (v_agent_id, p_key, p_request_hash)
  on conflict do nothing;
  if found then
    return query select 'new'::text, null::integer, null::jsonb;
    return;
  end if;

  select * into v_row from public.idempotency_keys k where k.agent_id = v_agent_id and k.key = p_key;
  if v_row.request_hash <> p_request_hash then
    return query select 'mismatch'::text, null::integer, null::jsonb;
  else
    return query select 'replay'::text, v_row.response_status, v_row.response_body;
  end if;
end
$$;
grant execute on function api.claim_idempotency_key(text, text) to authenticated;

create function api.store_idempotent_response(p_key text, p_status integer, p_body jsonb) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  update public.idempotency_keys
     set response_status = p_status, response_body = p_body
   where agent_id = api.current_agent_id() and key = p_key;
end
$$;
grant execute on function api.store_idempotent_response(text, integer, jsonb) to authenticated;

/** Counts one request in its window and returns the window's count (all shards) and its end. */
create function api.hit_rate_limit(p_bucket text, p_window_seconds integer)
  returns table (hits integer, reset_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  return query
  with mine as (
    insert into public.rate_limits as r (bucket, window_start, shard, hits)
    values (p_bucket, to_timestamp(floor(extract(epoch from now()) / p_window_seconds) * p_window_seconds),
            pg_backend_pid() % 16, 1)
    on conflict (bucket, window_start, shard) do update set hits = r.hits + 1
    returning r.hits, r.window_start, r.shard
  )
  select (mine.hits + coalesce((select sum(o.hits) from public.rate_limits o
                                 where o.bucket = p_bucket and o.window_start = mine.window_start
                                   and o.shard <> mine.shard), 0))::integer,
         mine.window_start + make_interval(secs => p_window_seconds)
    from mine;
end
$$;
grant execute on function api.hit_rate_limit(text, integer) to service_role;

-- Written by the functions above only; the API's trusted role reads them (operations).
grant select on public.idempotency_keys to service_role;
grant select on public.rate_limits to service_role;

-- ===== supabase/schemas/20_operators.sql =====

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
  p_lat double precision, p_lng double precision, p_skills text[], p_kyc_status text
) returns public.operators
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators;
begin
  insert into public.operators (id, name, email, phone, city, country, lat, lng, skills, kyc_status, kyc_reviewed_at)
  values (p_operator_id, p_name, p_email, p_phone, p_city, p_country, p_lat, p_lng, p_skills, p_kyc_status,
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
grant execute on function api.register_operator(text, text, text, text, text, text, double precision, double precision, text[], text) to service_role;

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
               o.city, o.country, o.skills,
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
     order by c.distance, c.id
     limit p_limit;
end
$$;
grant execute on function api.search_operators(double precision, double precision, double precision, text, numeric, integer) to authenticated;

-- Who reads what: an operator reads itself.
create policy "an operator reads itself" on public.operators for select to authenticated
  using (id = (select api.current_operator_id()));
grant select on public.operators to authenticated, service_role;

-- ===== supabase/schemas/30_tasks.sql =====

/** The states a task can be in. */
create table public.task_statuses (
  status text primary key
);

alter table public.task_statuses enable row level security;

/** The task state machine: a move not listed here is refused by private.transition_task. */
create table public.task_transitions (
  from_status text not null references public.task_statuses (status),
  to_status text not null references public.task_statuses (status),
  primary key (from_status, to_status)
);

alter table public.task_transitions enable row level security;

/** A unit of work posted by an agent; its reward and fee sit in the task's own escrow account. */
create table public.tasks (
  id text primary key default private.new_id('task'),
  agent_id text not null references public.agents (id),
  title text not null check (char_length(title) between 1 and 200),
  description text not null check (char_length(description) between 1 and 5000),
  task_type text not null check (task_type ~ '^[A-Z_]{3,40}$'),
  task_domain text not null check (task_domain in ('PHYSICAL', 'DIGITAL')),
  proof_type text not null check (proof_type in ('PHOTO', 'SCREENSHOT', 'CONFIRMATION', 'ARTIFACT')),
  location_lat double precision check (location_lat between -90 and 90),
  location_lng double precision check (location_lng between -180 and 180),
  location_address text check (char_length(location_address) <= 500),
  reward_cents bigint not null check (reward_cents between 1000 and 1000000),
  fee_cents bigint not null check (fee_cents >= 200),
  fee_rate_pct integer not null check (fee_rate_pct in (12, 15, 18)),
  deadline timestamptz not null,
  proof_requirements text[] not null check (cardinality(proof_requirements) between 1 and 20),
  digital_instructions text check (char_length(digital_instructions) <= 10000),
  agent_public_key text check (char_length(agent_public_key) <= 1024),
  status text not null default 'PENDING' references public.task_statuses (status),
  operator_id text,
  proof jsonb,
  guardian_result jsonb,
  accepted_at timestamptz,
  started_at timestamptz,
  submitted_at timestamptz,
  verified_at timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz,
  expired_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- What the operator earned from the task (the reward, or its share of a split dispute), and when
  -- that left the 7-day hold.
  operator_earnings_cents bigint check (operator_earnings_cents >= 0),
  earnings_released_at timestamptz,
  dispute_resolution jsonb,
  -- The key that posted the task (from the request's claims: a column default, so every way of
  -- inserting a task records it) and the country its coordinates lie in, as the API derived it.
  key_id text default api.current_key_id(),
  location_country text check (location_country ~ '^[A-Z]{2}$'),
  -- The owner's decision: `{decision: APPROVED|DECLINED, key_id, decided_at}`.
  approval jsonb,
  constraint physical_tasks_have_coordinates
    check (task_domain = 'DIGITAL' or (location_lat is not null and location_lng is not null)),
  constraint tasks_operator_fk foreign key (operator_id) references public.operators (id)
);

create index tasks_by_agent on public.tasks (agent_id, created_at desc, id);

create index tasks_by_agent_status on public.tasks (agent_id, status, created_at desc, id);

create index tasks_by_operator on public.tasks (operator_id, status) where operator_id is not null;

create index tasks_unreleased_earnings on public.tasks (completed_at) where status = 'COMPLETED' and earnings_released_at is null;

create index tasks_overdue on public.tasks (deadline) where status in ('PENDING', 'ACCEPTED', 'IN_PROGRESS');

-- Open physical tasks nearest first, in O(log n): a GiST index on each task's point on the sphere.
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

-- A key's spend in a budget window, from the index alone.
create index tasks_by_key on public.tasks (key_id, created_at) include (reward_cents, fee_cents, status) where key_id is not null;

create index tasks_awaiting_approval on public.tasks (created_at) where status = 'PENDING_APPROVAL';

alter table public.tasks enable row level security;

/**
 * Where and how a task's agent wants to hear about it. Apart from tasks, because operators may read
 * open tasks and must not see an agent's endpoint or secret.
 */
create table public.task_callbacks (
  task_id text primary key references public.tasks (id),
  agent_id text not null references public.agents (id),
  url text not null check (char_length(url) <= 2048),
  secret text check (char_length(secret) <= 256),
  -- Test mode: how many of the task's next webhook deliveries fail on purpose (api.fail_next_webhooks).
  fail_next integer not null default 0 check (fail_next >= 0)
);

alter table public.task_callbacks enable row level security;

/** The audit trail of every state change; it also feeds webhooks. */
create table public.task_events (
  id bigint generated always as identity primary key,
  task_id text not null references public.tasks (id),
  from_status text references public.task_statuses (status),
  to_status text not null references public.task_statuses (status),
  actor text not null,
  created_at timestamptz not null default now()
);

create index task_events_by_task on public.task_events (task_id, id);

alter table public.task_events enable row level security;

/**
 * Each agent's settled spend per UTC day, so the fee tier (trailing 30 days) is a sum over at most
 * 30 rows. Fee tiers count only spend that happened: a task counts when it becomes COMPLETED (paid,
 * no refund possible), by the UTC day it completed, for the part of its reward that went to the
 * operator (all of it, or the operator's share of a dispute split). Posting, cancelling, expiring
 * and refunding never move it, so parked capital cannot buy a cheaper rate (post big tasks, post a
 * small one at 12 %, cancel the big ones for a full refund).
 */
create table public.agent_spend_daily (
  agent_id text not null references public.agents (id),
  day date not null,
  reward_cents bigint not null check (reward_cents >= 0),
  primary key (agent_id, day)
);

comment on table public.agent_spend_daily is
  'Per agent and UTC day: rewards paid to operators on tasks that completed that day; the fee tier sums the last 30 days.';

alter table public.agent_spend_daily enable row level security;

/**
 * Lock order, everywhere: the task row first, then ledger accounts by id, then the spend rollup.
 *
 * Moves a task to `p_to` if task_transitions allows it from its current state, stamps the matching
 * timestamp and records the event. The caller must already hold the task row lock.
 */
create function private.transition_task(p_task_id text, p_to text, p_actor text) returns text
  language plpgsql
  set search_path = ''
  as $$
declare
  v_from text;
begin
  select t.status into v_from from public.tasks t where t.id = p_task_id for update;
  if not exists (select from public.task_transitions tr where tr.from_status = v_from and tr.to_status = p_to) then
    perform private.fail(409, 'invalid_transition', format('Task is %s and cannot become %s', v_from, p_to),
                         jsonb_build_object('status', v_from));
  end if;
  update public.tasks t set
    status = p_to,
    updated_at = now(),
    accepted_at  = case when p_to = 'ACCEPTED'    then now() else t.accepted_at end,
    started_at   = case when p_to = 'IN_PROGRESS' then now() else t.started_at end,
    submitted_at = case when p_to = 'SUBMITTED'   then now() else t.submitted_at end,
    verified_at  = case when p_to = 'VERIFIED'    then now() else t.verified_at end,
    completed_at = case when p_to = 'COMPLETED'   then now() else t.completed_at end,
    cancelled_at = case when p_to = 'CANCELLED'   then now() else t.cancelled_at end,
    expired_at   = case when p_to = 'EXPIRED'     then now() else t.expired_at end
  where t.id = p_task_id;
  insert into public.task_events (task_id, from_status, to_status, actor) values (p_task_id, v_from, p_to, p_actor);
  return v_from;
end
$$;

create function private.fee_rate_pct(p_spend_cents bigint) returns integer
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return case when p_spend_cents < 500000 then 18 when p_spend_cents <= 2500000 then 15 else 12 end;
end
$$;

create function private.platform_fee_cents(p_reward_cents bigint, p_rate_pct integer) returns bigint
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return greatest(200, (p_reward_cents * p_rate_pct + 50) / 100);
end
$$;

create function private.agent_fee_rate_pct(p_agent_id text) returns integer
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return private.fee_rate_pct((select coalesce(sum(s.reward_cents), 0)::bigint
                                 from public.agent_spend_daily s
                                where s.agent_id = p_agent_id and s.day > (now() at time zone 'utc')::date - 30));
end
$$;

/**
 * Adds a task's operator earnings to its agent's spend when it completes. A trigger rather than a
 * line in each settlement function, so every path that pays an operator (approval, Guardian,
 * dispute pay or split) counts, and so will any new one. It runs inside the settlement's
 * transaction with the task row already locked; the rollup row is taken before the ledger
 * accounts, and only settlements write it, so the order is the same everywhere.
 */
create function private.count_settled_spend() returns trigger
  language plpgsql
  set search_path = ''
  as $$
declare
  v_delta bigint := coalesce(new.operator_earnings_cents, 0) - coalesce(old.operator_earnings_cents, 0);
begin
  if v_delta <> 0 then
    insert into public.agent_spend_daily as s (agent_id, day, reward_cents)
    values (new.agent_id, (coalesce(new.completed_at, now()) at time zone 'utc')::date, greatest(v_delta, 0))
    on conflict (agent_id, day) do update set reward_cents = greatest(0, s.reward_cents + v_delta);
  end if;
  return null;
end
$$;

create trigger tasks_count_settled_spend
  after update of operator_earnings_cents on public.tasks
  for each row when (new.status = 'COMPLETED')
  execute function private.count_settled_spend();

/**
 * Posts a task for the calling agent: prices the fee from its settled-spend tier, applies the
 * calling key's spending policy, moves reward + fee from its deposit to the task's own escrow,
 * and records the first event (PENDING, or PENDING_APPROVAL). 402 when funds fall short, 403
 * when the policy refuses. Inputs are validated by the API; the table's constraints are the
 * backstop.
 */
create function api.create_task(
  p_title text, p_description text, p_task_type text, p_task_domain text, p_proof_type text,
  p_location_lat double precision, p_location_lng double precision, p_location_address text,
  p_reward_cents bigint, p_deadline timestamptz, p_proof_requirements text[],
  p_digital_instructions text default null, p_callback_url text default null,
  p_callback_secret text default null, p_agent_public_key text default null,
  p_location_country text default null
) returns table (
  id text, status text, reward_cents bigint, fee_cents bigint, total_escrow_cents bigint,
  deadline timestamptz, created_at timestamptz
)
  language plpgsql
  security definer
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  set enable_seqscan = off
  as $$
declare
  v_agent_id text := private.require_agent();
  v_deposit_account bigint;
  v_available bigint;
  v_rate integer;
  v_fee bigint;
  v_total bigint;
  v_status text;
  v_task public.tasks;
  v_escrow_account bigint;
begin
  if p_deadline <= now() then
    perform private.fail(400, 'validation_error', 'deadline: must be in the future');
  end if;
  if api.current_key_id() is not null then
    perform private.require_scope('agent');
  end if;

  -- Serialises this agent's money moves, so the balance and the policy's budgets below are current.
  select a.id, a.balance into v_deposit_account, v_available
    from public.ledger_accounts a
   where a.agent_id = v_agent_id and a.kind = 'agent_deposit'
     for update;

  v_rate := private.agent_fee_rate_pct(v_agent_id);
  v_fee := private.platform_fee_cents(p_reward_cents, v_rate);
  v_total := p_reward_cents + v_fee;

  v_status := private.enforce_spending_policy(v_agent_id, p_task_type, p_task_domain, p_location_lat, p_location_lng,
                                              p_location_country, p_reward_cents, v_total, p_agent_public_key is not null);

  if v_available < v_total then
    perform private.fail(402, 'insufficient_balance', 'Insufficient balance for escrow',
      jsonb_build_object('required_usd', v_total / 100.0, 'available_usd', v_available / 100.0,
                         'reward_usd', p_reward_cents / 100.0, 'platform_fee_usd', v_fee / 100.0));
  end if;

  insert into public.tasks (
    agent_id, title, description, task_type, task_domain, proof_type,
    location_lat, location_lng, location_address, location_country, reward_cents, fee_cents, fee_rate_pct, deadline,
    proof_requirements, digital_instructions, agent_public_key, status)
  values (
    v_agent_id, p_title, p_description, p_task_type, p_task_domain, p_proof_type,
    p_location_lat, p_location_lng, p_location_address, p_location_country, p_reward_cents, v_fee, v_rate, p_deadline,
    p_proof_requirements, p_digital_instructions, p_agent_public_key, v_status)
  returning * into v_task;

  if p_callback_url is not null then
    insert into public.task_callbacks (task_id, agent_id, url, secret)
    values (v_task.id, v_agent_id, p_callback_url, p_callback_secret);
  end if;

  insert into public.ledger_accounts (kind, agent_id, task_id)
  values ('task_escrow', v_agent_id, v_task.id)
  returning ledger_accounts.id into v_escrow_account;

  perform private.post_entry('task_escrow', array[v_deposit_account, v_escrow_account], array[-v_total, v_total],
                             p_agent_id => v_agent_id, p_task_id => v_task.id);

  insert into public.task_events (task_id, from_status, to_status, actor)
  values (v_task.id, null, v_status, 'agent:' || v_agent_id);

  return query select v_task.id, v_task.status, v_task.reward_cents, v_task.fee_cents, v_total,
                      v_task.deadline, v_task.created_at;
end
$$;
grant execute on function api.create_task(text, text, text, text, text, double precision, double precision, text, bigint, timestamp with time zone, text[], text, text, text, text, text) to authenticated;

/**
 * POST /tasks in one round trip (instead of five or six: rate limit, key lookup, begin, claims,
 * create_task, commit, and two more with an Idempotency-Key). One statement does all of it in one
 * transaction, in the same order and with the same rules as the other agent routes:
 *
 * 1. counts the request in its rate-limit window (when the limiter is on) and refuses past the limit;
 * 2. finds the agent behind the key hash (api.authenticate_agent: active, unexpired), or refuses
 *    with 401, and checks the key holds a scope the route needs (p_scopes_needed), or refuses;
 * 3. acts as that agent through that key: the same claims the API sets for agent requests (agent,
 *    key, scopes), read below by private.require_agent, the key's scope and its spending policy
 *    (the money moves are security definer; nothing here reads through row-level security);
 * 4. claims the Idempotency-Key (api.claim_idempotency_key): a replay returns the stored response,
 *    a key used for another body is a 409, a concurrent duplicate waits for the first;
 * 5. posts the task (api.create_task, whatever its current definition: fee tier, escrow, event and
 *    webhook outbox in this same transaction) and stores the response under the key.
 *
 * Steps 2 to 5 run in a subtransaction: when one refuses, its writes are undone but the rate-limit
 * hit stays (failed requests count), and the refusal comes back as data
 * (`error`: sqlstate, message, hint, detail) for the API to answer as on any other route. The response
 * body is built here, so a replay returns the same bytes the first answer had.
 */
create function api.post_task(
  p_key_hash text, p_rate_bucket text, p_rate_limit integer, p_scopes_needed text[],
  p_idempotency_key text, p_request_hash text,
  p_title text, p_description text, p_task_type text, p_task_domain text, p_proof_type text,
  p_location_lat double precision, p_location_lng double precision, p_location_address text,
  p_reward_cents bigint, p_deadline timestamptz, p_proof_requirements text[],
  p_digital_instructions text default null, p_callback_url text default null,
  p_callback_secret text default null, p_agent_public_key text default null,
  p_location_country text default null
) returns jsonb
  language plpgsql
  security definer
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  set enable_seqscan = off
  as $$
declare
  v_rate jsonb;
  v_agent_id text;
  v_key_id text;
  v_scopes text[];
  v_agent jsonb;
  v_claim record;
  v_task record;
  v_body jsonb;
  v_state text;
  v_message text;
  v_hint text;
  v_detail text;
begin
  if p_rate_bucket is not null then
    select jsonb_build_object('hits', h.hits, 'reset_at', h.reset_at) into v_rate
      from api.hit_rate_limit(p_rate_bucket, 60) h;
    if (v_rate->>'hits')::integer > p_rate_limit then
      return jsonb_build_object('rate', v_rate, 'limited', true);
    end if;
  end if;

  begin
    select a.agent_id, a.key_id, a.scopes into v_agent_id, v_key_id, v_scopes from api.authenticate_agent(p_key_hash) a;
    if v_agent_id is null then
      return jsonb_build_object('rate', v_rate, 'unauthenticated', true);
    end if;
    v_agent := jsonb_build_object('id', v_agent_id, 'keyId', v_key_id, 'scopes', to_jsonb(v_scopes));
    -- The route's scope, as the agent middleware checks it (the API words the 403).
    if not (v_scopes && p_scopes_needed) then
      return jsonb_build_object('rate', v_rate, 'agent', v_agent, 'forbidden', true);
    end if;
    perform set_config('request.jwt.claims',
      jsonb_build_object('sub', v_agent_id, 'role', 'authenticated', 'humanops_role', 'agent',
                         'humanops_key', v_key_id, 'humanops_scopes', to_jsonb(v_scopes))::text, true);

    if p_idempotency_key is not null then
      select c.state, c.response_status, c.response_body into v_claim
        from api.claim_idempotency_key(p_idempotency_key, p_request_hash) c;
      if v_claim.state = 'mismatch' then
        return jsonb_build_object('rate', v_rate, 'agent', v_agent, 'idempotency', 'mismatch');
      elsif v_claim.state = 'replay' then
        return jsonb_build_object('rate', v_rate, 'agent', v_agent, 'idempotency', 'replay',
                                  'status', coalesce(v_claim.response_status, 200), 'body', v_claim.response_body);
      end if;
    end if;

    select * into v_task from api.create_task(
      p_title => p_title, p_description => p_description, p_task_type => p_task_type,
      p_task_domain => p_task_domain, p_proof_type => p_proof_type,
      p_location_lat => p_location_lat, p_location_lng => p_location_lng, p_location_address => p_location_address,
      p_reward_cents => p_reward_cents, p_deadline => p_deadline, p_proof_requirements => p_proof_requirements,
      p_digital_instructions => p_digital_instructions, p_callback_url => p_callback_url,
      p_callback_secret => p_callback_secret, p_agent_public_key => p_agent_public_key,
      p_location_country => p_location_country);
    -- The reference's answer: amounts in dollars (numbers), times in ISO 8601 UTC to the millisecond.
    v_body := jsonb_build_object(
      'task_id', v_task.id,
      'status', v_task.status,
      'reward_usd', (v_task.reward_cents / 100.0)::float8,
      'platform_fee', (v_task.fee_cents / 100.0)::float8,
      'total_escrow', (v_task.total_escrow_cents / 100.0)::float8,
      'deadline', to_char(v_task.deadline at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'created_at', to_char(v_task.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
    if p_idempotency_key is not null then
      perform api.store_idempotent_response(p_idempotency_key, 201, v_body);
    end if;
    return jsonb_build_object('rate', v_rate, 'agent', v_agent, 'status', 201, 'body', v_body);
  exception when others then
    get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_hint = pg_exception_hint,
                            v_detail = pg_exception_detail;
    return jsonb_build_object('rate', v_rate, 'agent', v_agent,
      'error', jsonb_build_object('code', v_state, 'message', v_message, 'hint', nullif(v_hint, ''), 'detail', nullif(v_detail, '')));
  end;
end
$$;
grant execute on function api.post_task(text, text, integer, text[], text, text, text, text, text, text, text, double precision, double precision, text, bigint, timestamp with time zone, text[], text, text, text, text, text) to service_role;

/**
 * Returns everything left in a task's escrow to its agent's deposit. Used by cancel, expiry and
 * dispute refunds. A refunded task was never paid, so the spend rollup has nothing to undo.
 */
create function private.refund_task(p_task public.tasks, p_kind text) returns bigint
  language plpgsql
  set search_path = ''
  as $$
declare
  v_escrow_account bigint;
  v_escrow_balance bigint;
  v_deposit_account bigint;
begin
  select a.id into v_deposit_account from public.ledger_accounts a
   where a.agent_id = p_task.agent_id and a.kind = 'agent_deposit';
  select a.id into v_escrow_account from public.ledger_accounts a
   where a.task_id = p_task.id and a.kind = 'task_escrow';
  perform 1 from public.ledger_accounts a where a.id in (v_deposit_account, v_escrow_account) order by a.id for update;
  select a.balance into v_escrow_balance from public.ledger_accounts a where a.id = v_escrow_account;

  if v_escrow_balance > 0 then
    perform private.post_entry(p_kind, array[v_escrow_account, v_deposit_account], array[-v_escrow_balance, v_escrow_balance],
                               p_agent_id => p_task.agent_id, p_task_id => p_task.id);
  end if;
  return v_escrow_balance;
end
$$;

/** Cancels one of the calling agent's PENDING or ACCEPTED tasks and refunds reward + fee. */
create function api.cancel_task(p_task_id text)
  returns table (id text, status text, refunded_cents bigint)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_task public.tasks;
  v_refunded bigint;
begin
  select * into v_task from public.tasks t where t.id = p_task_id and t.agent_id = v_agent_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status not in ('PENDING', 'ACCEPTED') then
    perform private.fail(409, 'task_not_cancellable',
      format('Only PENDING or ACCEPTED tasks can be cancelled; this task is %s', v_task.status),
      jsonb_build_object('status', v_task.status));
  end if;

  perform private.transition_task(v_task.id, 'CANCELLED', 'agent:' || v_agent_id);
  v_refunded := private.refund_task(v_task, 'task_refund');
  return query select v_task.id, 'CANCELLED'::text, v_refunded;
end
$$;
grant execute on function api.cancel_task(text) to authenticated;

/**
 * One page of the calling agent's tasks, newest first (ties by id), after a cursor or from an
 * offset, reading only the page it returns. Under row-level security the two SELECT policies on
 * tasks (an agent reads its tasks; an operator reads the tasks it holds) are OR'd, so a plain
 * SELECT plans a BitmapOr over both indexes: every task of the agent read, then sorted, for a
 * page of 20. This function and count_agent_tasks apply the agent policy's own condition
 * (agent_id = the calling agent) themselves, as security definer, so the plan is one index range
 * in page order: tasks_by_agent, or tasks_by_agent_status with a status, from the cursor's
 * position when there is one. They are planned per call (plan_cache_mode), so an absent status or
 * cursor drops out of the plan.
 */
create function api.agent_tasks(
  p_status text, p_after_created_at timestamptz, p_after_id text, p_limit integer, p_offset integer
) returns table (
  id text, title text, status text, task_type text, reward_cents bigint, operator_id text,
  created_at timestamptz, deadline timestamptz, created_key text
)
  language plpgsql stable
  security definer
  set search_path = ''
  set plan_cache_mode = force_custom_plan
  as $$
declare
  v_agent_id text := private.require_agent();
begin
  return query
  select t.id, t.title, t.status, t.task_type, t.reward_cents, t.operator_id, t.created_at, t.deadline, t.created_at::text
    from public.tasks t
   where t.agent_id = v_agent_id
     and (p_status is null or t.status = p_status)
     -- created_at <= x bounds the index range; the rest drops the ties already seen.
     and (p_after_created_at is null
          or (t.created_at <= p_after_created_at and (t.created_at < p_after_created_at or t.id > p_after_id)))
   order by t.created_at desc, t.id
   limit p_limit offset p_offset;
end
$$;
grant execute on function api.agent_tasks(text, timestamp with time zone, text, integer, integer) to authenticated;

/** How many tasks the calling agent has (with a status, of that status), counted up to p_cap. */
create function api.count_agent_tasks(p_status text, p_cap integer) returns bigint
  language plpgsql stable
  security definer
  set search_path = ''
  set plan_cache_mode = force_custom_plan
  as $$
declare
  v_agent_id text := private.require_agent();
begin
  return (select count(*) from (select from public.tasks t
                                 where t.agent_id = v_agent_id and (p_status is null or t.status = p_status)
                                 limit p_cap) capped);
end
$$;
grant execute on function api.count_agent_tasks(text, integer) to authenticated;

/** Expires one task (its row locked by the caller) and refunds its whole escrow to the agent. */
create function private.expire_task(p_task public.tasks) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  perform private.transition_task(p_task.id, 'EXPIRED', 'system');
  perform private.refund_task(p_task, 'task_refund');
end
$$;

/**
 * Expires tasks past their deadline that nobody finished: PENDING, ACCEPTED and IN_PROGRESS become
 * EXPIRED and their whole escrow goes back to the agent. Submitted tasks are the Guardian's.
 */
create function api.expire_overdue_tasks(p_limit integer default 500) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
  v_count integer := 0;
begin
  for v_task in
    select * from public.tasks t
     where t.status in ('PENDING', 'ACCEPTED', 'IN_PROGRESS') and t.deadline <= now()
     order by t.deadline
     limit p_limit
       for update skip locked
  loop
    perform private.expire_task(v_task);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
grant execute on function api.expire_overdue_tasks(integer) to service_role;

/** Sandbox: the task's deadline passes now, and it expires as it would on schedule. */
create function api.sandbox_expire_task(p_task_id text) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
begin
  select * into v_task from public.tasks t where t.id = p_task_id for update;
  if v_task.status not in ('PENDING', 'ACCEPTED', 'IN_PROGRESS') then
    perform private.fail(409, 'invalid_transition', format('A %s task cannot expire', v_task.status), jsonb_build_object('status', v_task.status));
  end if;
  update public.tasks t set deadline = least(t.deadline, now()) where t.id = p_task_id;
  perform private.expire_task(v_task);
end
$$;
grant execute on function api.sandbox_expire_task(text) to service_role;

-- Who reads what: anyone reads the state machine; an agent reads its tasks, their events and
-- callbacks (never a callback's secret); an operator reads the tasks it holds and their events.
create policy "anyone reads the task statuses" on public.task_statuses for select using (true);
grant select on public.task_statuses to anon, authenticated, service_role;
create policy "anyone reads the task state machine" on public.task_transitions for select using (true);
grant select on public.task_transitions to anon, authenticated, service_role;
create policy "an agent reads its tasks" on public.tasks for select to authenticated
  using (agent_id = (select api.current_agent_id()));
create policy "an operator reads the tasks it holds" on public.tasks for select to authenticated
  using ((select api.current_operator_id()) is not null and operator_id = (select api.current_operator_id()));
grant select on public.tasks to authenticated, service_role;
create policy "an agent reads its callbacks" on public.task_callbacks for select to authenticated
  using (agent_id = (select api.current_agent_id()));
grant select on public.task_callbacks to service_role;
grant select (task_id, agent_id, url) on public.task_callbacks to authenticated;
create policy "an agent reads the events of its tasks" on public.task_events for select to authenticated
  using (exists (select from public.tasks t where t.id = task_id and t.agent_id = (select api.current_agent_id())));
create policy "an operator reads the events of its tasks" on public.task_events for select to authenticated
  using (exists (select from public.tasks t where t.id = task_id and t.operator_id = (select api.current_operator_id())));
grant select on public.task_events to authenticated, service_role;
grant select on public.agent_spend_daily to service_role;

-- ===== supabase/schemas/40_ledger.sql =====

/**
 * The double-entry ledger. Every business event is one entry whose postings sum to zero; postings
 * are append-only and record the balance before and after, and the account version, so any
 * account's history can be replayed. Balances are cached on the account row and may never go
 * negative except on external accounts (money that came from or went to the outside world).
 *
 * Each task has its own escrow account, so posting tasks never contends on a shared row; money
 * reaches the shared platform revenue account only when a task completes.
 */
create table public.ledger_accounts (
  id bigint generated always as identity primary key,
  kind text not null check (kind in (
    'agent_deposit', 'task_escrow', 'operator_pending', 'operator_available',
    'platform_revenue', 'external_usdc', 'external_fiat', 'external_payouts')),
  agent_id text references public.agents (id),
  task_id text references public.tasks (id),
  operator_id text,
  balance bigint not null default 0,
  version bigint not null default 0,
  created_at timestamptz not null default now(),
  -- Escrow per agent, kept running: the sum of its tasks' escrow accounts, moved by the same
  -- statement of private.post_entry that moves those accounts, so GET /agents/balance reads one row
  -- instead of one per open task. It lives on the agent's deposit account row, which every escrow
  -- and refund already locks and updates in the same entry (no extra row version, no new table);
  -- a settlement (escrow to the operator and revenue) locks and updates it too. Not `balance`: it is
  -- not money the account holds, and postings record only balances.
  escrow_cents bigint not null default 0,
  constraint only_external_accounts_go_negative check (kind like 'external_%' or balance >= 0),
  constraint account_has_its_owner check (
    case kind
      when 'agent_deposit' then agent_id is not null and task_id is null and operator_id is null
      when 'task_escrow' then agent_id is not null and task_id is not null and operator_id is null
      when 'operator_pending' then operator_id is not null and agent_id is null and task_id is null
      when 'operator_available' then operator_id is not null and agent_id is null and task_id is null
      else agent_id is null and task_id is null and operator_id is null
    end),
  constraint escrow_only_on_agent_deposits check (escrow_cents = 0 or kind = 'agent_deposit'),
  constraint escrow_not_negative check (escrow_cents >= 0),
  constraint ledger_accounts_operator_fk foreign key (operator_id) references public.operators (id)
);

-- No index may mention `balance`: balance updates then stay HOT (no index writes on the hottest rows).
create unique index ledger_accounts_one_deposit_per_agent on public.ledger_accounts (agent_id) where kind = 'agent_deposit';

create unique index ledger_accounts_one_escrow_per_task on public.ledger_accounts (task_id) where kind = 'task_escrow';

create unique index ledger_accounts_one_per_operator_kind on public.ledger_accounts (operator_id, kind) where operator_id is not null;

create unique index ledger_accounts_one_platform_account_per_kind on public.ledger_accounts (kind)
  where kind in ('platform_revenue', 'external_usdc', 'external_fiat', 'external_payouts');

alter table public.ledger_accounts enable row level security;

/** One business event that moves money (a deposit, a task's escrow, a refund, a payout…). */
create table public.ledger_entries (
  id bigint generated always as identity primary key,
  kind text not null check (kind in (
    'deposit', 'task_escrow', 'task_refund', 'task_settlement', 'earnings_release', 'payout')),
  agent_id text references public.agents (id),
  task_id text references public.tasks (id),
  operator_id text,
  created_at timestamptz not null default now()
);

create index ledger_entries_by_agent on public.ledger_entries (agent_id, id) where agent_id is not null;

create index ledger_entries_by_task on public.ledger_entries (task_id) where task_id is not null;

alter table public.ledger_entries enable row level security;

/** One line of an entry: a signed amount on one account, with the balance it left behind. */
create table public.ledger_postings (
  id bigint generated always as identity primary key,
  entry_id bigint not null references public.ledger_entries (id),
  account_id bigint not null references public.ledger_accounts (id),
  amount bigint not null check (amount <> 0),
  balance_before bigint not null,
  balance_after bigint not null,
  account_version bigint not null,
  constraint balance_after_follows check (balance_after = balance_before + amount),
  unique (account_id, account_version)
);

create index ledger_postings_by_entry on public.ledger_postings (entry_id);

alter table public.ledger_postings enable row level security;

/** Postings and entries are history: never rewritten, never removed. */
create function private.refuse_ledger_rewrite() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  raise exception 'The ledger is append-only: % on % is not allowed', tg_op, tg_table_name
    using errcode = 'HO409', hint = 'ledger_append_only';
end
$$;

create trigger ledger_postings_append_only before update or delete on public.ledger_postings
  for each row execute function private.refuse_ledger_rewrite();

create trigger ledger_postings_no_truncate before truncate on public.ledger_postings
  for each statement execute function private.refuse_ledger_rewrite();

create trigger ledger_entries_append_only before update or delete on public.ledger_entries
  for each row execute function private.refuse_ledger_rewrite();

create trigger ledger_entries_no_truncate before truncate on public.ledger_entries
  for each statement execute function private.refuse_ledger_rewrite();

/**
 * Backstop at commit: whatever wrote the postings, each entry must balance. Security definer:
 * the deferred check runs as whoever commits, and RLS would hide the other side of the entry.
 */
create function private.check_entry_balanced() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_sum bigint;
begin
  select sum(amount) into v_sum from public.ledger_postings where entry_id = new.entry_id;
  if v_sum <> 0 then
    raise exception 'Ledger entry % does not balance: its postings sum to %', new.entry_id, v_sum;
  end if;
  return null;
end
$$;

create constraint trigger ledger_entries_balance after insert on public.ledger_postings
  deferrable initially deferred
  for each row execute function private.check_entry_balanced();

/**
 * Posts one balanced entry. Locks the
 * accounts it touches in id order (so two moves never wait on each other in a cycle), updates the
 * cached balances and writes the postings. A balance that would go negative raises 23514 (the
 * CHECK); callers check funds first to give a clear error. A move on a task's escrow account also
 * moves its agent's running escrow on the agent's deposit account, in the same UPDATE.
 *
 * Every lookup is by primary key or by the one-deposit-per-agent index, one account at a time:
 * a self-join of the accounts would be planned once per connection (plan_cache_mode), and a plan
 * made while the table was small would go on to scan every escrow account.
 */
create function private.post_entry(
  p_kind text, p_account_ids bigint[], p_amounts bigint[],
  p_agent_id text default null, p_task_id text default null, p_operator_id text default null
) returns bigint
  language plpgsql
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  set enable_seqscan = off
  as $$
declare
  v_entry_id bigint;
  v_kind text;
  v_owner text;
  v_ids bigint[] := '{}';
  v_amounts bigint[] := '{}';
  v_escrows bigint[] := '{}';
begin
  if cardinality(p_account_ids) < 2 or cardinality(p_account_ids) <> cardinality(p_amounts) then
    raise exception 'A ledger entry needs at least two postings, one amount per account';
  end if;
  if (select sum(a) from unnest(p_amounts) a) <> 0 then
    raise exception 'Ledger entry % does not balance: % on %', p_kind, p_amounts, p_account_ids;
  end if;

  -- Each leg moves its account's balance; a leg on a task's escrow also moves the running escrow
  -- of that agent's deposit account.
  for i in 1 .. cardinality(p_account_ids) loop
    v_ids := v_ids || p_account_ids[i];
    v_amounts := v_amounts || p_amounts[i];
    v_escrows := v_escrows || 0::bigint;
    select a.kind, a.agent_id into v_kind, v_owner from public.ledger_accounts a where a.id = p_account_ids[i];
    if not found then
      raise exception 'Ledger entry % names no account %', p_kind, p_account_ids[i];
    end if;
    if v_kind = 'task_escrow' then
      v_ids := v_ids || (select d.id from public.ledger_accounts d where d.agent_id = v_owner and d.kind = 'agent_deposit');
      v_amounts := v_amounts || 0::bigint;
      v_escrows := v_escrows || p_amounts[i];
    end if;
  end loop;

  perform 1 from public.ledger_accounts where id = any (v_ids) order by id for update;

  insert into public.ledger_entries (kind, agent_id, task_id, operator_id)
  values (p_kind, p_agent_id, p_task_id, p_operator_id)
  returning id into v_entry_id;

  with moves as (
    select m.account_id, sum(m.amount)::bigint as amount, sum(m.escrow)::bigint as escrow
      from unnest(v_ids, v_amounts, v_escrows) as m (account_id, amount, escrow)
     group by m.account_id
    having sum(m.amount) <> 0 or sum(m.escrow) <> 0
  ), moved as (
    update public.ledger_accounts a
       set balance = a.balance + moves.amount,
           version = a.version + (moves.amount <> 0)::integer,
           escrow_cents = a.escrow_cents + moves.escrow
      from moves
     where a.id = moves.account_id
    returning a.id, a.balance, a.version, moves.amount
  )
  insert into public.ledger_postings (entry_id, account_id, amount, balance_before, balance_after, account_version)
  select v_entry_id, moved.id, moved.amount, moved.balance - moved.amount, moved.balance, moved.version
    from moved
   where moved.amount <> 0;

  return v_entry_id;
end
$$;

create function private.platform_account(p_kind text) returns bigint
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return (select a.id from public.ledger_accounts a where a.kind = p_kind and a.agent_id is null and a.operator_id is null);
end
$$;

create function api.agent_balance() returns table (deposit_cents bigint, escrow_cents bigint)
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return query
  select a.balance, a.escrow_cents from public.ledger_accounts a
   where a.agent_id = private.require_agent() and a.kind = 'agent_deposit';
end
$$;
grant execute on function api.agent_balance() to authenticated;

-- Who reads what: agents and operators read their own accounts, entries and postings.
create policy "an agent reads its accounts" on public.ledger_accounts for select to authenticated
  using (agent_id = (select api.current_agent_id()));
create policy "an operator reads its accounts" on public.ledger_accounts for select to authenticated
  using (operator_id = (select api.current_operator_id()));
grant select on public.ledger_accounts to authenticated, service_role;
create policy "an agent reads its entries" on public.ledger_entries for select to authenticated
  using (agent_id = (select api.current_agent_id()));
create policy "an operator reads its entries" on public.ledger_entries for select to authenticated
  using (operator_id = (select api.current_operator_id()));
grant select on public.ledger_entries to authenticated, service_role;
create policy "an agent reads the postings on its accounts" on public.ledger_postings for select to authenticated
  using (account_id in (select a.id from public.ledger_accounts a where a.agent_id = (select api.current_agent_id())));
create policy "an operator reads the postings on its accounts" on public.ledger_postings for select to authenticated
  using (account_id in (select a.id from public.ledger_accounts a where a.operator_id = (select api.current_operator_id())));
grant select on public.ledger_postings to authenticated, service_role;

-- ===== supabase/schemas/45_deposits_and_payouts.sql =====

/**
 * Deposits credited to an agent. One on-chain transfer credits at most once: the unique key is
 * (chain, tx hash, log index). Fiat deposits have no chain.
 */
create table public.deposits (
  id text primary key default private.new_id('txn'),
  agent_id text not null references public.agents (id),
  method text not null check (method in ('usdc', 'fiat')),
  chain text check (chain in ('base')),
  tx_hash text check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  log_index integer check (log_index >= 0),
  payment_method text check (payment_method in ('card', 'bank_transfer')),
  amount_cents bigint not null check (amount_cents between 500 and 1000000),
  status text not null check (status in ('confirmed', 'completed')),
  created_at timestamptz not null default now(),
  unique (chain, tx_hash, log_index),
  constraint usdc_deposits_name_their_transfer
    check (method <> 'usdc' or (chain is not null and tx_hash is not null and log_index is not null))
);

create index deposits_by_agent on public.deposits (agent_id, created_at desc);

alter table public.deposits enable row level security;

/** Money leaving the platform to an operator. */
create table public.payouts (
  id text primary key default private.new_id('payout'),
  operator_id text not null references public.operators (id),
  amount_cents bigint not null check (amount_cents >= 1000),
  method text not null check (method in ('test', 'payoneer', 'usdc')),
  payee text check (char_length(payee) <= 200),
  status text not null check (status in ('pending', 'completed', 'failed')),
  created_at timestamptz not null default now(),
  completed_at timestamptz
);

create index payouts_by_operator on public.payouts (operator_id, created_at desc);

alter table public.payouts enable row level security;

/**
 * Credits a deposit that the API has verified (a confirmed USDC transfer, or a test-mode deposit).
 * A transfer is identified by (chain, tx hash, log index) and credits at most once: a concurrent
 * duplicate waits for the first and then gets a 409.
 */
create function api.credit_deposit(
  p_agent_id text, p_method text, p_amount_cents bigint,
  p_chain text default null, p_tx_hash text default null, p_log_index integer default null,
  p_payment_method text default null
) returns table (id text, amount_cents bigint, status text, created_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_deposit public.deposits;
  v_source bigint := private.platform_account(case p_method when 'usdc' then 'external_usdc' else 'external_fiat' end);
  v_account bigint;
begin
  select a.id into v_account from public.ledger_accounts a where a.agent_id = p_agent_id and a.kind = 'agent_deposit';
  if v_account is null then
    perform private.fail(404, 'agent_not_found', 'No such agent');
  end if;

  insert into public.deposits (agent_id, method, chain, tx_hash, log_index, payment_method, amount_cents, status)
  values (p_agent_id, p_method, p_chain, p_tx_hash, p_log_index, p_payment_method, p_amount_cents,
          case p_method when 'usdc' then 'confirmed' else 'completed' end)
  on conflict (chain, tx_hash, log_index) do nothing
  returning * into v_deposit;

  if v_deposit.id is null then
    perform private.fail(409, 'deposit_already_credited', 'This transaction has already been credited');
  end if;

  perform private.post_entry('deposit', array[v_source, v_account], array[-p_amount_cents, p_amount_cents],
                             p_agent_id => p_agent_id);
  return query select v_deposit.id, v_deposit.amount_cents, v_deposit.status, v_deposit.created_at;
end
$$;
grant execute on function api.credit_deposit(text, text, bigint, text, text, integer, text) to service_role;

/**
 * Moves the rewards of tasks completed at least `p_hold` ago (of one operator, or of all) from
 * their operators' pending to available balances, one entry per task, at most `p_limit` tasks.
 * Safe to run concurrently and repeatedly: a task another release holds is skipped.
 */
create function api.release_earnings(
  p_hold interval default interval '7 days', p_limit integer default 1000, p_operator_id text default null
) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task record;
  v_released integer := 0;
begin
  for v_task in
    -- The oldest due first (the completed_at index), then locked in operator order.
    select t.id, t.operator_id, t.operator_earnings_cents as earned from public.tasks t
     where t.id in (select d.id from public.tasks d
                     where d.status = 'COMPLETED' and d.earnings_released_at is null and d.completed_at <= now() - p_hold
                       and (p_operator_id is null or d.operator_id = p_operator_id)
                     order by d.completed_at
                     limit p_limit)
       and t.status = 'COMPLETED' and t.earnings_released_at is null
     order by t.operator_id, t.completed_at
     for update skip locked
  loop
    perform private.post_entry('earnings_release',
      array[(select a.id from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_pending'),
            (select a.id from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_available')],
      array[-v_task.earned, v_task.earned],
      p_task_id => v_task.id, p_operator_id => v_task.operator_id);
    update public.tasks t set earnings_released_at = now() where t.id = v_task.id;
    v_released := v_released + 1;
  end loop;
  return v_released;
end
$$;
grant execute on function api.release_earnings(interval, integer, text) to service_role;

/** Pays out part of the calling operator's available balance (minimum $10, never more than available). */
create function api.request_payout(p_amount_cents bigint, p_method text, p_payee text) returns public.payouts
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_available_account bigint;
  v_available bigint;
  v_payout public.payouts;
begin
  select a.id, a.balance into v_available_account, v_available from public.ledger_accounts a
   where a.operator_id = v_operator.id and a.kind = 'operator_available'
     for update;
  if v_available < p_amount_cents then
    perform private.fail(402, 'insufficient_available_balance', 'The payout is larger than your available balance',
      jsonb_build_object('requested_usd', p_amount_cents / 100.0, 'available_usd', v_available / 100.0));
  end if;
  insert into public.payouts (operator_id, amount_cents, method, payee, status, completed_at)
  values (v_operator.id, p_amount_cents, p_method, p_payee, 'completed', now())
  returning * into v_payout;
  perform private.post_entry('payout', array[v_available_account, private.platform_account('external_payouts')],
                             array[-p_amount_cents, p_amount_cents], p_operator_id => v_operator.id);
  return v_payout;
end
$$;
grant execute on function api.request_payout(bigint, text, text) to authenticated;

-- Who reads what: an agent reads its deposits, an operator its payouts.
create policy "an agent reads its deposits" on public.deposits for select to authenticated
  using (agent_id = (select api.current_agent_id()));
grant select on public.deposits to authenticated, service_role;
create policy "an operator reads its payouts" on public.payouts for select to authenticated
  using (operator_id = (select api.current_operator_id()));
grant select on public.payouts to authenticated, service_role;

-- ===== supabase/schemas/46_ledger_invariants.sql =====

/**
 * The ledger's invariants, each checked by its own function, and the checks that combine them.
 *
 * The incremental check reads only the entries and postings written since the last clean check,
 * whose watermark is kept here. The full check (api.verify_ledger) reads everything and grows with
 * the ledger; the incremental one grows with what changed, so it can run every minute. It relies on
 * the chain each posting carries (balance before/after, account version): if every posting follows
 * the one before it on its account, and the last one matches the account's cached balance and
 * version, the cached balances are the sums of their postings without adding them up again.
 */
create table public.ledger_checks (
  id bigint generated always as identity primary key,
  through_entry_id bigint not null,
  through_posting_id bigint not null,
  problems integer not null,
  checked_at timestamptz not null default now()
);

alter table public.ledger_checks enable row level security;

/** Every invariant the ledger keeps: its name (what a violation reports) and what it means. */
create function api.ledger_invariants() returns table (invariant text, meaning text)
  language sql immutable
  set search_path = ''
  as $$
  values
    ('entry does not balance', 'every ledger entry has at least two postings and they sum to zero'),
    ('cached balance differs from postings', 'each account''s cached balance and version equal the sum and count of its postings'),
    ('negative internal balance', 'no account but the external ones has a negative balance'),
    ('ledger does not sum to zero', 'all balances together sum to zero: money is only moved, never made'),
    ('task without its escrow account', 'every task has exactly its own escrow account'),
    ('final task escrow not zero', 'a task in a final state holds nothing in escrow'),
    ('open task escrow differs from reward + fee', 'a task not yet final holds exactly its reward and fee in escrow'),
    ('platform revenue differs from fees of completed tasks', 'revenue is the sum of the fees of completed tasks, splits included'),
    ('task revenue differs from its fee', 'a completed task paid its fee to revenue once; any other task paid none'),
    ('operator share differs from the task''s terms', 'a completed task credited its operator the reward (or the split''s share) once; any other task credited nothing'),
    ('agent charged wrong for a task', 'an open task costs its agent reward + fee, a completed one fee + the operator''s share, any other final one nothing'),
    ('operator books differ from completed tasks', 'an operator''s pending + available + paid out equals what its completed tasks paid it'),
    ('operator pending differs from unreleased earnings', 'an operator''s pending balance is the earnings of its completed tasks not yet released'),
    ('payouts differ from payout entries', 'each operator''s payouts (not failed) add up to what its payout entries sent out'),
    ('deposit credited more than once', 'an on-chain transfer (chain, tx hash, log index) is credited at most once'),
    ('deposits differ from deposit entries', 'each agent''s deposits add up, in number and amount, to the deposit entries on its account'),
    ('task state path not allowed', 'each task''s events start it in an initial state, follow task_transitions one step at a time, and end in its status'),
    ('running escrow differs from escrow accounts', 'an agent''s running escrow (on its deposit account) is the sum of its tasks'' escrow accounts')
$$;
grant execute on function api.ledger_invariants() to service_role;

/** Every violation of every invariant, one row each: the invariant's name and what breaks it. */
create function api.verify_ledger() returns table (problem text, subject text)
  language sql stable
  security definer
  set search_path = ''
  as $$
  with final_statuses as (
    select s.status from public.task_statuses s
     where not exists (select from public.task_transitions tr where tr.from_status = s.status)
  ), initial_statuses as (
    -- PENDING, and any state that no transition leads to (a task can only be created in it).
    select 'PENDING'::text as status
    union
    select s.status from public.task_statuses s
     where not exists (select from public.task_transitions tr where tr.to_status = s.status)
       and s.status not in (select f.status from final_statuses f)
  ), account_postings as (
    select p.account_id, sum(p.amount) as total, count(*) as n, max(p.account_version) as last_version
      from public.ledger_postings p group by p.account_id
  ), task_flows as (
    -- What each task's entries moved, by the kind of account.
    select e.task_id,
           coalesce(sum(p.amount) filter (where a.kind = 'platform_revenue'), 0) as revenue,
           coalesce(sum(p.amount) filter (where a.kind = 'operator_pending' and e.kind = 'task_settlement'), 0) as operator_share,
           count(*) filter (where a.kind = 'operator_pending' and e.kind = 'task_settlement') as operator_credits,
           count(*) filter (where a.kind = 'platform_revenue') as revenue_credits,
           coalesce(sum(p.amount) filter (where a.kind = 'agent_deposit'), 0) as agent_net
      from public.ledger_entries e
      join public.ledger_postings p on p.entry_id = e.id
      join public.ledger_accounts a on a.id = p.account_id
     where e.task_id is not null
     group by e.task_id
  ), task_books as (
    select t.id, t.status, t.agent_id, t.operator_id, t.reward_cents, t.fee_cents, t.operator_earnings_cents,
           t.dispute_resolution, t.earnings_released_at,
           t.status in (select f.status from final_statuses f) as final,
           esc.id as escrow_id, esc.balance as escrow,
           coalesce(f.revenue, 0) as revenue, coalesce(f.revenue_credits, 0) as revenue_credits,
           coalesce(f.operator_share, 0) as operator_share, coalesce(f.operator_credits, 0) as operator_credits,
           coalesce(f.agent_net, 0) as agent_net
      from public.tasks t
      left join public.ledger_accounts esc on esc.task_id = t.id and esc.kind = 'task_escrow'
      left join task_flows f on f.task_id = t.id
  ), operator_books as (
    select o.id,
           coalesce((select a.balance from public.ledger_accounts a where a.operator_id = o.id and a.kind = 'operator_pending'), 0) as pending,
           coalesce((select a.balance from public.ledger_accounts a where a.operator_id = o.id and a.kind = 'operator_available'), 0) as available,
           coalesce((select sum(p.amount) from public.ledger_entries e
                       join public.ledger_postings p on p.entry_id = e.id
                       join public.ledger_accounts a on a.id = p.account_id
                      where e.operator_id = o.id and e.kind = 'payout' and a.kind = 'external_payouts'), 0) as paid_out,
           coalesce((select sum(t.operator_earnings_cents) from public.tasks t
                      where t.operator_id = o.id and t.status = 'COMPLETED'), 0) as earned,
           coalesce((select sum(t.operator_earnings_cents) from public.tasks t
                      where t.operator_id = o.id and t.status = 'COMPLETED' and t.earnings_released_at is null), 0) as unreleased,
           coalesce((select sum(po.amount_cents) from public.payouts po
                      where po.operator_id = o.id and po.status <> 'failed'), 0) as payouts
      from public.operators o
  ), events as (
    select ev.task_id, ev.from_status, ev.to_status,
           lag(ev.to_status) over w as previous_to,
           row_number() over w as n,
           count(*) over (partition by ev.task_id) as total
      from public.task_events ev
    window w as (partition by ev.task_id order by ev.id)
  )
  select 'entry does not balance', e.id::text
    from public.ledger_entries e
    left join public.ledger_postings p on p.entry_id = e.id
   group by e.id
  having coalesce(sum(p.amount), 0) <> 0 or count(p.id) < 2
  union all
  select 'cached balance differs from postings', a.id::text
    from public.ledger_accounts a
    left join account_postings p on p.account_id = a.id
   where a.balance <> coalesce(p.total, 0) or a.version <> coalesce(p.n, 0) or a.version <> coalesce(p.last_version, 0)
  union all
  select 'negative internal balance', a.id::text
    from public.ledger_accounts a
   where a.kind not like 'external_%' and a.balance < 0
  union all
  select 'ledger does not sum to zero', sum(a.balance)::text
    from public.ledger_accounts a
  having sum(a.balance) <> 0
  union all
  select 'task without its escrow account', t.id from task_books t where t.escrow_id is null
  union all
  select 'final task escrow not zero', t.id from task_books t where t.final and t.escrow <> 0
  union all
  select 'open task escrow differs from reward + fee', t.id
    from task_books t where not t.final and t.escrow <> t.reward_cents + t.fee_cents
  union all
  select 'platform revenue differs from fees of completed tasks',
         format('revenue %s, fees %s', r.balance, (select coalesce(sum(t.fee_cents), 0) from public.tasks t where t.status = 'COMPLETED'))
    from public.ledger_accounts r
   where r.kind = 'platform_revenue'
     and r.balance <> (select coalesce(sum(t.fee_cents), 0) from public.tasks t where t.status = 'COMPLETED')
  union all
  select 'task revenue differs from its fee', t.id
    from task_books t
   where (t.status = 'COMPLETED' and (t.revenue <> t.fee_cents or t.revenue_credits <> 1))
      or (t.status <> 'COMPLETED' and t.revenue <> 0)
  union all
  select 'operator share differs from the task''s terms', t.id
    from task_books t
   where (t.status = 'COMPLETED' and (
            t.operator_id is null
            or t.operator_earnings_cents is distinct from t.operator_share
            or t.operator_credits <> 1
            or case when t.dispute_resolution->>'resolution' = 'split'
                    then t.operator_earnings_cents is distinct from round((t.dispute_resolution->>'operator_usd')::numeric * 100)::bigint
                         or t.operator_earnings_cents not between 1 and t.reward_cents - 1
                    else t.operator_earnings_cents is distinct from t.reward_cents end))
      or (t.status <> 'COMPLETED' and (t.operator_share <> 0 or t.operator_earnings_cents is not null))
  union all
  select 'agent charged wrong for a task', t.id
    from task_books t
   where t.agent_net <> case when not t.final then -(t.reward_cents + t.fee_cents)
                             when t.status = 'COMPLETED' then -(t.fee_cents + coalesce(t.operator_earnings_cents, 0))
                             else 0 end
  union all
  select 'operator books differ from completed tasks', o.id
    from operator_books o where o.pending + o.available + o.paid_out <> o.earned
  union all
  select 'operator pending differs from unreleased earnings', o.id
    from operator_books o where o.pending <> o.unreleased
  union all
  select 'payouts differ from payout entries', o.id
    from operator_books o where o.payouts <> o.paid_out
  union all
  select 'deposit credited more than once', concat_ws(':', d.chain, d.tx_hash, d.log_index)
    from public.deposits d
   where d.chain is not null
   group by d.chain, d.tx_hash, d.log_index
  having count(*) > 1
  union all
  select 'deposits differ from deposit entries', coalesce(d.agent_id, c.agent_id)
    from (select dep.agent_id, count(*) as n, sum(dep.amount_cents) as total
            from public.deposits dep group by dep.agent_id) d
    full join (select e.agent_id, count(*) as n, sum(p.amount) as total
                 from public.ledger_entries e
                 join public.ledger_postings p on p.entry_id = e.id
                 join public.ledger_accounts a on a.id = p.account_id and a.kind = 'agent_deposit'
                where e.kind = 'deposit'
                group by e.agent_id) c on c.agent_id = d.agent_id
   where d.n is distinct from c.n or d.total is distinct from c.total
  union all
  select 'task state path not allowed', x.task_id
    from (
      select ev.task_id from events ev
       where (ev.n = 1 and (ev.from_status is not null or ev.to_status not in (select i.status from initial_statuses i)))
          or (ev.n > 1 and (ev.from_status is distinct from ev.previous_to
                            or not exists (select from public.task_transitions tr
                                            where tr.from_status = ev.from_status and tr.to_status = ev.to_status)))
      union
      select ev.task_id from events ev join public.tasks t on t.id = ev.task_id
       where ev.n = ev.total and ev.to_status <> t.status
      union
      select t.id from public.tasks t where not exists (select from public.task_events ev where ev.task_id = t.id)
    ) x
  union all
  select 'running escrow differs from escrow accounts', d.agent_id
    from public.ledger_accounts d
    left join (select e.agent_id, sum(e.balance) as total from public.ledger_accounts e
                where e.kind = 'task_escrow' group by e.agent_id) e on e.agent_id = d.agent_id
   where d.kind = 'agent_deposit' and d.escrow_cents <> coalesce(e.total, 0)
$$;
grant execute on function api.verify_ledger() to service_role;

/**
 * Checks what was written since the last clean check and, when all is well, records the new
 * watermark; returns problems as verify_ledger does. The first run starts from the beginning (run
 * api.verify_ledger() too: it covers invariants this one does not). Ids are taken in commit order
 * only under a lock: a SHARE lock on the postings waits for the money moves in flight to commit
 * (and holds new ones for the few milliseconds the check takes), so no posting can later appear
 * below the watermark.
 */
create function api.verify_ledger_incremental() returns table (problem text, subject text)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_from_entry bigint;
  v_from_posting bigint;
  v_to_entry bigint;
  v_to_posting bigint;
  v_problems text[];
  v_subjects text[];
begin
  lock table public.ledger_entries, public.ledger_postings in share mode;
  v_to_entry := coalesce((select max(e.id) from public.ledger_entries e), 0);
  v_to_posting := coalesce((select max(p.id) from public.ledger_postings p), 0);
  select c.through_entry_id, c.through_posting_id into v_from_entry, v_from_posting
    from public.ledger_checks c where c.problems = 0 order by c.id desc limit 1;
  v_from_entry := coalesce(v_from_entry, 0);
  v_from_posting := coalesce(v_from_posting, 0);

  with fresh as (
    select p.* from public.ledger_postings p where p.id > v_from_posting and p.id <= v_to_posting
  ), touched as (
    select distinct f.account_id from fresh f
  ), found as (
    select 'entry does not balance' as problem, e.id::text as subject
      from public.ledger_entries e
      left join public.ledger_postings p on p.entry_id = e.id
     where e.id > v_from_entry and e.id <= v_to_entry
     group by e.id
    having coalesce(sum(p.amount), 0) <> 0 or count(p.id) < 2
    union all
    -- Each new posting follows the previous posting of its account (or opens it at zero).
    select 'posting does not follow the one before it', f.id::text
      from fresh f
      left join public.ledger_postings prev on prev.account_id = f.account_id and prev.account_version = f.account_version - 1
     where case when f.account_version = 1 then f.balance_before <> 0
                else prev.id is null or prev.balance_after <> f.balance_before end
    union all
    -- Each account a new posting touched holds what its last posting left, at its last version.
    select 'cached balance differs from postings', a.id::text
      from touched t
      join public.ledger_accounts a on a.id = t.account_id
      left join public.ledger_postings last on last.account_id = a.id and last.account_version = a.version
     where last.id is null or last.balance_after <> a.balance
        or exists (select from public.ledger_postings later where later.account_id = a.id and later.account_version > a.version)
    union all
    select 'negative internal balance', a.id::text
      from touched t
      join public.ledger_accounts a on a.id = t.account_id
     where a.kind not like 'external_%' and a.balance < 0
  )
  select array_agg(found.problem), array_agg(found.subject) into v_problems, v_subjects from found;

  insert into public.ledger_checks (through_entry_id, through_posting_id, problems)
  select case when v_problems is null then v_to_entry else v_from_entry end,
         case when v_problems is null then v_to_posting else v_from_posting end,
         coalesce(cardinality(v_problems), 0);
  return query select * from unnest(v_problems, v_subjects);
end
$$;
grant execute on function api.verify_ledger_incremental() to service_role;

/** One row per invariant, in order: how many violations it has now and up to five of them. */
create function api.check_ledger() returns table (invariant text, violations bigint, examples text[])
  language sql stable
  security definer
  set search_path = ''
  as $$
  select i.invariant, count(v.subject),
         coalesce((array_agg(v.subject order by v.subject) filter (where v.subject is not null))[1:5], '{}')
    from api.ledger_invariants() with ordinality as i (invariant, meaning, position)
    left join api.verify_ledger() v on v.problem = i.invariant
   group by i.invariant, i.position
   order by i.position
$$;
grant execute on function api.check_ledger() to service_role;

-- The API's trusted role reads the checks' history.
grant select on public.ledger_checks to service_role;

-- ===== supabase/schemas/50_operator_work.sql =====

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
  created_at timestamptz not null default now()
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
    if v_task.status not in ('ACCEPTED', 'IN_PROGRESS') then
      perform private.fail(409, 'task_not_in_progress', format('Proof can only be uploaded while the task is ACCEPTED or IN_PROGRESS; it is %s', v_task.status));
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
 * Submits proof for a task the calling operator holds (ACCEPTED or IN_PROGRESS, before its
 * deadline): every photo path must be a file this operator uploaded, for this task or for none
 * (those are bound to this task now), and each at most once. Stores the proof, moves the task to
 * SUBMITTED and queues it for the Guardian.
 */
create function api.submit_task(p_task_id text, p_proof jsonb, p_photo_paths text[]) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks := private.held_task(p_task_id, v_operator.id);
  v_unknown text;
begin
  if v_task.status not in ('ACCEPTED', 'IN_PROGRESS') then
    perform private.fail(409, 'invalid_transition', format('Only an ACCEPTED or IN_PROGRESS task can be submitted; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  if v_task.deadline <= now() then
    perform private.fail(410, 'task_expired', 'This task has passed its deadline');
  end if;
  if cardinality(p_photo_paths) <> (select count(distinct p) from unnest(p_photo_paths) p) then
    perform private.fail(400, 'duplicate_photo', 'photos: lists the same file more than once');
  end if;
  update public.proof_files f set task_id = p_task_id
   where f.path = any (p_photo_paths) and f.operator_id = v_operator.id and f.task_id is null;
  select p into v_unknown from unnest(p_photo_paths) p
   where not exists (select from public.proof_files f where f.path = p and f.task_id = p_task_id and f.operator_id = v_operator.id)
   limit 1;
  if v_unknown is not null then
    perform private.fail(400, 'unknown_photo', 'photos: every photo must be a file you uploaded for this task with POST /operator/upload',
                         jsonb_build_object('photo', v_unknown));
  end if;
  update public.tasks t set proof = p_proof where t.id = p_task_id;
  perform private.transition_task(p_task_id, 'SUBMITTED', 'operator:' || v_operator.id);
  insert into public.guardian_jobs (task_id) values (p_task_id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
grant execute on function api.submit_task(text, jsonb, text[]) to authenticated;

/**
 * The operator of one of the calling agent's tasks as the reference shows it: id, short name
 * ("Jane D."), mean rating. Nothing else about the operator (no email, no phone).
 */
create function api.task_operator(p_task_id text) returns table (id text, name text, rating numeric)
  language sql stable
  security definer
  set search_path = ''
  as $$
  select o.id,
         split_part(o.name, ' ', 1) || coalesce(' ' || nullif(left(split_part(o.name, ' ', 2), 1), '') || '.', ''),
         case when o.rating_count > 0 then round(o.rating_sum::numeric / o.rating_count, 2) end
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
         null::timestamptz as submitted_at, t.created_at
    from public.tasks t
   where t.status = 'PENDING' and t.operator_id is null and t.deadline > now()
     and (select api.current_verified_operator_id()) is not null;

-- Who reads what: an operator reads its proof files, and a verified operator the open tasks.
create policy "an operator reads its proof files" on public.proof_files for select to authenticated
  using (operator_id = (select api.current_operator_id()));
grant select on public.proof_files to authenticated, service_role;
grant select on public.open_tasks to authenticated;

-- ===== supabase/schemas/60_review_and_guardian.sql =====

/** The Guardian's durable queue: one open job per submitted task (the worker comes with the Guardian). */
create table public.guardian_jobs (
  id bigint generated always as identity primary key,
  task_id text not null references public.tasks (id),
  status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed')),
  attempts integer not null default 0,
  available_at timestamptz not null default now(),
  locked_until timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create unique index guardian_jobs_one_open_per_task on public.guardian_jobs (task_id) where status in ('queued', 'running');

create index guardian_jobs_ready on public.guardian_jobs (available_at) where status = 'queued';

alter table public.guardian_jobs enable row level security;

/** An agent's rating of the operator who completed its task: once per task. */
create table public.task_ratings (
  task_id text primary key references public.tasks (id),
  agent_id text not null references public.agents (id),
  operator_id text not null references public.operators (id),
  rating integer not null check (rating between 1 and 5),
  comment text check (char_length(comment) <= 1000),
  created_at timestamptz not null default now()
);

alter table public.task_ratings enable row level security;

/**
 * Completes a task and pays for it in one entry: the reward from its escrow to the operator's
 * pending balance (held before it can be withdrawn), the fee to platform revenue. For the
 * Guardian's approvals and agents' manual approvals.
 */
create function private.complete_task(p_task_id text, p_actor text) returns public.tasks
  language plpgsql
  set search_path = ''
  as $$
declare
  v_task public.tasks;
  v_escrow bigint;
  v_pending bigint;
begin
  select * into v_task from public.tasks t where t.id = p_task_id for update;
  if v_task.operator_id is null then
    perform private.fail(409, 'no_operator', 'Only a task an operator worked on can be completed');
  end if;
  perform private.transition_task(p_task_id, 'COMPLETED', p_actor);
  update public.tasks t set operator_earnings_cents = t.reward_cents where t.id = p_task_id;
  select a.id into v_escrow from public.ledger_accounts a where a.task_id = p_task_id and a.kind = 'task_escrow';
  select a.id into v_pending from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_pending';
  perform private.post_entry('task_settlement',
    array[v_escrow, v_pending, private.platform_account('platform_revenue')],
    array[-(v_task.reward_cents + v_task.fee_cents), v_task.reward_cents, v_task.fee_cents],
    p_agent_id => v_task.agent_id, p_task_id => p_task_id, p_operator_id => v_task.operator_id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;

/**
 * Claims up to `p_limit` Guardian jobs that are due, or whose worker's lease ran out, for
 * `p_lease_seconds`. A job claimed by a worker that dies is claimed again once its lease expires.
 */
create function api.claim_guardian_jobs(p_limit integer, p_lease_seconds integer)
  returns table (job_id bigint, task_id text, attempts integer)
  language sql
  security definer
  set search_path = ''
  as $$
  update public.guardian_jobs j
     set status = 'running', attempts = j.attempts + 1, locked_until = now() + make_interval(secs => p_lease_seconds), updated_at = now()
   where j.id in (
     select g.id from public.guardian_jobs g
      where (g.status = 'queued' and g.available_at <= now()) or (g.status = 'running' and g.locked_until < now())
      order by g.available_at, g.id
      limit p_limit
        for update skip locked)
  returning j.id, j.task_id, j.attempts
$$;
grant execute on function api.claim_guardian_jobs(integer, integer) to service_role;

/**
 * Applies the Guardian's verdict on a claimed job: APPROVE completes and pays, anything else sends
 * the task to MANUAL_REVIEW or DISPUTED. An approval pays only when the verdict itself says every
 * requirement is met. The API refuses to approve against its own findings; this is the same rule
 * where the money moves, so no caller (a worker bug, a future code path) can pay on a verdict that
 * contradicts itself: such an APPROVE is applied as MANUAL_REVIEW, and the stored verdict says so.
 */
create function api.apply_guardian_verdict(p_job_id bigint, p_outcome text, p_verdict jsonb) returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_job public.guardian_jobs;
  v_task public.tasks;
begin
  if p_outcome not in ('APPROVE', 'MANUAL_REVIEW', 'DISPUTED') then
    raise exception 'Unknown Guardian outcome %', p_outcome;
  end if;
  select * into v_job from public.guardian_jobs j where j.id = p_job_id for update;
  select * into v_task from public.tasks t where t.id = v_job.task_id for update;
  if v_job.status = 'done' or v_task.status <> 'SUBMITTED' then
    update public.guardian_jobs j set status = 'done', locked_until = null, updated_at = now() where j.id = p_job_id;
    return v_task.status;
  end if;

  if p_outcome = 'APPROVE' and exists (
    select from unnest(v_task.proof_requirements) r(requirement)
     where not exists (
       select from jsonb_array_elements(coalesce(p_verdict->'requirement_results', '[]'::jsonb)) e
        where e->>'requirement' = r.requirement and e->'met' = 'true'::jsonb)) then
    p_outcome := 'MANUAL_REVIEW';
    p_verdict := p_verdict || jsonb_build_object(
      'decision', 'MANUAL_REVIEW',
      'reasoning', concat_ws(' ', p_verdict->>'reasoning', 'Not every requirement was judged met, so the approval goes to review.'));
  end if;

  update public.tasks t set guardian_result = p_verdict where t.id = v_task.id;
  if p_outcome = 'APPROVE' then
    perform private.transition_task(v_task.id, 'VERIFIED', 'guardian');
    perform private.complete_task(v_task.id, 'guardian');
  else
    perform private.transition_task(v_task.id, p_outcome, 'guardian');
  end if;
  update public.guardian_jobs j set status = 'done', locked_until = null, last_error = null, updated_at = now() where j.id = p_job_id;
  select t.status into v_task.status from public.tasks t where t.id = v_task.id;
  return v_task.status;
end
$$;
grant execute on function api.apply_guardian_verdict(bigint, text, jsonb) to service_role;

/**
 * Records a failed Guardian attempt: the job is retried after `p_retry_after_seconds`, and after
 * `p_max_attempts` attempts the task goes to MANUAL_REVIEW (never to an approval).
 */
create function api.fail_guardian_job(p_job_id bigint, p_error text, p_retry_after_seconds integer, p_max_attempts integer) returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_job public.guardian_jobs;
begin
  select * into v_job from public.guardian_jobs j where j.id = p_job_id for update;
  if v_job.status = 'done' then
    return 'done';
  end if;
  if v_job.attempts >= p_max_attempts then
    perform api.apply_guardian_verdict(p_job_id, 'MANUAL_REVIEW', jsonb_build_object(
      'decision', 'MANUAL_REVIEW', 'confidence', null,
      'reasoning', 'The Guardian could not verify this proof automatically; it needs a human look.',
      'requirement_results', '[]'::jsonb, 'error', left(p_error, 500)));
    update public.guardian_jobs j set status = 'failed', last_error = left(p_error, 2000) where j.id = p_job_id;
    return 'failed';
  end if;
  update public.guardian_jobs j
     set status = 'queued', locked_until = null, last_error = left(p_error, 2000),
         available_at = now() + make_interval(secs => p_retry_after_seconds), updated_at = now()
   where j.id = p_job_id;
  return 'queued';
end
$$;
grant execute on function api.fail_guardian_job(bigint, text, integer, integer) to service_role;

/**
 * The agent's decision on a submitted task. APPROVE completes and pays from SUBMITTED, VERIFIED,
 * MANUAL_REVIEW, or DISPUTED (the agent overrides a dispute); REJECT disputes from SUBMITTED or
 * MANUAL_REVIEW. REJECT of a task the Guardian disputed confirms the Guardian and settles as the
 * admin's `refund` would (reward and fee back, CANCELLED). A dispute the agent raised itself is
 * between it and the operator: only the admin settles that one, or the agent approves after all.
 * Like the Guardian's verdict, it locks the task's Guardian job before the task, so a decision
 * racing a verdict waits instead of deadlocking.
 */
create function api.verify_task(p_task_id text, p_decision text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_task public.tasks;
  v_disputed_by text;
begin
  -- The Guardian locks its job, then the task (api.apply_guardian_verdict): take them in that
  -- order too, so an agent deciding while the Guardian judges waits instead of deadlocking.
  perform 1 from public.guardian_jobs j where j.task_id = p_task_id and j.status in ('queued', 'running') order by j.id for update;
  select * into v_task from public.tasks t where t.id = p_task_id and t.agent_id = v_agent_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status = 'DISPUTED' then
    select e.actor into v_disputed_by from public.task_events e
     where e.task_id = p_task_id and e.to_status = 'DISPUTED' order by e.id desc limit 1;
  end if;
  if p_decision = 'APPROVE' and v_task.status in ('SUBMITTED', 'VERIFIED', 'MANUAL_REVIEW', 'DISPUTED') then
    if v_task.status = 'DISPUTED' then
      update public.tasks t
         set dispute_resolution = jsonb_build_object('resolution', 'pay', 'by', 'agent', 'resolved_at', now())
       where t.id = p_task_id;
    end if;
    update public.tasks t set verified_at = coalesce(t.verified_at, now()) where t.id = p_task_id;
    perform private.complete_task(p_task_id, 'agent:' || v_agent_id);
  elsif p_decision = 'REJECT' and v_task.status in ('SUBMITTED', 'MANUAL_REVIEW') then
    perform private.transition_task(p_task_id, 'DISPUTED', 'agent:' || v_agent_id);
  elsif p_decision = 'REJECT' and v_task.status = 'DISPUTED' and v_disputed_by = 'guardian' then
    update public.tasks t
       set dispute_resolution = jsonb_build_object('resolution', 'refund', 'by', 'agent', 'resolved_at', now())
     where t.id = p_task_id;
    perform private.transition_task(p_task_id, 'CANCELLED', 'agent:' || v_agent_id);
    perform private.refund_task(v_task, 'task_refund');
  elsif p_decision = 'REJECT' and v_task.status = 'DISPUTED' then
    perform private.fail(409, 'dispute_pending', 'You disputed this task yourself: an admin settles it (or approve it after all)',
      jsonb_build_object('status', v_task.status));
  else
    perform private.fail(409, 'task_not_reviewable',
      format('A %s task cannot be %s', v_task.status, case p_decision when 'APPROVE' then 'approved' else 'rejected' end),
      jsonb_build_object('status', v_task.status));
  end if;
  update public.guardian_jobs j set status = 'done', locked_until = null, updated_at = now()
   where j.task_id = p_task_id and j.status in ('queued', 'running');
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
grant execute on function api.verify_task(text, text) to authenticated;

/**
 * Admin: settles a DISPUTED task in one ledger entry. `refund`: reward and fee back to the agent
 * (CANCELLED); `pay`: as an approval (COMPLETED); `split`: the operator gets `p_operator_cents` of
 * the reward (pending, like any earning), the agent the rest of the reward, the platform its fee
 * (COMPLETED).
 */
create function api.resolve_dispute(p_task_id text, p_resolution text, p_operator_cents bigint, p_note text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
  v_escrow bigint;
  v_deposit bigint;
  v_pending bigint;
begin
  select * into v_task from public.tasks t where t.id = p_task_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status <> 'DISPUTED' then
    perform private.fail(409, 'task_not_disputed', format('Only a DISPUTED task can be resolved; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  update public.tasks t
     set dispute_resolution = jsonb_build_object('resolution', p_resolution, 'operator_usd', p_operator_cents / 100.0, 'note', p_note, 'resolved_at', now())
   where t.id = p_task_id;

  if p_resolution = 'refund' then
    perform private.transition_task(p_task_id, 'CANCELLED', 'admin');
    perform private.refund_task(v_task, 'task_refund');
  elsif p_resolution = 'pay' then
    perform private.complete_task(p_task_id, 'admin');
  elsif p_resolution = 'split' then
    if p_operator_cents is null or p_operator_cents <= 0 or p_operator_cents >= v_task.reward_cents then
      perform private.fail(400, 'validation_error', 'operator_usd: a split gives the operator more than nothing and less than the whole reward');
    end if;
    perform private.transition_task(p_task_id, 'COMPLETED', 'admin');
    update public.tasks t set operator_earnings_cents = p_operator_cents where t.id = p_task_id;
    select a.id into v_escrow from public.ledger_accounts a where a.task_id = p_task_id and a.kind = 'task_escrow';
    select a.id into v_deposit from public.ledger_accounts a where a.agent_id = v_task.agent_id and a.kind = 'agent_deposit';
    select a.id into v_pending from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_pending';
    perform private.post_entry('task_settlement',
      array[v_escrow, v_pending, v_deposit, private.platform_account('platform_revenue')],
      array[-(v_task.reward_cents + v_task.fee_cents), p_operator_cents, v_task.reward_cents - p_operator_cents, v_task.fee_cents],
      p_agent_id => v_task.agent_id, p_task_id => p_task_id, p_operator_id => v_task.operator_id);
  else
    perform private.fail(400, 'validation_error', 'resolution: must be refund, pay or split');
  end if;
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
grant execute on function api.resolve_dispute(text, text, bigint, text) to service_role;

/** An agent rates the operator of one of its COMPLETED tasks, once. */
create function api.rate_task(p_task_id text, p_rating integer, p_comment text) returns public.task_ratings
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_task public.tasks;
  v_rating public.task_ratings;
begin
  select * into v_task from public.tasks t where t.id = p_task_id and t.agent_id = v_agent_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status <> 'COMPLETED' then
    perform private.fail(409, 'task_not_completed', format('Only a COMPLETED task can be rated; this task is %s', v_task.status));
  end if;
  insert into public.task_ratings (task_id, agent_id, operator_id, rating, comment)
  values (p_task_id, v_agent_id, v_task.operator_id, p_rating, p_comment)
  on conflict (task_id) do nothing
  returning * into v_rating;
  if v_rating.task_id is null then
    perform private.fail(409, 'already_rated', 'This task has already been rated');
  end if;
  update public.operators o set rating_sum = o.rating_sum + p_rating, rating_count = o.rating_count + 1
   where o.id = v_task.operator_id;
  return v_rating;
end
$$;
grant execute on function api.rate_task(text, integer, text) to authenticated;

-- Who reads what: agents and operators read the ratings of their tasks; the Guardian's queue is
-- the API's.
grant select on public.guardian_jobs to service_role;
create policy "agents and operators read the ratings of their tasks" on public.task_ratings for select to authenticated
  using (agent_id = (select api.current_agent_id()) or operator_id = (select api.current_operator_id()));
grant select on public.task_ratings to authenticated, service_role;

-- ===== supabase/schemas/70_webhooks.sql =====

/** One event for one agent's callback URL, and how its delivery went. */
create table public.webhook_deliveries (
  id text primary key default private.new_id('whd'),
  task_id text not null references public.tasks (id),
  agent_id text not null references public.agents (id),
  event text not null,
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  locked_until timestamptz,
  last_status_code integer,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  -- Deliveries keep the order their events happened in, even within one transaction.
  seq bigint generated always as identity,
  -- An attempt is recorded only by the worker that holds the delivery's lease: each claim draws a
  -- fresh token, the worker hands it back with the outcome, and an outcome under any other token
  -- (a worker whose lease ran out) changes nothing.
  lease uuid
);

create index webhook_deliveries_due on public.webhook_deliveries (next_attempt_at) where status = 'pending';

create index webhook_deliveries_by_task on public.webhook_deliveries (task_id, created_at);

create index webhook_deliveries_pending_by_task on public.webhook_deliveries (task_id, seq) where status = 'pending';

alter table public.webhook_deliveries enable row level security;

/**
 * Signed webhooks through an outbox. Every task event an agent hears about gets a delivery row in
 * the same transaction as the state change (a trigger on task_events), so no change is ever
 * announced that did not commit, and none that committed is lost. The worker claims due
 * deliveries with a lease, posts them, and records the result with exponential backoff.
 *
 * The webhook event a task status is announced as, or null for one that is not announced.
 */
create function private.webhook_event(p_status text) returns text
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return case p_status
    when 'PENDING_APPROVAL' then 'task.pending_approval'
    when 'ACCEPTED' then 'task.accepted' when 'SUBMITTED' then 'task.submitted' when 'VERIFIED' then 'task.verified'
    when 'MANUAL_REVIEW' then 'task.manual_review' when 'DISPUTED' then 'task.disputed' when 'COMPLETED' then 'task.completed'
    when 'CANCELLED' then 'task.cancelled' when 'EXPIRED' then 'task.expired' end;
end
$$;

/** Queues the webhook for a task event, when the task has a callback. Payload as the reference shows. */
create function private.enqueue_webhook() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_event text := private.webhook_event(new.to_status);
begin
  if v_event is not null then
    insert into public.webhook_deliveries (task_id, agent_id, event, payload)
    select t.id, t.agent_id, v_event,
           jsonb_build_object('event', v_event, 'task_id', t.id, 'status', new.to_status,
                              'guardian_result', t.guardian_result,
                              'timestamp', to_char(new.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      from public.tasks t
      join public.task_callbacks cb on cb.task_id = t.id
     where t.id = new.task_id;
  end if;
  return null;
end
$$;

create trigger task_events_enqueue_webhooks after insert on public.task_events
  for each row execute function private.enqueue_webhook();

/**
 * Claims up to `p_limit` due deliveries for `p_lease_seconds` under a fresh lease token each, and
 * only a task's oldest pending one, so a task's events arrive in order (a later event waits until
 * the earlier one is delivered or has failed for good). `fail` is true when the sandbox asked for
 * this attempt to fail (the receiver is then not called).
 */
create function api.claim_webhook_deliveries(p_limit integer, p_lease_seconds integer)
  returns table (id text, task_id text, event text, payload jsonb, url text, secret text, attempts integer, fail boolean, lease uuid)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_delivery public.webhook_deliveries;
  v_fail boolean;
begin
  for v_delivery in
    update public.webhook_deliveries d
       set attempts = d.attempts + 1, locked_until = now() + make_interval(secs => p_lease_seconds), lease = gen_random_uuid()
     where d.id in (
       select w.id from public.webhook_deliveries w
        where w.status = 'pending' and w.next_attempt_at <= now() and (w.locked_until is null or w.locked_until < now())
          and not exists (select from public.webhook_deliveries e
                           where e.task_id = w.task_id and e.status = 'pending' and e.seq < w.seq)
        order by w.next_attempt_at, w.seq
        limit p_limit
          for update skip locked)
    returning d.*
  loop
    update public.task_callbacks cb set fail_next = cb.fail_next - 1
     where cb.task_id = v_delivery.task_id and cb.fail_next > 0
    returning true into v_fail;
    return query
      select v_delivery.id, v_delivery.task_id, v_delivery.event, v_delivery.payload, cb.url, cb.secret,
             v_delivery.attempts, coalesce(v_fail, false), v_delivery.lease
        from public.task_callbacks cb where cb.task_id = v_delivery.task_id;
    v_fail := null;
  end loop;
end
$$;
grant execute on function api.claim_webhook_deliveries(integer, integer) to service_role;

/**
 * Records an attempt made under lease `p_lease`: delivered, or retried after a backoff that grows
 * fourfold from 30 s up to 8 h (±20 % jitter), until `p_max_attempts` — about a day — after which
 * it is failed. Returns the delivery's status, or 'lease_lost' (and changes nothing) when the
 * delivery is no longer held under that lease.
 */
create function api.record_webhook_attempt(p_id text, p_lease uuid, p_delivered boolean, p_status_code integer, p_error text, p_max_attempts integer)
  returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_delivery public.webhook_deliveries;
begin
  select * into v_delivery from public.webhook_deliveries d where d.id = p_id for update;
  if v_delivery.lease is distinct from p_lease or p_lease is null then
    return 'lease_lost';
  end if;
  if p_delivered then
    update public.webhook_deliveries d
       set status = 'delivered', delivered_at = now(), locked_until = null, lease = null, last_status_code = p_status_code, last_error = null
     where d.id = p_id;
    return 'delivered';
  end if;
  update public.webhook_deliveries d
     set status = case when v_delivery.attempts >= p_max_attempts then 'failed' else 'pending' end,
         next_attempt_at = now() + make_interval(secs => least(28800, 30 * power(4, v_delivery.attempts - 1)) * (0.8 + random() * 0.4)),
         locked_until = null, lease = null, last_status_code = p_status_code, last_error = left(p_error, 1000)
   where d.id = p_id
  returning d.status into v_delivery.status;
  return v_delivery.status;
end
$$;
grant execute on function api.record_webhook_attempt(text, uuid, boolean, integer, text, integer) to service_role;

/**
 * The agent asks for a delivery again (delivered, failed or waiting): it is due now with a fresh
 * budget. An attempt already in flight keeps its lease, so the same delivery is never posted twice
 * at once: that attempt's outcome stands (delivered, or retried within seconds).
 */
create function api.resend_webhook(p_id text) returns public.webhook_deliveries
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_delivery public.webhook_deliveries;
begin
  update public.webhook_deliveries d
     set status = 'pending', attempts = 0, next_attempt_at = now()
   where d.id = p_id and d.agent_id = v_agent_id
  returning * into v_delivery;
  if v_delivery.id is null then
    perform private.fail(404, 'delivery_not_found', 'No webhook delivery with this id');
  end if;
  return v_delivery;
end
$$;
grant execute on function api.resend_webhook(text) to authenticated;

/** Sandbox: the next `p_count` delivery attempts for this task fail without calling the receiver. */
create function api.fail_next_webhooks(p_task_id text, p_count integer) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  update public.task_callbacks cb set fail_next = p_count where cb.task_id = p_task_id;
  if not found then
    perform private.fail(409, 'no_callback', 'This task has no callback_url, so it sends no webhooks');
  end if;
end
$$;
grant execute on function api.fail_next_webhooks(text, integer) to service_role;

-- Who reads what: an agent reads its deliveries.
create policy "an agent reads its webhook deliveries" on public.webhook_deliveries for select to authenticated
  using (agent_id = (select api.current_agent_id()));
grant select on public.webhook_deliveries to authenticated, service_role;

-- ===== supabase/schemas/80_spending_policies_and_approvals.sql =====

/**
 * Spending policies: limits an account owner sets on what a key may spend, enforced by
 * create_task in the same transaction that moves the money. A key follows its own policy, or the
 * account default when it has none; a key with neither behaves as the API reference says.
 *
 * Budgets count the key's own spend: reward + fee of the tasks it posted that were not refunded
 * in full (CANCELLED and EXPIRED tasks do not count). create_task checks them while it holds the
 * agent's deposit account lock, so concurrent posts of one agent queue and each sees the spend of
 * the ones before it: a budget lets through exactly what fits.
 */

/** One policy: for a key, or (key_id null) the account default. A null field sets no limit. */
create table public.spending_policies (
  id bigint generated always as identity primary key,
  agent_id text not null references public.agents (id),
  key_id text references public.api_keys (id),
  max_reward_cents bigint check (max_reward_cents > 0),
  daily_limit_cents bigint check (daily_limit_cents > 0),
  monthly_limit_cents bigint check (monthly_limit_cents > 0),
  /** Task types and/or domains (PHYSICAL, DIGITAL) a task must match one of. */
  allowed_task_types text[] check (cardinality(allowed_task_types) between 1 and 20),
  /** Physical tasks must lie in one of these: `{lat, lng, radius_km}` or `{country}` (ISO 3166-1 alpha-2). */
  allowed_regions jsonb check (jsonb_typeof(allowed_regions) = 'array' and jsonb_array_length(allowed_regions) between 1 and 50),
  allow_credential_tasks boolean,
  approval_threshold_cents bigint check (approval_threshold_cents >= 0),
  updated_at timestamptz not null default now()
);

create unique index spending_policies_one_per_key on public.spending_policies (key_id) where key_id is not null;

create unique index spending_policies_one_default_per_agent on public.spending_policies (agent_id) where key_id is null;

alter table public.spending_policies enable row level security;

/** `$1,234.50`, for messages. */
create function private.usd(p_cents bigint) returns text
  language sql immutable
  set search_path = ''
  as $$ select '$' || to_char(p_cents / 100.0, 'FM999,999,999,990.00') $$;

create function private.effective_policy(p_agent_id text, p_key_id text) returns public.spending_policies
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_policy public.spending_policies;
begin
  -- The key's own policy, else the account's default: two index probes.
  select * into v_policy from public.spending_policies k where k.key_id = p_key_id and k.agent_id = p_agent_id;
  if not found then
    select * into v_policy from public.spending_policies a where a.agent_id = p_agent_id and a.key_id is null;
  end if;
  return v_policy;
end
$$;

create function private.key_spend_cents(p_key_id text, p_since timestamptz) returns bigint
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return (select coalesce(sum(t.reward_cents + t.fee_cents), 0)::bigint
            from public.tasks t
           where t.key_id = p_key_id and t.created_at > p_since and t.status not in ('CANCELLED', 'EXPIRED'));
end
$$;

create function private.budget_windows(out day_since timestamptz, out month_since timestamptz)
  language plpgsql stable
  set search_path = ''
  as $$
begin
  day_since := now() - interval '24 hours';
  month_since := date_trunc('month', now() at time zone 'utc') at time zone 'utc';
end
$$;

/** Refuses a task with 403 policy_violation, naming the rule and what is left of it. */
create function private.policy_violation(p_rule text, p_message text, p_details jsonb default '{}') returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  perform private.fail(403, 'policy_violation', 'Spending policy: ' || p_message,
                       jsonb_build_object('rule', p_rule) || p_details);
end
$$;

/**
 * Applies the calling key's spending policy to a task about to be posted and returns the status
 * the task starts in: PENDING, or PENDING_APPROVAL when its reward is above the policy's approval
 * threshold. Refuses (403 policy_violation) a task that breaks a rule. The caller must hold the
 * agent's deposit account lock (create_task does), so budget checks see every earlier post of this
 * agent.
 */
create function private.enforce_spending_policy(
  p_agent_id text, p_task_type text, p_task_domain text, p_lat double precision, p_lng double precision,
  p_country text, p_reward_cents bigint, p_total_cents bigint, p_credential boolean
) returns text
  language plpgsql
  set search_path = ''
  as $$
declare
  v_key_id text := api.current_key_id();
  v_policy public.spending_policies := private.effective_policy(p_agent_id, v_key_id);
  v_windows record;
  v_spent bigint;
begin
  if v_policy.id is null then
    return 'PENDING';
  end if;
  select * into v_windows from private.budget_windows();

  if v_policy.allowed_task_types is not null
     and not (p_task_type = any (v_policy.allowed_task_types) or p_task_domain = any (v_policy.allowed_task_types)) then
    perform private.policy_violation('allowed_task_types',
      format('%s tasks are not allowed (allowed: %s)', p_task_type, array_to_string(v_policy.allowed_task_types, ', ')),
      jsonb_build_object('allowed_task_types', to_jsonb(v_policy.allowed_task_types)));
  end if;

  if v_policy.allow_credential_tasks = false and p_credential then
    perform private.policy_violation('allow_credential_tasks', 'credential (Tier 2) tasks are not allowed');
  end if;

  if v_policy.allowed_regions is not null and p_task_domain = 'PHYSICAL' and not exists (
       select from jsonb_array_elements(v_policy.allowed_regions) r
        where (r ? 'country' and r->>'country' = p_country)
           or (r ? 'radius_km' and api.distance_km((r->>'lat')::double precision, (r->>'lng')::double precision, p_lat, p_lng)
                                   <= (r->>'radius_km')::double precision)) then
    perform private.policy_violation('allowed_regions',
      format('the task''s location (%s, %s%s) is outside the allowed regions',
             trim_scale(round(p_lat::numeric, 6)), trim_scale(round(p_lng::numeric, 6)),
             coalesce(', ' || p_country, '')),
      jsonb_build_object('allowed_regions', v_policy.allowed_regions));
  end if;

  if p_reward_cents > v_policy.max_reward_cents then
    perform private.policy_violation('max_reward',
      format('max reward per task %s, this task offers %s', private.usd(v_policy.max_reward_cents), private.usd(p_reward_cents)),
      jsonb_build_object('limit_usd', v_policy.max_reward_cents / 100.0, 'requested_usd', p_reward_cents / 100.0));
  end if;

  if v_policy.daily_limit_cents is not null then
    v_spent := private.key_spend_cents(v_key_id, v_windows.day_since);
    if v_spent + p_total_cents > v_policy.daily_limit_cents then
      perform private.policy_violation('daily_limit',
        format('daily limit %s, %s left, this task needs %s', private.usd(v_policy.daily_limit_cents),
               private.usd(greatest(0, v_policy.daily_limit_cents - v_spent)), private.usd(p_total_cents)),
        jsonb_build_object('limit_usd', v_policy.daily_limit_cents / 100.0, 'spent_usd', v_spent / 100.0,
                           'remaining_usd', greatest(0, v_policy.daily_limit_cents - v_spent) / 100.0,
                           'required_usd', p_total_cents / 100.0));
    end if;
  end if;

  if v_policy.monthly_limit_cents is not null then
    v_spent := private.key_spend_cents(v_key_id, v_windows.month_since - interval '1 microsecond');
    if v_spent + p_total_cents > v_policy.monthly_limit_cents then
      perform private.policy_violation('monthly_limit',
        format('monthly limit %s, %s left, this task needs %s', private.usd(v_policy.monthly_limit_cents),
               private.usd(greatest(0, v_policy.monthly_limit_cents - v_spent)), private.usd(p_total_cents)),
        jsonb_build_object('limit_usd', v_policy.monthly_limit_cents / 100.0, 'spent_usd', v_spent / 100.0,
                           'remaining_usd', greatest(0, v_policy.monthly_limit_cents - v_spent) / 100.0,
                           'required_usd', p_total_cents / 100.0));
    end if;
  end if;

  -- Within every limit, but big enough that the owner wants to see it first.
  if p_reward_cents > v_policy.approval_threshold_cents then
    return 'PENDING_APPROVAL';
  end if;
  return 'PENDING';
end
$$;

/**
 * Sets the spending policy of one of the calling agent's keys, or (p_key_id null) the account
 * default; owner scope. Only the fields named in `p_fields` change; a named field set to null
 * removes that limit. Returns the policy as stored.
 */
create function api.set_spending_policy(
  p_key_id text, p_fields text[], p_max_reward_cents bigint, p_daily_limit_cents bigint, p_monthly_limit_cents bigint,
  p_allowed_task_types text[], p_allowed_regions jsonb, p_allow_credential_tasks boolean, p_approval_threshold_cents bigint
) returns public.spending_policies
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
  v_policy public.spending_policies;
begin
  if p_key_id is not null and not exists (
       select from public.api_keys k where k.id = p_key_id and k.agent_id = v_agent_id and private.key_is_active(k)) then
    perform private.fail(404, 'key_not_found', 'No active API key with this id');
  end if;
  insert into public.spending_policies (agent_id, key_id) values (v_agent_id, p_key_id)
  on conflict do nothing;
  update public.spending_policies p set
    max_reward_cents = case when 'max_reward_usd' = any (p_fields) then p_max_reward_cents else p.max_reward_cents end,
    daily_limit_cents = case when 'daily_limit_usd' = any (p_fields) then p_daily_limit_cents else p.daily_limit_cents end,
    monthly_limit_cents = case when 'monthly_limit_usd' = any (p_fields) then p_monthly_limit_cents else p.monthly_limit_cents end,
    allowed_task_types = case when 'allowed_task_types' = any (p_fields) then p_allowed_task_types else p.allowed_task_types end,
    allowed_regions = case when 'allowed_regions' = any (p_fields) then p_allowed_regions else p.allowed_regions end,
    allow_credential_tasks = case when 'allow_credential_tasks' = any (p_fields) then p_allow_credential_tasks else p.allow_credential_tasks end,
    approval_threshold_cents = case when 'approval_threshold_usd' = any (p_fields) then p_approval_threshold_cents else p.approval_threshold_cents end,
    updated_at = now()
   where p.agent_id = v_agent_id and p.key_id is not distinct from p_key_id
  returning * into v_policy;
  return v_policy;
end
$$;
grant execute on function api.set_spending_policy(text, text[], bigint, bigint, bigint, text[], jsonb, boolean, bigint) to authenticated;

/** Removes a key's own policy (owner scope): the key follows the account default again. */
create function api.clear_key_policy(p_key_id text) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
begin
  if not exists (select from public.api_keys k where k.id = p_key_id and k.agent_id = v_agent_id and private.key_is_active(k)) then
    perform private.fail(404, 'key_not_found', 'No active API key with this id');
  end if;
  delete from public.spending_policies p where p.agent_id = v_agent_id and p.key_id = p_key_id;
end
$$;
grant execute on function api.clear_key_policy(text) to authenticated;

/**
 * Each active key of the calling agent (the calling key marked) with the policy it follows (`key`,
 * `account` or `none`) and its spend in the rolling day and the calendar month against that
 * policy's limits.
 */
create function api.spending_usage()
  returns table (key_id text, name text, key_prefix text, scopes text[], is_calling_key boolean, policy_source text,
                 day_spent_cents bigint, daily_limit_cents bigint, month_spent_cents bigint, monthly_limit_cents bigint,
                 day_since timestamptz, month_since timestamptz)
  language sql stable
  security definer
  set search_path = ''
  as $$
  select k.id, k.name, k.key_prefix, k.scopes, k.id = api.current_key_id(),
         case when p.id is null then 'none' when p.key_id is null then 'account' else 'key' end,
         private.key_spend_cents(k.id, w.day_since), p.daily_limit_cents,
         private.key_spend_cents(k.id, w.month_since - interval '1 microsecond'), p.monthly_limit_cents,
         w.day_since, w.month_since
    from public.api_keys k
    cross join private.budget_windows() w
    left join lateral private.effective_policy(k.agent_id, k.id) p on p.id is not null
   where k.agent_id = api.current_agent_id() and private.key_is_active(k)
   order by k.created_at, k.id
$$;
grant execute on function api.spending_usage() to authenticated;

/**
 * The owner's approval queue. A task whose reward is above its key's approval threshold starts in
 * PENDING_APPROVAL with its escrow (reward + fee) already held, and no operator sees it. An owner
 * key approves it (it becomes PENDING, open to operators) or declines it (CANCELLED, the whole
 * escrow back to the deposit in one entry). Unanswered, it expires at its deadline or 72 hours
 * after it was posted, whichever comes first (EXPIRED, refunded in full).
 *
 * When a task waiting for approval expires: its deadline, or 72 hours after it was posted.
 */
create function private.approval_expires_at(p_created_at timestamptz, p_deadline timestamptz) returns timestamptz
  language sql stable
  set search_path = ''
  as $$ select least(p_deadline, p_created_at + interval '72 hours') $$;

/**
 * The owner's answer to a task waiting for approval (owner scope). APPROVE opens it to operators
 * (PENDING), unless its approval window has closed (410). DECLINE cancels it and refunds reward +
 * fee to the deposit in one ledger entry.
 */
create function api.decide_task_approval(p_task_id text, p_decision text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
  v_task public.tasks;
  v_actor text := 'owner:' || coalesce(api.current_key_id(), v_agent_id);
begin
  if p_decision not in ('APPROVE', 'DECLINE') then
    raise exception 'Unknown approval decision %', p_decision;
  end if;
  select * into v_task from public.tasks t where t.id = p_task_id and t.agent_id = v_agent_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status <> 'PENDING_APPROVAL' then
    perform private.fail(409, 'task_not_awaiting_approval',
      format('Only a PENDING_APPROVAL task can be approved or declined; this task is %s', v_task.status),
      jsonb_build_object('status', v_task.status));
  end if;

  if p_decision = 'APPROVE' then
    if private.approval_expires_at(v_task.created_at, v_task.deadline) <= now() then
      perform private.fail(410, 'approval_expired',
        'The approval window of this task has closed; it expires with a full refund', jsonb_build_object(
          'approval_expires_at', private.approval_expires_at(v_task.created_at, v_task.deadline)));
    end if;
    perform private.transition_task(v_task.id, 'PENDING', v_actor);
  else
    perform private.transition_task(v_task.id, 'CANCELLED', v_actor);
    perform private.refund_task(v_task, 'task_refund');
  end if;
  update public.tasks t
     set approval = jsonb_build_object('decision', case p_decision when 'APPROVE' then 'APPROVED' else 'DECLINED' end,
                                       'key_id', api.current_key_id(), 'decided_at', now())
   where t.id = v_task.id
  returning * into v_task;
  return v_task;
end
$$;
grant execute on function api.decide_task_approval(text, text) to authenticated;

/** Expires tasks whose approval window closed unanswered, refunding their whole escrow. */
create function api.expire_unapproved_tasks(p_limit integer default 500) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
  v_count integer := 0;
begin
  for v_task in
    select * from public.tasks t
     where t.status = 'PENDING_APPROVAL' and private.approval_expires_at(t.created_at, t.deadline) <= now()
     order by t.created_at
     limit p_limit
       for update skip locked
  loop
    perform private.expire_task(v_task);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
grant execute on function api.expire_unapproved_tasks(integer) to service_role;

-- Who reads what: an agent reads its policies.
create policy "an agent reads its spending policies" on public.spending_policies for select to authenticated
  using (agent_id = (select api.current_agent_id()));
grant select on public.spending_policies to authenticated, service_role;

-- ===== supabase/schemas/90_maintenance.sql =====

/**
 * Time-based upkeep. The local stack's ticker calls api.run_maintenance() every minute; where
 * pg_cron is installed (hosted Supabase, once the extension is enabled) the hosted migration
 * schedules it too. Running it from both, or twice, is harmless.
 */
create function api.run_maintenance() returns jsonb
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_rate_limits integer;
  v_idempotency_keys integer;
begin
  delete from public.rate_limits where window_start < now() - interval '1 hour';
  get diagnostics v_rate_limits = row_count;
  -- Idempotency keys are kept for at least 7 days.
  delete from public.idempotency_keys where created_at < now() - interval '7 days';
  get diagnostics v_idempotency_keys = row_count;
  return jsonb_build_object('rate_limits_purged', v_rate_limits, 'idempotency_keys_purged', v_idempotency_keys);
end
$$;
grant execute on function api.run_maintenance() to service_role;

/**
 * One round of the function's background work (the Guardian, webhook deliveries): a POST to its
 * worker route with the worker secret, both read from Vault at call time
 * (`humanops_worker_url`, `humanops_worker_secret`). Does nothing, and says so with a null, until
 * pg_net, Vault and both secrets are there. pg_net sends the request after this transaction
 * commits and records the answer in net._http_response.
 */
create function private.call_worker() returns bigint
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_url text;
  v_secret text;
begin
  if to_regclass('vault.decrypted_secrets') is null
     or not exists (select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'net' and p.proname = 'http_post') then
    return null;
  end if;
  select decrypted_secret into v_url from vault.decrypted_secrets where name = 'humanops_worker_url';
  select decrypted_secret into v_secret from vault.decrypted_secrets where name = 'humanops_worker_secret';
  if v_url is null or v_secret is null then
    return null;
  end if;
  -- A round may wait on a model call (ANTHROPIC_TIMEOUT_MS, 60 s by default).
  return net.http_post(
    url := v_url,
    body := '{}'::jsonb,
    headers := jsonb_build_object('content-type', 'application/json', 'x-worker-secret', v_secret),
    timeout_milliseconds := 65000
  );
end
$$;
