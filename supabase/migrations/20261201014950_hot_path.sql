/**
 * The hot path at scale: a rate limiter that does not queue every client of an address on one row,
 * an agent's balance in O(1), a ledger check of only what changed since the last one, and
 * POST /tasks in one statement (api.post_task, at the end).
 */

-- ---------------------------------------------------------------------------------------------
-- Rate limits: a fixed window per (client IP, route), counted on up to 16 rows per window. A
-- request adds to the row of its database connection's shard (backend pid mod 16) and reads the
-- others, so requests on different connections (and instances) never wait on each other's row; the
-- sum over the shards is the window's count, shared by every instance through the table. Two
-- requests counting at the same moment may each miss the other's uncommitted hit, so the limit can
-- be passed by at most the number of requests in flight at that moment; a one-row counter was
-- exact only by making them queue. The window (not a sliding log) keeps a hit at one row write.

truncate public.rate_limits;
alter table public.rate_limits drop constraint rate_limits_pkey;
alter table public.rate_limits add column shard smallint not null default 0;
alter table public.rate_limits add primary key (bucket, window_start, shard);

/** Counts one request in its window and returns the window's count (all shards) and its end. */
create or replace function api.hit_rate_limit(p_bucket text, p_window_seconds integer)
  returns table (hits integer, reset_at timestamptz)
  language sql
  security definer
  set search_path = ''
  as $$
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
    from mine
$$;

-- The capped count of open tasks reads the open-task indexes only: where most tasks are closed, a
-- sequential scan stopped at the cap could still read most of the table to find that many.
alter function api.count_open_tasks(double precision, double precision, double precision, text, text, bigint, integer)
  set enable_seqscan = off;
alter function api.count_open_tasks(double precision, double precision, double precision, text, text, bigint, integer)
  set enable_bitmapscan = off;

-- ---------------------------------------------------------------------------------------------
-- Escrow per agent, kept running: the sum of its tasks' escrow accounts, moved by the same
-- statement of private.post_entry that moves those accounts, so GET /agents/balance reads one row
-- instead of one per open task. It lives on the agent's deposit account row, which every escrow
-- and refund already locks and updates in the same entry (no extra row version, no new table);
-- a settlement (escrow to the operator and revenue) locks and updates it too. Not `balance`: it is
-- not money the account holds, and postings record only balances.

alter table public.ledger_accounts add column escrow_cents bigint not null default 0;
alter table public.ledger_accounts add constraint escrow_only_on_agent_deposits
  check (escrow_cents = 0 or kind = 'agent_deposit');
alter table public.ledger_accounts add constraint escrow_not_negative check (escrow_cents >= 0);

update public.ledger_accounts d
   set escrow_cents = e.total
  from (select a.agent_id, sum(a.balance) as total from public.ledger_accounts a
         where a.kind = 'task_escrow' group by a.agent_id) e
 where d.kind = 'agent_deposit' and d.agent_id = e.agent_id;

/**
 * Posts one balanced entry. Locks the accounts it touches in id order (so two moves never wait on
 * each other in a cycle), updates the cached balances and writes the postings. A balance that
 * would go negative raises 23514 (the CHECK); callers check funds first to give a clear error.
 * A move on a task's escrow account also moves its agent's running escrow, in the same UPDATE
 * (an entry that escrows or refunds moves the deposit account anyway; a settlement adds it to the
 * accounts it locks, in the same id order).
 */
create or replace function private.post_entry(
  p_kind text, p_account_ids bigint[], p_amounts bigint[],
  p_agent_id text default null, p_task_id text default null, p_operator_id text default null
) returns bigint
  language plpgsql
  set search_path = ''
  as $$
declare
  v_entry_id bigint;
  v_escrow_deposits bigint[];
