/**
 * Grants, present and future. Clients — the API's roles included — read at most; only SQL
 * functions write. Hosted Supabase grants ALL (TRUNCATE included) on every new table, sequence
 * and function in `public` to anon, authenticated and service_role by default, and Postgres lets
 * PUBLIC execute every new function; the revoke in 0006 ran before later migrations created
 * more tables and functions, which kept those grants. So: revoke everything from the client
 * roles, grant back the reads listed here (the one list of who reads what), and change the
 * defaults so that objects created later start with nothing.
 */
revoke all on all tables in schema public from anon, authenticated, service_role;
revoke all on all sequences in schema public from anon, authenticated, service_role;
-- Explicit grants to roles stay; what every function had through PUBLIC goes.
revoke execute on all functions in schema api, private from public;

-- The API's trusted role reads every table (operations, health); not the operators' view of open
-- tasks, which filters on the calling operator.
grant select on all tables in schema public to service_role;
revoke select on public.open_tasks from service_role;

-- The state machine is public knowledge.
grant select on public.task_statuses, public.task_transitions to anon, authenticated;

-- Callers read their own rows, as the policies on each table decide.
grant select on public.agents, public.tasks, public.task_events, public.deposits,
  public.ledger_accounts, public.ledger_entries, public.ledger_postings,
  public.operators, public.proof_files, public.payouts, public.task_ratings, public.webhook_deliveries,
  public.open_tasks, public.spending_policies
  to authenticated;
-- Key hashes and callback secrets stay inside the database.
grant select (id, agent_id, name, key_prefix, scopes, expires_at, created_at, last_used_at, revoked_at) on public.api_keys to authenticated;
grant select (task_id, agent_id, url) on public.task_callbacks to authenticated;

-- Future objects created by the role that runs migrations start with no client privileges.
alter default privileges in schema public revoke all on tables from anon, authenticated, service_role;
alter default privileges in schema public revoke all on sequences from anon, authenticated, service_role;
alter default privileges in schema public revoke all on functions from anon, authenticated, service_role;
-- Function EXECUTE for PUBLIC is a global default, which per-schema settings cannot take away
-- (0001 tried): revoke it globally, so every new function is granted by name.
alter default privileges revoke execute on functions from public;
