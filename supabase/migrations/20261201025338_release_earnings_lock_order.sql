/**
 * Releasing earnings without deadlocks. api.release_earnings took due tasks in completion order
 * and posted one entry per task, so one release locked operators' accounts in the order their tasks
 * happened to complete; two releases running at once (two workers, or the worker and an operator's
 * earnings call in test mode) could each hold one operator's accounts and wait for the other's
 * (40P01, a 503 to the caller). The seeded simulation found it. Now every release takes operators
 * in one order (their id), and within an operator, tasks in completion order: two releases can
 * only wait for each other in that order, never in a cycle. Settlements and payouts lock a single
 * operator's accounts, so they cannot close a cycle either.
 *
 * It also takes an operator: test mode releases the calling operator's due earnings on its
 * earnings and payout calls, not every operator's.
 */
drop function api.release_earnings(interval, integer);

/**
 * Moves the rewards of tasks completed at least `p_hold` ago (of one operator, or of all) from
 * their operators' pending to available balances, one entry per task, at most `p_limit` tasks.
 * Safe to run concurrently and repeatedly: a task another release holds is skipped.
 */
create function api.release_earnings(
  p_hold interval default interval '7 days', p_limit integer default 1000, p_operator_id text default null
) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task record;
  v_released integer := 0;
begin
  for v_task in
    -- The oldest due first (the completed_at index), then locked in operator order.
    select t.id, t.operator_id, t.operator_earnings_cents as earned from public.tasks t
     where t.id in (select d.id from public.tasks d
                     where d.status = 'COMPLETED' and d.earnings_released_at is null and d.completed_at <= now() - p_hold
                       and (p_operator_id is null or d.operator_id = p_operator_id)
                     order by d.completed_at
                     limit p_limit)
       and t.status = 'COMPLETED' and t.earnings_released_at is null
     order by t.operator_id, t.completed_at
     for update skip locked
  loop
    perform private.post_entry('earnings_release',
      array[(select a.id from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_pending'),
            (select a.id from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_available')],
      array[-v_task.earned, v_task.earned],
      p_task_id => v_task.id, p_operator_id => v_task.operator_id);
    update public.tasks t set earnings_released_at = now() where t.id = v_task.id;
    v_released := v_released + 1;
  end loop;
  return v_released;
end
$$;
revoke all on function api.release_earnings(interval, integer, text) from public, anon, authenticated;
grant execute on function api.release_earnings(interval, integer, text) to service_role;

