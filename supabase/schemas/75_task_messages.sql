/**
 * The thread on a task between the agent who posted it and operators. Before the task is accepted,
 * any operator who may take it can ask; the agent answers the asker only or everyone who looks at
 * the task (a public answer makes its question public too, a Q&A). Once the task is held, only its
 * holder and the agent talk. A closed task (completed, cancelled, expired) keeps its thread read-only.
 * The text is untrusted data: the app escapes it and the Guardian reads it fenced, as context.
 */
create table public.task_messages (
  id text primary key default private.new_id('msg'),
  task_id text not null references public.tasks (id),
  agent_id text not null references public.agents (id),
  -- Whose conversation this is (the asker, or the holder); null only for the agent's public note.
  operator_id text references public.operators (id),
  sender text not null check (sender in ('agent', 'operator')),
  body text not null check (char_length(body) between 1 and 2000),
  visibility text not null default 'private' check (visibility in ('private', 'public')),
  in_reply_to text references public.task_messages (id),
  created_at timestamptz not null default now(),
  check ((sender = 'agent' or operator_id is not null) and (operator_id is not null or visibility = 'public'))
);

create index task_messages_by_task on public.task_messages (task_id, created_at, id);

-- The hourly caps count a sender's recent messages.
create index task_messages_sent_by_operator on public.task_messages (operator_id, created_at) where sender = 'operator';

create index task_messages_sent_by_agent on public.task_messages (agent_id, created_at) where sender = 'agent';

alter table public.task_messages enable row level security;

/** A thread takes no new messages once its task is closed. */
create function private.thread_is_closed(p_status text) returns boolean
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return p_status in ('COMPLETED', 'CANCELLED', 'EXPIRED');
end
$$;

/** 429 once a sender has written `p_cap` messages in the last hour. */
create function private.check_message_cap(p_sent_last_hour bigint, p_cap integer) returns void
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  if p_sent_last_hour >= p_cap then
    perform private.fail(429, 'rate_limited', format('At most %s messages an hour; try again later', p_cap),
                         jsonb_build_object('limit', p_cap, 'window_seconds', 3600));
  end if;
end
$$;

/**
 * What may an operator do with a task's thread: 'write' (the holder of an open thread, or a verified
 * operator whose skills fit a task still open to all), 'read' (a closed thread it took part in, or
 * one another operator took over), or null (nothing: the task is not found for it).
 */
create function private.operator_thread_access(p_task public.tasks, p_operator public.operators) returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_took_part boolean := exists (select from public.task_messages m where m.task_id = p_task.id and m.operator_id = p_operator.id);
begin
  if p_task.id is null then
    return null;
  end if;
  if p_task.operator_id = p_operator.id then
    return case when private.thread_is_closed(p_task.status) then 'read' else 'write' end;
  end if;
  if p_task.operator_id is null and p_task.status = 'PENDING' and p_task.deadline > now()
     and p_operator.kyc_status = 'VERIFIED'
     and (cardinality(p_operator.skills) = 0 or p_task.task_type = any (p_operator.skills)) then
    return 'write';
  end if;
  return case when v_took_part then 'read' end;
end
$$;

/** 'write' or 'read': what the calling operator may do with a task's thread (404 when neither). */
create function api.operator_thread_access(p_task_id text) returns text
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_access text := private.operator_thread_access((select t from public.tasks t where t.id = p_task_id),
                                                  private.require_operator(false));
begin
  if v_access is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  return v_access;
end
$$;
grant execute on function api.operator_thread_access(text) to authenticated;

/**
 * The thread as the calling operator may read it: its own conversation and the public messages,
 * oldest first. 404 when the task is not one it may see.
 */
create function api.operator_task_messages(p_task_id text)
  returns table (id text, sender text, mine boolean, body text, visibility text, in_reply_to text, created_at timestamptz)
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_operator_id text := api.current_operator_id();
begin
  perform api.operator_thread_access(p_task_id);
  return query
    select m.id, m.sender, m.operator_id is not distinct from v_operator_id, m.body, m.visibility, m.in_reply_to, m.created_at
      from public.task_messages m
     where m.task_id = p_task_id and (m.operator_id = v_operator_id or m.visibility = 'public')
     order by m.created_at, m.id;
end
$$;
grant execute on function api.operator_task_messages(text) to authenticated;

