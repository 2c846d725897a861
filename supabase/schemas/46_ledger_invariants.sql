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
    ('task escrow differs from its postings', 'a task''s escrow (kept on the task) is the sum of the postings tagged with it on its agent''s escrow account, each tagged with its entry''s task'),
    ('final task escrow not zero', 'a task in a final state holds nothing in escrow'),
    ('open task escrow differs from reward + fee', 'a task not yet final holds exactly its reward and fee in escrow'),
    ('platform revenue differs from fees of completed tasks', 'revenue is the sum of the fees of completed tasks, splits included'),
    ('task revenue differs from its fee', 'a completed task paid its fee to revenue once; any other task paid none'),
    ('operator share differs from the task''s terms', 'a completed task credited its operator the reward (or the split''s share) once; any other task credited nothing'),
    ('agent charged wrong for a task', 'an open task costs its agent reward + fee, a completed one fee + the operator''s share, any other final one nothing'),
    ('operator books differ from completed tasks', 'an operator''s pending + available + paid out equals what its completed tasks paid it'),
    ('operator pending differs from unreleased earnings', 'an operator''s pending balance is the earnings of its completed tasks not yet released'),
    ('payouts differ from payout entries', 'each operator''s payouts (not failed) add up to what its payout entries took out of its balances, in clearing or sent'),
    ('payout clearing differs from payouts in flight', 'the payout clearing account holds exactly the queued and broadcast payouts'),
    ('deposit credited more than once', 'an on-chain transfer (chain, tx hash, log index) is credited at most once'),
    ('deposits differ from deposit entries', 'each agent''s deposits add up, in number and amount, to the deposit entries on its account'),
    ('task state path not allowed', 'each task''s events start it in an initial state, follow task_transitions one step at a time, and end in its status'),
    ('agent escrow differs from its tasks', 'an agent''s escrow account holds the sum of its tasks'' escrow')
$$;
grant execute on function api.ledger_invariants() to service_role;

/**
 * Each task's books: its terms, its escrow as kept on the task, and what its entries moved by the
 * kind of account (revenue, the operator's share, the agent's net, and the postings tagged with it
 * on its agent's escrow account). Read once per check, then judged by one predicate per invariant.
 * Only the owner reads it, inside the security definer checks.
 */
create view private.task_books as
  with final_statuses as (
    select s.status from public.task_statuses s
     where not exists (select from public.task_transitions tr where tr.from_status = s.status)
  ), task_flows as (
    select e.task_id,
           coalesce(sum(p.amount) filter (where a.kind = 'platform_revenue'), 0) as revenue,
           coalesce(sum(p.amount) filter (where a.kind = 'operator_pending' and e.kind = 'task_settlement'), 0) as operator_share,
           count(*) filter (where a.kind = 'operator_pending' and e.kind = 'task_settlement') as operator_credits,
           count(*) filter (where a.kind = 'platform_revenue') as revenue_credits,
           coalesce(sum(p.amount) filter (where a.kind = 'agent_deposit'), 0) as agent_net,
           -- A line on the escrow counts for the task only when it is tagged with it and is on the
           -- entry's agent's account; any other line there leaves the task's sum short.
           coalesce(sum(p.amount) filter (where a.kind = 'agent_escrow' and p.task_id = e.task_id and a.agent_id = e.agent_id), 0) as escrow_posted,
           count(*) filter (where a.kind = 'agent_escrow' and (p.task_id is distinct from e.task_id or a.agent_id is distinct from e.agent_id)) as escrow_mistagged
      from public.ledger_entries e
      join public.ledger_postings p on p.entry_id = e.id
      join public.ledger_accounts a on a.id = p.account_id
     where e.task_id is not null
     group by e.task_id
  )
  select t.id, t.status, t.operator_id, t.reward_cents, t.fee_cents, t.operator_earnings_cents, t.dispute_resolution,
         t.status in (select f.status from final_statuses f) as final,
         t.escrow_cents as escrow, coalesce(f.escrow_posted, 0)::bigint as escrow_posted,
         coalesce(f.escrow_mistagged, 0) as escrow_mistagged,
         coalesce(f.revenue, 0)::bigint as revenue, coalesce(f.revenue_credits, 0) as revenue_credits,
         coalesce(f.operator_share, 0)::bigint as operator_share, coalesce(f.operator_credits, 0) as operator_credits,
         coalesce(f.agent_net, 0)::bigint as agent_net
    from public.tasks t
    left join task_flows f on f.task_id = t.id;

