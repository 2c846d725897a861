/**
 * Time-based upkeep. The local stack's ticker calls api.run_maintenance() every minute; where
 * pg_cron is installed (hosted Supabase, once the extension is enabled) the hosted migration
 * schedules it too. Running it from both, or twice, is harmless.
 */
create function api.run_maintenance() returns jsonb
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_rate_limits integer;
  v_idempotency_keys integer;
  v_push_deliveries integer;
begin
  delete from public.rate_limits where window_start < now() - interval '1 hour';
  get diagnostics v_rate_limits = row_count;
  -- Idempotency keys are kept for at least 7 days.
  delete from public.idempotency_keys where created_at < now() - interval '7 days';
  get diagnostics v_idempotency_keys = row_count;
  -- Push alerts settled a day ago (the hourly cap looks back one hour), and the marks of tasks
  -- fanned out two days ago (fan-out considers tasks posted in the last day).
  delete from public.push_outbox where status <> 'pending' and created_at < now() - interval '1 day';
  get diagnostics v_push_deliveries = row_count;
  delete from public.push_task_fanouts where created_at < now() - interval '2 days';
  return jsonb_build_object('rate_limits_purged', v_rate_limits, 'idempotency_keys_purged', v_idempotency_keys,
                            'push_deliveries_purged', v_push_deliveries);
end
$$;
grant execute on function api.run_maintenance() to service_role;

/**
 * One round of the function's background work (the Guardian, webhook deliveries): a POST to its
 * worker route with the worker secret, both read from Vault at call time
 * (`humanops_worker_url`, `humanops_worker_secret`). Does nothing, and says so with a null, until
 * pg_net, Vault and both secrets are there. pg_net sends the request after this transaction
 * commits and records the answer in net._http_response.
 */
create function private.call_worker() returns bigint
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_url text;
  v_secret text;
begin
  if to_regclass('vault.decrypted_secrets') is null
     or not exists (select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                    where n.nspname = 'net' and p.proname = 'http_post') then
    return null;
  end if;
  select decrypted_secret into v_url from vault.decrypted_secrets where name = 'humanops_worker_url';
  select decrypted_secret into v_secret from vault.decrypted_secrets where name = 'humanops_worker_secret';
  if v_url is null or v_secret is null then
    return null;
  end if;
  -- A round may wait on a model call (ANTHROPIC_TIMEOUT_MS, 60 s by default).
  return net.http_post(
    url := v_url,
    body := '{}'::jsonb,
    headers := jsonb_build_object('content-type', 'application/json', 'x-worker-secret', v_secret),
    timeout_milliseconds := 65000
  );
end
$$;
