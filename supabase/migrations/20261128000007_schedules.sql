/**
 * Time-based upkeep. The local stack's ticker calls api.run_maintenance() every minute; where
 * pg_cron is installed (hosted Supabase, once the extension is enabled) it is scheduled here too.
 * Running it from both, or twice, is harmless.
 */
create function api.run_maintenance() returns jsonb
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_rate_limits integer;
  v_idempotency_keys integer;
begin
  delete from public.rate_limits where window_start < now() - interval '1 hour';
  get diagnostics v_rate_limits = row_count;
  -- Idempotency keys are kept for at least 7 days.
  delete from public.idempotency_keys where created_at < now() - interval '7 days';
  get diagnostics v_idempotency_keys = row_count;
  return jsonb_build_object('rate_limits_purged', v_rate_limits, 'idempotency_keys_purged', v_idempotency_keys);
end
$$;
grant execute on function api.run_maintenance() to service_role;

do $$
begin
  if exists (select from pg_extension where extname = 'pg_cron') then
    perform cron.schedule('humanops-maintenance', '* * * * *', 'select api.run_maintenance()');
  end if;
end
$$;
