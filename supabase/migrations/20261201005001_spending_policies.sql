/**
 * Spending policies: limits an account owner sets on what a key may spend, enforced by
 * create_task in the same transaction that moves the money. A key follows its own policy, or the
 * account default when it has none; a key with neither behaves as the API reference says.
 *
 * Budgets count the key's own spend: reward + fee of the tasks it posted that were not refunded
 * in full (CANCELLED and EXPIRED tasks do not count). create_task checks them while it holds the
 * agent's deposit account lock, so concurrent posts of one agent queue and each sees the spend of
 * the ones before it: a budget lets through exactly what fits.
 */

/** One policy: for a key, or (key_id null) the account default. A null field sets no limit. */
create table public.spending_policies (
  id bigint generated always as identity primary key,
  agent_id text not null references public.agents (id),
  key_id text references public.api_keys (id),
  max_reward_cents bigint check (max_reward_cents > 0),
  daily_limit_cents bigint check (daily_limit_cents > 0),
  monthly_limit_cents bigint check (monthly_limit_cents > 0),
  /** Task types and/or domains (PHYSICAL, DIGITAL) a task must match one of. */
  allowed_task_types text[] check (cardinality(allowed_task_types) between 1 and 20),
  /** Physical tasks must lie in one of these: `{lat, lng, radius_km}` or `{country}` (ISO 3166-1 alpha-2). */
  allowed_regions jsonb check (jsonb_typeof(allowed_regions) = 'array' and jsonb_array_length(allowed_regions) between 1 and 50),
  allow_credential_tasks boolean,
  approval_threshold_cents bigint check (approval_threshold_cents >= 0),
  updated_at timestamptz not null default now()
);
create unique index spending_policies_one_per_key on public.spending_policies (key_id) where key_id is not null;
create unique index spending_policies_one_default_per_agent on public.spending_policies (agent_id) where key_id is null;

/**
 * The key that posted a task (from the request's claims: a column default, so every way of
 * inserting a task records it) and the country its coordinates lie in, as the API derived it.
 */
alter table public.tasks
  add column key_id text default api.current_key_id(),
  add column location_country text check (location_country ~ '^[A-Z]{2}$');
create index tasks_by_key on public.tasks (key_id, created_at) include (reward_cents, fee_cents, status) where key_id is not null;

alter table public.spending_policies enable row level security;
grant select on public.spending_policies to authenticated, service_role;
create policy "an agent reads its spending policies" on public.spending_policies for select to authenticated
  using (agent_id = (select api.current_agent_id()));

/** `$1,234.50`, for messages. */
create function private.usd(p_cents bigint) returns text
  language sql immutable
  set search_path = ''
  as $$ select '$' || to_char(p_cents / 100.0, 'FM999,999,999,990.00') $$;

/** The policy a key follows: its own, else the account default; no row when neither exists. */
create function private.effective_policy(p_agent_id text, p_key_id text) returns public.spending_policies
  language sql stable
  set search_path = ''
  as $$
  -- Two index probes (the key's row, the account's row) rather than one OR that would scan.
  select p.* from (
    select * from public.spending_policies k where k.key_id = p_key_id and k.agent_id = p_agent_id
    union all
    select * from public.spending_policies a where a.agent_id = p_agent_id and a.key_id is null
  ) p
   order by p.key_id nulls last
   limit 1
$$;

/** What a key has spent since `p_since`: reward + fee of its tasks not refunded in full. */
create function private.key_spend_cents(p_key_id text, p_since timestamptz) returns bigint
  language sql stable
  set search_path = ''
  as $$
  select coalesce(sum(t.reward_cents + t.fee_cents), 0)::bigint
    from public.tasks t
   where t.key_id = p_key_id and t.created_at > p_since and t.status not in ('CANCELLED', 'EXPIRED')
$$;

/** The start of the rolling day and of the calendar month (UTC) that budgets count from. */
create function private.budget_windows(out day_since timestamptz, out month_since timestamptz)
  language sql stable
  set search_path = ''
  as $$ select now() - interval '24 hours', date_trunc('month', now() at time zone 'utc') at time zone 'utc' $$;

/** Refuses a task with 403 policy_violation, naming the rule and what is left of it. */
create function private.policy_violation(p_rule text, p_message text, p_details jsonb default '{}') returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  perform private.fail(403, 'policy_violation', 'Spending policy: ' || p_message,
                       jsonb_build_object('rule', p_rule) || p_details);
