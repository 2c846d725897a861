/**
 * Where pg_cron is installed (hosted Supabase once the extension is enabled, or any Postgres with
 * it preloaded), the time-based SQL work runs on schedule in the database itself: expiring overdue
 * tasks with refunds, and releasing earnings after the 7-day hold. pg_cron schedules by the minute.
 * The Guardian and webhook deliveries need the edge function (a model call, HTTP); on Supabase,
 * schedule its worker route with pg_net as the README shows. Locally the stack's ticker does all.
 */
do $$
begin
  if exists (select from pg_extension where extname = 'pg_cron') then
    perform cron.schedule('humanops-expire-tasks', '* * * * *', 'select api.expire_overdue_tasks()');
    perform cron.schedule('humanops-release-earnings', '* * * * *', 'select api.release_earnings()');
  end if;
end
$$;
