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
