/**
 * The rest of the lifecycle: the Guardian's job queue and verdicts, agents' manual review,
 * dispute resolution, and expiry of overdue tasks. Webhooks for every transition are written by
 * private.transition_task (the webhooks migration), in the same transaction as the change.
 */

alter table public.tasks add column dispute_resolution jsonb;

/**
 * Claims up to `p_limit` Guardian jobs that are due, or whose worker's lease ran out, for
 * `p_lease_seconds`. A job claimed by a worker that dies is claimed again once its lease expires.
 */
create function api.claim_guardian_jobs(p_limit integer, p_lease_seconds integer)
  returns table (job_id bigint, task_id text, attempts integer)
  language sql
  security definer
  set search_path = ''
  as $$
  update public.guardian_jobs j
     set status = 'running', attempts = j.attempts + 1, locked_until = now() + make_interval(secs => p_lease_seconds), updated_at = now()
   where j.id in (
     select g.id from public.guardian_jobs g
      where (g.status = 'queued' and g.available_at <= now()) or (g.status = 'running' and g.locked_until < now())
      order by g.available_at, g.id
      limit p_limit
        for update skip locked)
  returning j.id, j.task_id, j.attempts
$$;

/**
 * Applies the Guardian's verdict to a SUBMITTED task, once: APPROVE → VERIFIED → COMPLETED (paid),
 * MANUAL_REVIEW → MANUAL_REVIEW, DISPUTED → DISPUTED (funds stay in escrow). Applying the same
 * job again, or to a task that has moved on (the agent decided first), changes nothing.
 * Returns the task's status afterwards.
 */
create function api.apply_guardian_verdict(p_job_id bigint, p_outcome text, p_verdict jsonb) returns text
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

/**
 * Records a failed Guardian attempt: the job is retried after `p_retry_after_seconds`, and after
 * `p_max_attempts` attempts the task goes to MANUAL_REVIEW (never to an approval).
 */
create function api.fail_guardian_job(p_job_id bigint, p_error text, p_retry_after_seconds integer, p_max_attempts integer) returns text
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_job public.guardian_jobs;
begin
  select * into v_job from public.guardian_jobs j where j.id = p_job_id for update;
  if v_job.status = 'done' then
    return 'done';
  end if;
  if v_job.attempts >= p_max_attempts then
    perform api.apply_guardian_verdict(p_job_id, 'MANUAL_REVIEW', jsonb_build_object(
      'decision', 'MANUAL_REVIEW', 'confidence', null,
      'reasoning', 'The Guardian could not verify this proof automatically; it needs a human look.',
      'requirement_results', '[]'::jsonb, 'error', left(p_error, 500)));
    update public.guardian_jobs j set status = 'failed', last_error = left(p_error, 2000) where j.id = p_job_id;
    return 'failed';
  end if;
  update public.guardian_jobs j
     set status = 'queued', locked_until = null, last_error = left(p_error, 2000),
         available_at = now() + make_interval(secs => p_retry_after_seconds), updated_at = now()
   where j.id = p_job_id;
  return 'queued';
end
$$;

/**
 * The agent's manual decision on a submitted task: APPROVE completes and pays (from SUBMITTED,
 * VERIFIED or MANUAL_REVIEW); REJECT disputes it (from SUBMITTED or MANUAL_REVIEW), funds held.
 */
