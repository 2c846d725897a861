/** The Guardian's durable queue: one open job per submitted task (the worker comes with the Guardian). */
create table public.guardian_jobs (
  id bigint generated always as identity primary key,
  task_id text not null references public.tasks (id),
  status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed')),
  attempts integer not null default 0,
  available_at timestamptz not null default now(),
  locked_until timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create unique index guardian_jobs_one_open_per_task on public.guardian_jobs (task_id) where status in ('queued', 'running');

create index guardian_jobs_ready on public.guardian_jobs (available_at) where status = 'queued';

alter table public.guardian_jobs enable row level security;

/**
 * A fingerprint of every proof photo the Guardian has judged: the file's SHA-256, its difference
 * hash (null when its pixels could not be read), the task's place and when the proof was submitted.
 * Reuse is looked up here (api.record_proof_fingerprints): the same file for another task, or a near
 * copy among proofs of tasks near the same place.
 */
create table public.proof_fingerprints (
  task_id text not null references public.tasks (id),
  photo_number integer not null check (photo_number between 1 and 100),
  sha256 bytea not null check (octet_length(sha256) = 32),
  dhash bigint,
  lat double precision check (lat between -90 and 90),
  lng double precision check (lng between -180 and 180),
  submitted_at timestamptz not null,
  primary key (task_id, photo_number)
);

create index proof_fingerprints_by_file on public.proof_fingerprints (sha256);

-- Near copies are looked for in a box around the task's place. The index holds what the search
-- compares, so the proofs of a busy place are read from it alone, not row by row from the table.
create index proof_fingerprints_by_place on public.proof_fingerprints using gist (point(lng, lat))
  include (lat, lng, dhash, task_id, submitted_at) where dhash is not null and lat is not null;

alter table public.proof_fingerprints enable row level security;

/** An agent's rating of the operator who completed its task: once per task. */
create table public.task_ratings (
  task_id text primary key references public.tasks (id),
  agent_id text not null references public.agents (id),
  operator_id text not null references public.operators (id),
  rating integer not null check (rating between 1 and 5),
  comment text check (char_length(comment) <= 1000),
  created_at timestamptz not null default now()
);

alter table public.task_ratings enable row level security;

/** An operator's rating of the requester (the agent) of a task it held, once the task ended: once per task. */
create table public.requester_ratings (
  task_id text primary key references public.tasks (id),
  operator_id text not null references public.operators (id),
  agent_id text not null references public.agents (id),
  rating integer not null check (rating between 1 and 5),
  comment text check (char_length(comment) <= 1000),
  created_at timestamptz not null default now()
);

create index requester_ratings_by_agent on public.requester_ratings (agent_id);

alter table public.requester_ratings enable row level security;

/**
 * Adds why a proof was not accepted to the task's rejections (the caller holds the task row lock).
 * The reason is kept as it was given, at most 2,000 characters: it is untrusted text.
 */
create function private.record_rejection(p_task_id text, p_by text, p_reason text) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  update public.tasks t
     set rejections = t.rejections || jsonb_build_array(jsonb_build_object(
           'by', p_by, 'reason', left(p_reason, 2000),
           'at', to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
   where t.id = p_task_id;
end
$$;

/** Whether the operator of a DISPUTED task may still resubmit: once, before the deadline. */
create function private.may_resubmit(p_task public.tasks) returns boolean
  language sql stable
  set search_path = ''
  as $$
  select p_task.status = 'DISPUTED' and p_task.resubmitted_at is null and p_task.deadline > now()
$$;

/**
 * How long an operator whose resubmitted proof was disputed again may appeal: the agent's REJECT
 * within it is recorded, and settles when it ends unless the operator appeals.
 */
create function private.appeal_window() returns interval
  language sql immutable
  set search_path = ''
  as $$ select interval '48 hours' $$;

/**
 * Settles a Guardian dispute the agent confirmed (the task's row locked by the caller) as the admin's
 * `refund` would: reward and fee back to the agent, CANCELLED.
 */
create function private.refund_confirmed_dispute(p_task public.tasks, p_actor text) returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  update public.tasks t
     set dispute_resolution = jsonb_build_object('resolution', 'refund', 'by', 'agent', 'resolved_at', now()), refund_at = null
   where t.id = p_task.id;
  perform private.transition_task(p_task.id, 'CANCELLED', p_actor);
  perform private.refund_task(p_task, 'task_refund');
end
$$;

/**
 * Settles the confirmed disputes whose operator did not act in time (`refund_at` passed: no new
 * proof before the deadline, no appeal within the window). For the worker.
 */
create function api.settle_confirmed_disputes(p_limit integer default 200) returns integer
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
     where t.status = 'DISPUTED' and t.refund_at <= now() and t.appealed_at is null
     order by t.refund_at
     limit p_limit
       for update skip locked
  loop
    perform private.refund_confirmed_dispute(v_task, 'system');
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
grant execute on function api.settle_confirmed_disputes(integer) to service_role;

create index tasks_refund_due on public.tasks (refund_at) where status = 'DISPUTED' and refund_at is not null;

/**
 * Completes a task and pays for it in one entry: the reward from its escrow to the operator's
 * pending balance (held before it can be withdrawn), the fee to platform revenue. For the
 * Guardian's approvals and agents' manual approvals.
 */
create function private.complete_task(p_task_id text, p_actor text) returns public.tasks
  language plpgsql
  set search_path = ''
  as $$
declare
  v_task public.tasks;
  v_pending bigint;
begin
  select * into v_task from public.tasks t where t.id = p_task_id for update;
  if v_task.operator_id is null then
    perform private.fail(409, 'no_operator', 'Only a task an operator worked on can be completed');
  end if;
  perform private.transition_task(p_task_id, 'COMPLETED', p_actor);
  update public.tasks t set operator_earnings_cents = t.reward_cents where t.id = p_task_id;
  select a.id into v_pending from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_pending';
  perform private.post_entry('task_settlement',
    array[private.agent_account(v_task.agent_id, 'agent_escrow'), v_pending, private.platform_account('platform_revenue')],
    array[-(v_task.reward_cents + v_task.fee_cents), v_task.reward_cents, v_task.fee_cents],
    p_agent_id => v_task.agent_id, p_task_id => p_task_id, p_operator_id => v_task.operator_id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;

/**
 * Claims Guardian jobs for `p_lease_seconds`. A running job whose lease ran out lost its worker,
 * maybe to the job itself (a proof that exhausts memory or time): such a job is handed out alone,
 * fewest tries first, so it never takes its batch-mates down with it again; otherwise up to
 * `p_limit` due jobs, oldest first. A job whose worker died on its `p_max_attempts`-th try is not
 * handed out again: nobody recorded that failure, so the claim does, and the task goes to manual
 * review. `alone` marks a job handed out on its own.
 */
create function api.claim_guardian_jobs(p_limit integer, p_lease_seconds integer, p_max_attempts integer)
  returns table (job_id bigint, task_id text, attempts integer, alone boolean)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_spent bigint;
begin
  for v_spent in
    select g.id from public.guardian_jobs g
     where g.status = 'running' and g.locked_until < now() and g.attempts >= p_max_attempts
     order by g.id
       for update skip locked
  loop
    perform api.fail_guardian_job(v_spent,
      format('The worker stopped during each of %s attempts (killed, or out of time or memory)', p_max_attempts), 0, p_max_attempts);
  end loop;

  return query
    update public.guardian_jobs j
       set status = 'running', attempts = j.attempts + 1, locked_until = now() + make_interval(secs => p_lease_seconds), updated_at = now()
     where j.id = (
       select g.id from public.guardian_jobs g
        where g.status = 'running' and g.locked_until < now()
        order by g.attempts, g.available_at, g.id
        limit 1
          for update skip locked)
    returning j.id, j.task_id, j.attempts, true;
  if found then
    return;
  end if;

  return query
    update public.guardian_jobs j
       set status = 'running', attempts = j.attempts + 1, locked_until = now() + make_interval(secs => p_lease_seconds), updated_at = now()
     where j.id in (
       select g.id from public.guardian_jobs g
        where g.status = 'queued' and g.available_at <= now()
        order by g.available_at, g.id
        limit p_limit
          for update skip locked)
    returning j.id, j.task_id, j.attempts, false;
end
$$;
grant execute on function api.claim_guardian_jobs(integer, integer, integer) to service_role;

/**
 * Applies the Guardian's verdict on a claimed job: APPROVE completes and pays, anything else sends
 * the task to MANUAL_REVIEW or DISPUTED. An approval pays only when the verdict itself says every
 * requirement is met. The API refuses to approve against its own findings; this is the same rule
 * where the money moves, so no caller (a worker bug, a future code path) can pay on a verdict that
 * contradicts itself: such an APPROVE is applied as MANUAL_REVIEW, and the stored verdict says so.
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
  elsif p_outcome = 'DISPUTED' then
    perform private.record_rejection(v_task.id, 'guardian',
      coalesce(nullif(p_verdict->>'reasoning', ''), 'The proof did not show that the task was done.'));
    perform private.transition_task(v_task.id, 'DISPUTED', 'guardian');
  else
    perform private.transition_task(v_task.id, p_outcome, 'guardian');
  end if;
  update public.guardian_jobs j set status = 'done', locked_until = null, last_error = null, updated_at = now() where j.id = p_job_id;
  select t.status into v_task.status from public.tasks t where t.id = v_task.id;
  return v_task.status;
end
$$;
grant execute on function api.apply_guardian_verdict(bigint, text, jsonb) to service_role;

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
grant execute on function api.fail_guardian_job(bigint, text, integer, integer) to service_role;

/**
 * Records the fingerprints of one task's proof photos (on a retried job, again) and returns what
 * they match among proofs of other tasks submitted before this one: the same file ('same_file'), or
 * a difference hash within p_similar_bits bits among tasks within p_within_km of this one's place
 * ('similar', with the bits apart). Only dates come back, never whose proof it was; of two proofs
 * with the same photo, the later one is the one that matches.
 * p_photos: [{ "number", "sha256" (hex), "dhash" (16 hex digits, or null) }].
 */
create function api.record_proof_fingerprints(p_task_id text, p_photos jsonb, p_similar_bits integer, p_within_km double precision)
  returns table (photo_number integer, kind text, submitted_at timestamptz, bits integer)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task public.tasks;
  v_dlat double precision;
  v_dlng double precision;
begin
  select * into v_task from public.tasks t where t.id = p_task_id;
  if not found then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  delete from public.proof_fingerprints f where f.task_id = p_task_id;
  insert into public.proof_fingerprints (task_id, photo_number, sha256, dhash, lat, lng, submitted_at)
  select p_task_id, (p ->> 'number')::integer, decode(p ->> 'sha256', 'hex'),
         case when p ->> 'dhash' is null then null else ('x' || (p ->> 'dhash'))::bit(64)::bigint end,
         v_task.location_lat, v_task.location_lng, coalesce(v_task.submitted_at, now())
    from jsonb_array_elements(p_photos) p;

  return query
  select mine.photo_number, 'same_file'::text, min(theirs.submitted_at), null::integer
    from public.proof_fingerprints mine
    join public.proof_fingerprints theirs on theirs.sha256 = mine.sha256
   where mine.task_id = p_task_id and theirs.task_id <> p_task_id
     and (theirs.submitted_at, theirs.task_id) < (mine.submitted_at, mine.task_id)
   group by mine.photo_number;

  if v_task.location_lat is not null then
    -- A degree of latitude is 111.2 km everywhere; one of longitude shrinks with the cosine.
    v_dlat := p_within_km / 111.2;
    v_dlng := p_within_km / (111.2 * greatest(cos(radians(v_task.location_lat)), 0.01));
    return query
    select mine.photo_number, 'similar'::text, near.submitted_at, near.bits
      from public.proof_fingerprints mine
      cross join lateral (
        select theirs.submitted_at, bit_count((theirs.dhash # mine.dhash)::bit(64))::integer as bits
          from public.proof_fingerprints theirs
         where point(theirs.lng, theirs.lat) <@ box(point(mine.lng - v_dlng, mine.lat - v_dlat), point(mine.lng + v_dlng, mine.lat + v_dlat))
           and theirs.dhash is not null and theirs.lat is not null
           and theirs.task_id <> p_task_id
           and (theirs.submitted_at, theirs.task_id) < (mine.submitted_at, mine.task_id)
           and bit_count((theirs.dhash # mine.dhash)::bit(64)) <= p_similar_bits
         order by 2
         limit 1) near
     where mine.task_id = p_task_id and mine.dhash is not null;
  end if;
end
$$;
grant execute on function api.record_proof_fingerprints(text, jsonb, integer, double precision) to service_role;

/**
 * The agent's decision on a submitted task. APPROVE completes and pays from SUBMITTED, VERIFIED,
 * MANUAL_REVIEW, or DISPUTED (the agent overrides a dispute, appealed or not). REJECT needs a
 * reason, kept for the operator, and disputes from SUBMITTED or MANUAL_REVIEW.
 *
 * REJECT of a task the Guardian disputed confirms the Guardian. While the operator may still act
 * (resubmit, once, before the deadline; or appeal, within the appeal window after its resubmitted
 * proof was disputed again) it records the agent's reason and when the dispute settles (`refund_at`):
 * the task stays DISPUTED, escrow held, and the worker settles it then unless the operator acted.
 * Once the operator's chances are spent or gone it settles at once as the admin's `refund` would
 * (reward and fee back, CANCELLED), unless the operator appealed, which only the admin settles. A
 * dispute the agent raised itself is between it and the operator: only the admin settles that one,
 * or the agent approves after all.
 * Like the Guardian's verdict, it locks the task's Guardian job before the task, so a decision
 * racing a verdict waits instead of deadlocking.
 */
create function api.verify_task(p_task_id text, p_decision text, p_reason text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_task public.tasks;
  v_disputed_by text;
  v_disputed_at timestamptz;
  v_refund_at timestamptz;
  v_reason text := nullif(btrim(p_reason), '');
begin
  if p_decision = 'REJECT' and v_reason is null then
    perform private.fail(400, 'validation_error', 'reason: is required to reject (the operator reads it)');
  end if;
  -- The Guardian locks its job, then the task (api.apply_guardian_verdict): take them in that
  -- order too, so an agent deciding while the Guardian judges waits instead of deadlocking.
  perform 1 from public.guardian_jobs j where j.task_id = p_task_id and j.status in ('queued', 'running') order by j.id for update;
  v_task := private.posted_task(p_task_id, v_agent_id);
  if v_task.status = 'DISPUTED' then
    select e.actor, e.created_at into v_disputed_by, v_disputed_at from public.task_events e
     where e.task_id = p_task_id and e.to_status = 'DISPUTED' order by e.id desc limit 1;
    -- When the operator's last chance to act on a Guardian dispute ends.
    v_refund_at := case when private.may_resubmit(v_task) then v_task.deadline
                        when v_task.resubmitted_at is not null then v_disputed_at + private.appeal_window() end;
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
    perform private.record_rejection(p_task_id, 'agent', v_reason);
    perform private.transition_task(p_task_id, 'DISPUTED', 'agent:' || v_agent_id);
  elsif p_decision = 'REJECT' and v_task.status = 'DISPUTED' and v_disputed_by = 'guardian' and v_task.appealed_at is not null then
    perform private.fail(409, 'appeal_pending', 'The operator appealed this dispute: an admin settles it (or approve it after all)',
      jsonb_build_object('status', v_task.status));
  elsif p_decision = 'REJECT' and v_task.status = 'DISPUTED' and v_disputed_by = 'guardian' and v_refund_at > now() then
    -- Confirmed, not settled: the operator's chance stays open until refund_at (a second REJECT
    -- replaces the first reason).
    update public.tasks t
       set rejections = case when t.rejections->-1->>'by' = 'agent' then t.rejections - (-1) else t.rejections end,
           refund_at = v_refund_at
     where t.id = p_task_id;
    perform private.record_rejection(p_task_id, 'agent', v_reason);
  elsif p_decision = 'REJECT' and v_task.status = 'DISPUTED' and v_disputed_by = 'guardian' then
    perform private.record_rejection(p_task_id, 'agent', v_reason);
    perform private.refund_confirmed_dispute(v_task, 'agent:' || v_agent_id);
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
grant execute on function api.verify_task(text, text, text) to authenticated;

/**
 * The operator's second chance: new proof for a DISPUTED task it holds, once, before the deadline.
 * The first proof is kept (for an appeal), the task goes back to SUBMITTED and the Guardian judges
 * again; the agent may then approve or reject as before, and a second rejection stands. Escrow
 * stays held throughout. The same proof again is refused: a second look needs something new.
 */
create function api.resubmit_task(p_task_id text, p_proof jsonb, p_photo_paths text[]) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks;
begin
  -- The Guardian's job first, then the task, as everywhere.
  perform 1 from public.guardian_jobs j where j.task_id = p_task_id and j.status in ('queued', 'running') order by j.id for update;
  v_task := private.held_task(p_task_id, v_operator.id);
  if v_task.status <> 'DISPUTED' then
    perform private.fail(409, 'task_not_disputed', format('Only a DISPUTED task can be resubmitted; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  if v_task.resubmitted_at is not null then
    perform private.fail(409, 'already_resubmitted', 'This task was already resubmitted once; you can appeal the decision instead',
                         jsonb_build_object('status', v_task.status));
  end if;
  if v_task.deadline <= now() then
    perform private.fail(410, 'task_expired', 'This task has passed its deadline');
  end if;
  if coalesce(v_task.proof, '{}'::jsonb) - 'artifact' = p_proof - 'artifact'
     and (v_task.proof->'artifact') is not distinct from (p_proof->'artifact') then
    perform private.fail(400, 'proof_unchanged', 'proof: is the same as before; add a new photo or say more');
  end if;
  update public.tasks t
     set first_proof = t.proof || jsonb_build_object('submitted_at', to_char(t.submitted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
         resubmitted_at = now(), refund_at = null
   where t.id = p_task_id;
  perform private.store_proof(p_task_id, v_operator.id, p_proof, p_photo_paths);
  perform private.transition_task(p_task_id, 'SUBMITTED', 'operator:' || v_operator.id);
  insert into public.guardian_jobs (task_id) values (p_task_id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
grant execute on function api.resubmit_task(text, jsonb, text[]) to authenticated;

/**
 * The operator's one appeal of a rejection that stands: after resubmitting, a task DISPUTED again
 * goes to the admin (api.resolve_dispute) with the rejections, this note and both proofs. The task
 * stays DISPUTED with its escrow held; the agent is told (task.appealed). Once the agent confirmed
 * the dispute, the appeal must come within the appeal window (until `refund_at`).
 */
create function api.appeal_task(p_task_id text, p_note text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks := private.held_task(p_task_id, v_operator.id);
  v_note text := nullif(btrim(p_note), '');
begin
  if v_note is null then
    perform private.fail(400, 'validation_error', 'note: is required (what the admin should know)');
  end if;
  if v_task.status <> 'DISPUTED' then
    perform private.fail(409, 'task_not_disputed', format('Only a DISPUTED task can be appealed; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  if v_task.resubmitted_at is null then
    perform private.fail(409, 'resubmit_first', 'Resubmit your proof first: an appeal is for a rejection that stands after a second look',
                         jsonb_build_object('status', v_task.status));
  end if;
  if v_task.appealed_at is not null then
    perform private.fail(409, 'already_appealed', 'This task was already appealed; an admin will settle it',
                         jsonb_build_object('status', v_task.status));
  end if;
  if v_task.refund_at <= now() then
    perform private.fail(410, 'appeal_window_closed', 'The time to appeal has passed: the requester confirmed the rejection and gets the reward back',
                         jsonb_build_object('status', v_task.status));
  end if;
  update public.tasks t set appeal_note = left(v_note, 2000), appealed_at = now(), refund_at = null where t.id = p_task_id;
  perform private.announce_task(p_task_id, 'task.appealed', v_task.status, now());
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
grant execute on function api.appeal_task(text, text) to authenticated;

/**
 * Admin: settles a DISPUTED task (appealed or not) in one ledger entry. `refund`: reward and fee back to the agent
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
    select a.id into v_pending from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_pending';
    perform private.post_entry('task_settlement',
      array[private.agent_account(v_task.agent_id, 'agent_escrow'), v_pending, private.agent_account(v_task.agent_id, 'agent_deposit'),
            private.platform_account('platform_revenue')],
      array[-(v_task.reward_cents + v_task.fee_cents), p_operator_cents, v_task.reward_cents - p_operator_cents, v_task.fee_cents],
      p_agent_id => v_task.agent_id, p_task_id => p_task_id, p_operator_id => v_task.operator_id);
  else
    perform private.fail(400, 'validation_error', 'resolution: must be refund, pay or split');
  end if;
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;
grant execute on function api.resolve_dispute(text, text, bigint, text) to service_role;

/** An agent rates the operator of one of its COMPLETED tasks, once. */
create function api.rate_task(p_task_id text, p_rating integer, p_comment text) returns public.task_ratings
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_task public.tasks;
  v_rating public.task_ratings;
begin
  v_task := private.posted_task(p_task_id, v_agent_id);
  if v_task.status <> 'COMPLETED' then
    perform private.fail(409, 'task_not_completed', format('Only a COMPLETED task can be rated; this task is %s', v_task.status));
  end if;
  insert into public.task_ratings (task_id, agent_id, operator_id, rating, comment)
  values (p_task_id, v_agent_id, v_task.operator_id, p_rating, p_comment)
  on conflict (task_id) do nothing
  returning * into v_rating;
  if v_rating.task_id is null then
    perform private.fail(409, 'already_rated', 'This task has already been rated');
  end if;
  update public.operators o set rating_sum = o.rating_sum + p_rating, rating_count = o.rating_count + 1
   where o.id = v_task.operator_id;
  return v_rating;
end
$$;
grant execute on function api.rate_task(text, integer, text) to authenticated;

/**
 * What a requester's tasks say about it, as of `computed_at`: tasks posted, completed, refunded
 * after a dispute, disputes it lost (an admin paid the operator in whole or part), and the median
 * minutes from proof to payment. Counting means reading every task of the agent (60,000 for a busy
 * one), so the operators' reads keep these a minute (api.requester_records); nothing on the money
 * path writes here.
 */
create table public.requester_stats (
  agent_id text primary key references public.agents (id),
  posted bigint not null,
  completed bigint not null,
  refunded bigint not null,
  lost bigint not null,
  median_minutes numeric,
  computed_at timestamptz not null
);

alter table public.requester_stats enable row level security;
grant select on public.requester_stats to service_role;

/** How long operators' reads keep a requester's counts before counting again. */
create function private.requester_stats_max_age() returns interval
  language sql immutable
  set search_path = ''
  as $$ select interval '1 minute' $$;

/** A requester's counts, from all its tasks (one range of tasks_by_agent). */
create function private.count_requester_tasks(p_agent_id text) returns public.requester_stats
  language sql stable
  set search_path = ''
  as $$
  select p_agent_id, count(*),
         count(*) filter (where t.status = 'COMPLETED'),
         count(*) filter (where t.status = 'CANCELLED' and t.dispute_resolution->>'resolution' = 'refund'),
         count(*) filter (where t.dispute_resolution->>'resolution' in ('pay', 'split') and t.dispute_resolution->>'by' is null),
         round((percentile_cont(0.5) within group (order by extract(epoch from t.completed_at - t.submitted_at) / 60)
                 filter (where t.status = 'COMPLETED' and t.submitted_at is not null))::numeric, 1),
         now()
    from public.tasks t where t.agent_id = p_agent_id
$$;

/**
 * What operators see of a requester: its display name (company, else name), its counts (`p_stats`)
 * as a record: tasks posted, the share of settled proofs it approved (completed against refunded
 * after a dispute), the median minutes from proof to payment, disputes it lost, and the operators'
 * mean rating of it (read now).
 */
create function private.requester_record(p_agent_id text, p_stats public.requester_stats) returns jsonb
  language sql stable
  set search_path = ''
  as $$
  select jsonb_build_object(
    'name', coalesce(a.company, a.name),
    'tasks_posted', p_stats.posted,
    'approval_rate', case when p_stats.completed + p_stats.refunded > 0
                          then round(p_stats.completed::numeric / (p_stats.completed + p_stats.refunded), 2) end,
    'median_review_minutes', p_stats.median_minutes,
    'disputes_lost', p_stats.lost,
    'rating', r.rating,
    'rating_count', r.n)
    from public.agents a
    cross join lateral (
      select round(avg(q.rating), 2) as rating, count(*) as n from public.requester_ratings q where q.agent_id = a.id) r
   where a.id = p_agent_id
$$;

/**
 * Which of `p_task_ids` the calling operator may see a requester for, and whose they are: open
 * tasks (as the feed shows them, to a verified operator) and the tasks it holds or held.
 */
create function private.requester_page(p_task_ids text[]) returns table (id text, agent_id text)
  language sql stable
  set search_path = ''
  as $$
  select t.id, t.agent_id
    from public.tasks t
   where t.id = any (p_task_ids)
     and ((t.operator_id = (select api.current_operator_id()))
          or (t.status = 'PENDING' and t.operator_id is null and (select api.current_verified_operator_id()) is not null))
$$;

/**
 * The requester's record for each of `p_task_ids` the calling operator may see
 * (private.requester_page); others are left out. Each requester is counted once per page, and its
 * counts are kept a minute (private.requester_stats_max_age): a feed page costs the same for a
 * requester with 60,000 tasks as for one with ten. Counts older than that are taken again first, in
 * agent order, so two pages refreshing the same requesters wait for each other, never deadlock.
 */
create function api.requester_records(p_task_ids text[]) returns table (task_id text, requester jsonb)
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  insert into public.requester_stats
    select (private.count_requester_tasks(a.agent_id)).*
      from (select distinct p.agent_id from private.requester_page(p_task_ids) p) a
      left join public.requester_stats s on s.agent_id = a.agent_id
     where s.agent_id is null or s.computed_at < now() - private.requester_stats_max_age()
     order by a.agent_id
  on conflict (agent_id) do update
    set posted = excluded.posted, completed = excluded.completed, refunded = excluded.refunded, lost = excluded.lost,
        median_minutes = excluded.median_minutes, computed_at = excluded.computed_at;
  return query
    with page as materialized (select p.id, p.agent_id from private.requester_page(p_task_ids) p),
         records as materialized (
           select a.agent_id, private.requester_record(a.agent_id, s) as requester
             from (select distinct p.agent_id from page p) a
             join public.requester_stats s on s.agent_id = a.agent_id)
    select p.id, r.requester from page p join records r on r.agent_id = p.agent_id;
end
$$;
grant execute on function api.requester_records(text[]) to authenticated;

/** The calling agent's own record as operators see it. */
create function api.my_requester_record() returns jsonb
  language sql stable
  security definer
  set search_path = ''
  as $$
  select private.requester_record(a.id, private.count_requester_tasks(a.id)) from (select private.require_agent() as id) a
$$;
grant execute on function api.my_requester_record() to authenticated;

/**
 * The operator who held a task rates its requester once the task ended (COMPLETED, CANCELLED or
 * EXPIRED), once.
 */
create function api.rate_requester(p_task_id text, p_rating integer, p_comment text) returns public.requester_ratings
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(false);
  v_task public.tasks := private.held_task(p_task_id, v_operator.id);
  v_rating public.requester_ratings;
begin
  if v_task.status not in ('COMPLETED', 'CANCELLED', 'EXPIRED') then
    perform private.fail(409, 'task_not_ended', format('A requester can be rated once the task has ended; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  insert into public.requester_ratings (task_id, operator_id, agent_id, rating, comment)
  values (p_task_id, v_operator.id, v_task.agent_id, p_rating, p_comment)
  on conflict (task_id) do nothing
  returning * into v_rating;
  if v_rating.task_id is null then
    perform private.fail(409, 'already_rated', 'You already rated the requester of this task');
  end if;
  return v_rating;
end
$$;
grant execute on function api.rate_requester(text, integer, text) to authenticated;

-- Who reads what: agents and operators read the ratings of their tasks; the Guardian's queue is
-- the API's.
grant select on public.guardian_jobs to service_role;
grant select on public.proof_fingerprints to service_role;
create policy "agents and operators read the ratings of their tasks" on public.task_ratings for select to authenticated
  using (agent_id = (select api.current_agent_id()) or operator_id = (select api.current_operator_id()));
grant select on public.task_ratings to authenticated, service_role;
create policy "operators read the ratings they gave requesters" on public.requester_ratings for select to authenticated
  using (operator_id = (select api.current_operator_id()));
grant select on public.requester_ratings to authenticated, service_role;
