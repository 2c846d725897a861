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