create function api.verify_task(p_task_id text, p_decision text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_task public.tasks;
begin
  select * into v_task from public.tasks t where t.id = p_task_id and t.agent_id = v_agent_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if p_decision = 'APPROVE' and v_task.status in ('SUBMITTED', 'VERIFIED', 'MANUAL_REVIEW') then
    v_task := private.complete_task(p_task_id, 'agent:' || v_agent_id);
  elsif p_decision = 'REJECT' and v_task.status in ('SUBMITTED', 'MANUAL_REVIEW') then
    perform private.transition_task(p_task_id, 'DISPUTED', 'agent:' || v_agent_id);
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
 * Admin: settles a DISPUTED task in one ledger entry. `refund`: reward and fee back to the agent
 * (CANCELLED); `pay`: as an approval (COMPLETED); `split`: the operator gets `p_operator_cents` of
 * the reward (pending, like any earning), the agent the rest of the reward, the platform its fee
 * (COMPLETED).
 */
create function api.resolve_dispute(p_task_id text, p_resolution text, p_operator_cents bigint, p_note text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
  v_escrow bigint;
  v_deposit bigint;
  v_pending bigint;
begin
  select * into v_task from public.tasks t where t.id = p_task_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status <> 'DISPUTED' then
    perform private.fail(409, 'task_not_disputed', format('Only a DISPUTED task can be resolved; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  update public.tasks t
     set dispute_resolution = jsonb_build_object('resolution', p_resolution, 'operator_usd', p_operator_cents / 100.0, 'note', p_note, 'resolved_at', now())
   where t.id = p_task_id;

  if p_resolution = 'refund' then
    perform private.transition_task(p_task_id, 'CANCELLED', 'admin');
    perform private.refund_task(v_task, 'task_refund');
  elsif p_resolution = 'pay' then
    perform private.complete_task(p_task_id, 'admin');
  elsif p_resolution = 'split' then
    if p_operator_cents is null or p_operator_cents <= 0 or p_operator_cents >= v_task.reward_cents then
      perform private.fail(400, 'validation_error', 'operator_usd: a split gives the operator more than nothing and less than the whole reward');
    end if;
    perform private.transition_task(p_task_id, 'COMPLETED', 'admin');
    update public.tasks t set operator_earnings_cents = p_operator_cents where t.id = p_task_id;
    select a.id into v_escrow from public.ledger_accounts a where a.task_id = p_task_id and a.kind = 'task_escrow';
    select a.id into v_deposit from public.ledger_accounts a where a.agent_id = v_task.agent_id and a.kind = 'agent_deposit';
    select a.id into v_pending from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_pending';
    perform private.post_entry('task_settlement',
      array[v_escrow, v_pending, v_deposit, private.platform_account('platform_revenue')],
      array[-(v_task.reward_cents + v_task.fee_cents), p_operator_cents, v_task.reward_cents - p_operator_cents, v_task.fee_cents],
      p_agent_id => v_task.agent_id, p_task_id => p_task_id, p_operator_id => v_task.operator_id);
  else
    perform private.fail(400, 'validation_error', 'resolution: must be refund, pay or split');
  end if;
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;

/** Expires one task (its row locked by the caller) and refunds its whole escrow to the agent. */
create function private.expire_task(p_task public.tasks) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  perform private.transition_task(p_task.id, 'EXPIRED', 'system');
  perform private.refund_task(p_task, 'task_refund');
end
$$;

/**
 * Expires tasks past their deadline that nobody finished: PENDING, ACCEPTED and IN_PROGRESS become
 * EXPIRED and their whole escrow goes back to the agent. Submitted tasks are the Guardian's.
 */
create function api.expire_overdue_tasks(p_limit integer default 500) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
  v_count integer := 0;
begin
  for v_task in
    select * from public.tasks t
     where t.status in ('PENDING', 'ACCEPTED', 'IN_PROGRESS') and t.deadline <= now()
     order by t.deadline
     limit p_limit
       for update skip locked
  loop
    perform private.expire_task(v_task);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;

/** Sandbox: the task's deadline passes now, and it expires as it would on schedule. */
create function api.sandbox_expire_task(p_task_id text) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
begin
  select * into v_task from public.tasks t where t.id = p_task_id for update;
  if v_task.status not in ('PENDING', 'ACCEPTED', 'IN_PROGRESS') then
    perform private.fail(409, 'invalid_transition', format('A %s task cannot expire', v_task.status), jsonb_build_object('status', v_task.status));
  end if;
  update public.tasks t set deadline = least(t.deadline, now()) where t.id = p_task_id;
  perform private.expire_task(v_task);
end
$$;
create index tasks_overdue on public.tasks (deadline) where status in ('PENDING', 'ACCEPTED', 'IN_PROGRESS');

grant execute on function api.verify_task(text, text) to authenticated;
grant execute on function api.claim_guardian_jobs(integer, integer), api.apply_guardian_verdict(bigint, text, jsonb),
  api.fail_guardian_job(bigint, text, integer, integer), api.resolve_dispute(text, text, bigint, text),
  api.expire_overdue_tasks(integer), api.sandbox_expire_task(text) to service_role;
