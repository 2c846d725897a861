/**
 * Fee tiers count only spend that happened. Until now the tier summed the rewards of tasks
 * *posted* in the last 30 days, so parked capital bought a cheaper rate: post three $10,000 tasks,
 * post a small one at 12 %, cancel the big ones for a full refund, and the small one kept 12 %.
 *
 * Now the spend rollup holds what operators were actually paid: a task counts when it becomes
 * COMPLETED (paid, no refund possible), by the UTC day it completed, for the part of its reward
 * that went to the operator (all of it, or the operator's share of a dispute split). Posting,
 * cancelling, expiring and refunding never move it.
 */

comment on table public.agent_spend_daily is
  'Per agent and UTC day: rewards paid to operators on tasks that completed that day; the fee tier sums the last 30 days.';

/**
 * The fee rate an agent pays on its next task, from its trailing 30-day settled spend (see
 * agent_spend_daily). Every function that prices a task calls this, so the tier rule lives here.
 */
create function private.agent_fee_rate_pct(p_agent_id text) returns integer
  language sql stable
  set search_path = ''
  as $$
  select private.fee_rate_pct(coalesce(sum(s.reward_cents), 0)::bigint)
    from public.agent_spend_daily s
   where s.agent_id = p_agent_id and s.day > (now() at time zone 'utc')::date - 30
$$;

/**
 * Adds a task's operator earnings to its agent's spend when it completes. A trigger rather than a
 * line in each settlement function, so every path that pays an operator (approval, Guardian,
 * dispute pay or split) counts, including ones written later. It runs inside the settlement's
 * transaction with the task row already locked; the rollup row is taken before the ledger
 * accounts, and only settlements write it, so the order is the same everywhere.
 */
create function private.count_settled_spend() returns trigger
  language plpgsql
  set search_path = ''
  as $$
declare
  v_delta bigint := coalesce(new.operator_earnings_cents, 0) - coalesce(old.operator_earnings_cents, 0);
begin
  if v_delta <> 0 then
    insert into public.agent_spend_daily as s (agent_id, day, reward_cents)
    values (new.agent_id, (coalesce(new.completed_at, now()) at time zone 'utc')::date, greatest(v_delta, 0))
    on conflict (agent_id, day) do update set reward_cents = greatest(0, s.reward_cents + v_delta);
  end if;
  return null;
end
$$;

create trigger tasks_count_settled_spend
  after update of operator_earnings_cents on public.tasks
  for each row when (new.status = 'COMPLETED')
  execute function private.count_settled_spend();

-- The rollup restarts from what was settled; posted-but-unpaid rewards drop out.
delete from public.agent_spend_daily;
insert into public.agent_spend_daily (agent_id, day, reward_cents)
select t.agent_id, (t.completed_at at time zone 'utc')::date, sum(t.operator_earnings_cents)
  from public.tasks t
 where t.status = 'COMPLETED' and t.operator_earnings_cents > 0
 group by 1, 2;

/**
 * Posts a task for the calling agent: prices the fee from its settled-spend tier, moves reward +
 * fee from its deposit to the task's own escrow, and records the PENDING event. 402 when funds
 * fall short. Inputs are validated by the API; the table's constraints are the backstop.
 */
create or replace function api.create_task(
  p_title text, p_description text, p_task_type text, p_task_domain text, p_proof_type text,
  p_location_lat double precision, p_location_lng double precision, p_location_address text,
  p_reward_cents bigint, p_deadline timestamptz, p_proof_requirements text[],
  p_digital_instructions text default null, p_callback_url text default null,
  p_callback_secret text default null, p_agent_public_key text default null
) returns table (
  id text, status text, reward_cents bigint, fee_cents bigint, total_escrow_cents bigint,
  deadline timestamptz, created_at timestamptz
)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_deposit_account bigint;
  v_available bigint;
  v_rate integer;
  v_fee bigint;
  v_total bigint;
  v_task public.tasks;
  v_escrow_account bigint;
begin
  if p_deadline <= now() then
    perform private.fail(400, 'validation_error', 'deadline: must be in the future');
  end if;

  -- Serialises this agent's money moves, so the balance below is current.
  select a.id, a.balance into v_deposit_account, v_available
    from public.ledger_accounts a
   where a.agent_id = v_agent_id and a.kind = 'agent_deposit'
     for update;

  v_rate := private.agent_fee_rate_pct(v_agent_id);
  v_fee := private.platform_fee_cents(p_reward_cents, v_rate);
  v_total := p_reward_cents + v_fee;

  if v_available < v_total then
    perform private.fail(402, 'insufficient_balance', 'Insufficient balance for escrow',
      jsonb_build_object('required_usd', v_total / 100.0, 'available_usd', v_available / 100.0,
                         'reward_usd', p_reward_cents / 100.0, 'platform_fee_usd', v_fee / 100.0));
  end if;

  insert into public.tasks (
    agent_id, title, description, task_type, task_domain, proof_type,
    location_lat, location_lng, location_address, reward_cents, fee_cents, fee_rate_pct, deadline,
    proof_requirements, digital_instructions, agent_public_key)
  values (
    v_agent_id, p_title, p_description, p_task_type, p_task_domain, p_proof_type,
    p_location_lat, p_location_lng, p_location_address, p_reward_cents, v_fee, v_rate, p_deadline,
    p_proof_requirements, p_digital_instructions, p_agent_public_key)
  returning * into v_task;

  if p_callback_url is not null then
    insert into public.task_callbacks (task_id, agent_id, url, secret)
    values (v_task.id, v_agent_id, p_callback_url, p_callback_secret);
  end if;

  insert into public.ledger_accounts (kind, agent_id, task_id)
  values ('task_escrow', v_agent_id, v_task.id)
  returning ledger_accounts.id into v_escrow_account;

  perform private.post_entry('task_escrow', array[v_deposit_account, v_escrow_account], array[-v_total, v_total],
                             p_agent_id => v_agent_id, p_task_id => v_task.id);

  insert into public.task_events (task_id, from_status, to_status, actor)
  values (v_task.id, null, 'PENDING', 'agent:' || v_agent_id);

  return query select v_task.id, v_task.status, v_task.reward_cents, v_task.fee_cents, v_total,
                      v_task.deadline, v_task.created_at;
end
$$;

/**
 * Returns everything left in a task's escrow to its agent's deposit. Used by cancel, expiry and
 * dispute refunds. A refunded task was never paid, so the spend rollup has nothing to undo.
 */
create or replace function private.refund_task(p_task public.tasks, p_kind text) returns bigint
  language plpgsql
  set search_path = ''
  as $$
declare
  v_escrow_account bigint;
  v_escrow_balance bigint;
  v_deposit_account bigint;
begin
  select a.id into v_deposit_account from public.ledger_accounts a
   where a.agent_id = p_task.agent_id and a.kind = 'agent_deposit';
  select a.id into v_escrow_account from public.ledger_accounts a
   where a.task_id = p_task.id and a.kind = 'task_escrow';
  perform 1 from public.ledger_accounts a where a.id in (v_deposit_account, v_escrow_account) order by a.id for update;
  select a.balance into v_escrow_balance from public.ledger_accounts a where a.id = v_escrow_account;

  if v_escrow_balance > 0 then
    perform private.post_entry(p_kind, array[v_escrow_account, v_deposit_account], array[-v_escrow_balance, v_escrow_balance],
                               p_agent_id => p_task.agent_id, p_task_id => p_task.id);
  end if;
  return v_escrow_balance;
end
$$;