end
$$;

/**
 * Applies the calling key's spending policy to a task about to be posted and returns the status
 * the task starts in: PENDING, or PENDING_APPROVAL when its reward is above the policy's approval
 * threshold (the approvals migration). Refuses (403 policy_violation) a task that breaks a rule. The caller must
 * hold the agent's deposit account lock (create_task does), so budget checks see every earlier
 * post of this agent.
 */
create function private.enforce_spending_policy(
  p_agent_id text, p_task_type text, p_task_domain text, p_lat double precision, p_lng double precision,
  p_country text, p_reward_cents bigint, p_total_cents bigint, p_credential boolean
) returns text
  language plpgsql
  set search_path = ''
  as $$
declare
  v_key_id text := api.current_key_id();
  v_policy public.spending_policies := private.effective_policy(p_agent_id, v_key_id);
  v_windows record;
  v_spent bigint;
begin
  if v_policy.id is null then
    return 'PENDING';
  end if;
  select * into v_windows from private.budget_windows();

  if v_policy.allowed_task_types is not null
     and not (p_task_type = any (v_policy.allowed_task_types) or p_task_domain = any (v_policy.allowed_task_types)) then
    perform private.policy_violation('allowed_task_types',
      format('%s tasks are not allowed (allowed: %s)', p_task_type, array_to_string(v_policy.allowed_task_types, ', ')),
      jsonb_build_object('allowed_task_types', to_jsonb(v_policy.allowed_task_types)));
  end if;

  if v_policy.allow_credential_tasks = false and p_credential then
    perform private.policy_violation('allow_credential_tasks', 'credential (Tier 2) tasks are not allowed');
  end if;

  if v_policy.allowed_regions is not null and p_task_domain = 'PHYSICAL' and not exists (
       select from jsonb_array_elements(v_policy.allowed_regions) r
        where (r ? 'country' and r->>'country' = p_country)
           or (r ? 'radius_km' and api.distance_km((r->>'lat')::double precision, (r->>'lng')::double precision, p_lat, p_lng)
                                   <= (r->>'radius_km')::double precision)) then
    perform private.policy_violation('allowed_regions',
      format('the task''s location (%s, %s%s) is outside the allowed regions',
             trim_scale(round(p_lat::numeric, 6)), trim_scale(round(p_lng::numeric, 6)),
             coalesce(', ' || p_country, '')),
      jsonb_build_object('allowed_regions', v_policy.allowed_regions));
  end if;

  if p_reward_cents > v_policy.max_reward_cents then
    perform private.policy_violation('max_reward',
      format('max reward per task %s, this task offers %s', private.usd(v_policy.max_reward_cents), private.usd(p_reward_cents)),
      jsonb_build_object('limit_usd', v_policy.max_reward_cents / 100.0, 'requested_usd', p_reward_cents / 100.0));
  end if;

  if v_policy.daily_limit_cents is not null then
    v_spent := private.key_spend_cents(v_key_id, v_windows.day_since);
    if v_spent + p_total_cents > v_policy.daily_limit_cents then
      perform private.policy_violation('daily_limit',
        format('daily limit %s, %s left, this task needs %s', private.usd(v_policy.daily_limit_cents),
               private.usd(greatest(0, v_policy.daily_limit_cents - v_spent)), private.usd(p_total_cents)),
        jsonb_build_object('limit_usd', v_policy.daily_limit_cents / 100.0, 'spent_usd', v_spent / 100.0,
                           'remaining_usd', greatest(0, v_policy.daily_limit_cents - v_spent) / 100.0,
                           'required_usd', p_total_cents / 100.0));
    end if;
  end if;

  if v_policy.monthly_limit_cents is not null then
    v_spent := private.key_spend_cents(v_key_id, v_windows.month_since - interval '1 microsecond');
    if v_spent + p_total_cents > v_policy.monthly_limit_cents then
      perform private.policy_violation('monthly_limit',
        format('monthly limit %s, %s left, this task needs %s', private.usd(v_policy.monthly_limit_cents),
               private.usd(greatest(0, v_policy.monthly_limit_cents - v_spent)), private.usd(p_total_cents)),
        jsonb_build_object('limit_usd', v_policy.monthly_limit_cents / 100.0, 'spent_usd', v_spent / 100.0,
                           'remaining_usd', greatest(0, v_policy.monthly_limit_cents - v_spent) / 100.0,
                           'required_usd', p_total_cents / 100.0));
    end if;
  end if;

  -- Within every limit, but big enough that the owner wants to see it first.
  if p_reward_cents > v_policy.approval_threshold_cents then
    return 'PENDING_APPROVAL';
  end if;
  return 'PENDING';
