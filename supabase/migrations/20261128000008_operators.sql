/**
 * The operator side: operators (keyed by their identity's `sub`, a Clerk user id in production),
 * claiming and working tasks, proof files, the Guardian's queue, completion and settlement of
 * earnings, payouts and ratings.
 */

/** A verified human who does tasks. `id` is the `sub` of the operator's identity token. */
create table public.operators (
  id text primary key check (id ~ '^[A-Za-z0-9_.:@|-]{1,128}$'),
  name text not null check (char_length(name) between 1 and 100),
  email text not null check (char_length(email) between 3 and 320),
  phone text check (char_length(phone) between 5 and 32),
  city text not null check (char_length(city) between 1 and 100),
  country text not null check (country ~ '^[A-Z]{2}$'),
  lat double precision check (lat between -90 and 90),
  lng double precision check (lng between -180 and 180),
  skills text[] not null default '{}' check (cardinality(skills) <= 20),
  kyc_status text not null check (kyc_status in ('PENDING', 'VERIFIED', 'REJECTED')),
  kyc_reviewed_at timestamptz,
  rating_sum bigint not null default 0,
  rating_count integer not null default 0,
  created_at timestamptz not null default now(),
  constraint coordinates_come_in_pairs check ((lat is null) = (lng is null))
);
create index operators_verified_by_latitude on public.operators (lat) where kyc_status = 'VERIFIED' and lat is not null;

alter table public.tasks add constraint tasks_operator_fk foreign key (operator_id) references public.operators (id);
create index tasks_by_operator on public.tasks (operator_id, status) where operator_id is not null;
create index tasks_open_by_latitude on public.tasks (location_lat) where status = 'PENDING' and operator_id is null;
-- What the operator earned from the task (the reward, or its share of a split dispute), and when
-- that left the 7-day hold.
alter table public.tasks add column operator_earnings_cents bigint check (operator_earnings_cents >= 0);
alter table public.tasks add column earnings_released_at timestamptz;
create index tasks_unreleased_earnings on public.tasks (completed_at) where status = 'COMPLETED' and earnings_released_at is null;
alter table public.ledger_accounts add constraint ledger_accounts_operator_fk foreign key (operator_id) references public.operators (id);

/** Files an operator uploaded as proof for a task it holds; submitted photo URLs must name one. */
create table public.proof_files (
  path text primary key check (char_length(path) <= 512),
  operator_id text not null references public.operators (id),
  task_id text not null references public.tasks (id),
  content_type text not null check (content_type in ('image/jpeg', 'image/png', 'image/webp', 'image/heic')),
  size_bytes bigint not null check (size_bytes > 0),
  created_at timestamptz not null default now()
);
create index proof_files_by_task on public.proof_files (task_id, operator_id);

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

/** Money leaving the platform to an operator. */
create table public.payouts (
  id text primary key default private.new_id('payout'),
  operator_id text not null references public.operators (id),
  amount_cents bigint not null check (amount_cents >= 1000),
  method text not null check (method in ('test', 'payoneer', 'usdc')),
  payee text check (char_length(payee) <= 200),
  status text not null check (status in ('pending', 'completed', 'failed')),
  created_at timestamptz not null default now(),
  completed_at timestamptz
);
create index payouts_by_operator on public.payouts (operator_id, created_at desc);

/** An agent's rating of the operator who completed its task: once per task. */
create table public.task_ratings (
  task_id text primary key references public.tasks (id),
  agent_id text not null references public.agents (id),
  operator_id text not null references public.operators (id),
  rating integer not null check (rating between 1 and 5),
  comment text check (char_length(comment) <= 1000),
  created_at timestamptz not null default now()
);

/**
 * The operator this request acts for: the identity's `sub`, for any authenticated caller that is
 * not an agent. A Clerk token seen by hosted Supabase (third-party auth) carries `sub` and
 * `role: authenticated`, which is exactly what the API sets for operator requests.
 */
create function api.current_operator_id() returns text
  language sql stable
  set search_path = ''
  as $$
  select case when auth.jwt()->>'role' = 'authenticated' and coalesce(auth.jwt()->>'humanops_role', 'operator') = 'operator'
              then auth.jwt()->>'sub' end
$$;

/** The calling operator's row, or 401/403. `p_verified` demands KYC VERIFIED. */
create function private.require_operator(p_verified boolean) returns public.operators
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_operator public.operators;
  v_id text := api.current_operator_id();
