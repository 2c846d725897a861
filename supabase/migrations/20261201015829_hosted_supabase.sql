/**
 * What a hosted Supabase project needs besides the schema, so that `supabase db push` finishes the
 * job there: the extensions that run our schedules, every schedule (expiry, earnings release,
 * upkeep, and the function's worker through pg_net with its secret kept in Vault), and the private
 * `proofs` bucket with its storage policy. Each step is guarded by what it needs, so a Postgres
 * without pg_cron, pg_net, Vault or Storage (the local stack, the tests) still migrates.
 */

-- pg_cron can only be created where its library is preloaded, in the database `cron.database_name`
-- names (`postgres` on Supabase); the setting exists only when the library is loaded.
do $$
begin
  if exists (select from pg_available_extensions where name = 'pg_cron')
     and current_setting('cron.database_name', true) = current_database() then
    create extension if not exists pg_cron;
  end if;
  if exists (select from pg_available_extensions where name = 'pg_net') then
    create schema if not exists extensions;
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;

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

-- The worker secret is made here, in the database, so it is never typed into a file: read it with
-- `select decrypted_secret from vault.decrypted_secrets where name = 'humanops_worker_secret'` and
-- give the same value to the function (`supabase secrets set WORKER_SECRET=…`).
do $$
begin
  -- Nested: PL/pgSQL plans a whole condition at once, so the guard must come first on its own.
  if to_regclass('vault.secrets') is not null then
    if not exists (select from vault.decrypted_secrets where name = 'humanops_worker_secret') then
      perform vault.create_secret(
        replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),
        'humanops_worker_secret',
        'HumanOps: x-worker-secret for POST /api/v1/internal/tick (the function''s WORKER_SECRET)'
      );
    end if;
  end if;
end
$$;

-- Every schedule in one place (scheduling a name again updates its job, so this also completes
-- databases where 0007, 0012 and the approvals migration ran before pg_cron existed). pg_cron 1.5+ takes seconds; older ones
-- (Debian's 1.4, versioned like `1.4-1`) schedule by the minute.
do $$
declare
  v_often text;
begin
  if exists (select from pg_extension where extname = 'pg_cron') then
    v_often := case
      when string_to_array(substring((select extversion from pg_extension where extname = 'pg_cron') from '^[0-9]+(?:\.[0-9]+)*'), '.')::int[] >= array[1, 5]
        then '10 seconds'
      else '* * * * *'
    end;
    perform cron.schedule('humanops-maintenance', '* * * * *', 'select api.run_maintenance()');
    perform cron.schedule('humanops-expire-tasks', '* * * * *', 'select api.expire_overdue_tasks()');
    perform cron.schedule('humanops-release-earnings', '* * * * *', 'select api.release_earnings()');
    perform cron.schedule('humanops-expire-approvals', '* * * * *', 'select api.expire_unapproved_tasks()');
    perform cron.schedule('humanops-worker', v_often, 'select private.call_worker()');
  end if;
end
$$;

-- Proof photos: a private bucket (agents and operators get signed URLs from the function, which
-- writes with the service key); an operator may also read its own files, which live under
-- `<operator id>/…`, with supabase-js and its Clerk token. No policy lets a client write.
do $$
begin
  if to_regclass('storage.buckets') is not null then
    insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
    values ('proofs', 'proofs', false, 10 * 1024 * 1024, array['image/jpeg', 'image/png', 'image/webp', 'image/heic'])
    on conflict (id) do nothing;
  end if;
  if to_regclass('storage.objects') is not null then
    create policy "an operator reads its own proof files" on storage.objects for select to authenticated
      using (bucket_id = 'proofs' and split_part(name, '/', 1) = (select auth.jwt()->>'sub'));
  end if;
end
$$;