end
$$;

/**
 * Sets the spending policy of one of the calling agent's keys, or (p_key_id null) the account
 * default; owner scope. Only the fields named in `p_fields` change; a named field set to null
 * removes that limit. Returns the policy as stored.
 */
create function api.set_spending_policy(
  p_key_id text, p_fields text[], p_max_reward_cents bigint, p_daily_limit_cents bigint, p_monthly_limit_cents bigint,
  p_allowed_task_types text[], p_allowed_regions jsonb, p_allow_credential_tasks boolean, p_approval_threshold_cents bigint
) returns public.spending_policies
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
  v_policy public.spending_policies;
begin
  if p_key_id is not null and not exists (
       select from public.api_keys k where k.id = p_key_id and k.agent_id = v_agent_id and private.key_is_active(k)) then
    perform private.fail(404, 'key_not_found', 'No active API key with this id');
  end if;
  insert into public.spending_policies (agent_id, key_id) values (v_agent_id, p_key_id)
  on conflict do nothing;
  update public.spending_policies p set
    max_reward_cents = case when 'max_reward_usd' = any (p_fields) then p_max_reward_cents else p.max_reward_cents end,
    daily_limit_cents = case when 'daily_limit_usd' = any (p_fields) then p_daily_limit_cents else p.daily_limit_cents end,
    monthly_limit_cents = case when 'monthly_limit_usd' = any (p_fields) then p_monthly_limit_cents else p.monthly_limit_cents end,
    allowed_task_types = case when 'allowed_task_types' = any (p_fields) then p_allowed_task_types else p.allowed_task_types end,
    allowed_regions = case when 'allowed_regions' = any (p_fields) then p_allowed_regions else p.allowed_regions end,
    allow_credential_tasks = case when 'allow_credential_tasks' = any (p_fields) then p_allow_credential_tasks else p.allow_credential_tasks end,
    approval_threshold_cents = case when 'approval_threshold_usd' = any (p_fields) then p_approval_threshold_cents else p.approval_threshold_cents end,
    updated_at = now()
   where p.agent_id = v_agent_id and p.key_id is not distinct from p_key_id
  returning * into v_policy;
  return v_policy;
end
$$;

/** Removes a key's own policy (owner scope): the key follows the account default again. */
create function api.clear_key_policy(p_key_id text) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
begin
  if not exists (select from public.api_keys k where k.id = p_key_id and k.agent_id = v_agent_id and private.key_is_active(k)) then
    perform private.fail(404, 'key_not_found', 'No active API key with this id');
  end if;
  delete from public.spending_policies p where p.agent_id = v_agent_id and p.key_id = p_key_id;
end
$$;

/**
 * Each active key of the calling agent (the calling key marked) with the policy it follows (`key`,
 * `account` or `none`) and its spend in the rolling day and the calendar month against that
 * policy's limits.
 */
create function api.spending_usage()
  returns table (key_id text, name text, key_prefix text, scopes text[], is_calling_key boolean, policy_source text,
                 day_spent_cents bigint, daily_limit_cents bigint, month_spent_cents bigint, monthly_limit_cents bigint,
                 day_since timestamptz, month_since timestamptz)
  language sql stable
  security definer
  set search_path = ''
  as $$
  select k.id, k.name, k.key_prefix, k.scopes, k.id = api.current_key_id(),
         case when p.id is null then 'none' when p.key_id is null then 'account' else 'key' end,
         private.key_spend_cents(k.id, w.day_since), p.daily_limit_cents,
         private.key_spend_cents(k.id, w.month_since - interval '1 microsecond'), p.monthly_limit_cents,
         w.day_since, w.month_since
    from public.api_keys k
    cross join private.budget_windows() w
    left join lateral private.effective_policy(k.agent_id, k.id) p on p.id is not null
   where k.agent_id = api.current_agent_id() and private.key_is_active(k)
   order by k.created_at, k.id
