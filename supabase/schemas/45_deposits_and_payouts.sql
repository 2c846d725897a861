/**
 * Deposits credited to an agent. One on-chain transfer credits at most once: the unique key is
 * (chain, tx hash, log index). Fiat deposits have no chain.
 */
create table public.deposits (
  id text primary key default private.new_id('txn'),
  agent_id text not null references public.agents (id),
  method text not null check (method in ('usdc', 'fiat')),
  chain text check (chain in ('base')),
  tx_hash text check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  log_index integer check (log_index >= 0),
  payment_method text check (payment_method in ('card', 'bank_transfer')),
  amount_cents bigint not null check (amount_cents between 500 and 1000000),
  status text not null check (status in ('confirmed', 'completed')),
  created_at timestamptz not null default now(),
  unique (chain, tx_hash, log_index),
  constraint usdc_deposits_name_their_transfer
    check (method <> 'usdc' or (chain is not null and tx_hash is not null and log_index is not null))
);

create index deposits_by_agent on public.deposits (agent_id, created_at desc);

alter table public.deposits enable row level security;

/**
 * Money leaving the platform to an operator. A test payout completes at once. A USDC payout is
 * `queued` (its amount moved to the payout clearing account), then `broadcast`: the transfer is
 * signed from the hot wallet `wallet` with `nonce`, and the signed transaction is stored here
 * before it is sent, so that after a crash the same transaction is sent again, never a new one.
 * It ends `completed` (clearing to the outside world) once confirmed, or `failed` (clearing back to
 * the operator's available balance) when it reverted or another transaction took its nonce.
 */
create table public.payouts (
  id text primary key default private.new_id('payout'),
  operator_id text not null references public.operators (id),
  amount_cents bigint not null check (amount_cents >= 1000),
  method text not null check (method in ('test', 'payoneer', 'usdc')),
  payee text check (char_length(payee) <= 200),
  status text not null check (status in ('queued', 'broadcast', 'completed', 'failed')),
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  -- Added columns come last, in the order a migration adds them (by name).
  address text check (address ~ '^0x[0-9a-fA-F]{40}$'),
  broadcast_at timestamptz,
  failure text check (char_length(failure) <= 500),
  nonce bigint check (nonce >= 0),
  signed_tx text check (signed_tx ~ '^0x[0-9a-f]+$'),
  tx_hash text check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  wallet text check (wallet ~ '^0x[0-9a-fA-F]{40}$'),
  constraint sent_payouts_keep_their_transaction check (
    method <> 'usdc' or status = 'queued' or (status = 'failed' and signed_tx is null)
    or (address is not null and wallet is not null and nonce is not null and signed_tx is not null and tx_hash is not null)),
  constraint one_payout_per_wallet_nonce unique (wallet, nonce)
);

create index payouts_by_operator on public.payouts (operator_id, created_at desc);

-- What the worker looks at: payouts still to send or to confirm, oldest first.
create index payouts_in_flight on public.payouts (created_at) where status in ('queued', 'broadcast');

/**
 * The platform's payout hot wallets: the next nonce each may sign with (allocated here, under the
 * row's lock, so two workers never sign two transactions with one nonce), and whether it last
 * lacked the USDC or gas for the next payout (reported by /health).
 */
create table public.payout_wallets (
  address text primary key check (address ~ '^0x[0-9a-fA-F]{40}$'),
  next_nonce bigint not null default 0 check (next_nonce >= 0),
  dry_since timestamptz,
  dry_reason text check (char_length(dry_reason) <= 500),
  checked_at timestamptz
);

alter table public.payout_wallets enable row level security;

alter table public.payouts enable row level security;

/**
 * Deposit addresses the platform has shown agents (lower case): money sent there stays with the
 * platform, so none may be an operator's payout address.
 */
create table public.deposit_addresses (
  address text primary key check (address ~ '^0x[0-9a-f]{40}$'),
  agent_id text not null references public.agents (id)
);