/**
 * Each operator's books: its balances, what it was paid out (sent, or in clearing on its way out),
 * what its completed tasks earned it.
 */
create view private.operator_books as
  select o.id,
         coalesce((select a.balance from public.ledger_accounts a where a.operator_id = o.id and a.kind = 'operator_pending'), 0) as pending,
         coalesce((select a.balance from public.ledger_accounts a where a.operator_id = o.id and a.kind = 'operator_available'), 0) as available,
         coalesce((select sum(p.amount) from public.ledger_entries e
                     join public.ledger_postings p on p.entry_id = e.id
                     join public.ledger_accounts a on a.id = p.account_id
                    where e.operator_id = o.id and a.kind in ('external_payouts', 'payout_clearing')), 0)::bigint as paid_out,
         coalesce((select sum(t.operator_earnings_cents) from public.tasks t
                    where t.operator_id = o.id and t.status = 'COMPLETED'), 0)::bigint as earned,
         coalesce((select sum(t.operator_earnings_cents) from public.tasks t
                    where t.operator_id = o.id and t.status = 'COMPLETED' and t.earnings_released_at is null), 0)::bigint as unreleased,
         coalesce((select sum(po.amount_cents) from public.payouts po
                    where po.operator_id = o.id and po.status <> 'failed'), 0)::bigint as payouts
    from public.operators o;

/*
 * One function per invariant; api.ledger_invariants names and explains them, in this order. Those
 * about the whole ledger, deposits and task histories return what breaks them (an entry, an
 * account, an agent, a transfer, a task). Those about a task's or an operator's books are
 * predicates on one book (the columns of a row of private.task_books or private.operator_books
 * they judge), true when it breaks the invariant: verify_ledger reads the books once and asks each
 * predicate, where six queries would gather them six times. The predicates read only their
 * arguments, and have no `set search_path` so that they are inlined into that one scan (a function
 * with a SET clause never is); with no table or function name in them, no search_path can
 * redirect anything.
 */

/** Every ledger entry has at least two postings and they sum to zero. */
create function private.unbalanced_entries() returns setof text
  language sql stable
  set search_path = ''
  as $$
  select e.id::text
    from public.ledger_entries e
    left join public.ledger_postings p on p.entry_id = e.id
   group by e.id
  having coalesce(sum(p.amount), 0) <> 0 or count(p.id) < 2
$$;

/** Each account's cached balance and version equal the sum and count of its postings. */
create function private.accounts_off_their_postings() returns setof text
  language sql stable
  set search_path = ''
  as $$
  select a.id::text
    from public.ledger_accounts a
    left join (select p.account_id, sum(p.amount) as total, count(*) as n, max(p.account_version) as last_version
                 from public.ledger_postings p group by p.account_id) p on p.account_id = a.id
   where a.balance <> coalesce(p.total, 0) or a.version <> coalesce(p.n, 0) or a.version <> coalesce(p.last_version, 0)
$$;

/** No account but the external ones has a negative balance. */
create function private.negative_internal_accounts() returns setof text
  language sql stable
  set search_path = ''
  as $$
  select a.id::text from public.ledger_accounts a where a.kind not like 'external_%' and a.balance < 0
$$;

