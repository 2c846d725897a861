/**
 * An agent's task list that reads only the page it returns. Under row-level security the two
 * SELECT policies on tasks (an agent reads its tasks; an operator reads the tasks it holds) are
 * OR'd, so the list's plan was a BitmapOr over both indexes: every task of the agent read, then
 * sorted, for a page of 20 (34 ms at 60,000 tasks, growing with the agent's count). These
 * functions apply the agent policy's own condition (agent_id = the calling agent) themselves, as
 * security definer, so the plan is one index range in page order: tasks_by_agent, or
 * tasks_by_agent_status with a status, from the cursor's position when there is one. They are
 * planned per call (plan_cache_mode), so an absent status or cursor drops out of the plan.
 */

/** One page of the calling agent's tasks, newest first (ties by id), after a cursor or from an offset. */
create function api.agent_tasks(
  p_status text, p_after_created_at timestamptz, p_after_id text, p_limit integer, p_offset integer
) returns table (
  id text, title text, status text, task_type text, reward_cents bigint, operator_id text,
  created_at timestamptz, deadline timestamptz, created_key text
)
  language plpgsql stable
  security definer
  set search_path = ''
  set plan_cache_mode = force_custom_plan
  as $$
declare
  v_agent_id text := private.require_agent();
begin
  return query
  select t.id, t.title, t.status, t.task_type, t.reward_cents, t.operator_id, t.created_at, t.deadline, t.created_at::text
    from public.tasks t
   where t.agent_id = v_agent_id
     and (p_status is null or t.status = p_status)
     -- created_at <= x bounds the index range; the rest drops the ties already seen.
     and (p_after_created_at is null
          or (t.created_at <= p_after_created_at and (t.created_at < p_after_created_at or t.id > p_after_id)))
   order by t.created_at desc, t.id
   limit p_limit offset p_offset;
end
$$;

/** How many tasks the calling agent has (with a status, of that status), counted up to p_cap. */
create function api.count_agent_tasks(p_status text, p_cap integer) returns bigint
  language plpgsql stable
  security definer
  set search_path = ''
  set plan_cache_mode = force_custom_plan
  as $$
declare
  v_agent_id text := private.require_agent();
begin
  return (select count(*) from (select from public.tasks t
                                 where t.agent_id = v_agent_id and (p_status is null or t.status = p_status)
                                 limit p_cap) capped);
end
$$;

revoke all on function api.agent_tasks(text, timestamptz, text, integer, integer), api.count_agent_tasks(text, integer)
  from public, anon, authenticated, service_role;
grant execute on function api.agent_tasks(text, timestamptz, text, integer, integer), api.count_agent_tasks(text, integer)
  to authenticated;