alter table public.deposit_addresses enable row level security;

/**
 * The challenge an operator signs to set a payout address: one live nonce per operator, replaced by
 * the next request, spent by the first address it sets, worthless once expired.
 */
create table public.payout_address_challenges (
  operator_id text primary key references public.operators (id),
  nonce text not null check (nonce ~ '^[0-9a-f]{32}$'),
  expires_at timestamptz not null
);

alter table public.payout_address_challenges enable row level security;

/**
 * Credits a deposit that the API has verified (a confirmed USDC transfer, or a test-mode deposit).
 * A transfer is identified by (chain, tx hash, log index) and credits at most once: a concurrent
 * duplicate waits for the first and then gets a 409.
 */
create function api.credit_deposit(
  p_agent_id text, p_method text, p_amount_cents bigint,
  p_chain text default null, p_tx_hash text default null, p_log_index integer default null,
  p_payment_method text default null
) returns table (id text, amount_cents bigint, status text, created_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_deposit public.deposits;
  v_source bigint := private.platform_account(case p_method when 'usdc' then 'external_usdc' else 'external_fiat' end);
  v_account bigint;
begin
  select a.id into v_account from public.ledger_accounts a where a.agent_id = p_agent_id and a.kind = 'agent_deposit';
  if v_account is null then
    perform private.fail(404, 'agent_not_found', 'No such agent');
  end if;

  insert into public.deposits (agent_id, method, chain, tx_hash, log_index, payment_method, amount_cents, status)
  values (p_agent_id, p_method, p_chain, p_tx_hash, p_log_index, p_payment_method, p_amount_cents,
          case p_method when 'usdc' then 'confirmed' else 'completed' end)
  on conflict (chain, tx_hash, log_index) do nothing
  returning * into v_deposit;

  if v_deposit.id is null then
    perform private.fail(409, 'deposit_already_credited', 'This transaction has already been credited');
  end if;

  perform private.post_entry('deposit', array[v_source, v_account], array[-p_amount_cents, p_amount_cents],
                             p_agent_id => p_agent_id);
  return query select v_deposit.id, v_deposit.amount_cents, v_deposit.status, v_deposit.created_at;
end
$$;
grant execute on function api.credit_deposit(text, text, bigint, text, text, integer, text) to service_role;

/**
 * Moves the rewards of tasks completed at least `p_hold` ago (of one operator, or of all) from
 * their operators' pending to available balances, one entry per task, at most `p_limit` tasks.
 * Safe to run concurrently and repeatedly: a task another release holds is skipped.
 */
create function api.release_earnings(
  p_hold interval default interval '7 days', p_limit integer default 1000, p_operator_id text default null
) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task record;
  v_released integer := 0;
begin
  for v_task in
    -- The oldest due first (the completed_at index), then locked in operator order.
    select t.id, t.operator_id, t.operator_earnings_cents as earned from public.tasks t
     where t.id in (select d.id from public.tasks d
                     where d.status = 'COMPLETED' and d.earnings_released_at is null and d.completed_at <= now() - p_hold
                       and (p_operator_id is null or d.operator_id = p_operator_id)
                     order by d.completed_at
                     limit p_limit)
       and t.status = 'COMPLETED' and t.earnings_released_at is null
     order by t.operator_id, t.completed_at
     for update skip locked
  loop
    perform private.post_entry('earnings_release',
      array[(select a.id from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_pending'),
            (select a.id from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_available')],
      array[-v_task.earned, v_task.earned],
      p_task_id => v_task.id, p_operator_id => v_task.operator_id);
    update public.tasks t set earnings_released_at = now() where t.id = v_task.id;
    v_released := v_released + 1;
  end loop;
  return v_released;
end
$$;
grant execute on function api.release_earnings(interval, integer, text) to service_role;

/**
 * Books a payout of part of an operator's available balance (at least $10, never more than available
 * (402), at most `p_daily_cap_cents` in 24 hours (403), KYC VERIFIED (403)). A test payout moves
 * the amount straight out and completes; a USDC payout needs a payout address (409) and moves the
 * amount to the payout clearing account, `queued` for the worker. Called by the API, which holds
 * the cap's configuration.
 */
create function api.request_payout(
  p_operator_id text, p_amount_cents bigint, p_method text, p_payee text, p_daily_cap_cents bigint
) returns public.payouts
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators;
  v_available_account bigint;
  v_available bigint;
  v_recent bigint;
  v_payout public.payouts;
begin
  select * into v_operator from public.operators o where o.id = p_operator_id;
  if v_operator.id is null then
    perform private.fail(403, 'operator_not_registered', 'Register as an operator first (POST /operator/register)');
  end if;
  if v_operator.kyc_status <> 'VERIFIED' then
    perform private.fail(403, 'kyc_required', format('KYC verification required (status: %s)', v_operator.kyc_status),
                         jsonb_build_object('kyc_status', v_operator.kyc_status));
  end if;
  if p_method = 'usdc' and v_operator.payout_address is null then
    perform private.fail(409, 'payout_address_required',
      'Set the Base address to pay out to first (GET /operator/payout-address/challenge, then PUT /operator/payout-address)');
  end if;
  -- The available account's lock also serializes this operator's cap check.
  select a.id, a.balance into v_available_account, v_available from public.ledger_accounts a
   where a.operator_id = p_operator_id and a.kind = 'operator_available'
     for update;
  if v_available < p_amount_cents then
    perform private.fail(402, 'insufficient_available_balance', 'The payout is larger than your available balance',
      jsonb_build_object('requested_usd', p_amount_cents / 100.0, 'available_usd', v_available / 100.0));
  end if;
  select coalesce(sum(p.amount_cents), 0) into v_recent from public.payouts p
   where p.operator_id = p_operator_id and p.status <> 'failed' and p.created_at > now() - interval '24 hours';
  if v_recent + p_amount_cents > p_daily_cap_cents then
    perform private.fail(403, 'daily_payout_cap_reached',
      format('Payouts are capped at $%s in 24 hours; $%s is left now', p_daily_cap_cents / 100, greatest(p_daily_cap_cents - v_recent, 0) / 100.0),
      jsonb_build_object('cap_usd', p_daily_cap_cents / 100.0, 'paid_out_24h_usd', v_recent / 100.0));
  end if;
  insert into public.payouts (operator_id, amount_cents, method, payee, status, completed_at, address)
  values (p_operator_id, p_amount_cents, p_method, p_payee,
          case when p_method = 'usdc' then 'queued' else 'completed' end,
          case when p_method = 'usdc' then null else now() end,
          case when p_method = 'usdc' then v_operator.payout_address end)
  returning * into v_payout;
  perform private.post_entry('payout',
    array[v_available_account, private.platform_account(case when p_method = 'usdc' then 'payout_clearing' else 'external_payouts' end)],
    array[-p_amount_cents, p_amount_cents], p_operator_id => p_operator_id);
  return v_payout;
end
$$;
grant execute on function api.request_payout(text, bigint, text, text, bigint) to service_role;

/**
 * The oldest queued USDC payout whose operator's address is usable (its cool-down over), locked
 * for this transaction, with the nonce it is to be signed with: the wallet's next nonce, or the
 * chain's count of the wallet's transactions (`p_chain_nonce`) when that is higher (the wallet
 * was used elsewhere). The caller signs and records it (api.record_signed_payout) in the same
 * transaction; if it does not commit, the nonce was never taken.
 */
create function api.claim_payout_to_send(p_wallet text, p_chain_nonce bigint)
  returns table (id text, operator_id text, amount_cents bigint, address text, nonce bigint)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_payout public.payouts;
  v_address text;
  v_nonce bigint;
begin
  select p.* into v_payout from public.payouts p
   where p.status = 'queued' and p.method = 'usdc'
     and exists (select from public.operators o where o.id = p.operator_id and o.payout_address_usable_at <= now())
   order by p.created_at, p.id
   limit 1
     for update skip locked;
  if v_payout.id is null then
    return;
  end if;
  select o.payout_address into v_address from public.operators o where o.id = v_payout.operator_id;
  insert into public.payout_wallets (address) values (p_wallet) on conflict do nothing;
  update public.payout_wallets w set next_nonce = greatest(w.next_nonce, p_chain_nonce) + 1
   where w.address = p_wallet
  returning w.next_nonce - 1 into v_nonce;
  return query select v_payout.id, v_payout.operator_id, v_payout.amount_cents, v_address, v_nonce;
end
$$;
grant execute on function api.claim_payout_to_send(text, bigint) to service_role;

/** Stores a claimed payout's signed transfer, before it is sent: from now on only it may be sent. */
create function api.record_signed_payout(
  p_id text, p_wallet text, p_nonce bigint, p_address text, p_signed_tx text, p_tx_hash text
) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  update public.payouts p
     set status = 'broadcast', wallet = p_wallet, nonce = p_nonce, address = p_address, signed_tx = p_signed_tx,
         tx_hash = p_tx_hash, broadcast_at = now()
   where p.id = p_id and p.status = 'queued';
  if not found then
    perform private.fail(409, 'payout_not_queued', 'This payout is no longer queued');
  end if;
end
$$;
grant execute on function api.record_signed_payout(text, text, bigint, text, text, text) to service_role;

/** Broadcast payouts, by wallet and nonce: what the worker sends again or confirms. */
create function api.payouts_in_flight(p_limit integer default 100)
  returns table (id text, amount_cents bigint, wallet text, nonce bigint, signed_tx text, tx_hash text)
  language sql stable
  security definer
  set search_path = ''
  as $$
  select p.id, p.amount_cents, p.wallet, p.nonce, p.signed_tx, p.tx_hash from public.payouts p
   where p.status = 'broadcast'
   order by p.wallet, p.nonce
   limit p_limit
$$;
grant execute on function api.payouts_in_flight(integer) to service_role;

/**
 * Settles a broadcast payout: `completed` moves its amount from clearing to the outside world;
 * `failed` (with the reason) returns it to the operator's available balance. A payout already
 * settled is left as it is (false).
 */
create function api.settle_payout(p_id text, p_outcome text, p_failure text default null) returns boolean
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_payout public.payouts;
begin
  select * into v_payout from public.payouts p where p.id = p_id and p.status = 'broadcast' for update;
  if v_payout.id is null then
    return false;
  end if;
  if p_outcome = 'completed' then
    update public.payouts p set status = 'completed', completed_at = now() where p.id = p_id;
    perform private.post_entry('payout_sent',
      array[private.platform_account('payout_clearing'), private.platform_account('external_payouts')],
      array[-v_payout.amount_cents, v_payout.amount_cents], p_operator_id => v_payout.operator_id);
  elsif p_outcome = 'failed' then
    update public.payouts p set status = 'failed', completed_at = now(), failure = left(p_failure, 500) where p.id = p_id;
    perform private.post_entry('payout_returned',
      array[private.platform_account('payout_clearing'),
            (select a.id from public.ledger_accounts a where a.operator_id = v_payout.operator_id and a.kind = 'operator_available')],
      array[-v_payout.amount_cents, v_payout.amount_cents], p_operator_id => v_payout.operator_id);
  else
    perform private.fail(400, 'invalid_outcome', 'A payout settles as completed or failed');
  end if;
  return true;
end
$$;
grant execute on function api.settle_payout(text, text, text) to service_role;

/**
 * Notes whether the hot wallet could pay the next payout: `p_dry_reason` null when it could.
 * Returns true when it has just run dry (so that is logged once, not every tick).
 */
create function api.note_payout_wallet(p_wallet text, p_dry_reason text) returns boolean
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_was_dry boolean;
begin
  insert into public.payout_wallets (address) values (p_wallet) on conflict do nothing;
  select w.dry_since is not null into v_was_dry from public.payout_wallets w where w.address = p_wallet for update;
  update public.payout_wallets w
     set dry_since = case when p_dry_reason is null then null else coalesce(w.dry_since, now()) end,
         dry_reason = p_dry_reason, checked_at = now()
   where w.address = p_wallet;
  return p_dry_reason is not null and not v_was_dry;
end
$$;
grant execute on function api.note_payout_wallet(text, text) to service_role;

/** Remembers a deposit address shown to an agent (lower case), so it can never become a payout address. */
create function api.record_deposit_address(p_agent_id text, p_address text) returns void
  language sql
  security definer
  set search_path = ''
  as $$
  insert into public.deposit_addresses (address, agent_id) values (lower(p_address), p_agent_id)
  on conflict (address) do nothing
$$;
grant execute on function api.record_deposit_address(text, text) to service_role;

/** A fresh challenge for the calling operator (registered), replacing any earlier one; valid 10 minutes. */
create function api.issue_payout_address_challenge() returns table (nonce text, expires_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(false);
begin
  return query
  insert into public.payout_address_challenges as c (operator_id, nonce, expires_at)
  values (v_operator.id, replace(gen_random_uuid()::text, '-', ''), date_trunc('second', now()) + interval '10 minutes')
  on conflict (operator_id) do update set nonce = excluded.nonce, expires_at = excluded.expires_at
  returning c.nonce, c.expires_at;
end
$$;
grant execute on function api.issue_payout_address_challenge() to authenticated;

/**
 * Sets an operator's payout address once the API has verified the signature over the challenge
 * `p_nonce`: the challenge is spent (a used, replaced or expired one is a 400 and nothing changes).
 * The first address is usable at once; another one after `p_cooldown_seconds`; the same one again
 * changes nothing. A deposit address the platform showed an agent is refused.
 */
create function api.set_payout_address(p_operator_id text, p_nonce text, p_address text, p_cooldown_seconds integer)
  returns table (payout_address text, payout_address_usable_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  delete from public.payout_address_challenges c
   where c.operator_id = p_operator_id and c.nonce = p_nonce and c.expires_at > now();
  if not found then
    perform private.fail(400, 'challenge_expired',
      'The challenge was used, replaced or has expired; sign a new one (GET /operator/payout-address/challenge)');
  end if;
  if exists (select from public.deposit_addresses d where d.address = lower(p_address)) then
    perform private.fail(400, 'deposit_address_refused', 'This is a HumanOps deposit address; payouts must go to an address of your own');
  end if;
  return query
  update public.operators o
     set payout_address = p_address,
         payout_address_usable_at = case
           when o.payout_address is null then now()
           when o.payout_address = p_address then o.payout_address_usable_at
           else now() + make_interval(secs => p_cooldown_seconds) end
   where o.id = p_operator_id
  returning o.payout_address, o.payout_address_usable_at;
end
$$;
grant execute on function api.set_payout_address(text, text, text, integer) to service_role;

-- Who reads what: an agent reads its deposits, an operator its payouts.
create policy "an agent reads its deposits" on public.deposits for select to authenticated
  using (agent_id = (select api.current_agent_id()));
grant select on public.deposits to authenticated, service_role;
create policy "an operator reads its payouts" on public.payouts for select to authenticated
  using (operator_id = (select api.current_operator_id()));
grant select on public.payouts to authenticated, service_role;
create policy "an operator reads its payout address challenge" on public.payout_address_challenges for select to authenticated
  using (operator_id = (select api.current_operator_id()));
grant select on public.payout_address_challenges to authenticated, service_role;
grant select on public.deposit_addresses to service_role;
grant select on public.payout_wallets to service_role;
