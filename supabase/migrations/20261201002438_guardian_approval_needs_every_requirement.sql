/**
 * A Guardian approval pays only when the verdict itself says every requirement is met. The API
 * already refuses to approve against its own findings; this is the same rule where the money
 * moves, so no caller (a worker bug, a future code path) can pay on a verdict that contradicts
 * itself: such an APPROVE is applied as MANUAL_REVIEW, and the stored verdict says so.
 */
create or replace function api.apply_guardian_verdict(p_job_id bigint, p_outcome text, p_verdict jsonb) returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_job public.guardian_jobs;
  v_task public.tasks;
begin
  if p_outcome not in ('APPROVE', 'MANUAL_REVIEW', 'DISPUTED') then
    raise exception 'Unknown Guardian outcome %', p_outcome;
  end if;
  select * into v_job from public.guardian_jobs j where j.id = p_job_id for update;
  select * into v_task from public.tasks t where t.id = v_job.task_id for update;
  if v_job.status = 'done' or v_task.status <> 'SUBMITTED' then
    update public.guardian_jobs j set status = 'done', locked_until = null, updated_at = now() where j.id = p_job_id;
    return v_task.status;
  end if;

  if p_outcome = 'APPROVE' and exists (
    select from unnest(v_task.proof_requirements) r(requirement)
     where not exists (
       select from jsonb_array_elements(coalesce(p_verdict->'requirement_results', '[]'::jsonb)) e
        where e->>'requirement' = r.requirement and e->'met' = 'true'::jsonb)) then
    p_outcome := 'MANUAL_REVIEW';
    p_verdict := p_verdict || jsonb_build_object(
      'decision', 'MANUAL_REVIEW',
      'reasoning', concat_ws(' ', p_verdict->>'reasoning', 'Not every requirement was judged met, so the approval goes to review.'));
  end if;

  update public.tasks t set guardian_result = p_verdict where t.id = v_task.id;
  if p_outcome = 'APPROVE' then
    perform private.transition_task(v_task.id, 'VERIFIED', 'guardian');
    perform private.complete_task(v_task.id, 'guardian');
  else
    perform private.transition_task(v_task.id, p_outcome, 'guardian');
  end if;
  update public.guardian_jobs j set status = 'done', locked_until = null, last_error = null, updated_at = now() where j.id = p_job_id;
  select t.status into v_task.status from public.tasks t where t.id = v_task.id;
  return v_task.status;
end
$$;