/** All balances together sum to zero: money is only moved, never made (the sum when it is not). */
create function private.ledger_total_when_not_zero() returns setof text
  language sql stable
  set search_path = ''
  as $$
  select sum(a.balance)::text from public.ledger_accounts a having sum(a.balance) <> 0
$$;

/**
 * A task's escrow (kept on the task) is the sum of the postings tagged with it on its agent's
 * escrow account, each tagged with its entry's task.
 */
create function private.task_escrow_off_its_postings(escrow bigint, escrow_posted bigint, escrow_mistagged bigint) returns boolean
  language sql immutable
  as $$ select escrow <> escrow_posted or escrow_mistagged <> 0 $$;

/** A task in a final state holds nothing in escrow. */
create function private.final_task_holding_escrow(final boolean, escrow bigint) returns boolean
  language sql immutable
  as $$ select final and escrow <> 0 $$;

/** A task not yet final holds exactly its reward and fee in escrow. */
create function private.open_task_with_wrong_escrow(final boolean, escrow bigint, reward_cents bigint, fee_cents bigint) returns boolean
  language sql immutable
  as $$ select not final and escrow <> reward_cents + fee_cents $$;

/** Revenue is the sum of the fees of completed tasks, splits included. */
create function private.revenue_off_completed_fees() returns setof text
  language sql stable
  set search_path = ''
  as $$
  select format('revenue %s, fees %s', r.balance, (select coalesce(sum(t.fee_cents), 0) from public.tasks t where t.status = 'COMPLETED'))
    from public.ledger_accounts r
   where r.kind = 'platform_revenue'
     and r.balance <> (select coalesce(sum(t.fee_cents), 0) from public.tasks t where t.status = 'COMPLETED')
$$;

/** A completed task paid its fee to revenue once; any other task paid none. */
create function private.task_with_wrong_revenue(status text, revenue bigint, revenue_credits bigint, fee_cents bigint) returns boolean
  language sql immutable
  as $$
  select (status = 'COMPLETED' and (revenue <> fee_cents or revenue_credits <> 1))
      or (status <> 'COMPLETED' and revenue <> 0)
$$;

/** A completed task credited its operator the reward (or the split's share) once; any other task credited nothing. */
create function private.task_with_wrong_operator_share(
  status text, operator_id text, reward_cents bigint, operator_earnings_cents bigint, dispute_resolution jsonb,
  operator_share bigint, operator_credits bigint
) returns boolean
  language sql immutable
  as $$
  select (status = 'COMPLETED' and (
            operator_id is null
            or operator_earnings_cents is distinct from operator_share
            or operator_credits <> 1
            or case when dispute_resolution->>'resolution' = 'split'
                    then operator_earnings_cents is distinct from round((dispute_resolution->>'operator_usd')::numeric * 100)::bigint
                         or operator_earnings_cents not between 1 and reward_cents - 1
                    else operator_earnings_cents is distinct from reward_cents end))
      or (status <> 'COMPLETED' and (operator_share <> 0 or operator_earnings_cents is not null))
$$;

/** An open task costs its agent reward + fee, a completed one fee + the operator's share, any other final one nothing. */
create function private.task_charging_its_agent_wrong(
  final boolean, status text, reward_cents bigint, fee_cents bigint, operator_earnings_cents bigint, agent_net bigint
) returns boolean
  language sql immutable
  as $$
  select agent_net <> case when not final then -(reward_cents + fee_cents)
                           when status = 'COMPLETED' then -(fee_cents + coalesce(operator_earnings_cents, 0))
                           else 0 end
$$;

/** An operator's pending + available + paid out equals what its completed tasks paid it. */
create function private.operator_off_its_earnings(pending bigint, available bigint, paid_out bigint, earned bigint) returns boolean
  language sql immutable
  as $$ select pending + available + paid_out <> earned $$;

/** An operator's pending balance is the earnings of its completed tasks not yet released. */
create function private.operator_with_wrong_pending(pending bigint, unreleased bigint) returns boolean
  language sql immutable
  as $$ select pending <> unreleased $$;

