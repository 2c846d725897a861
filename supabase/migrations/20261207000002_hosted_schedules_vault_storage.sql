/**
 * Hand-written (a diff engine does not carry these): what a hosted Supabase project needs besides
 * the schema, so that `supabase db push` finishes the job there: the extensions that run our
 * schedules, every schedule (expiry, earnings release, upkeep, and the function's worker through
 * pg_net, which private.call_worker calls with its secret kept in Vault), and the private `proofs`
 * bucket with its storage policy. Each step is guarded by what it needs, so a Postgres without
 * pg_cron, pg_net, Vault or Storage (the local stack, the tests) still migrates.
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

-- Every schedule in one place (scheduling a name again updates its job, so running this again is
-- harmless). pg_cron 1.5+ takes seconds; older ones (Debian's 1.4, versioned like `1.4-1`) schedule
-- by the minute.
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
