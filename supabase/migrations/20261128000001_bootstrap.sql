/**
 * Bootstrap: what a hosted Supabase project already has, created here only where it is missing,
 * so the same migrations apply to Supabase and to a plain Postgres (the local stack, the tests).
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

-- Functions are executable by PUBLIC by default; ours are granted by name instead.
alter default privileges in schema private revoke execute on functions from public;
alter default privileges in schema api revoke execute on functions from public;
revoke all on schema private from public;
grant usage on schema api to authenticated, service_role;
