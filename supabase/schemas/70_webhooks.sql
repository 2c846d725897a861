/** One event for one agent's callback URL, and how its delivery went. */
create table public.webhook_deliveries (
  id text primary key default private.new_id('whd'),
  task_id text not null references public.tasks (id),
  agent_id text not null references public.agents (id),
  event text not null,
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  locked_until timestamptz,
  last_status_code integer,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  -- Deliveries keep the order their events happened in, even within one transaction.
  seq bigint generated always as identity,
  -- An attempt is recorded only by the worker that holds the delivery's lease: each claim draws a
  -- fresh token, the worker hands it back with the outcome, and an outcome under any other token
  -- (a worker whose lease ran out) changes nothing.
  lease uuid
);

create index webhook_deliveries_due on public.webhook_deliveries (next_attempt_at) where status = 'pending';

create index webhook_deliveries_by_task on public.webhook_deliveries (task_id, created_at);

create index webhook_deliveries_pending_by_task on public.webhook_deliveries (task_id, seq) where status = 'pending';

alter table public.webhook_deliveries enable row level security;

/**
 * Receivers that stopped answering (a circuit breaker). A post that times out counts as silent;
 * after three in a row the circuit opens and no delivery goes to that receiver until `open_until`
 * (a minute, doubling with each trip up to an hour), spending none of their attempts. Then one
 * delivery at a time probes it; any answer closes the circuit (the row goes).
 */
create table public.webhook_receivers (
  receiver text primary key,
  silent_failures integer not null default 0,
  trips integer not null default 0,
  open_until timestamptz
);

alter table public.webhook_receivers enable row level security;

/**
 * Signed webhooks through an outbox. Every task event an agent hears about gets a delivery row in
 * the same transaction as the state change (a trigger on task_events), so no change is ever
 * announced that did not commit, and none that committed is lost. The worker claims due
 * deliveries with a lease, posts them, and records the result with exponential backoff.
 *
 * The webhook event a task's move is announced as, or null for one that is not announced: the
 * status it reached, except for a resubmission (DISPUTED back to SUBMITTED) and a task handed back
 * (ACCEPTED or IN_PROGRESS back to PENDING).
 */
create function private.webhook_event(p_from text, p_to text) returns text
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  if p_from = 'DISPUTED' and p_to = 'SUBMITTED' then
    return 'task.resubmitted';
  elsif p_from in ('ACCEPTED', 'IN_PROGRESS') and p_to = 'PENDING' then
    return 'task.released';
  end if;
  return case p_to
    when 'PENDING_APPROVAL' then 'task.pending_approval'
    when 'ACCEPTED' then 'task.accepted' when 'SUBMITTED' then 'task.submitted' when 'VERIFIED' then 'task.verified'
    when 'MANUAL_REVIEW' then 'task.manual_review' when 'DISPUTED' then 'task.disputed' when 'COMPLETED' then 'task.completed'
    when 'CANCELLED' then 'task.cancelled' when 'EXPIRED' then 'task.expired' end;
end
$$;

/**
 * Queues `p_event` about a task, when the task has a callback. Payload as the reference shows. For
 * state changes (the trigger below) and for what changes no state (an appeal).
 */
