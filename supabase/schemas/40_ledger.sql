/**
 * The double-entry ledger. Every business event is one entry whose postings sum to zero; postings
 * are append-only and record the balance before and after, and the account version, so any
 * account's history can be replayed. Balances are cached on the account row and may never go
 * negative except on external accounts (money that came from or went to the outside world).
 *
 * Escrow is one account per agent (there is one currency, USD): posting a task moves its reward and
 * fee from the agent's deposit account to the agent's escrow account, both rows the agent's own
 * posts already serialise on, so posting never contends with other agents and creates no account.
 * Each posting on an escrow account is tagged with its task, and post_entry keeps each task's share
 * (tasks.escrow_cents, the sum of its tagged postings) in the same statement. Money reaches the
 * shared platform revenue account only when a task completes.
 */
/** An account's kind is known, and it has the owner its kind has (see account_has_its_owner below). */
create function private.account_has_its_owner(p_kind text, p_agent_id text, p_operator_id text) returns boolean
  language plpgsql immutable
  as $$
begin
  return case
    when p_kind in ('agent_deposit', 'agent_escrow') then p_agent_id is not null and p_operator_id is null
    when p_kind in ('operator_pending', 'operator_available') then p_operator_id is not null and p_agent_id is null
    when p_kind in ('platform_revenue', 'external_usdc', 'external_fiat', 'external_payouts', 'payout_clearing')
      then p_agent_id is null and p_operator_id is null
    else false
  end;
end
$$;

create table public.ledger_accounts (
  id bigint generated always as identity primary key,
  kind text not null,
  agent_id text references public.agents (id),
  operator_id text,
  balance bigint not null default 0,
  version bigint not null default 0,
  created_at timestamptz not null default now(),
  constraint only_external_accounts_go_negative check (kind like 'external_%' or balance >= 0),
  -- Its kind, and the owner that kind has: a function, as tasks' rules are (every balance update
  -- re-checks each constraint; see private.task_texts_within_limits).
  constraint account_has_its_owner check (private.account_has_its_owner(kind, agent_id, operator_id)),
  constraint ledger_accounts_operator_fk foreign key (operator_id) references public.operators (id)
);

-- No index may mention `balance`: balance updates then stay HOT (no index writes on the hottest rows).
create unique index ledger_accounts_one_per_agent_kind on public.ledger_accounts (agent_id, kind) where agent_id is not null;

create unique index ledger_accounts_one_per_operator_kind on public.ledger_accounts (operator_id, kind) where operator_id is not null;

create unique index ledger_accounts_one_platform_account_per_kind on public.ledger_accounts (kind)
  where kind in ('platform_revenue', 'external_usdc', 'external_fiat', 'external_payouts', 'payout_clearing');

alter table public.ledger_accounts enable row level security;

/** One business event that moves money (a deposit, a task's escrow, a refund, a payout…). */
create table public.ledger_entries (
  id bigint generated always as identity primary key,
  kind text not null check (kind in (
    'deposit', 'task_escrow', 'task_refund', 'task_settlement', 'earnings_release', 'payout', 'payout_sent', 'payout_returned')),
  agent_id text references public.agents (id),
  task_id text references public.tasks (id),
  operator_id text,
  created_at timestamptz not null default now()
);

-- No index beyond the key: every money move writes an entry, and no reader looks entries up by
-- agent or task (the ledger checks scan them whole, or by id from the last one checked).

alter table public.ledger_entries enable row level security;

/**
 * One line of an entry: a signed amount on one account, with the balance it left behind. A line on
 * an agent's escrow account names the task whose share of it moved (`task_id`, its entry's task: no
 * foreign key of its own, the entry's protects it, and the ledger checks the two agree).
 */
