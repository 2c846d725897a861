/**
 * Web Push through an outbox. A recipient (an operator today; the seam takes any kind) registers
 * browser subscriptions; a notification for a recipient becomes one outbox row per subscription, in
 * the transaction that caused it or in the worker's fan-out of new tasks; the worker claims due rows
 * with a lease, encrypts and sends them, and records the outcome (retries with backoff; a push
 * service that answers 404 or 410 has forgotten the subscription, which then goes).
 */
create table public.push_subscriptions (
  id text primary key default private.new_id('psub'),
  recipient_kind text not null check (recipient_kind in ('operator', 'owner')),
  recipient_id text not null,
  endpoint text not null unique check (char_length(endpoint) <= 2048),
  -- The browser's keys (base64url): its P-256 public key and the 16-byte auth secret (RFC 8291).
  p256dh text not null check (char_length(p256dh) <= 128),
  auth text not null check (char_length(auth) <= 64),
  created_at timestamptz not null default now()
);

create index push_subscriptions_by_recipient on public.push_subscriptions (recipient_kind, recipient_id);

alter table public.push_subscriptions enable row level security;

/** What an operator wants to hear about; no row means the defaults. */
create table public.push_preferences (
  operator_id text primary key references public.operators (id),
  -- New physical tasks within radius_km of the operator's home area (null: its travel radius, else
  -- 10 km; at most 200), of its skills, paying at least min_reward_cents.
  new_tasks boolean not null default true,
  radius_km double precision check (radius_km > 0 and radius_km <= 200),
  min_reward_cents bigint not null default 0 check (min_reward_cents >= 0),
  outcomes boolean not null default true,
  messages boolean not null default true,
  updated_at timestamptz not null default now()
);

alter table public.push_preferences enable row level security;

/** One notification to one subscription, and how its delivery went. */
create table public.push_outbox (
  id bigint generated always as identity primary key,
  subscription_id text not null references public.push_subscriptions (id) on delete cascade,
  recipient_kind text not null,
  recipient_id text not null,
  -- One notification to a recipient with several subscriptions has one outbox row per subscription.
  notification uuid not null,
  topic text not null check (topic in ('new_task', 'outcome', 'message', 'approval')),
  -- What the browser shows: a title, a short body and a link into the app; never a secret.
  payload jsonb not null,
  ttl_seconds integer not null check (ttl_seconds between 0 and 2419200),
  urgency text not null check (urgency in ('very-low', 'low', 'normal', 'high')),
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  locked_until timestamptz,
  lease uuid,
  last_status_code integer,
  last_error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);

create index push_outbox_due on public.push_outbox (next_attempt_at) where status = 'pending';

-- The hourly cap counts a recipient's recent notifications of a topic.
create index push_outbox_by_recipient on public.push_outbox (recipient_kind, recipient_id, topic, created_at);

alter table public.push_outbox enable row level security;

/** New tasks the worker has fanned out already (each task once). */
create table public.push_task_fanouts (
  task_id text primary key references public.tasks (id),
  queued integer not null,
  created_at timestamptz not null default now()
);

alter table public.push_task_fanouts enable row level security;

/**
 * Queues one notification for a recipient: one outbox row per subscription it has. With `p_cap`,
 * nothing is queued once the recipient had `p_cap` notifications of this topic in the last hour.
 * Returns whether it was queued. The seam any recipient kind uses.
 */
create function private.queue_push(
  p_recipient_kind text, p_recipient_id text, p_topic text, p_payload jsonb, p_ttl_seconds integer, p_urgency text,
  p_cap integer default null
) returns boolean
  language plpgsql
  set search_path = ''
  as $$
declare
  v_notification uuid := gen_random_uuid();
begin
  if p_cap is not null and (select count(distinct o.notification) from public.push_outbox o
                             where o.recipient_kind = p_recipient_kind and o.recipient_id = p_recipient_id
                               and o.topic = p_topic and o.created_at > now() - interval '1 hour') >= p_cap then
    return false;
  end if;
  insert into public.push_outbox (subscription_id, recipient_kind, recipient_id, notification, topic, payload, ttl_seconds, urgency)
  select s.id, p_recipient_kind, p_recipient_id, v_notification, p_topic, p_payload, p_ttl_seconds, p_urgency
    from public.push_subscriptions s
   where s.recipient_kind = p_recipient_kind and s.recipient_id = p_recipient_id;
  return found;
end
$$;

/** The operator's preferences, or the defaults. */
create function private.push_preferences_of(p_operator_id text) returns public.push_preferences
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_preferences public.push_preferences;
begin
  select * into v_preferences from public.push_preferences p where p.operator_id = p_operator_id;
  if v_preferences.operator_id is null then
    v_preferences := row(p_operator_id, true, null, 0, true, true, now())::public.push_preferences;
  end if;
  return v_preferences;