begin
  if cardinality(p_account_ids) < 2 or cardinality(p_account_ids) <> cardinality(p_amounts) then
    raise exception 'A ledger entry needs at least two postings, one amount per account';
  end if;
  if (select sum(a) from unnest(p_amounts) a) <> 0 then
    raise exception 'Ledger entry % does not balance: % on %', p_kind, p_amounts, p_account_ids;
  end if;

  -- The deposit accounts whose running escrow this entry moves.
  select array_agg(d.id) into v_escrow_deposits
    from public.ledger_accounts e
    join public.ledger_accounts d on d.agent_id = e.agent_id and d.kind = 'agent_deposit'
   where e.id = any (p_account_ids) and e.kind = 'task_escrow';

  perform 1 from public.ledger_accounts
   where id = any (p_account_ids) or id = any (v_escrow_deposits)
   order by id for update;

  insert into public.ledger_entries (kind, agent_id, task_id, operator_id)
  values (p_kind, p_agent_id, p_task_id, p_operator_id)
  returning id into v_entry_id;

  with legs as (
    select m.account_id, m.amount from unnest(p_account_ids, p_amounts) as m (account_id, amount)
  ), escrow_legs as (
    select d.id as account_id, l.amount
      from legs l
      join public.ledger_accounts e on e.id = l.account_id and e.kind = 'task_escrow'
      join public.ledger_accounts d on d.agent_id = e.agent_id and d.kind = 'agent_deposit'
  ), moves as (
    select x.account_id, sum(x.amount)::bigint as amount, sum(x.escrow)::bigint as escrow
      from (select l.account_id, l.amount, 0::bigint as escrow from legs l
            union all
            select el.account_id, 0::bigint, el.amount from escrow_legs el) x
     group by x.account_id
    having sum(x.amount) <> 0 or sum(x.escrow) <> 0
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

/**
 * The calling agent's balances in O(1): what it can spend (its deposit account) and what its open
 * tasks hold in escrow (the running figure), in cents.
 */
create function api.agent_balance() returns table (deposit_cents bigint, escrow_cents bigint)
  language sql stable
  security definer
  set search_path = ''
  as $$
  select a.balance, a.escrow_cents from public.ledger_accounts a
   where a.agent_id = private.require_agent() and a.kind = 'agent_deposit'
$$;
revoke all on function api.agent_balance() from public, anon;
grant execute on function api.agent_balance() to authenticated;

-- ---------------------------------------------------------------------------------------------
-- An incremental ledger check: only the entries and postings written since the last clean check.
-- The full check (api.verify_ledger) reads everything and grows with the ledger; this one grows
-- with what changed, so it can run every minute. It relies on the chain each posting carries
-- (balance before/after, account version): if every posting follows the one before it on its
-- account, and the last one matches the account's cached balance and version, the cached balances
-- are the sums of their postings without adding them up again.

create table public.ledger_checks (
  id bigint generated always as identity primary key,
  through_entry_id bigint not null,
  through_posting_id bigint not null,
  problems integer not null,
  checked_at timestamptz not null default now()
);
alter table public.ledger_checks enable row level security;
revoke all on public.ledger_checks from public, anon, authenticated, service_role;
grant select on public.ledger_checks to service_role;

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
revoke all on function api.verify_ledger_incremental() from public, anon, authenticated;
grant execute on function api.verify_ledger_incremental() to service_role;

-- ---------------------------------------------------------------------------------------------
-- The full check learns the running escrow: the invariants of the ledger-invariants migration,
-- unchanged, and one more.

create or replace function api.ledger_invariants() returns table (invariant text, meaning text)
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


/** Every violation of every invariant, one row each: the invariant's name and what breaks it. */
create or replace function api.verify_ledger() returns table (problem text, subject text)
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

-- ---------------------------------------------------------------------------------------------
/**
 * POST /tasks in one round trip. The API used to spend five or six on it (rate limit, key lookup,
 * begin, claims, create_task, commit; two more with an Idempotency-Key); now it sends this one
 * statement, which does all of it in one transaction in the same order and with the same rules:
 *
 * 1. counts the request in its rate-limit window (when the limiter is on) and refuses past the limit;
 * 2. finds the agent behind the key hash (api.authenticate_agent: active, unexpired), or refuses
 *    with 401, and checks the key holds a scope the route needs (p_scopes_needed), or refuses;
 * 3. acts as that agent through that key: the same claims the API sets for agent requests (agent,
 *    key, scopes), read below by private.require_agent, the key's scope and its spending policy
 *    (the money moves were always security definer; nothing here reads through row-level security);
 * 4. claims the Idempotency-Key (api.claim_idempotency_key): a replay returns the stored response,
 *    a key used for another body is a 409, a concurrent duplicate waits for the first;
 * 5. posts the task (api.create_task, whatever its current definition: fee tier, escrow, event and
 *    webhook outbox in this same transaction) and stores the response under the key.
 *
 * Steps 2 to 5 run in a subtransaction: when one refuses, its writes are undone but the rate-limit
 * hit stays (failed requests count, as before), and the refusal comes back as data
 * (`error`: sqlstate, message, hint, detail) for the API to answer exactly as it did. The response
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
revoke all on function api.post_task(text, text, integer, text[], text, text, text, text, text, text, text, double precision,
  double precision, text, bigint, timestamptz, text[], text, text, text, text, text) from public, anon, authenticated;
grant execute on function api.post_task(text, text, integer, text[], text, text, text, text, text, text, text, double precision,
  double precision, text, bigint, timestamptz, text[], text, text, text, text, text) to service_role;
