/**
 * Spending policies: limits an account owner sets on what a key may spend, enforced by
 * create_task in the same transaction that moves the money. A key follows its own policy, or the
 * account default when it has none; a key with neither behaves as the API reference says.
 *
 * Budgets count the key's own spend: reward + fee of the tasks it posted that were not refunded
 * in full (CANCELLED and EXPIRED tasks do not count). create_task checks them last, with the new
 * task written and the agent's deposit account locked, so concurrent posts of one agent queue and
 * each sees the spend of the ones before it and its own: a budget lets through exactly what fits.
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

alter table public.spending_policies enable row level security;

/** `$1,234.50`, for messages. */
create function private.usd(p_cents bigint) returns text
  language sql immutable
  set search_path = ''
  as $$ select '$' || to_char(p_cents / 100.0, 'FM999,999,999,990.00') $$;

/**
 * The policy a key follows in effect: the account default narrowed by the key's own. Each limit is
 * the lower of the two and credential tasks are refused if either refuses them. The lists (task
 * types, regions) cannot be merged into one row: this row carries the key's list when it has one,
 * else the account's, and enforce_spending_policy checks the account's lists as well.
 */
create function private.effective_policy(p_agent_id text, p_key_id text) returns public.spending_policies
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_own public.spending_policies;
  v_account public.spending_policies;
begin
  -- Two index probes: the key's own policy and the account default.
  select * into v_own from public.spending_policies k where k.key_id = p_key_id and k.agent_id = p_agent_id;
  select * into v_account from public.spending_policies a where a.agent_id = p_agent_id and a.key_id is null;
  if v_own.id is null then
    return v_account;
  end if;
  if v_account.id is null then
    return v_own;
  end if;
  v_own.max_reward_cents := least(v_own.max_reward_cents, v_account.max_reward_cents);
  v_own.daily_limit_cents := least(v_own.daily_limit_cents, v_account.daily_limit_cents);
  v_own.monthly_limit_cents := least(v_own.monthly_limit_cents, v_account.monthly_limit_cents);
  v_own.approval_threshold_cents := least(v_own.approval_threshold_cents, v_account.approval_threshold_cents);
  v_own.allow_credential_tasks := case when false in (v_own.allow_credential_tasks, v_account.allow_credential_tasks) then false
                                       else coalesce(v_own.allow_credential_tasks, v_account.allow_credential_tasks) end;
  v_own.allowed_task_types := coalesce(v_own.allowed_task_types, v_account.allowed_task_types);
  v_own.allowed_regions := coalesce(v_own.allowed_regions, v_account.allowed_regions);
  return v_own;
end
$$;

create function private.key_spend_cents(p_key_id text, p_since timestamptz) returns bigint
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return (select coalesce(sum(t.reward_cents + t.fee_cents), 0)::bigint
            from public.tasks t
           where t.key_id = p_key_id and t.created_at > p_since and t.status not in ('CANCELLED', 'EXPIRED'));
end
$$;

create function private.budget_windows(out day_since timestamptz, out month_since timestamptz)
  language plpgsql stable
  set search_path = ''
  as $$
begin
  day_since := now() - interval '24 hours';
  month_since := date_trunc('month', now() at time zone 'utc') at time zone 'utc';
end
$$;

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
 * Applies key `p_key_id`'s spending policy to a task about to be posted and returns the status
 * the task starts in (PENDING, or PENDING_APPROVAL when its reward is above the policy's approval
 * threshold) and the policy's budgets, for private.enforce_spending_budgets to check later, so the
 * policy is read once per post. Refuses (403 policy_violation) a task that breaks a rule. The
 * policy is the account default narrowed by the key's own (effective_policy); the task-type and
 * region lists of both apply. Regions judge every task that carries a location, digital ones
 * included.
 */
create function private.enforce_spending_policy(
  p_agent_id text, p_key_id text, p_task_type text, p_task_domain text, p_lat double precision, p_lng double precision,
  p_country text, p_reward_cents bigint, p_credential boolean,
  out status text, out daily_limit_cents bigint, out monthly_limit_cents bigint
)
  language plpgsql
  set search_path = ''
  as $$
declare
  v_policy public.spending_policies := private.effective_policy(p_agent_id, p_key_id);
  v_lists public.spending_policies[];
  v_list public.spending_policies;