end
$$;

/** A task's reward as the alert says it: "$25.00". */
create function private.push_reward(p_reward_cents bigint) returns text
  language sql immutable
  set search_path = ''
  as $$ select '$' || to_char(p_reward_cents / 100.0, 'FM999999990.00') $$;

/**
 * Registers (or moves to this recipient) a browser's subscription; the endpoint is the subscription's
 * identity, so subscribing again replaces its keys. Shared by operators and owners.
 */
create function private.save_push_subscription(
  p_recipient_kind text, p_recipient_id text, p_endpoint text, p_p256dh text, p_auth text
) returns public.push_subscriptions
  language sql
  set search_path = ''
  as $$
  insert into public.push_subscriptions as s (recipient_kind, recipient_id, endpoint, p256dh, auth)
  values (p_recipient_kind, p_recipient_id, p_endpoint, p_p256dh, p_auth)
  on conflict (endpoint) do update set recipient_kind = excluded.recipient_kind, recipient_id = excluded.recipient_id,
                                       p256dh = excluded.p256dh, auth = excluded.auth, created_at = now()
  returning *
$$;

/** Removes one of this recipient's subscriptions; whether it was there. */
create function private.delete_push_subscription(p_recipient_kind text, p_recipient_id text, p_endpoint text) returns boolean
  language sql
  set search_path = ''
  as $$
  with gone as (
    delete from public.push_subscriptions s
     where s.endpoint = p_endpoint and s.recipient_kind = p_recipient_kind and s.recipient_id = p_recipient_id
    returning 1
  )
  select exists (select from gone)
$$;

/** Registers (or moves to the calling operator) a browser's subscription. */
create function api.save_push_subscription(p_endpoint text, p_p256dh text, p_auth text) returns public.push_subscriptions
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  return private.save_push_subscription('operator', (private.require_operator(false)).id, p_endpoint, p_p256dh, p_auth);
end
$$;
grant execute on function api.save_push_subscription(text, text, text) to authenticated;

/** Removes one of the calling operator's subscriptions (sign-out, or alerts turned off); whether it was there. */
create function api.delete_push_subscription(p_endpoint text) returns boolean
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  return private.delete_push_subscription('operator', (private.require_operator(false)).id, p_endpoint);
end
$$;
grant execute on function api.delete_push_subscription(text) to authenticated;

/** The calling operator's preferences, and how many subscriptions it has. */
create function api.operator_push_settings()
  returns table (new_tasks boolean, radius_km double precision, min_reward_cents bigint, outcomes boolean, messages boolean, subscriptions integer)
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(false);
  v_preferences public.push_preferences := private.push_preferences_of(v_operator.id);
begin
  return query select v_preferences.new_tasks, v_preferences.radius_km, v_preferences.min_reward_cents, v_preferences.outcomes,
                      v_preferences.messages,
                      (select count(*)::integer from public.push_subscriptions s
                        where s.recipient_kind = 'operator' and s.recipient_id = v_operator.id);
end
$$;
grant execute on function api.operator_push_settings() to authenticated;

/**
 * Changes the calling operator's preferences: a null argument keeps that setting; a negative radius
 * goes back to the operator's travel radius.
 */
create function api.set_push_preferences(
  p_new_tasks boolean, p_radius_km double precision, p_min_reward_cents bigint, p_outcomes boolean, p_messages boolean
) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(false);
  v_current public.push_preferences := private.push_preferences_of(v_operator.id);
begin
  insert into public.push_preferences as p (operator_id, new_tasks, radius_km, min_reward_cents, outcomes, messages)
  values (v_operator.id, coalesce(p_new_tasks, v_current.new_tasks),
          case when p_radius_km is null then v_current.radius_km when p_radius_km < 0 then null else p_radius_km end,
          coalesce(p_min_reward_cents, v_current.min_reward_cents), coalesce(p_outcomes, v_current.outcomes),
          coalesce(p_messages, v_current.messages))
  on conflict (operator_id) do update
    set new_tasks = excluded.new_tasks, radius_km = excluded.radius_km, min_reward_cents = excluded.min_reward_cents,
        outcomes = excluded.outcomes, messages = excluded.messages, updated_at = now();
end
$$;
grant execute on function api.set_push_preferences(boolean, double precision, bigint, boolean, boolean) to authenticated;

/**
 * The worker's fan-out of new tasks: each open physical task posted in the last day and not yet
 * fanned out alerts the verified operators with a subscription whose home area lies within their
 * alert radius of it (its own, else its travel radius, else 10 km; found through the operators'
 * latitude index, at most 200 km), whose skills cover its type and whose minimum reward it meets,
 * at most `p_hourly_cap` alerts an hour each.
 * Returns how many alerts were queued.
 */