begin
  if v_id is null then
    perform private.fail(401, 'unauthenticated', 'This action needs an operator token');
  end if;
  select * into v_operator from public.operators o where o.id = v_id;
  if v_operator.id is null then
    perform private.fail(403, 'operator_not_registered', 'Register as an operator first (POST /operator/register)');
  end if;
  if p_verified and v_operator.kyc_status <> 'VERIFIED' then
    perform private.fail(403, 'kyc_required', format('KYC verification required (status: %s)', v_operator.kyc_status),
                         jsonb_build_object('kyc_status', v_operator.kyc_status));
  end if;
  return v_operator;
end
$$;

/** Great-circle distance in km (haversine on a 6371 km sphere); a pure function anyone may call. */
create function api.distance_km(lat1 double precision, lng1 double precision, lat2 double precision, lng2 double precision)
  returns double precision
  language sql immutable parallel safe
  set search_path = ''
  as $$
  select 2 * 6371 * asin(sqrt(
    power(sin(radians(lat2 - lat1) / 2), 2) + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lng2 - lng1) / 2), 2)))
$$;

/** Creates an operator for an identity, with its earnings accounts. KYC status is decided by the API (mode). */
create function api.register_operator(
  p_operator_id text, p_name text, p_email text, p_phone text, p_city text, p_country text,
  p_lat double precision, p_lng double precision, p_skills text[], p_kyc_status text
) returns public.operators
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators;
begin
  insert into public.operators (id, name, email, phone, city, country, lat, lng, skills, kyc_status, kyc_reviewed_at)
  values (p_operator_id, p_name, p_email, p_phone, p_city, p_country, p_lat, p_lng, p_skills, p_kyc_status,
          case when p_kyc_status <> 'PENDING' then now() end)
  on conflict (id) do nothing
  returning * into v_operator;
  if v_operator.id is null then
    perform private.fail(409, 'operator_exists', 'This identity is already registered as an operator');
  end if;
  insert into public.ledger_accounts (kind, operator_id) values ('operator_pending', p_operator_id), ('operator_available', p_operator_id);
  return v_operator;
end
$$;

/** Admin: settles an operator's KYC review. */
create function api.set_operator_kyc(p_operator_id text, p_status text) returns public.operators
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators;
begin
  update public.operators o set kyc_status = p_status, kyc_reviewed_at = now()
   where o.id = p_operator_id
  returning * into v_operator;
  if v_operator.id is null then
    perform private.fail(404, 'operator_not_found', 'No operator with this id');
  end if;
  return v_operator;
end
$$;

/**
 * Claims a PENDING task for the calling (verified) operator. The task row lock makes racing
 * operators queue: the first wins, the rest find it taken (409). Past its deadline: 410.
 */
