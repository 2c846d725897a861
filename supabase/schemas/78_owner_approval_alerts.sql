/**
 * Approval alerts: every owner of an agent (public.owner_links) who subscribed a browser in the
 * console hears at once, through the push outbox, that a task of the agent waits for approval. The
 * alert carries the task's title, reward and a link to the console's approvals; never a secret.
 */

/** Registers (or moves to the signed-in owner) a browser's subscription for approval alerts. */
create function api.save_owner_push_subscription(p_endpoint text, p_p256dh text, p_auth text) returns public.push_subscriptions
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  return private.save_push_subscription('owner', private.require_owner(), p_endpoint, p_p256dh, p_auth);
end
$$;
grant execute on function api.save_owner_push_subscription(text, text, text) to authenticated;

/** Removes one of the signed-in owner's subscriptions; whether it was there. */
create function api.delete_owner_push_subscription(p_endpoint text) returns boolean
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  return private.delete_push_subscription('owner', private.require_owner(), p_endpoint);
end
$$;
grant execute on function api.delete_owner_push_subscription(text) to authenticated;

/** How many browsers of the signed-in owner take approval alerts. */
create function api.owner_push_subscriptions() returns integer
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_owner_id text := private.require_owner();
begin
  return (select count(*)::integer from public.push_subscriptions s where s.recipient_kind = 'owner' and s.recipient_id = v_owner_id);
end
$$;
grant execute on function api.owner_push_subscriptions() to authenticated;

/**
 * A task entered PENDING_APPROVAL: one alert per owner of its agent, urgent, living as long as the
 * approval window (a later alert is of no use).
 */
create function private.push_approval_needed() returns trigger
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
  v_owner record;
begin
  select * into v_task from public.tasks t where t.id = new.task_id;
  for v_owner in select l.owner_id from public.owner_links l where l.agent_id = v_task.agent_id loop
    perform private.queue_push('owner', v_owner.owner_id, 'approval',
      jsonb_build_object('title', left('Approval needed: ' || v_task.title, 100),
                         'body', private.push_reward(v_task.reward_cents) || ' · waits for your answer',
                         'url', '/console/#/approvals', 'task_id', v_task.id),
      greatest(0, least(259200, extract(epoch from private.approval_expires_at(v_task.created_at, v_task.deadline) - now())::integer)),
      'high');
  end loop;
  return null;
end
$$;

-- The condition is the trigger's own, so the other events of a task never call the function.
create trigger task_events_push_approvals after insert on public.task_events
  for each row when (new.to_status = 'PENDING_APPROVAL') execute function private.push_approval_needed();