create function private.announce_task(p_task_id text, p_event text, p_status text, p_at timestamptz) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  insert into public.webhook_deliveries (task_id, agent_id, event, payload)
  select t.id, t.agent_id, p_event,
         jsonb_build_object('event', p_event, 'task_id', t.id, 'status', p_status,
                            'guardian_result', t.guardian_result,
                            'timestamp', to_char(p_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    from public.tasks t
    join public.task_callbacks cb on cb.task_id = t.id
   where t.id = p_task_id;
end
$$;

/** Queues the webhook for a task event. */
create function private.enqueue_webhook() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_event text := private.webhook_event(new.from_status, new.to_status);
begin
  if v_event is not null then
    perform private.announce_task(new.task_id, v_event, new.to_status, new.created_at);
  end if;
  return null;
end
$$;

-- The condition is the trigger's own, so the events webhook_event never announces in any case (a
-- task posted PENDING, an approval) do not call the function: every post writes one such event.
create trigger task_events_enqueue_webhooks after insert on public.task_events
  for each row when (new.to_status <> 'PENDING' or new.from_status in ('ACCEPTED', 'IN_PROGRESS'))
  execute function private.enqueue_webhook();

/**
 * Where a callback URL delivers: its host and port as written, lower-cased. The unit of the
 * per-receiver cap and of the circuit breaker.
 */
create function private.webhook_receiver(p_url text) returns text
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return lower(substring(p_url from '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)'));
end
$$;

/**
 * Claims up to `p_limit` due deliveries for `p_lease_seconds` under a fresh lease token each, and
 * only a task's oldest pending one, so a task's events arrive in order (a later event waits until
 * the earlier one is delivered or has failed for good). `fail` is true when the sandbox asked for
 * this attempt to fail (the receiver is then not called).
 *
 * The worker is shared fairly: at most 10 deliveries of one agent and 10 to one receiver are in
 * flight at once (one to a receiver whose circuit is half-open, none while it is open), and a claim
 * takes each agent's oldest before anyone's second, so one agent's backlog to a receiver that never
 * answers cannot crowd out another agent's delivery.
 */
create function api.claim_webhook_deliveries(p_limit integer, p_lease_seconds integer)
  returns table (id text, task_id text, event text, payload jsonb, url text, secret text, attempts integer, fail boolean, lease uuid)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  c_per_agent constant integer := 10;
  c_per_receiver constant integer := 10;
  v_delivery public.webhook_deliveries;
  v_fail boolean;
begin
  for v_delivery in
    update public.webhook_deliveries d
       set attempts = d.attempts + 1, locked_until = now() + make_interval(secs => p_lease_seconds), lease = gen_random_uuid()
     where d.id = any (array(
       with due as (
         select w.id, w.agent_id, w.next_attempt_at, w.seq, private.webhook_receiver(cb.url) as receiver
           from public.webhook_deliveries w
           join public.task_callbacks cb on cb.task_id = w.task_id
          where w.status = 'pending' and w.next_attempt_at <= now() and (w.locked_until is null or w.locked_until < now())
            and not exists (select from public.webhook_deliveries e
                             where e.task_id = w.task_id and e.status = 'pending' and e.seq < w.seq)
       ),
       in_flight as (
         select w.agent_id, private.webhook_receiver(cb.url) as receiver
           from public.webhook_deliveries w
           join public.task_callbacks cb on cb.task_id = w.task_id
          where w.status = 'pending' and w.locked_until >= now()
       ),
       -- Each agent's deliveries numbered after those it has in flight; beyond its cap, none.
       per_agent as (
         select due.*, row_number() over (partition by due.agent_id order by due.next_attempt_at, due.seq)
                       + (select count(*) from in_flight f where f.agent_id = due.agent_id) as agent_slot
           from due
       ),
       -- Then per receiver, round-robin across agents, after those in flight to it.
       per_receiver as (
         select a.*, row_number() over (partition by a.receiver order by a.agent_slot, a.next_attempt_at, a.seq)
                     + (select count(*) from in_flight f where f.receiver = a.receiver) as receiver_slot
           from per_agent a
          where a.agent_slot <= c_per_agent
       )
       select r.id
         from per_receiver r
         left join public.webhook_receivers b on b.receiver = r.receiver
        where (b.open_until is null or b.open_until <= now())
          and r.receiver_slot <= case when b.silent_failures >= 3 then 1 else c_per_receiver end
        order by r.agent_slot, r.next_attempt_at, r.seq
        limit p_limit))
       -- A concurrent claim may have taken it meanwhile.
       and d.status = 'pending' and (d.locked_until is null or d.locked_until < now())
    returning d.*
  loop
    update public.task_callbacks cb set fail_next = cb.fail_next - 1
     where cb.task_id = v_delivery.task_id and cb.fail_next > 0
    returning true into v_fail;
    return query
      select v_delivery.id, v_delivery.task_id, v_delivery.event, v_delivery.payload, cb.url, cb.secret,
             v_delivery.attempts, coalesce(v_fail, false), v_delivery.lease
        from public.task_callbacks cb where cb.task_id = v_delivery.task_id;
    v_fail := null;
  end loop;
end
$$;
grant execute on function api.claim_webhook_deliveries(integer, integer) to service_role;

/** How the receiver of `p_url` took a post: answered (any status), silent (timed out), or null (neither: nothing changes). */
create function api.note_webhook_receiver(p_url text, p_answered boolean) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_receiver text := private.webhook_receiver(p_url);
begin
  if p_answered is null or v_receiver is null then
    return;
  end if;
  if p_answered then
    delete from public.webhook_receivers r where r.receiver = v_receiver;
    return;
  end if;
  insert into public.webhook_receivers as r (receiver, silent_failures) values (v_receiver, 1)
  on conflict (receiver) do update
     set silent_failures = r.silent_failures + 1,
         trips = case when r.silent_failures + 1 >= 3 and (r.open_until is null or r.open_until <= now()) then r.trips + 1 else r.trips end,
         open_until = case when r.silent_failures + 1 >= 3 and (r.open_until is null or r.open_until <= now())
                           then now() + make_interval(secs => least(3600, 60 * power(2, r.trips))) else r.open_until end;
end
$$;
grant execute on function api.note_webhook_receiver(text, boolean) to service_role;

/**
 * Records an attempt made under lease `p_lease`: delivered, or retried after a backoff that grows
 * fourfold from 30 s up to 8 h (±20 % jitter), until `p_max_attempts` — about a day — after which
 * it is failed. Returns the delivery's status, or 'lease_lost' (and changes nothing) when the
 * delivery is no longer held under that lease.
 */
create function api.record_webhook_attempt(p_id text, p_lease uuid, p_delivered boolean, p_status_code integer, p_error text, p_max_attempts integer)
  returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_delivery public.webhook_deliveries;
begin
  select * into v_delivery from public.webhook_deliveries d where d.id = p_id for update;
  if v_delivery.lease is distinct from p_lease or p_lease is null then
    return 'lease_lost';
  end if;
  if p_delivered then
    update public.webhook_deliveries d
       set status = 'delivered', delivered_at = now(), locked_until = null, lease = null, last_status_code = p_status_code, last_error = null
     where d.id = p_id;
    return 'delivered';
  end if;
  update public.webhook_deliveries d
     set status = case when v_delivery.attempts >= p_max_attempts then 'failed' else 'pending' end,
         next_attempt_at = now() + make_interval(secs => least(28800, 30 * power(4, v_delivery.attempts - 1)) * (0.8 + random() * 0.4)),
         locked_until = null, lease = null, last_status_code = p_status_code, last_error = left(p_error, 1000)
   where d.id = p_id
  returning d.status into v_delivery.status;
  return v_delivery.status;
end
$$;
grant execute on function api.record_webhook_attempt(text, uuid, boolean, integer, text, integer) to service_role;

/**
 * The agent asks for a delivery again (delivered, failed or waiting): it is due now with a fresh
 * budget. An attempt already in flight keeps its lease, so the same delivery is never posted twice
 * at once: that attempt's outcome stands (delivered, or retried within seconds).
 */
create function api.resend_webhook(p_id text) returns public.webhook_deliveries
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_delivery public.webhook_deliveries;
begin
  update public.webhook_deliveries d
     set status = 'pending', attempts = 0, next_attempt_at = now()
   where d.id = p_id and d.agent_id = v_agent_id
  returning * into v_delivery;
  if v_delivery.id is null then
    perform private.fail(404, 'delivery_not_found', 'No webhook delivery with this id');
  end if;
  return v_delivery;
end
$$;
grant execute on function api.resend_webhook(text) to authenticated;

/** Sandbox: the next `p_count` delivery attempts for this task fail without calling the receiver. */
create function api.fail_next_webhooks(p_task_id text, p_count integer) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  update public.task_callbacks cb set fail_next = p_count where cb.task_id = p_task_id;
  if not found then
    perform private.fail(409, 'no_callback', 'This task has no callback_url, so it sends no webhooks');
  end if;
end
$$;
grant execute on function api.fail_next_webhooks(text, integer) to service_role;

-- Who reads what: an agent reads its deliveries.
create policy "an agent reads its webhook deliveries" on public.webhook_deliveries for select to authenticated
  using (agent_id = (select api.current_agent_id()));
grant select on public.webhook_deliveries to authenticated, service_role;

-- The circuit breakers are the worker's business only.
grant select on public.webhook_receivers to service_role;
