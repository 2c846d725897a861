/**
 * Row-level security and grants. The API runs each request as the caller (`authenticated` with the
 * caller's claims), so these policies, not the route code, decide what a request can see. Nobody
 * but the SQL functions writes: clients, the API's role included, get SELECT at most.
 */
alter table public.agents enable row level security;
alter table public.api_keys enable row level security;
alter table public.task_statuses enable row level security;
alter table public.task_transitions enable row level security;
alter table public.tasks enable row level security;
alter table public.task_events enable row level security;
alter table public.task_callbacks enable row level security;
alter table public.deposits enable row level security;
alter table public.idempotency_keys enable row level security;
alter table public.rate_limits enable row level security;
alter table public.agent_spend_daily enable row level security;
alter table public.ledger_accounts enable row level security;
alter table public.ledger_entries enable row level security;
alter table public.ledger_postings enable row level security;

-- Supabase grants everything in `public` to its roles by default; we grant by name instead.
revoke all on all tables in schema public from anon, authenticated, service_role;
revoke all on all sequences in schema public from anon, authenticated, service_role;
revoke all on all functions in schema api, private from public, anon, authenticated, service_role;

-- Reference data: the state machine is public knowledge.
grant select on public.task_statuses, public.task_transitions to anon, authenticated;
create policy "anyone reads the task statuses" on public.task_statuses for select using (true);
create policy "anyone reads the task state machine" on public.task_transitions for select using (true);

grant select on public.agents to authenticated;
create policy "an agent reads itself" on public.agents for select to authenticated
  using (id = (select api.current_agent_id()));

-- Key hashes stay inside the database.
grant select (id, agent_id, name, key_prefix, created_at, last_used_at, revoked_at) on public.api_keys to authenticated;
create policy "an agent reads its keys" on public.api_keys for select to authenticated
  using (agent_id = (select api.current_agent_id()));

grant select on public.tasks to authenticated;
create policy "an agent reads its tasks" on public.tasks for select to authenticated
  using (agent_id = (select api.current_agent_id()));

-- Callback secrets stay inside the database (they sign webhooks); agents see their URLs.
grant select (task_id, agent_id, url) on public.task_callbacks to authenticated;
create policy "an agent reads its callbacks" on public.task_callbacks for select to authenticated
  using (agent_id = (select api.current_agent_id()));

grant select on public.task_events to authenticated;
create policy "an agent reads the events of its tasks" on public.task_events for select to authenticated
  using (exists (select from public.tasks t where t.id = task_id and t.agent_id = (select api.current_agent_id())));

grant select on public.deposits to authenticated;
create policy "an agent reads its deposits" on public.deposits for select to authenticated
  using (agent_id = (select api.current_agent_id()));

grant select on public.ledger_accounts, public.ledger_entries, public.ledger_postings to authenticated;
create policy "an agent reads its accounts" on public.ledger_accounts for select to authenticated
  using (agent_id = (select api.current_agent_id()));
create policy "an agent reads its entries" on public.ledger_entries for select to authenticated
  using (agent_id = (select api.current_agent_id()));
create policy "an agent reads the postings on its accounts" on public.ledger_postings for select to authenticated
  using (account_id in (select a.id from public.ledger_accounts a where a.agent_id = (select api.current_agent_id())));

-- idempotency_keys, rate_limits and agent_spend_daily: RLS on, no policy, no grant; functions only.

-- The API's trusted role reads everything (operations, health) and calls the privileged functions.
grant select on all tables in schema public to service_role;

grant execute on function api.current_agent_id() to authenticated, service_role;
grant execute on function api.create_api_key(text, text, text) to authenticated;
grant execute on function api.revoke_api_key(text) to authenticated;
grant execute on function api.claim_idempotency_key(text, text) to authenticated;
grant execute on function api.store_idempotent_response(text, integer, jsonb) to authenticated;
grant execute on function api.create_task(text, text, text, text, text, double precision, double precision, text,
  bigint, timestamptz, text[], text, text, text, text) to authenticated;
grant execute on function api.cancel_task(text) to authenticated;

grant execute on function api.register_agent(text, text, text, text, text, text) to service_role;
grant execute on function api.authenticate_agent(text) to service_role;
grant execute on function api.credit_deposit(text, text, bigint, text, text, integer, text) to service_role;
grant execute on function api.hit_rate_limit(text, integer) to service_role;
grant execute on function api.verify_ledger() to service_role;