create function api.fan_out_new_tasks(p_hourly_cap integer, p_limit integer) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  c_max_radius_km constant double precision := 200;
  v_task public.tasks;
  v_queued integer;
  v_total integer := 0;
begin
  for v_task in
    select t.* from public.tasks t
     where t.status = 'PENDING' and t.operator_id is null and t.task_domain = 'PHYSICAL'
       and t.created_at > now() - interval '1 day' and t.deadline > now()
       and not exists (select from public.push_task_fanouts f where f.task_id = t.id)
     order by t.created_at
     limit p_limit
     for update skip locked
  loop
    with nearby as (
      select o.id, api.distance_km(v_task.location_lat, v_task.location_lng, o.lat, o.lng) as distance_km,
             least(coalesce(p.radius_km, o.travel_radius_km, 10), c_max_radius_km) as radius_km
        from public.operators o
        left join public.push_preferences p on p.operator_id = o.id
       where o.kyc_status = 'VERIFIED' and o.lat is not null
         and o.lat between v_task.location_lat - c_max_radius_km / 111.0 and v_task.location_lat + c_max_radius_km / 111.0
         and coalesce(p.new_tasks, true) and v_task.reward_cents >= coalesce(p.min_reward_cents, 0)
         and (cardinality(o.skills) = 0 or v_task.task_type = any (o.skills))
         and exists (select from public.push_subscriptions s where s.recipient_kind = 'operator' and s.recipient_id = o.id)
    )
    select count(*) filter (where private.queue_push('operator', n.id, 'new_task',
             jsonb_build_object('title', 'New task nearby: ' || left(v_task.title, 80),
                                'body', private.push_reward(v_task.reward_cents) || ' · ' || round(n.distance_km) || ' km away',
                                'url', '/#/task/' || v_task.id, 'task_id', v_task.id,
                                'reward_usd', v_task.reward_cents / 100.0, 'distance_km', round(n.distance_km)::integer),
             least(3600, greatest(0, extract(epoch from v_task.deadline - now())::integer)), 'normal', p_hourly_cap))::integer
      into v_queued
      from nearby n
     where n.distance_km <= n.radius_km;
    insert into public.push_task_fanouts (task_id, queued) values (v_task.id, v_queued);
    v_total := v_total + v_queued;
  end loop;
  return v_total;
end
$$;
grant execute on function api.fan_out_new_tasks(integer, integer) to service_role;

/** Outcomes of an operator's submission, as its alert says them. */
create function private.outcome_words(p_status text) returns text
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return case p_status
    when 'COMPLETED' then 'Approved: the reward is in your pending earnings'
    when 'MANUAL_REVIEW' then 'Your proof is with the requester for review'
    when 'DISPUTED' then 'Your proof was not accepted'
    when 'CANCELLED' then 'The task was cancelled' end;
end
$$;

/** Alerts the holder when its submitted task reaches an outcome (if it wants outcomes). */
create function private.push_task_outcome() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
begin
  if private.outcome_words(new.to_status) is null then
    return null;
  end if;
  select * into v_task from public.tasks t where t.id = new.task_id;
  if v_task.operator_id is null or v_task.submitted_at is null or not (private.push_preferences_of(v_task.operator_id)).outcomes then
    return null;
  end if;
  perform private.queue_push('operator', v_task.operator_id, 'outcome',
    jsonb_build_object('title', left(v_task.title, 80), 'body', private.outcome_words(new.to_status),
                       'url', '/#/task/' || v_task.id, 'task_id', v_task.id),
    86400, 'normal');
  return null;
end
$$;

-- The condition is the trigger's own (the statuses private.outcome_words words), so the other
-- events, a task posted among them, never call the function.
create trigger task_events_push_outcomes after insert on public.task_events
  for each row when (new.to_status in ('COMPLETED', 'MANUAL_REVIEW', 'DISPUTED', 'CANCELLED'))
  execute function private.push_task_outcome();

/**
 * Alerts the operator when a payout it asked for settles on chain: sent, or failed with the money back
 * in its available balance. A payout that completes as it is booked (test payouts) is not alerted:
 * the operator is looking at its answer.
 */
