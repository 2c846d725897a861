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
    ('task revenue differs from its fee', 'a completed task paid its fee to revenue once; no other task has a line on revenue'),
    ('operator share differs from the task''s terms', 'a completed task credited its operator the reward (or the split''s share) once; no other task credited anything'),
    ('agent charged wrong for a task', 'an open task costs its agent reward + fee, a completed one fee + the operator''s share, any other final one nothing'),
    ('operator books differ from completed tasks', 'an operator''s pending + available + paid out equals what its completed tasks paid it'),
    ('operator pending differs from unreleased earnings', 'an operator''s pending balance is the earnings of its completed tasks not yet released'),
    ('payouts differ from payout entries', 'each operator''s payouts (not failed) add up to what its payout entries took out of its balances, in clearing or sent'),
    ('payout clearing differs from payouts in flight', 'the payout clearing account holds exactly the queued and broadcast payouts'),
    ('deposit credited more than once', 'an on-chain transfer (chain, tx hash, log index) is credited at most once'),
    ('deposits differ from deposit entries', 'each agent''s deposits add up, in number and amount, to the deposit entries on its account'),
    ('task state path not allowed', 'each task''s events, numbered 1 to n, start it in an initial state, follow task_transitions one step at a time, and end in its status'),
    ('agent escrow differs from its tasks', 'an agent''s escrow account holds the sum of its tasks'' escrow')
$$;
grant execute on function api.ledger_invariants() to service_role;

/*
 * The task states, judged by task_transitions alone: a state with no way out is final; the
 * initial states are PENDING and any state nothing leads to that has a way out (a task can only be
 * created in it). Plain SQL without a SET clause, so that they are inlined where they are read;
 * every name in them is schema-qualified.
 */
create function private.final_statuses() returns setof text
  language sql stable parallel safe
  as $$
  select s.status from public.task_statuses s
   where not exists (select from public.task_transitions tr where tr.from_status = s.status)
$$;

create function private.initial_statuses() returns setof text
  language sql stable parallel safe
  as $$
  select 'PENDING'::text
  union
  select s.status from public.task_statuses s
   where not exists (select from public.task_transitions tr where tr.to_status = s.status)
     and exists (select from public.task_transitions tr where tr.from_status = s.status)
$$;

/**
 * Each task's books: its terms, its escrow as kept on the task, and what its entries moved by the
 * kind of account (revenue, the operator's share, the agent's net, and the postings tagged with it
 * on its agent's escrow account). Read once per check, then judged by one predicate per invariant.
 * Only the owner reads it, inside the security definer checks.
 */