create table public.ledger_postings (
  id bigint generated always as identity primary key,
  entry_id bigint not null references public.ledger_entries (id),
  account_id bigint not null references public.ledger_accounts (id),
  amount bigint not null check (amount <> 0),
  balance_before bigint not null,
  balance_after bigint not null,
  account_version bigint not null,
  task_id text,
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
 * Backstop: whatever wrote the postings, each entry must balance. Every statement that writes
 * postings must balance each entry it writes to (post_entry and post_task_escrow write an entry's
 * postings in one statement), so every entry balances. One call per statement, over the rows it
 * inserted: a row trigger would cost a call and a sum of the entry's postings per posting, while
 * the agent's accounts are locked.
 */
create function private.check_entries_balanced() returns trigger
  language plpgsql
  set search_path = ''
  as $$
declare
  v_entry_id bigint;
  v_sum bigint;
begin
  select p.entry_id, sum(p.amount) into v_entry_id, v_sum
    from inserted p
   group by p.entry_id
  having sum(p.amount) <> 0
   limit 1;
  if v_entry_id is not null then
    raise exception 'Ledger entry % does not balance: its postings sum to %', v_entry_id, v_sum;
  end if;
  return null;
end
$$;

create trigger ledger_postings_balance after insert on public.ledger_postings
  referencing new table as inserted
  for each statement execute function private.check_entries_balanced();

/**
 * Posts one balanced entry. Locks the accounts it touches in id order (so two moves never wait on
 * each other in a cycle), updates the cached balances and writes the postings. A balance that would
 * go negative raises 23514 (the CHECK); callers check funds first to give a clear error.
 *
 * A leg on an agent's escrow account moves the share of `p_task_id` (which must be one of that
 * agent's tasks, locked by the caller or written in this transaction): its posting is tagged with
 * the task and the task's escrow_cents moves by the same amount, so a task's escrow is always the
 * sum of its tagged postings.
 *
 * One statement moves the balances and writes the postings; the accounts are found by primary key
 * only (a plan made while the table was small must not go on to scan it: plan_cache_mode).
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
  v_accounts integer;
  v_moved integer;
  v_escrow bigint;
  v_escrow_owner text;
begin
  if cardinality(p_account_ids) < 2 or cardinality(p_account_ids) <> cardinality(p_amounts) then
    raise exception 'A ledger entry needs at least two postings, one amount per account';
  end if;
  if (select sum(a) from unnest(p_amounts) a) <> 0 then
    raise exception 'Ledger entry % does not balance: % on %', p_kind, p_amounts, p_account_ids;
  end if;

  perform 1 from public.ledger_accounts where id = any (p_account_ids) order by id for update;

  insert into public.ledger_entries (kind, agent_id, task_id, operator_id)
  values (p_kind, p_agent_id, p_task_id, p_operator_id)
  returning id into v_entry_id;

  with moves as (
    select m.account_id, sum(m.amount)::bigint as amount
      from unnest(p_account_ids, p_amounts) as m (account_id, amount)
     group by m.account_id
    having sum(m.amount) <> 0
  ), moved as (
    update public.ledger_accounts a
       set balance = a.balance + moves.amount,
           version = a.version + 1
      from moves
     where a.id = moves.account_id
    returning a.id, a.kind, a.agent_id, a.balance, a.version, moves.amount
  ), posted as (
    insert into public.ledger_postings (entry_id, account_id, amount, balance_before, balance_after, account_version, task_id)
    select v_entry_id, moved.id, moved.amount, moved.balance - moved.amount, moved.balance, moved.version,
           case when moved.kind = 'agent_escrow' then p_task_id end
      from moved
  )
  select (select count(*) from moves), count(*), sum(moved.amount) filter (where moved.kind = 'agent_escrow'),
         min(moved.agent_id) filter (where moved.kind = 'agent_escrow')
    into v_accounts, v_moved, v_escrow, v_escrow_owner
    from moved;

  if v_moved <> v_accounts then
    raise exception 'Ledger entry % names an account that does not exist: %', p_kind, p_account_ids;
  end if;
  if v_escrow is not null then
    update public.tasks t set escrow_cents = t.escrow_cents + v_escrow
     where t.id = p_task_id and t.agent_id = v_escrow_owner;
    if not found then
      raise exception 'Ledger entry % moves escrow of agent % for %, not one of its tasks', p_kind, v_escrow_owner, coalesce(p_task_id, 'no task');
    end if;
  end if;

  return v_entry_id;
end
$$;

/**
 * The entry that funds a new task, the one entry shape api.create_task posts: reward + fee from the
 * agent's deposit account to its escrow account, the escrow posting tagged with the task. The
 * caller holds both accounts' locks, has checked the funds, and inserted the task in this
 * transaction already holding this amount as its share (tasks.escrow_cents), so the task row is
 * not written again. post_entry's work for this shape in one statement: the entry, both balances
 * and both postings.
 */
create function private.post_task_escrow(
  p_agent_id text, p_task_id text, p_deposit_account bigint, p_escrow_account bigint, p_amount bigint
) returns bigint
  language plpgsql
  set search_path = ''
  as $$
declare
  v_entry_id bigint;
  v_posted integer;
begin
  with entry as (
    insert into public.ledger_entries (kind, agent_id, task_id)
    values ('task_escrow', p_agent_id, p_task_id)
    returning ledger_entries.id
  ), moved as (
    update public.ledger_accounts a
       set balance = a.balance + m.amount,
           version = a.version + 1
      from (values (p_deposit_account, -p_amount, 'agent_deposit'), (p_escrow_account, p_amount, 'agent_escrow')) m (id, amount, kind)
     where a.id = m.id and a.agent_id = p_agent_id and a.kind = m.kind
    returning a.id, a.kind, a.balance, a.version, m.amount
  ), posted as (
    insert into public.ledger_postings (entry_id, account_id, amount, balance_before, balance_after, account_version, task_id)
    select entry.id, moved.id, moved.amount, moved.balance - moved.amount, moved.balance, moved.version,
           case when moved.kind = 'agent_escrow' then p_task_id end
      from entry, moved
    returning entry_id
  )
  select min(posted.entry_id), count(*) into v_entry_id, v_posted from posted;

  if v_posted <> 2 then
    raise exception 'Task escrow for % names accounts % and % that are not agent %''s deposit and escrow',
      p_task_id, p_deposit_account, p_escrow_account, p_agent_id;
  end if;
  return v_entry_id;
end
$$;

/** The agent's account of a kind ('agent_deposit', 'agent_escrow'). */
create function private.agent_account(p_agent_id text, p_kind text) returns bigint
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return (select a.id from public.ledger_accounts a where a.agent_id = p_agent_id and a.kind = p_kind);
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
declare
  v_agent_id text := private.require_agent();
begin
  return query
  select d.balance, e.balance
    from public.ledger_accounts d, public.ledger_accounts e
   where d.agent_id = v_agent_id and d.kind = 'agent_deposit'
     and e.agent_id = v_agent_id and e.kind = 'agent_escrow';
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
