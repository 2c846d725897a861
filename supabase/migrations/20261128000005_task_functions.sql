/**
 * Tasks: posting (escrow), cancelling (refund) and the state machine every later move goes through.
 * Lock order, everywhere: the task row first, then ledger accounts by id, then the spend rollup.
 */

/**
 * Moves a task to `p_to` if task_transitions allows it from its current state, stamps the matching
 * timestamp and records the event. The caller must already hold the task row lock.
 */
create function private.transition_task(p_task_id text, p_to text, p_actor text) returns text
  language plpgsql
  set search_path = ''
  as $$
declare
  v_from text;
begin
  select t.status into v_from from public.tasks t where t.id = p_task_id for update;
  if not exists (select from public.task_transitions tr where tr.from_status = v_from and tr.to_status = p_to) then
    perform private.fail(409, 'invalid_transition', format('Task is %s and cannot become %s', v_from, p_to),
                         jsonb_build_object('status', v_from));
  end if;
  update public.tasks t set
    status = p_to,
    updated_at = now(),
    accepted_at  = case when p_to = 'ACCEPTED'    then now() else t.accepted_at end,
    started_at   = case when p_to = 'IN_PROGRESS' then now() else t.started_at end,
    submitted_at = case when p_to = 'SUBMITTED'   then now() else t.submitted_at end,
    verified_at  = case when p_to = 'VERIFIED'    then now() else t.verified_at end,
    completed_at = case when p_to = 'COMPLETED'   then now() else t.completed_at end,
    cancelled_at = case when p_to = 'CANCELLED'   then now() else t.cancelled_at end,
    expired_at   = case when p_to = 'EXPIRED'     then now() else t.expired_at end
  where t.id = p_task_id;
  insert into public.task_events (task_id, from_status, to_status, actor) values (p_task_id, v_from, p_to, p_actor);
  return v_from;
end
$$;

/**
 * The platform fee rate for an agent's trailing 30-day spend (rewards of tasks posted in the last
 * 30 UTC days, today included, minus those cancelled): under $5,000 18 %, $5,000–$25,000 15 %,
 * above $25,000 12 %.
 */
create function private.fee_rate_pct(p_spend_cents bigint) returns integer
  language sql immutable
  set search_path = ''
  as $$ select case when p_spend_cents < 500000 then 18 when p_spend_cents <= 2500000 then 15 else 12 end $$;

/** The fee on a reward at a rate: rounded half-up to the cent, at least $2. */
create function private.platform_fee_cents(p_reward_cents bigint, p_rate_pct integer) returns bigint
  language sql immutable
  set search_path = ''
  as $$ select greatest(200, (p_reward_cents * p_rate_pct + 50) / 100) $$;

/**
 * Posts a task for the calling agent: prices the fee from its spend tier, moves reward + fee from
 * its deposit to the task's own escrow, and records the PENDING event. 402 when funds fall short.
 * Inputs are validated by the API; the table's constraints are the backstop.
 */
create function api.create_task(
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
  v_spend bigint;
  v_rate integer;
  v_fee bigint;
  v_total bigint;
  v_task public.tasks;
  v_escrow_account bigint;
begin
  if p_deadline <= now() then
    perform private.fail(400, 'validation_error', 'deadline: must be in the future');
  end if;

  -- Serialises this agent's money moves, so the tier and the balance below are current.
  select a.id, a.balance into v_deposit_account, v_available
    from public.ledger_accounts a
   where a.agent_id = v_agent_id and a.kind = 'agent_deposit'
     for update;

  select coalesce(sum(s.reward_cents), 0) into v_spend
    from public.agent_spend_daily s
   where s.agent_id = v_agent_id and s.day > (now() at time zone 'utc')::date - 30;
  v_rate := private.fee_rate_pct(v_spend);
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

  insert into public.agent_spend_daily as s (agent_id, day, reward_cents)
  values (v_agent_id, (v_task.created_at at time zone 'utc')::date, p_reward_cents)
  on conflict (agent_id, day) do update set reward_cents = s.reward_cents + excluded.reward_cents;

  return query select v_task.id, v_task.status, v_task.reward_cents, v_task.fee_cents, v_total,
                      v_task.deadline, v_task.created_at;
end
$$;

/**
 * Returns everything left in a task's escrow to its agent's deposit and takes the task's reward
 * out of the agent's spend. Used by cancel (and later by expiry and dispute refunds).
 */
create function private.refund_task(p_task public.tasks, p_kind text) returns bigint
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

  update public.agent_spend_daily s
     set reward_cents = greatest(0, s.reward_cents - p_task.reward_cents)
   where s.agent_id = p_task.agent_id and s.day = (p_task.created_at at time zone 'utc')::date;
  return v_escrow_balance;
end
$$;

/** Cancels one of the calling agent's PENDING or ACCEPTED tasks and refunds reward + fee. */
create function api.cancel_task(p_task_id text)
  returns table (id text, status text, refunded_cents bigint)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_task public.tasks;
  v_refunded bigint;
begin
  select * into v_task from public.tasks t where t.id = p_task_id and t.agent_id = v_agent_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status not in ('PENDING', 'ACCEPTED') then
    perform private.fail(409, 'task_not_cancellable',
      format('Only PENDING or ACCEPTED tasks can be cancelled; this task is %s', v_task.status),
      jsonb_build_object('status', v_task.status));
  end if;

  perform private.transition_task(v_task.id, 'CANCELLED', 'agent:' || v_agent_id);
  v_refunded := private.refund_task(v_task, 'task_refund');
  return query select v_task.id, 'CANCELLED'::text, v_refunded;
end
$$;
