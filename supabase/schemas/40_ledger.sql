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
  kind text not null,
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
  -- Its kind, and the owner that kind has (every balance update re-checks each constraint, so the
  -- rules are few and whole).
  constraint account_has_its_owner check (
    case
      when kind = 'agent_deposit' then agent_id is not null and task_id is null and operator_id is null
      when kind = 'task_escrow' then agent_id is not null and task_id is not null and operator_id is null
      when kind in ('operator_pending', 'operator_available') then operator_id is not null and agent_id is null and task_id is null
      when kind in ('platform_revenue', 'external_usdc', 'external_fiat', 'external_payouts')
        then agent_id is null and task_id is null and operator_id is null
      else false
    end),
  constraint escrow_only_on_agent_deposits check (escrow_cents = 0 or (kind = 'agent_deposit' and escrow_cents > 0)),
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
