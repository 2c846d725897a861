/**
 * Open tasks are for verified operators only, and only what an operator needs to decide.
 *
 * Before, any `authenticated` token with a `sub` (a Clerk session of anyone who signed up, never
 * registered) could read every open task's every column straight from public.tasks: the agent's
 * id, the exact location, the digital instructions. Now the policy on public.tasks lets an operator
 * read only the tasks it holds; open tasks are read through public.open_tasks, which shows them to
 * a registered, KYC-verified operator (test mode verifies at registration) and leaves out what
 * matters only after accepting: the agent, the digital instructions, the agent's public key.
 * The location stays exact: the agent posted it for operators to go to (the address says as much),
 * and the feed's nearby search filters on it through its index.
 */

/** The calling operator's id when it is registered and KYC-verified, else null. */
create function api.current_verified_operator_id() returns text
  language sql stable
  security definer
  set search_path = ''
  as $$
  select o.id from public.operators o where o.id = api.current_operator_id() and o.kyc_status = 'VERIFIED'
$$;

drop policy "an operator reads open tasks and the tasks it holds" on public.tasks;
create policy "an operator reads the tasks it holds" on public.tasks for select to authenticated
  using ((select api.current_operator_id()) is not null and operator_id = (select api.current_operator_id()));

/**
 * Open tasks as a verified operator sees them before accepting. The view runs with its owner's
 * rights (so past the policy above) and filters on the caller itself; security_barrier keeps a
 * caller's own conditions from being evaluated before that filter. Its columns mirror the task's,
 * with the hidden ones null, so one query shape serves open and held tasks.
 */
create view public.open_tasks with (security_barrier) as
  select t.id, t.title, t.description, t.status, t.task_type, t.task_domain, t.proof_type,
         t.location_lat, t.location_lng, t.location_address, t.reward_cents, t.deadline, t.proof_requirements,
         null::text as digital_instructions, null::text as agent_public_key, null::text as operator_id,
         null::jsonb as guardian_result, null::timestamptz as accepted_at, null::timestamptz as started_at,
         null::timestamptz as submitted_at, t.created_at
    from public.tasks t
   where t.status = 'PENDING' and t.operator_id is null and t.deadline > now()
     and (select api.current_verified_operator_id()) is not null;

revoke all on public.open_tasks from public, anon, authenticated, service_role;
grant select on public.open_tasks to authenticated;
grant execute on function api.current_verified_operator_id() to authenticated;
