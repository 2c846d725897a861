/**
 * The owner's approval queue. A task whose reward is above its key's approval threshold starts in
 * PENDING_APPROVAL with its escrow (reward + fee) already held, and no operator sees it. An owner
 * key approves it (it becomes PENDING, open to operators) or declines it (CANCELLED, the whole
 * escrow back to the deposit in one entry). Unanswered, it expires at its deadline or 72 hours
 * after it was posted, whichever comes first (EXPIRED, refunded in full).
 */
insert into public.task_statuses (status) values ('PENDING_APPROVAL');
insert into public.task_transitions (from_status, to_status) values
  ('PENDING_APPROVAL', 'PENDING'), ('PENDING_APPROVAL', 'CANCELLED'), ('PENDING_APPROVAL', 'EXPIRED');

/** The owner's decision: `{decision: APPROVED|DECLINED, key_id, decided_at}`. */
alter table public.tasks add column approval jsonb;
create index tasks_awaiting_approval on public.tasks (created_at) where status = 'PENDING_APPROVAL';

/** When a task waiting for approval expires: its deadline, or 72 hours after it was posted. */
create function private.approval_expires_at(p_created_at timestamptz, p_deadline timestamptz) returns timestamptz
  language sql stable
  set search_path = ''
  as $$ select least(p_deadline, p_created_at + interval '72 hours') $$;

/** Agents hear `task.pending_approval` when a task waits for its owner; the other events as before. */
create or replace function private.webhook_event(p_status text) returns text
  language sql immutable
  set search_path = ''
  as $$
  select case p_status
    when 'PENDING_APPROVAL' then 'task.pending_approval'
    when 'ACCEPTED' then 'task.accepted' when 'SUBMITTED' then 'task.submitted' when 'VERIFIED' then 'task.verified'
    when 'MANUAL_REVIEW' then 'task.manual_review' when 'DISPUTED' then 'task.disputed' when 'COMPLETED' then 'task.completed'
    when 'CANCELLED' then 'task.cancelled' when 'EXPIRED' then 'task.expired' end
$$;

/**
 * The owner's answer to a task waiting for approval (owner scope). APPROVE opens it to operators
 * (PENDING), unless its approval window has closed (410). DECLINE cancels it and refunds reward +
 * fee to the deposit in one ledger entry.
 */
create function api.decide_task_approval(p_task_id text, p_decision text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
  v_task public.tasks;
  v_actor text := 'owner:' || coalesce(api.current_key_id(), v_agent_id);
begin
  if p_decision not in ('APPROVE', 'DECLINE') then
    raise exception 'Unknown approval decision %', p_decision;
  end if;
  select * into v_task from public.tasks t where t.id = p_task_id and t.agent_id = v_agent_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  if v_task.status <> 'PENDING_APPROVAL' then
    perform private.fail(409, 'task_not_awaiting_approval',
      format('Only a PENDING_APPROVAL task can be approved or declined; this task is %s', v_task.status),
      jsonb_build_object('status', v_task.status));
  end if;

  if p_decision = 'APPROVE' then
    if private.approval_expires_at(v_task.created_at, v_task.deadline) <= now() then
      perform private.fail(410, 'approval_expired',
        'The approval window of this task has closed; it expires with a full refund', jsonb_build_object(
          'approval_expires_at', private.approval_expires_at(v_task.created_at, v_task.deadline)));
    end if;
    perform private.transition_task(v_task.id, 'PENDING', v_actor);
  else
    perform private.transition_task(v_task.id, 'CANCELLED', v_actor);
    perform private.refund_task(v_task, 'task_refund');
  end if;
  update public.tasks t
     set approval = jsonb_build_object('decision', case p_decision when 'APPROVE' then 'APPROVED' else 'DECLINED' end,
                                       'key_id', api.current_key_id(), 'decided_at', now())
   where t.id = v_task.id
  returning * into v_task;
  return v_task;
end
$$;

/** Expires tasks whose approval window closed unanswered, refunding their whole escrow. */
create function api.expire_unapproved_tasks(p_limit integer default 500) returns integer
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
     where t.status = 'PENDING_APPROVAL' and private.approval_expires_at(t.created_at, t.deadline) <= now()
     order by t.created_at
     limit p_limit
       for update skip locked
  loop
    perform private.expire_task(v_task);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;

revoke all on function private.approval_expires_at(timestamptz, timestamptz), api.decide_task_approval(text, text),
  api.expire_unapproved_tasks(integer) from public, anon, authenticated, service_role;
grant execute on function api.decide_task_approval(text, text) to authenticated;
grant execute on function api.expire_unapproved_tasks(integer) to service_role;

do $$
begin
  if exists (select from pg_extension where extname = 'pg_cron') then
    perform cron.schedule('humanops-expire-approvals', '* * * * *', 'select api.expire_unapproved_tasks()');
  end if;
end
$$;