create function private.push_payout_outcome() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  if new.status not in ('completed', 'failed') or not (private.push_preferences_of(new.operator_id)).outcomes then
    return null;
  end if;
  perform private.queue_push('operator', new.operator_id, 'outcome',
    case new.status
      when 'completed' then jsonb_build_object(
        'title', 'Your payout arrived',
        'body', private.push_reward(new.amount_cents) || ' sent' || coalesce(' to ' || left(new.address, 6) || '…' || right(new.address, 4), ''),
        'url', '/#/earnings', 'payout_id', new.id)
      else jsonb_build_object(
        'title', 'Your payout did not go through',
        'body', private.push_reward(new.amount_cents) || ' is back in your available balance',
        'url', '/#/earnings', 'payout_id', new.id) end,
    86400, 'normal');
  return null;
end
$$;

create trigger payouts_push_outcomes after update of status on public.payouts
  for each row when (new.status is distinct from old.status) execute function private.push_payout_outcome();

/** Alerts the operator an agent's message is for (if it wants messages); the text itself stays in the app. */
create function private.push_task_message(p_message public.task_messages) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  if p_message.sender <> 'agent' or p_message.operator_id is null or not (private.push_preferences_of(p_message.operator_id)).messages then
    return;
  end if;
  perform private.queue_push('operator', p_message.operator_id, 'message',
    jsonb_build_object('title', 'The requester answered',
                       'body', (select left(t.title, 80) from public.tasks t where t.id = p_message.task_id),
                       'url', '/#/task/' || p_message.task_id, 'task_id', p_message.task_id),
    86400, 'high');
end
$$;

/**
 * Claims up to `p_limit` due deliveries for `p_lease_seconds` under a fresh lease each, with the
 * subscription's endpoint and keys.
 */
create function api.claim_push_deliveries(p_limit integer, p_lease_seconds integer)
  returns table (id bigint, endpoint text, p256dh text, auth text, payload jsonb, ttl_seconds integer, urgency text, topic text, attempts integer, lease uuid)
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  return query
    with claimed as (
      update public.push_outbox o
         set attempts = o.attempts + 1, locked_until = now() + make_interval(secs => p_lease_seconds), lease = gen_random_uuid()
       where o.id in (select d.id from public.push_outbox d
                       where d.status = 'pending' and d.next_attempt_at <= now() and (d.locked_until is null or d.locked_until < now())
                       order by d.next_attempt_at
                       limit p_limit
                       for update skip locked)
      returning o.*
    )
    select c.id, s.endpoint, s.p256dh, s.auth, c.payload, c.ttl_seconds, c.urgency, c.topic, c.attempts, c.lease
      from claimed c join public.push_subscriptions s on s.id = c.subscription_id;
end
$$;
grant execute on function api.claim_push_deliveries(integer, integer) to service_role;

/**
 * Records one attempt under its lease: `sent`; `gone` (404/410: the subscription is removed, with
 * its other queued deliveries); or a failure, retried with backoff (30 s doubling, 5 attempts)
 * when `p_retry`, else failed for good.
 */
create function api.record_push_delivery(p_id bigint, p_lease uuid, p_outcome text, p_status_code integer, p_error text, p_retry boolean)
  returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  c_max_attempts constant integer := 5;
  v_delivery public.push_outbox;
begin
  select * into v_delivery from public.push_outbox o where o.id = p_id and o.lease = p_lease and o.status = 'pending' for update;
  if v_delivery.id is null then
    return;
  end if;
  if p_outcome = 'sent' then
    update public.push_outbox o set status = 'sent', sent_at = now(), last_status_code = p_status_code, locked_until = null
     where o.id = p_id;
  elsif p_outcome = 'gone' then
    delete from public.push_subscriptions s where s.id = v_delivery.subscription_id;
  elsif p_retry and v_delivery.attempts < c_max_attempts then
    update public.push_outbox o
       set last_status_code = p_status_code, last_error = left(p_error, 500), locked_until = null,
           next_attempt_at = now() + make_interval(secs => 30 * power(2, v_delivery.attempts - 1))
     where o.id = p_id;
  else
    update public.push_outbox o set status = 'failed', last_status_code = p_status_code, last_error = left(p_error, 500), locked_until = null
     where o.id = p_id;
  end if;
end
$$;
grant execute on function api.record_push_delivery(bigint, uuid, text, integer, text, boolean) to service_role;

-- Who reads what: an operator its own subscriptions and preferences; the outbox and the fan-out
-- marks are the worker's.
create policy "operators read their push subscriptions" on public.push_subscriptions for select to authenticated
  using (recipient_kind = 'operator' and recipient_id = (select api.current_operator_id()));
grant select on public.push_subscriptions to authenticated, service_role;
create policy "operators read their push preferences" on public.push_preferences for select to authenticated
  using (operator_id = (select api.current_operator_id()));
grant select on public.push_preferences to authenticated, service_role;
grant select on public.push_outbox to service_role;
grant select on public.push_task_fanouts to service_role;