/** Queues the `task.message` webhook for an operator's message, when the task has a callback. */
create function private.announce_task_message(p_message public.task_messages) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  insert into public.webhook_deliveries (task_id, agent_id, event, payload)
  select t.id, t.agent_id, 'task.message',
         jsonb_build_object('event', 'task.message', 'task_id', t.id, 'status', t.status,
                            'message', jsonb_build_object('message_id', p_message.id, 'from', p_message.sender,
                                                          'operator_id', p_message.operator_id, 'text', p_message.body,
                                                          'in_reply_to', p_message.in_reply_to,
                                                          'created_at', to_char(p_message.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                            'timestamp', to_char(p_message.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    from public.tasks t
    join public.task_callbacks cb on cb.task_id = t.id
   where t.id = p_message.task_id;
end
$$;

/** The calling operator writes to the agent: a question before accepting, or as the holder. */
create function api.send_operator_message(p_task_id text, p_body text) returns public.task_messages
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  c_hourly_cap constant integer := 30;
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks;
  v_message public.task_messages;
begin
  select * into v_task from public.tasks t where t.id = p_task_id;
  case private.operator_thread_access(v_task, v_operator)
    when 'write' then null;
    when 'read' then perform private.fail(409, 'thread_closed', case
      when private.thread_is_closed(v_task.status) then format('The task is %s: its thread is read-only', v_task.status)
      else 'Another operator accepted the task: only they and the agent talk now' end);
    else perform private.fail(404, 'task_not_found', 'Task not found');
  end case;
  perform private.check_message_cap((select count(*) from public.task_messages m
                                      where m.operator_id = v_operator.id and m.sender = 'operator'
                                        and m.created_at > now() - interval '1 hour'), c_hourly_cap);
  insert into public.task_messages (task_id, agent_id, operator_id, sender, body)
  values (v_task.id, v_task.agent_id, v_operator.id, 'operator', p_body)
  returning * into v_message;
  perform private.announce_task_message(v_message);
  return v_message;
end
$$;
grant execute on function api.send_operator_message(text, text) to authenticated;

/** Every message on one of the calling agent's tasks, oldest first (404 for another's task). */
create function api.agent_task_messages(p_task_id text) returns setof public.task_messages
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
begin
  if not exists (select from public.tasks t where t.id = p_task_id and t.agent_id = v_agent_id) then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  return query select * from public.task_messages m where m.task_id = p_task_id order by m.created_at, m.id;
end
$$;
grant execute on function api.agent_task_messages(text) to authenticated;

/**
 * The calling agent writes: an answer to a question (`p_reply_to`; to the asker, or to everyone with
 * `p_public`, which makes the question public too), a message to the holder, or a public note
 * before anyone holds the task.
 */
create function api.send_agent_message(p_task_id text, p_body text, p_reply_to text, p_public boolean) returns public.task_messages
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  c_hourly_cap constant integer := 120;
  v_agent_id text := private.require_agent();
  v_task public.tasks := private.posted_task(p_task_id, v_agent_id);
  v_question public.task_messages;
  v_recipient text;
  v_message public.task_messages;
begin
  if private.thread_is_closed(v_task.status) then
    perform private.fail(409, 'thread_closed', format('The task is %s: its thread is read-only', v_task.status));
  end if;
  if p_reply_to is not null then
    select * into v_question from public.task_messages m
     where m.id = p_reply_to and m.task_id = v_task.id and m.sender = 'operator';
    if v_question.id is null then
      perform private.fail(404, 'message_not_found', 'reply_to: no question from an operator with this id on this task');
    end if;
    v_recipient := v_question.operator_id;
    if v_task.operator_id is not null and v_task.operator_id <> v_recipient then
      perform private.fail(409, 'thread_closed', 'Another operator accepted the task: only they and you talk now');
    end if;
  elsif v_task.operator_id is not null then
    v_recipient := v_task.operator_id;
  elsif not p_public then
    perform private.fail(400, 'validation_error', 'reply_to: name the question you answer, or make the message public');
  end if;
  perform private.check_message_cap((select count(*) from public.task_messages m
                                      where m.agent_id = v_agent_id and m.sender = 'agent'
                                        and m.created_at > now() - interval '1 hour'), c_hourly_cap);
  if p_public and v_question.id is not null then
    update public.task_messages m set visibility = 'public' where m.id = v_question.id;
  end if;
  insert into public.task_messages (task_id, agent_id, operator_id, sender, body, visibility, in_reply_to)
  values (v_task.id, v_agent_id, v_recipient, 'agent', p_body, case when p_public then 'public' else 'private' end, v_question.id)
  returning * into v_message;
  perform private.push_task_message(v_message);
  return v_message;
end
$$;
grant execute on function api.send_agent_message(text, text, text, boolean) to authenticated;

-- Who reads what: an agent the threads of its tasks; an operator its own conversations, and the
-- public answers on tasks open to it (the API reads through the functions above).
create policy "agents read their tasks' threads, operators their conversations and open tasks' public answers"
  on public.task_messages for select to authenticated
  using (agent_id = (select api.current_agent_id()) or operator_id = (select api.current_operator_id())
         or (visibility = 'public' and exists (select from public.open_tasks o where o.id = task_id)));
grant select on public.task_messages to authenticated, service_role;