create view private.task_books as
  with task_flows as (
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
         t.status in (select f from private.final_statuses() f) as final,
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
  -- Each sum is grouped once and joined by operator: the entries have no index by operator, so a
  -- lookup per operator would read all of them once per operator.
  select o.id,
         coalesce(pending.balance, 0) as pending,
         coalesce(available.balance, 0) as available,
         coalesce(paid.total, 0)::bigint as paid_out,
         coalesce(earned.total, 0)::bigint as earned,
         coalesce(earned.unreleased, 0)::bigint as unreleased,
         coalesce(payouts.total, 0)::bigint as payouts
    from public.operators o
    left join public.ledger_accounts pending on pending.operator_id = o.id and pending.kind = 'operator_pending'
    left join public.ledger_accounts available on available.operator_id = o.id and available.kind = 'operator_available'
    left join (select e.operator_id, sum(p.amount) as total
                 from public.ledger_accounts a
                 join public.ledger_postings p on p.account_id = a.id
                 join public.ledger_entries e on e.id = p.entry_id
                where a.kind in ('external_payouts', 'payout_clearing') and e.operator_id is not null
                group by e.operator_id) paid on paid.operator_id = o.id
    left join (select t.operator_id, sum(t.operator_earnings_cents) as total,
                      sum(t.operator_earnings_cents) filter (where t.earnings_released_at is null) as unreleased
                 from public.tasks t
                where t.status = 'COMPLETED' and t.operator_id is not null
                group by t.operator_id) earned on earned.operator_id = o.id
    left join (select po.operator_id, sum(po.amount_cents) as total from public.payouts po
                where po.status <> 'failed' group by po.operator_id) payouts on payouts.operator_id = o.id;

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

/** A completed task paid its fee to revenue once; no other task has a line on revenue. */
create function private.task_with_wrong_revenue(status text, revenue bigint, revenue_credits bigint, fee_cents bigint) returns boolean
  language sql immutable
  as $$
  select (status = 'COMPLETED' and (revenue <> fee_cents or revenue_credits <> 1))
      or (status <> 'COMPLETED' and (revenue <> 0 or revenue_credits <> 0))
$$;

/** A completed task credited its operator the reward (or the split's share) once; no other task credited anything. */
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
      or (status <> 'COMPLETED' and (operator_share <> 0 or operator_credits <> 0 or operator_earnings_cents is not null))
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

/**
 * Each task's events, numbered 1 to its last_event_seq, start it in an initial state, follow
 * task_transitions one step at a time, and end in its status.
 */
create function private.tasks_off_the_state_machine() returns setof text
  language sql stable
  set search_path = ''
  as $$
  with events as (
    select ev.task_id, ev.seq, ev.from_status, ev.to_status,
           lag(ev.to_status) over w as previous_to,
           row_number() over w as n,
           count(*) over (partition by ev.task_id) as total
      from public.task_events ev
    window w as (partition by ev.task_id order by ev.seq, ev.id)
  )
  select x.task_id
    from (
      select ev.task_id from events ev
       where ev.seq <> ev.n
          or (ev.n = 1 and (ev.from_status is not null or ev.to_status not in (select i from private.initial_statuses() i)))
          or (ev.n > 1 and (ev.from_status is distinct from ev.previous_to
                            or not exists (select from public.task_transitions tr
                                            where tr.from_status = ev.from_status and tr.to_status = ev.to_status)))
      union
      -- A task whose last event is not its status or its last_event_seq, or that has none.
      select t.id
        from public.tasks t
        left join (select ev.task_id, ev.to_status, ev.total from events ev where ev.n = ev.total) last on last.task_id = t.id
       where last.to_status is distinct from t.status or last.total is distinct from t.last_event_seq::bigint
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

/**
 * The full check's fast pass: one scan each of postings (with their entries and accounts), tasks
 * and task events, and no grouping by entry, account or task.
 *
 * Where an invariant compares, for every subject (entry, account, task, agent), a value with a sum
 * over other rows (an entry's postings sum to zero; a cached balance and version are the sum and
 * count of its account's postings; a task's escrow, revenue, operator share and charge are sums of
 * its entries' postings; an agent's escrow is the sum of its tasks'; its deposits are its deposit
 * entries'), both sides are folded into one number each: the sum over all rows of the value times
 * a weight of its subject, a hash of the subject's id under a seed drawn for this call (a different
 * weight for each quantity of the same subject). If every subject's two values agree the numbers
 * are equal; if any disagree they differ, except with a chance of about 2^-29 per run: the
 * disagreements would have to cancel under weights they cannot know.
 *
 * A task's path is folded the same way. Each event names its task, its seq and the states it left
 * and entered. The (seq - 1, from) of all events with every task's (last_event_seq, status) equal
 * the (seq, to) of all events with every task's (0, nothing), as multisets, exactly when each
 * task's events are numbered 1 to n, each starts where the one before it ended, the first starts
 * from nothing and the last ends in the task's status; a sum of a 64-bit hash of each element
 * compares the multisets. Conditions on one row alone (an allowed step, an initial state, a task's
 * escrow against its terms) are counted directly.
 *
 * It answers, per group of invariants, whether anything may be wrong; api.verify_ledger then runs
 * only the exact queries of the groups not cleared, and they name the subjects. A violation is
 * always named by an exact query, never by a fingerprint. Amounts beyond ±(2^31 - 1) cents are not
 * weighed (a product could overflow): they send the ledger's groups to the exact queries.
 */
create function private.ledger_suspects(p_seed bigint)
  returns table (entries boolean, accounts boolean, task_books boolean, agent_escrow boolean, state_path boolean,
                 revenue boolean, books boolean)
  language sql stable
  set search_path = ''
  as $$
  with accounts as not materialized (
    select a.id, a.agent_id, a.balance, a.version,
           a.kind = 'agent_escrow' as escrow, a.kind = 'platform_revenue' as revenue,
           a.kind = 'operator_pending' as operator_pending, a.kind = 'agent_deposit' as agent_deposit,
           a.kind = 'operator_available' as operator_available, a.kind in ('external_payouts', 'payout_clearing') as paid_out,
           a.operator_id,
           -- 29-bit weights: the three products of one posting add up below 2^63.
           (a.hash & 536870911) + 1 as balance_weight, ((a.hash >> 32) & 536870911) + 1 as count_weight,
           (a.hash2 & 536870911) + 1 as version_weight,
           (hashtextextended(a.agent_id, p_seed) & 2147483647) + 1 as agent_weight
      from (select a.*, hashint8extended(a.id, p_seed) as hash, hashint8extended(a.id, p_seed + 1) as hash2
              from public.ledger_accounts a) a
  ), postings as materialized (
    -- A posting the pass cannot weigh, or whose escrow tag is not its entry's, and an entry without postings.
    select count(*) filter (where p.id is null or p.weighed is null or p.version_weighed is null
                              or (a.escrow and e.task_id is not null
                                  and (p.task_id is distinct from e.task_id or a.agent_id is distinct from e.agent_id))) as odd,
           coalesce(sum(e.weight * p.weighed), 0) as entries,
           coalesce(sum(a.balance_weight * p.weighed + a.count_weight + a.version_weight * p.version_weighed), 0) as accounts,
           -- The task's quantities by the kind of account (30-bit weights), and a deposit entry's amount and count by agent.
           coalesce(sum(case when a.escrow then case when p.task_id = e.task_id and a.agent_id = e.agent_id then e.escrow_weight * p.weighed end
                             when a.revenue then e.revenue_weight * p.weighed + e.revenue_line_weight
                             when a.operator_pending and e.settlement then e.share_weight * p.weighed + e.share_line_weight
                             when a.agent_deposit then coalesce(e.charge_weight * p.weighed, 0) + coalesce(e.deposit_weight * p.weighed + e.deposit_line_weight, 0)
                             when a.paid_out then e.paid_out_weight * p.weighed
                        end), 0) as books
      from (select p.*, case when p.amount between -2147483647 and 2147483647 and p.amount <> 0 then p.amount end as weighed,
                   case when p.account_version between 1 and 2147483647 then p.account_version end as version_weighed
              from public.ledger_postings p) p
      right join (select e.id, e.task_id, e.agent_id, e.kind = 'task_settlement' as settlement,
                         (hashint8extended(e.id, p_seed) & 2147483647) + 1 as weight,
                         (e.th1 & 1073741823) + 1 as escrow_weight, ((e.th1 >> 32) & 1073741823) + 1 as revenue_weight,
                         (e.th2 & 1073741823) + 1 as revenue_line_weight, ((e.th2 >> 32) & 1073741823) + 1 as share_weight,
                         (e.th3 & 1073741823) + 1 as share_line_weight, ((e.th3 >> 32) & 1073741823) + 1 as charge_weight,
                         (e.dh & 1073741823) + 1 as deposit_weight, ((e.dh >> 32) & 1073741823) + 1 as deposit_line_weight,
                         -- What an entry of an operator paid out counts in its books (v1) and against its payouts (v3).
                         (e.oh & 1073741823) - ((e.oh2 & 1073741823)) as paid_out_weight
                    from (select e.*, hashtextextended(e.task_id, p_seed) as th1, hashtextextended(e.task_id, p_seed + 1) as th2,
                                 hashtextextended(e.task_id, p_seed + 2) as th3,
                                 -- A deposit entry without an agent weighs as agent '': no deposit matches it, as none would in the exact query.
                                 case when e.kind = 'deposit' then hashtextextended(coalesce(e.agent_id, ''), p_seed) end as dh,
                                 hashtextextended(e.operator_id, p_seed + 3) as oh, hashtextextended(e.operator_id, p_seed + 4) as oh2
                            from public.ledger_entries e) e) e on e.id = p.entry_id
      left join accounts a on a.id = p.account_id
  ), balances as materialized (
    select coalesce(sum(a.balance_weight * a.balance::numeric + a.count_weight * a.version::numeric
                        + a.version_weight * (a.version::numeric * (a.version + 1) / 2)), 0) as accounts,
           coalesce(sum(a.agent_weight * a.balance::numeric) filter (where a.escrow), 0) as agent_escrow,
           coalesce(sum(a.balance) filter (where a.revenue), 0) as revenue,
           -- An operator's books: v1 (pending + available + paid out = earned) and v2 (pending = unreleased).
           coalesce(sum(a.balance::numeric * (((a.oh & 1073741823) + 1) + ((a.oh >> 32) & 1073741823) + 1))
                      filter (where a.operator_pending), 0)
             + coalesce(sum(a.balance::numeric * ((a.oh & 1073741823) + 1)) filter (where a.operator_available), 0) as operators
      from (select a.*, hashtextextended(a.operator_id, p_seed + 3) as oh from accounts a) a
  ), tasks as materialized (
    select count(*) filter (where t.th1 is null) as unweighed,
           -- The conditions of the task invariants that read only the task's own row.
           count(*) filter (where (t.final and t.escrow_cents <> 0)
                              or (not t.final and t.escrow_cents <> t.reward_cents + t.fee_cents)
                              or (t.completed and (t.operator_id is null or t.operator_earnings_cents is null
                                  or case when t.dispute_resolution->>'resolution' = 'split'
                                          then t.operator_earnings_cents is distinct from round((t.dispute_resolution->>'operator_usd')::numeric * 100)::bigint
                                               or t.operator_earnings_cents not between 1 and t.reward_cents - 1
                                          else t.operator_earnings_cents is distinct from t.reward_cents end))
                              or (not t.completed and t.operator_earnings_cents is not null)) as wrong_rows,
           -- Two terms of at most 2^61 each per sum, as on the postings' side.
           coalesce(sum(((t.th1 & 1073741823) + 1) * t.escrow_cents
                        + (((t.th3 >> 32) & 1073741823) + 1) * case when not t.final then -(t.reward_cents + t.fee_cents)
                                                                    when t.completed then -(t.fee_cents + coalesce(t.operator_earnings_cents, 0))
                                                                    else 0 end), 0)
             + coalesce(sum((((t.th1 >> 32) & 1073741823) + 1) * t.fee_cents + (t.th2 & 1073741823) + 1
                            + (((t.th2 >> 32) & 1073741823) + 1) * coalesce(t.operator_earnings_cents, 0) + (t.th3 & 1073741823) + 1)
                          filter (where t.completed and t.th1 is not null), 0) as books,
           coalesce(sum(((hashtextextended(t.agent_id, p_seed) & 2147483647) + 1) * t.escrow_cents) filter (where t.th1 is not null), 0) as agent_escrow,
           coalesce(sum(t.path_seed) - sum(hashtextextended(t.status, t.path_seed + t.last_event_seq)), 0) as path,
           coalesce(sum(t.fee_cents) filter (where t.completed), 0) as completed_fees,
           -- What a completed task earned its operator (v1), and v2 while it is not released.
           coalesce(sum((((t.oh & 1073741823) + 1) + case when t.earnings_released_at is null then ((t.oh >> 32) & 1073741823) + 1 else 0 end)
                        * t.operator_earnings_cents) filter (where t.completed and t.th1 is not null), 0) as operators
      from (select t.*, case when t.status = 'COMPLETED' then hashtextextended(t.operator_id, p_seed + 3) end as oh, t.status = 'COMPLETED' as completed, t.status in (select f from private.final_statuses() f) as final,
                   -- Not weighed (null) when a product could overflow: the books go to the exact queries.
                   case when greatest(t.escrow_cents, t.reward_cents, t.fee_cents, t.operator_earnings_cents) <= 2147483647 then t.hash end as th1,
                   hashtextextended(t.id, p_seed + 1) as th2, hashtextextended(t.id, p_seed + 2) as th3,
                   t.hash >> 2 as path_seed
              from (select t.*, hashtextextended(t.id, p_seed) as hash from public.tasks t) t) t
  ), deposits as materialized (
    select count(*) filter (where d.amount_cents > 2147483647) as unweighed,
           coalesce(sum(((d.hash & 1073741823) + 1) * d.amount_cents + ((d.hash >> 32) & 1073741823) + 1)
                      filter (where d.amount_cents <= 2147483647), 0) as books
      from (select d.amount_cents, hashtextextended(d.agent_id, p_seed) as hash from public.deposits d) d
  ), payouts as materialized (
    -- v3: an operator's payouts (not failed) against what its entries paid out.
    select count(*) filter (where po.amount_cents > 2147483647) as unweighed,
           coalesce(sum(((hashtextextended(po.operator_id, p_seed + 4) & 1073741823) + 1) * po.amount_cents)
                      filter (where po.amount_cents <= 2147483647), 0) as operators
      from public.payouts po
     where po.status <> 'failed'
  ), events as materialized (
    select count(*) filter (where ev.seq < 1
                              or (ev.seq = 1 and (ev.from_status is not null or ev.to_status not in (select i from private.initial_statuses() i)))
                              or (ev.seq > 1 and not coalesce((ev.from_status, ev.to_status) in (select tr.from_status, tr.to_status from public.task_transitions tr), false)))
             as wrong_steps,
           -- Every task's (0, nothing) is its seed itself.
           coalesce(sum(case when ev.seq = 1 and ev.from_status is null then ev.path_seed
                             else hashtextextended(coalesce(ev.from_status, ''), ev.path_seed + ev.seq - 1) end)
                    - sum(hashtextextended(ev.to_status, ev.path_seed + ev.seq)), 0) as path
      from (select ev.seq, ev.from_status, ev.to_status, hashtextextended(ev.task_id, p_seed) >> 2 as path_seed from public.task_events ev) ev
  ), books as materialized (
    -- Tasks', deposits' and operators' books share one sum on the postings' side: any of them off
    -- leaves all three to the exact queries.
    select p.odd > 0 or t.unweighed > 0 or d.unweighed > 0 or o.unweighed > 0
           or p.books + b.operators + o.operators <> t.books + d.books + t.operators as off
      from postings p, balances b, tasks t, deposits d, payouts o
  )
  select p.odd > 0 or p.entries <> 0,
         p.odd > 0 or p.accounts <> b.accounts,
         k.off or t.wrong_rows > 0,
         t.unweighed > 0 or t.agent_escrow <> b.agent_escrow,
         e.wrong_steps > 0 or e.path <> t.path,
         t.completed_fees <> b.revenue,
         k.off
    from postings p, balances b, tasks t, events e, books k
$$;

/**
 * Every violation of every invariant, one row each: the invariant's name and what breaks it. The
 * fast pass (private.ledger_suspects) reads the ledger, the tasks and their events once; each group
 * of invariants it does not clear is then checked by its exact queries, which name the subjects.
 * The rest are small: they read accounts, operators, payouts and deposits.
 */
create function api.verify_ledger() returns table (problem text, subject text)
  language sql stable
  security definer
  set search_path = ''
  -- The pass hashes every entry once to join it to its postings: in memory, not in batches on disk.
  set work_mem = '256MB'
  as $$
  with suspect as materialized (
    select * from private.ledger_suspects((random() * 9.2e18 - 4.6e18)::bigint)
  ), tasks as materialized (
    select * from private.task_books where (select s.task_books from suspect s)
  ), operators as materialized (select * from private.operator_books where (select s.books from suspect s))
  select 'entry does not balance', s from private.unbalanced_entries() s where (select x.entries from suspect x)
  union all
  select 'cached balance differs from postings', s from private.accounts_off_their_postings() s where (select x.accounts from suspect x)
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
  select 'platform revenue differs from fees of completed tasks', s from private.revenue_off_completed_fees() s where (select x.revenue from suspect x)
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
  select 'deposits differ from deposit entries', s from private.agents_with_wrong_deposits() s where (select x.books from suspect x)
  union all
  select 'task state path not allowed', s from private.tasks_off_the_state_machine() s where (select x.state_path from suspect x)
  union all
  select 'agent escrow differs from its tasks', s from private.agents_with_wrong_escrow() s where (select x.agent_escrow from suspect x)
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
