/**
 * A webhook attempt is recorded only by the worker that holds the delivery's lease. Before, a
 * worker whose lease ran out (and whose delivery another worker had claimed since) could still
 * record its late outcome over the newer attempt's. Each claim now draws a fresh lease token, the
 * worker hands it back with the outcome, and an outcome under any other token changes nothing.
 * A resend leaves the lease alone, so an attempt in flight still has its outcome recorded.
 */
alter table public.webhook_deliveries add column lease uuid;

drop function api.claim_webhook_deliveries(integer, integer);

/**
 * Claims up to `p_limit` due deliveries for `p_lease_seconds` under a fresh lease token each, and
 * only a task's oldest pending one, so a task's events arrive in order (a later event waits until
 * the earlier one is delivered or has failed for good). `fail` is true when the sandbox asked for
 * this attempt to fail (the receiver is then not called).
 */
create function api.claim_webhook_deliveries(p_limit integer, p_lease_seconds integer)
  returns table (id text, task_id text, event text, payload jsonb, url text, secret text, attempts integer, fail boolean, lease uuid)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_delivery public.webhook_deliveries;
  v_fail boolean;
begin
  for v_delivery in
    update public.webhook_deliveries d
       set attempts = d.attempts + 1, locked_until = now() + make_interval(secs => p_lease_seconds), lease = gen_random_uuid()
     where d.id in (
       select w.id from public.webhook_deliveries w
        where w.status = 'pending' and w.next_attempt_at <= now() and (w.locked_until is null or w.locked_until < now())
          and not exists (select from public.webhook_deliveries e
                           where e.task_id = w.task_id and e.status = 'pending' and e.seq < w.seq)
        order by w.next_attempt_at, w.seq
        limit p_limit
          for update skip locked)
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

drop function api.record_webhook_attempt(text, boolean, integer, text, integer);

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

grant execute on function api.claim_webhook_deliveries(integer, integer),
  api.record_webhook_attempt(text, uuid, boolean, integer, text, integer) to service_role;
