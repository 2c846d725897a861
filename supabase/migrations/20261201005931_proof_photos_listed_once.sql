/**
 * A photo listed several times in one submission was counted as several photos: submit_task now
 * refuses a list that names a file twice (otherwise unchanged).
 */

/**
 * Submits proof for a task the calling operator holds (ACCEPTED or IN_PROGRESS, before its
 * deadline): every photo path must be a file this operator uploaded, for this task or for none
 * (those are bound to this task now), and each at most once. Stores the proof, moves the task to
 * SUBMITTED and queues it for the Guardian.
 */
create or replace function api.submit_task(p_task_id text, p_proof jsonb, p_photo_paths text[]) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks := private.held_task(p_task_id, v_operator.id);
  v_unknown text;
begin
  if v_task.status not in ('ACCEPTED', 'IN_PROGRESS') then
    perform private.fail(409, 'invalid_transition', format('Only an ACCEPTED or IN_PROGRESS task can be submitted; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  if v_task.deadline <= now() then
    perform private.fail(410, 'task_expired', 'This task has passed its deadline');
  end if;
  if cardinality(p_photo_paths) <> (select count(distinct p) from unnest(p_photo_paths) p) then
    perform private.fail(400, 'duplicate_photo', 'photos: lists the same file more than once');
  end if;
  update public.proof_files f set task_id = p_task_id
   where f.path = any (p_photo_paths) and f.operator_id = v_operator.id and f.task_id is null;
  select p into v_unknown from unnest(p_photo_paths) p
   where not exists (select from public.proof_files f where f.path = p and f.task_id = p_task_id and f.operator_id = v_operator.id)
   limit 1;
  if v_unknown is not null then
    perform private.fail(400, 'unknown_photo', 'photos: every photo must be a file you uploaded for this task with POST /operator/upload',
                         jsonb_build_object('photo', v_unknown));
  end if;
  update public.tasks t set proof = p_proof where t.id = p_task_id;
  perform private.transition_task(p_task_id, 'SUBMITTED', 'operator:' || v_operator.id);
  insert into public.guardian_jobs (task_id) values (p_task_id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