create function api.accept_task(p_task_id text) returns public.tasks
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
  if v_task.status <> 'PENDING' or v_task.operator_id is not null then
    perform private.fail(409, 'task_unavailable', format('This task is no longer available (status: %s)', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  if v_task.deadline <= now() then
    perform private.fail(410, 'task_expired', 'This task has passed its deadline');
  end if;
  update public.tasks t set operator_id = v_operator.id where t.id = p_task_id;
  perform private.transition_task(p_task_id, 'ACCEPTED', 'operator:' || v_operator.id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;

/** The task the calling operator holds, locked, or 404 (a task held by someone else is not revealed). */
create function private.held_task(p_task_id text, p_operator_id text) returns public.tasks
  language plpgsql
  set search_path = ''
  as $$
declare
  v_task public.tasks;
begin
  select * into v_task from public.tasks t where t.id = p_task_id and t.operator_id = p_operator_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  return v_task;
end
$$;

/** ACCEPTED → IN_PROGRESS for the operator who holds the task. */
create function api.start_task(p_task_id text) returns public.tasks
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks := private.held_task(p_task_id, v_operator.id);
begin
  if v_task.status <> 'ACCEPTED' then
    perform private.fail(409, 'invalid_transition', format('Only an ACCEPTED task can be started; this task is %s', v_task.status),
                         jsonb_build_object('status', v_task.status));
  end if;
  perform private.transition_task(p_task_id, 'IN_PROGRESS', 'operator:' || v_operator.id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;

/** Records a proof file uploaded for a task the calling operator holds and is working on. */
create function api.record_proof_file(p_task_id text, p_path text, p_content_type text, p_size_bytes bigint) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_task public.tasks := private.held_task(p_task_id, v_operator.id);
begin
  if v_task.status not in ('ACCEPTED', 'IN_PROGRESS') then
    perform private.fail(409, 'task_not_in_progress', format('Proof can only be uploaded while the task is ACCEPTED or IN_PROGRESS; it is %s', v_task.status));
  end if;
  if (select count(*) from public.proof_files f where f.task_id = p_task_id) >= 50 then
    perform private.fail(409, 'too_many_files', 'A task takes at most 50 proof files');
  end if;
  insert into public.proof_files (path, operator_id, task_id, content_type, size_bytes)
  values (p_path, v_operator.id, p_task_id, p_content_type, p_size_bytes);
end
$$;

/**
 * Submits proof for a task the calling operator holds (ACCEPTED or IN_PROGRESS, before its
 * deadline): every photo path must be a file this operator uploaded for this task. Stores the
 * proof, moves the task to SUBMITTED and queues it for the Guardian.
 */
create function api.submit_task(p_task_id text, p_proof jsonb, p_photo_paths text[]) returns public.tasks
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
  select p into v_unknown from unnest(p_photo_paths) p
   where not exists (select from public.proof_files f where f.path = p and f.task_id = p_task_id and f.operator_id = v_operator.id)
   limit 1;
  if v_unknown is not null then
    perform private.fail(400, 'unknown_photo', 'photos: every photo must be a file uploaded for this task with POST /operator/upload',
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
  v_escrow bigint;
  v_pending bigint;
begin
  select * into v_task from public.tasks t where t.id = p_task_id for update;
  if v_task.operator_id is null then
    perform private.fail(409, 'no_operator', 'Only a task an operator worked on can be completed');
  end if;
  perform private.transition_task(p_task_id, 'COMPLETED', p_actor);
  update public.tasks t set operator_earnings_cents = t.reward_cents where t.id = p_task_id;
  select a.id into v_escrow from public.ledger_accounts a where a.task_id = p_task_id and a.kind = 'task_escrow';
  select a.id into v_pending from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_pending';
  perform private.post_entry('task_settlement',
    array[v_escrow, v_pending, private.platform_account('platform_revenue')],
    array[-(v_task.reward_cents + v_task.fee_cents), v_task.reward_cents, v_task.fee_cents],
    p_agent_id => v_task.agent_id, p_task_id => p_task_id, p_operator_id => v_task.operator_id);
  select * into v_task from public.tasks t where t.id = p_task_id;
  return v_task;
end
$$;

/**
 * Moves the rewards of tasks completed at least `p_hold` ago from their operators' pending to
 * available balances, one entry per task. Safe to run concurrently and repeatedly.
 */
create function api.release_earnings(p_hold interval default interval '7 days', p_limit integer default 1000) returns integer
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_task record;
  v_released integer := 0;
begin
  for v_task in
    select t.id, t.operator_id, t.operator_earnings_cents as earned from public.tasks t
     where t.status = 'COMPLETED' and t.earnings_released_at is null and t.completed_at <= now() - p_hold
     order by t.completed_at
     limit p_limit
     for update skip locked
  loop
    perform private.post_entry('earnings_release',
      array[(select a.id from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_pending'),
            (select a.id from public.ledger_accounts a where a.operator_id = v_task.operator_id and a.kind = 'operator_available')],
      array[-v_task.earned, v_task.earned],
      p_task_id => v_task.id, p_operator_id => v_task.operator_id);
    update public.tasks t set earnings_released_at = now() where t.id = v_task.id;
    v_released := v_released + 1;
  end loop;
  return v_released;
end
$$;

/** Pays out part of the calling operator's available balance (minimum $10, never more than available). */
create function api.request_payout(p_amount_cents bigint, p_method text, p_payee text) returns public.payouts
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_operator public.operators := private.require_operator(true);
  v_available_account bigint;
  v_available bigint;
  v_payout public.payouts;
begin
  select a.id, a.balance into v_available_account, v_available from public.ledger_accounts a
   where a.operator_id = v_operator.id and a.kind = 'operator_available'
     for update;
  if v_available < p_amount_cents then
    perform private.fail(402, 'insufficient_available_balance', 'The payout is larger than your available balance',
      jsonb_build_object('requested_usd', p_amount_cents / 100.0, 'available_usd', v_available / 100.0));
  end if;
  insert into public.payouts (operator_id, amount_cents, method, payee, status, completed_at)
  values (v_operator.id, p_amount_cents, p_method, p_payee, 'completed', now())
  returning * into v_payout;
  perform private.post_entry('payout', array[v_available_account, private.platform_account('external_payouts')],
                             array[-p_amount_cents, p_amount_cents], p_operator_id => v_operator.id);
  return v_payout;
end
$$;

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
  select * into v_task from public.tasks t where t.id = p_task_id and t.agent_id = v_agent_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
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

/**
 * For agents: verified operators within `p_radius_km` of a point, nearest first, optionally with a
 * skill and a minimum rating. Returns what an agent may know: no email, no phone, a short name.
 */
create function api.search_operators(
  p_lat double precision, p_lng double precision, p_radius_km double precision,
  p_task_type text default null, p_min_rating numeric default null, p_limit integer default 20
) returns table (
  operator_id text, name text, city text, country text, skills text[], rating numeric, rating_count integer,
  completed_tasks bigint, distance_km double precision
)
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  -- A latitude band first (indexed), then the exact distance.
  v_band double precision := p_radius_km / 111.0;
begin
  return query
    select o.id,
           split_part(o.name, ' ', 1) || coalesce(' ' || nullif(left(split_part(o.name, ' ', 2), 1), '') || '.', ''),
           o.city, o.country, o.skills,
           case when o.rating_count > 0 then round(o.rating_sum::numeric / o.rating_count, 2) end,
           o.rating_count,
           (select count(*) from public.tasks t where t.operator_id = o.id and t.status = 'COMPLETED'),
           round(api.distance_km(p_lat, p_lng, o.lat, o.lng)::numeric, 2)::double precision as distance
      from public.operators o
     where o.kyc_status = 'VERIFIED'
       and o.lat between p_lat - v_band and p_lat + v_band
       and api.distance_km(p_lat, p_lng, o.lat, o.lng) <= p_radius_km
       and (p_task_type is null or cardinality(o.skills) = 0 or p_task_type = any (o.skills))
       and (p_min_rating is null or (o.rating_count > 0 and o.rating_sum::numeric / o.rating_count >= p_min_rating))
     order by distance, o.id
     limit p_limit;
end
$$;

-- Row-level security for the operator side.
alter table public.operators enable row level security;
alter table public.proof_files enable row level security;
alter table public.guardian_jobs enable row level security;
alter table public.payouts enable row level security;
alter table public.task_ratings enable row level security;

grant select on public.operators, public.proof_files, public.payouts, public.task_ratings to authenticated;
create policy "an operator reads itself" on public.operators for select to authenticated
  using (id = (select api.current_operator_id()));
create policy "an operator reads open tasks and the tasks it holds" on public.tasks for select to authenticated
  using ((select api.current_operator_id()) is not null
         and ((status = 'PENDING' and operator_id is null and deadline > now()) or operator_id = (select api.current_operator_id())));
create policy "an operator reads the events of its tasks" on public.task_events for select to authenticated
  using (exists (select from public.tasks t where t.id = task_id and t.operator_id = (select api.current_operator_id())));
create policy "an operator reads its proof files" on public.proof_files for select to authenticated
  using (operator_id = (select api.current_operator_id()));
create policy "an operator reads its accounts" on public.ledger_accounts for select to authenticated
  using (operator_id = (select api.current_operator_id()));
create policy "an operator reads its entries" on public.ledger_entries for select to authenticated
  using (operator_id = (select api.current_operator_id()));
create policy "an operator reads the postings on its accounts" on public.ledger_postings for select to authenticated
  using (account_id in (select a.id from public.ledger_accounts a where a.operator_id = (select api.current_operator_id())));
create policy "an operator reads its payouts" on public.payouts for select to authenticated
  using (operator_id = (select api.current_operator_id()));
create policy "agents and operators read the ratings of their tasks" on public.task_ratings for select to authenticated
  using (agent_id = (select api.current_agent_id()) or operator_id = (select api.current_operator_id()));
grant select on public.operators, public.proof_files, public.guardian_jobs, public.payouts, public.task_ratings to service_role;

revoke all on all functions in schema api, private from public, anon, authenticated, service_role;
grant execute on function api.current_agent_id(), api.current_operator_id(),
  api.distance_km(double precision, double precision, double precision, double precision) to authenticated, service_role;
grant execute on function api.create_api_key(text, text, text), api.revoke_api_key(text),
  api.claim_idempotency_key(text, text), api.store_idempotent_response(text, integer, jsonb),
  api.create_task(text, text, text, text, text, double precision, double precision, text, bigint, timestamptz, text[], text, text, text, text),
  api.cancel_task(text), api.rate_task(text, integer, text),
  api.search_operators(double precision, double precision, double precision, text, numeric, integer),
  api.accept_task(text), api.start_task(text), api.record_proof_file(text, text, text, bigint),
  api.submit_task(text, jsonb, text[]), api.request_payout(bigint, text, text)
  to authenticated;
grant execute on function api.register_agent(text, text, text, text, text, text), api.authenticate_agent(text),
  api.credit_deposit(text, text, bigint, text, text, integer, text), api.hit_rate_limit(text, integer),
  api.verify_ledger(), api.run_maintenance(),
  api.register_operator(text, text, text, text, text, text, double precision, double precision, text[], text),
  api.set_operator_kyc(text, text), api.release_earnings(interval, integer)
  to service_role;