/** Each operator's payouts (not failed) add up to what its payout entries sent out. */
create function private.operator_with_wrong_payouts(payouts bigint, paid_out bigint) returns boolean
  language sql immutable
  as $$ select payouts <> paid_out $$;

/** The payout clearing account holds exactly the queued and broadcast payouts (its balance when it does not). */
create function private.clearing_off_payouts_in_flight() returns setof text
  language sql stable
  set search_path = ''
  as $$
  select a.balance::text from public.ledger_accounts a
   where a.kind = 'payout_clearing'
     and a.balance <> (select coalesce(sum(p.amount_cents), 0) from public.payouts p where p.status in ('queued', 'broadcast'))
$$;

/** An on-chain transfer (chain, tx hash, log index) is credited at most once. */
create function private.transfers_credited_twice() returns setof text
  language sql stable
  set search_path = ''
  as $$
  select concat_ws(':', d.chain, d.tx_hash, d.log_index)
    from public.deposits d
   where d.chain is not null
   group by d.chain, d.tx_hash, d.log_index
  having count(*) > 1
$$;

/** Each agent's deposits add up, in number and amount, to the deposit entries on its account. */
create function private.agents_with_wrong_deposits() returns setof text
  language sql stable
  set search_path = ''
  as $$
  -- The deposit entries first, then their postings by entry: driven from the deposit accounts
  -- instead, the plan read every posting of those accounts (half the ledger) to find a few.
  with deposit_entries as materialized (
    select e.id, e.agent_id from public.ledger_entries e where e.kind = 'deposit'
  )
  select coalesce(d.agent_id, c.agent_id)
    from (select dep.agent_id, count(*) as n, sum(dep.amount_cents) as total
            from public.deposits dep group by dep.agent_id) d
    full join (select e.agent_id, count(*) as n, sum(p.amount) as total
                 from deposit_entries e
                 join public.ledger_postings p on p.entry_id = e.id
                 join public.ledger_accounts a on a.id = p.account_id and a.kind = 'agent_deposit'
                group by e.agent_id) c on c.agent_id = d.agent_id
   where d.n is distinct from c.n or d.total is distinct from c.total
$$;

/** Each task's events start it in an initial state, follow task_transitions one step at a time, and end in its status. */
create function private.tasks_off_the_state_machine() returns setof text
  language sql stable
  set search_path = ''
  as $$
  with initial_statuses as (
    -- PENDING, and any state that no transition leads to (a task can only be created in it) and
    -- that is not final.
    select 'PENDING'::text as status
    union
    select s.status from public.task_statuses s
     where not exists (select from public.task_transitions tr where tr.to_status = s.status)
       and exists (select from public.task_transitions tr where tr.from_status = s.status)
  ), events as (
    select ev.task_id, ev.from_status, ev.to_status,
           lag(ev.to_status) over w as previous_to,
           row_number() over w as n,
           count(*) over (partition by ev.task_id) as total
      from public.task_events ev
    window w as (partition by ev.task_id order by ev.id)
  )
  select x.task_id
    from (
      select ev.task_id from events ev
       where (ev.n = 1 and (ev.from_status is not null or ev.to_status not in (select i.status from initial_statuses i)))
          or (ev.n > 1 and (ev.from_status is distinct from ev.previous_to
                            or not exists (select from public.task_transitions tr
                                            where tr.from_status = ev.from_status and tr.to_status = ev.to_status)))
      union
      -- A task whose last event is not its status, or that has none: one hash join of the tasks
      -- with their last events (an index probe per event, as a join on `n = total` was planned,
      -- took a third of the check).
      select t.id
        from public.tasks t
        left join (select ev.task_id, ev.to_status from events ev where ev.n = ev.total) last on last.task_id = t.id
       where last.to_status is distinct from t.status
    ) x
$$;