begin
  status := 'PENDING';
  if v_policy.id is null then
    return;
  end if;
  daily_limit_cents := v_policy.daily_limit_cents;
  monthly_limit_cents := v_policy.monthly_limit_cents;
  -- The account default's lists, then the key's own: a task must pass both.
  v_lists := array(select p from public.spending_policies p
                    where p.agent_id = p_agent_id and (p.key_id is null or p.key_id = p_key_id)
                    order by p.key_id nulls first);

  foreach v_list in array v_lists loop
    if v_list.allowed_task_types is not null
       and not (p_task_type = any (v_list.allowed_task_types) or p_task_domain = any (v_list.allowed_task_types)) then
      perform private.policy_violation('allowed_task_types',
        format('%s tasks are not allowed (allowed: %s)', p_task_type, array_to_string(v_list.allowed_task_types, ', ')),
        jsonb_build_object('allowed_task_types', to_jsonb(v_list.allowed_task_types)));
    end if;
  end loop;

  if v_policy.allow_credential_tasks = false and p_credential then
    perform private.policy_violation('allow_credential_tasks', 'credential (Tier 2) tasks are not allowed');
  end if;

  foreach v_list in array v_lists loop
    if v_list.allowed_regions is not null and p_lat is not null and not exists (
         select from jsonb_array_elements(v_list.allowed_regions) r
          where (r ? 'country' and r->>'country' = p_country)
             or (r ? 'radius_km' and api.distance_km((r->>'lat')::double precision, (r->>'lng')::double precision, p_lat, p_lng)
                                     <= (r->>'radius_km')::double precision)) then
      perform private.policy_violation('allowed_regions',
        format('the task''s location (%s, %s%s) is outside the allowed regions',
               trim_scale(round(p_lat::numeric, 6)), trim_scale(round(p_lng::numeric, 6)),
               coalesce(', ' || p_country, '')),
        jsonb_build_object('allowed_regions', v_list.allowed_regions));
    end if;
  end loop;

  if p_reward_cents > v_policy.max_reward_cents then
    perform private.policy_violation('max_reward',
      format('max reward per task %s, this task offers %s', private.usd(v_policy.max_reward_cents), private.usd(p_reward_cents)),
      jsonb_build_object('limit_usd', v_policy.max_reward_cents / 100.0, 'requested_usd', p_reward_cents / 100.0));
  end if;

  -- Within every rule, but big enough that the owner wants to see it first.
  if p_reward_cents > v_policy.approval_threshold_cents then
    status := 'PENDING_APPROVAL';
  end if;
end
$$;

/**
 * Refuses (403 policy_violation) a task that key `p_key_id`'s daily or monthly budget (as
 * private.enforce_spending_policy returned them; null sets no limit) cannot hold. Called by
 * create_task after it has written the task and while it holds the agent's deposit account lock:
 * concurrent posts of one agent queue on that lock, each sum here is a new statement (so it sees
 * every post that committed before the lock was granted), and it counts the new task itself,
 * already written: a budget lets through exactly what fits.
 */
create function private.enforce_spending_budgets(
  p_key_id text, p_daily_limit_cents bigint, p_monthly_limit_cents bigint, p_total_cents bigint
) returns void
  language plpgsql
  set search_path = ''
  as $$
declare
  v_windows record;
  v_spent bigint;
begin
  if p_daily_limit_cents is null and p_monthly_limit_cents is null then
    return;
  end if;
  select * into v_windows from private.budget_windows();

  if p_daily_limit_cents is not null then
    v_spent := private.key_spend_cents(p_key_id, v_windows.day_since) - p_total_cents;
    if v_spent + p_total_cents > p_daily_limit_cents then
      perform private.policy_violation('daily_limit',
        format('daily limit %s, %s left, this task needs %s', private.usd(p_daily_limit_cents),
               private.usd(greatest(0, p_daily_limit_cents - v_spent)), private.usd(p_total_cents)),
        jsonb_build_object('limit_usd', p_daily_limit_cents / 100.0, 'spent_usd', v_spent / 100.0,
                           'remaining_usd', greatest(0, p_daily_limit_cents - v_spent) / 100.0,
                           'required_usd', p_total_cents / 100.0));
    end if;
  end if;

  if p_monthly_limit_cents is not null then
    v_spent := private.key_spend_cents(p_key_id, v_windows.month_since - interval '1 microsecond') - p_total_cents;
    if v_spent + p_total_cents > p_monthly_limit_cents then
      perform private.policy_violation('monthly_limit',
        format('monthly limit %s, %s left, this task needs %s', private.usd(p_monthly_limit_cents),
               private.usd(greatest(0, p_monthly_limit_cents - v_spent)), private.usd(p_total_cents)),
        jsonb_build_object('limit_usd', p_monthly_limit_cents / 100.0, 'spent_usd', v_spent / 100.0,
                           'remaining_usd', greatest(0, p_monthly_limit_cents - v_spent) / 100.0,
                           'required_usd', p_total_cents / 100.0));
    end if;
  end if;
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
grant execute on function api.set_spending_policy(text, text[], bigint, bigint, bigint, text[], jsonb, boolean, bigint) to authenticated;

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
grant execute on function api.clear_key_policy(text) to authenticated;

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
grant execute on function api.spending_usage() to authenticated;

