/**
 * What a newcomer hit running the reference's own examples: an agent settles a dispute the
 * Guardian raised on its task; a manual approval stamps verified_at; an expired task answers 410
 * whether or not the ticker has marked it yet; proof can be uploaded before naming its task and is
 * bound to it at submit; webhooks reach each task's receiver in order; agents see who did a task.
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

/**
 * Claims a PENDING task for the calling (verified) operator. The task row lock makes racing
 * operators queue: the first wins, the rest find it taken (409). Past its deadline, EXPIRED or
 * not yet marked so: 410.
 */
create or replace function api.accept_task(p_task_id text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks;
begin
  select * into v_task from public.tasks t where t.id = p_task_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status = 'EXPIRED' or (v_task.status = 'PENDING' and v_task.deadline <= now()) then
    perform private.fail(410, 'task_expired', 'This task has passed its deadline');
  end if;
  if v_task.status <> 'PENDING' or v_task.operator_id is not null then
    perform private.fail(409, 'task_unavailable', format('This task is no longer available (status: %s)', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  update public.tasks t set operator_id = v_operator.id where t.id = p_task_id;
  perform private.transition_task(p_task_id, 'ACCEPTED', 'operator:' || v_operator.id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;

-- Proof uploaded without naming its task waits, unbound, until the operator submits it.
alter table public.proof_files alter column task_id drop not null;
create index proof_files_unbound on public.proof_files (operator_id) where task_id is null;

/**
 * Records a proof file. With a task: one the calling operator holds and is working on. Without
 * one: the operator's own unbound file (at most 50 waiting), bound to a task when submitted.
 */
create or replace function api.record_proof_file(p_task_id text, p_path text, p_content_type text, p_size_bytes bigint) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks;
begin
  if p_task_id is null then
    perform 1 from public.operators o where o.id = v_operator.id for update;
    if (select count(*) from public.proof_files f where f.operator_id = v_operator.id and f.task_id is null) >= 50 then
      perform private.fail(409, 'too_many_files', 'At most 50 uploads may wait unsubmitted; submit them or upload with task_id');
    end if;
  else
    v_task := private.held_task(p_task_id, v_operator.id);
    if v_task.status not in ('ACCEPTED', 'IN_PROGRESS') then
      perform private.fail(409, 'task_not_in_progress', format('Proof can only be uploaded while the task is ACCEPTED or IN_PROGRESS; it is %s', v_task.status));
    end if;
    if (select count(*) from public.proof_files f where f.task_id = p_task_id) >= 50 then
      perform private.fail(409, 'too_many_files', 'A task takes at most 50 proof files');
    end if;
  end if;
  insert into public.proof_files (path, operator_id, task_id, content_type, size_bytes)
  values (p_path, v_operator.id, p_task_id, p_content_type, p_size_bytes);
end
$$;

/**
 * Submits proof for a task the calling operator holds (ACCEPTED or IN_PROGRESS, before its
 * deadline): every photo path must be a file this operator uploaded, for this task or for none
 * (those are bound to this task now). Stores the proof, moves the task to SUBMITTED and queues it
 * for the Guardian.
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

/**
 * The operator of one of the calling agent's tasks as the reference shows it: id, short name
 * ("Jane D."), mean rating. Nothing else about the operator (no email, no phone).
 */
create function api.task_operator(p_task_id text) returns table (id text, name text, rating numeric)
  language sql stable
  security definer
  set search_path = ''
  as $$
  select o.id,
         split_part(o.name, ' ', 1) || coalesce(' ' || nullif(left(split_part(o.name, ' ', 2), 1), '') || '.', ''),
         case when o.rating_count > 0 then round(o.rating_sum::numeric / o.rating_count, 2) end
    from public.tasks t
    join public.operators o on o.id = t.operator_id
   where t.id = p_task_id and t.agent_id = (select private.require_agent())
$$;

-- Deliveries keep the order their events happened in, even within one transaction.
alter table public.webhook_deliveries add column seq bigint generated always as identity;
create index webhook_deliveries_pending_by_task on public.webhook_deliveries (task_id, seq) where status = 'pending';

/**
 * Claims up to `p_limit` due deliveries for `p_lease_seconds`, with where to send them: per task
 * only the oldest pending one, so a task's events arrive in order (a later event waits until the
 * earlier one is delivered or has failed for good). `fail` is true when the sandbox asked for this
 * attempt to fail (the receiver is then not called).
 */
create or replace function api.claim_webhook_deliveries(p_limit integer, p_lease_seconds integer)
  returns table (id text, task_id text, event text, payload jsonb, url text, secret text, attempts integer, fail boolean)
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
       set attempts = d.attempts + 1, locked_until = now() + make_interval(secs => p_lease_seconds)
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
             v_delivery.attempts, coalesce(v_fail, false)
        from public.task_callbacks cb where cb.task_id = v_delivery.task_id;
    v_fail := null;
  end loop;
end
$$;

revoke all on function api.task_operator(text) from public, anon, authenticated, service_role;
grant execute on function api.task_operator(text) to authenticated;