/** An agent's escrow account holds the sum of its tasks' escrow (an agent with tasks and no account too). */
create function private.agents_with_wrong_escrow() returns setof text
  language sql stable
  set search_path = ''
  as $$
  select coalesce(e.agent_id, t.agent_id)
    from (select a.agent_id, a.balance from public.ledger_accounts a where a.kind = 'agent_escrow') e
    full join (select t.agent_id, sum(t.escrow_cents) as total from public.tasks t
                where t.escrow_cents <> 0 group by t.agent_id) t on t.agent_id = e.agent_id
   where coalesce(e.balance, 0) <> coalesce(t.total, 0)
$$;

/** Every violation of every invariant, one row each: the invariant's name and what breaks it. */
create function api.verify_ledger() returns table (problem text, subject text)
  language sql stable
  security definer
  set search_path = ''
  as $$
  with tasks as materialized (select * from private.task_books), operators as materialized (select * from private.operator_books)
  select 'entry does not balance', s from private.unbalanced_entries() s
  union all
  select 'cached balance differs from postings', s from private.accounts_off_their_postings() s
  union all
  select 'negative internal balance', s from private.negative_internal_accounts() s
  union all
  select 'ledger does not sum to zero', s from private.ledger_total_when_not_zero() s
  union all
  select 'task escrow differs from its postings', t.id from tasks t
   where private.task_escrow_off_its_postings(t.escrow, t.escrow_posted, t.escrow_mistagged)
  union all
  select 'final task escrow not zero', t.id from tasks t where private.final_task_holding_escrow(t.final, t.escrow)
  union all
  select 'open task escrow differs from reward + fee', t.id from tasks t
   where private.open_task_with_wrong_escrow(t.final, t.escrow, t.reward_cents, t.fee_cents)
  union all
  select 'platform revenue differs from fees of completed tasks', s from private.revenue_off_completed_fees() s
  union all
  select 'task revenue differs from its fee', t.id from tasks t
   where private.task_with_wrong_revenue(t.status, t.revenue, t.revenue_credits, t.fee_cents)
  union all
  select 'operator share differs from the task''s terms', t.id from tasks t
   where private.task_with_wrong_operator_share(t.status, t.operator_id, t.reward_cents, t.operator_earnings_cents,
                                                t.dispute_resolution, t.operator_share, t.operator_credits)
  union all
  select 'agent charged wrong for a task', t.id from tasks t
   where private.task_charging_its_agent_wrong(t.final, t.status, t.reward_cents, t.fee_cents, t.operator_earnings_cents, t.agent_net)
  union all
  select 'operator books differ from completed tasks', o.id from operators o
   where private.operator_off_its_earnings(o.pending, o.available, o.paid_out, o.earned)
  union all
  select 'operator pending differs from unreleased earnings', o.id from operators o where private.operator_with_wrong_pending(o.pending, o.unreleased)
  union all
  select 'payouts differ from payout entries', o.id from operators o where private.operator_with_wrong_payouts(o.payouts, o.paid_out)
  union all
  select 'payout clearing differs from payouts in flight', s from private.clearing_off_payouts_in_flight() s
  union all
  select 'deposit credited more than once', s from private.transfers_credited_twice() s
  union all
  select 'deposits differ from deposit entries', s from private.agents_with_wrong_deposits() s
  union all
  select 'task state path not allowed', s from private.tasks_off_the_state_machine() s
  union all
  select 'agent escrow differs from its tasks', s from private.agents_with_wrong_escrow() s
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
    union all
    -- Each new line on an escrow account names its entry's task, one of the account's agent.
    select 'task escrow differs from its postings', coalesce(f.task_id, e.task_id, f.id::text)
      from fresh f
      join public.ledger_accounts a on a.id = f.account_id
      join public.ledger_entries e on e.id = f.entry_id
     where case when a.kind = 'agent_escrow'
                then f.task_id is null or f.task_id is distinct from e.task_id or a.agent_id is distinct from e.agent_id
                else f.task_id is not null end
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