$$;

drop function api.create_task(text, text, text, text, text, double precision, double precision, text,
  bigint, timestamptz, text[], text, text, text, text);
/**
 * Posts a task for the calling agent: prices the fee from its settled-spend tier, applies the
 * calling key's spending policy, moves reward + fee from its deposit to the task's own escrow,
 * and records the first event (PENDING, or PENDING_APPROVAL). 402 when funds fall short, 403
 * when the policy refuses. Inputs are validated by the API; the table's constraints are the
 * backstop. Differs from the fee-tier migration's version by the policy call, the key's scope,
 * the initial status and the task's country.
 */
create function api.create_task(
  p_title text, p_description text, p_task_type text, p_task_domain text, p_proof_type text,
  p_location_lat double precision, p_location_lng double precision, p_location_address text,
  p_reward_cents bigint, p_deadline timestamptz, p_proof_requirements text[],
  p_digital_instructions text default null, p_callback_url text default null,
  p_callback_secret text default null, p_agent_public_key text default null,
  p_location_country text default null
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
  v_status text;
  v_task public.tasks;
  v_escrow_account bigint;
begin
  if p_deadline <= now() then
    perform private.fail(400, 'validation_error', 'deadline: must be in the future');
  end if;
  if api.current_key_id() is not null then
    perform private.require_scope('agent');
  end if;

  -- Serialises this agent's money moves, so the balance and the policy's budgets below are current.
  select a.id, a.balance into v_deposit_account, v_available
    from public.ledger_accounts a
   where a.agent_id = v_agent_id and a.kind = 'agent_deposit'
     for update;

  v_rate := private.agent_fee_rate_pct(v_agent_id);
  v_fee := private.platform_fee_cents(p_reward_cents, v_rate);
  v_total := p_reward_cents + v_fee;

  v_status := private.enforce_spending_policy(v_agent_id, p_task_type, p_task_domain, p_location_lat, p_location_lng,
                                              p_location_country, p_reward_cents, v_total, p_agent_public_key is not null);

  if v_available < v_total then
    perform private.fail(402, 'insufficient_balance', 'Insufficient balance for escrow',
      jsonb_build_object('required_usd', v_total / 100.0, 'available_usd', v_available / 100.0,
                         'reward_usd', p_reward_cents / 100.0, 'platform_fee_usd', v_fee / 100.0));
  end if;

  insert into public.tasks (
    agent_id, title, description, task_type, task_domain, proof_type,
    location_lat, location_lng, location_address, location_country, reward_cents, fee_cents, fee_rate_pct, deadline,
    proof_requirements, digital_instructions, agent_public_key, status)
  values (
    v_agent_id, p_title, p_description, p_task_type, p_task_domain, p_proof_type,
    p_location_lat, p_location_lng, p_location_address, p_location_country, p_reward_cents, v_fee, v_rate, p_deadline,
    p_proof_requirements, p_digital_instructions, p_agent_public_key, v_status)
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
  values (v_task.id, null, v_status, 'agent:' || v_agent_id);

  return query select v_task.id, v_task.status, v_task.reward_cents, v_task.fee_cents, v_total,
                      v_task.deadline, v_task.created_at;
end
$$;

revoke all on function private.usd(bigint), private.effective_policy(text, text), private.key_spend_cents(text, timestamptz),
  private.budget_windows(), private.policy_violation(text, text, jsonb),
  private.enforce_spending_policy(text, text, text, double precision, double precision, text, bigint, bigint, boolean),
  api.set_spending_policy(text, text[], bigint, bigint, bigint, text[], jsonb, boolean, bigint), api.clear_key_policy(text),
  api.spending_usage(),
  api.create_task(text, text, text, text, text, double precision, double precision, text, bigint, timestamptz, text[], text, text, text, text, text)
  from public, anon, authenticated, service_role;
grant execute on function api.set_spending_policy(text, text[], bigint, bigint, bigint, text[], jsonb, boolean, bigint),
  api.clear_key_policy(text), api.spending_usage(),
  api.create_task(text, text, text, text, text, double precision, double precision, text, bigint, timestamptz, text[], text, text, text, text, text)
  to authenticated;