/**
 * The owner's approval queue. A task whose reward is above its key's approval threshold starts in
 * PENDING_APPROVAL with its escrow (reward + fee) already held, and no operator sees it. An owner
 * key approves it (it becomes PENDING, open to operators) or declines it (CANCELLED, the whole
 * escrow back to the deposit in one entry). Unanswered, it expires at its deadline or 72 hours
 * after it was posted, whichever comes first (EXPIRED, refunded in full).
 *
 * When a task waiting for approval expires: its deadline, or 72 hours after it was posted.
 */
create function private.approval_expires_at(p_created_at timestamptz, p_deadline timestamptz) returns timestamptz
  language sql stable
  set search_path = ''
  as $$ select least(p_deadline, p_created_at + interval '72 hours') $$;

/**
 * The owner's answer to a task waiting for approval (owner scope). APPROVE opens it to operators
 * (PENDING), unless its approval window has closed (410). DECLINE cancels it and refunds reward +
 * fee to the deposit in one ledger entry.
 */
create function api.decide_task_approval(p_task_id text, p_decision text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
  v_task public.tasks;
  v_actor text := 'owner:' || coalesce(api.current_key_id(), private.current_owner_id(), v_agent_id);
begin
  if p_decision not in ('APPROVE', 'DECLINE') then
    raise exception 'Unknown approval decision %', p_decision;
  end if;
  v_task := private.posted_task(p_task_id, v_agent_id);
  if v_task.status <> 'PENDING_APPROVAL' then
    perform private.fail(409, 'task_not_awaiting_approval',
      format('Only a PENDING_APPROVAL task can be approved or declined; this task is %s', v_task.status),
      jsonb_build_object('status', v_task.status));
  end if;

  if p_decision = 'APPROVE' then
    if private.approval_expires_at(v_task.created_at, v_task.deadline) <= now() then
      perform private.fail(410, 'approval_expired',
        'The approval window of this task has closed; it expires with a full refund', jsonb_build_object(
          'approval_expires_at', private.approval_expires_at(v_task.created_at, v_task.deadline)));
    end if;
    perform private.transition_task(v_task.id, 'PENDING', v_actor);
  else
    perform private.transition_task(v_task.id, 'CANCELLED', v_actor);
    perform private.refund_task(v_task, 'task_refund');
  end if;
  update public.tasks t
     set approval = jsonb_build_object('decision', case p_decision when 'APPROVE' then 'APPROVED' else 'DECLINED' end,
                                       'key_id', api.current_key_id(), 'owner_id', private.current_owner_id(), 'decided_at', now())
   where t.id = v_task.id
  returning * into v_task;
  return v_task;
end
$$;
grant execute on function api.decide_task_approval(text, text) to authenticated;

/** Expires tasks whose approval window closed unanswered, refunding their whole escrow. */
create function api.expire_unapproved_tasks(p_limit integer default 500) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
  v_count integer := 0;
begin
  for v_task in
    select * from public.tasks t
     where t.status = 'PENDING_APPROVAL' and private.approval_expires_at(t.created_at, t.deadline) <= now()
     order by t.created_at
     limit p_limit
       for update skip locked
  loop
    perform private.expire_task(v_task);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
grant execute on function api.expire_unapproved_tasks(integer) to service_role;

-- Who reads what: an agent reads its policies.
create policy "an agent reads its spending policies" on public.spending_policies for select to authenticated
  using (agent_id = (select api.current_agent_id()));
grant select on public.spending_policies to authenticated, service_role;
