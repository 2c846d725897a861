/**
 * An agent deciding on a task while the Guardian applies its verdict could deadlock (503
 * try_again): the verdict locks the Guardian job and then the task, the decision locked the task and
 * then the job. The decision now takes the job first, like the verdict.
 */

/**
 * The agent's decision on a submitted task. APPROVE completes and pays from SUBMITTED, VERIFIED,
 * MANUAL_REVIEW, or DISPUTED (the agent overrides a dispute); REJECT disputes from SUBMITTED or
 * MANUAL_REVIEW. REJECT of a task the Guardian disputed confirms the Guardian and settles as the
 * admin's `refund` would (reward and fee back, CANCELLED). A dispute the agent raised itself is
 * between it and the operator: only the admin settles that one, or the agent approves after all.
 */
create or replace function api.verify_task(p_task_id text, p_decision text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_task public.tasks;
  v_disputed_by text;
begin
  -- The Guardian locks its job, then the task (api.apply_guardian_verdict): take them in that
  -- order too, so an agent deciding while the Guardian judges waits instead of deadlocking.
  perform 1 from public.guardian_jobs j where j.task_id = p_task_id and j.status in ('queued', 'running') order by j.id for update;
  select * into v_task from public.tasks t where t.id = p_task_id and t.agent_id = v_agent_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status = 'DISPUTED' then
    select e.actor into v_disputed_by from public.task_events e
     where e.task_id = p_task_id and e.to_status = 'DISPUTED' order by e.id desc limit 1;
  end if;
  if p_decision = 'APPROVE' and v_task.status in ('SUBMITTED', 'VERIFIED', 'MANUAL_REVIEW', 'DISPUTED') then
    if v_task.status = 'DISPUTED' then
      update public.tasks t
         set dispute_resolution = jsonb_build_object('resolution', 'pay', 'by', 'agent', 'resolved_at', now())
       where t.id = p_task_id;
    end if;
    update public.tasks t set verified_at = coalesce(t.verified_at, now()) where t.id = p_task_id;
    perform private.complete_task(p_task_id, 'agent:' || v_agent_id);
  elsif p_decision = 'REJECT' and v_task.status in ('SUBMITTED', 'MANUAL_REVIEW') then
    perform private.transition_task(p_task_id, 'DISPUTED', 'agent:' || v_agent_id);
  elsif p_decision = 'REJECT' and v_task.status = 'DISPUTED' and v_disputed_by = 'guardian' then
    update public.tasks t
       set dispute_resolution = jsonb_build_object('resolution', 'refund', 'by', 'agent', 'resolved_at', now())
     where t.id = p_task_id;
    perform private.transition_task(p_task_id, 'CANCELLED', 'agent:' || v_agent_id);
    perform private.refund_task(v_task, 'task_refund');
  elsif p_decision = 'REJECT' and v_task.status = 'DISPUTED' then
    perform private.fail(409, 'dispute_pending', 'You disputed this task yourself: an admin settles it (or approve it after all)',
      jsonb_build_object('status', v_task.status));
  else
    perform private.fail(409, 'task_not_reviewable',
      format('A %s task cannot be %s', v_task.status, case p_decision when 'APPROVE' then 'approved' else 'rejected' end),
      jsonb_build_object('status', v_task.status));
  end if;
  update public.guardian_jobs j set status = 'done', locked_until = null, updated_at = now()
   where j.task_id = p_task_id and j.status in ('queued', 'running');
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
