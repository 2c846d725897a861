/** The states a task can be in. */
create table public.task_statuses (
  status text primary key
);

alter table public.task_statuses enable row level security;

/** The task state machine: a move not listed here is refused by private.transition_task. */
create table public.task_transitions (
  from_status text not null references public.task_statuses (status),
  to_status text not null references public.task_statuses (status),
  primary key (from_status, to_status)
);

alter table public.task_transitions enable row level security;

/**
 * The rules of a task's columns, one function per CHECK on public.tasks. Postgres reads each CHECK's
 * stored expression back from text and prepares it again at every statement that writes the table:
 * for the rules written out inline that was about a fifth of a millisecond per insert or update of
 * a task. A call of a PL/pgSQL function is a short expression, and the function's own expression
 * is prepared once per transaction. Not strict, so a null argument leaves its rule to the null
 * checks inside, as in a CHECK. No `set search_path`: a setting would be saved and restored at
 * every call, per row; the functions name only built-in functions and operators, and every writer
 * of tasks runs with an empty search_path.
 */
create function private.task_texts_within_limits(
  p_title text, p_description text, p_location_address text, p_proof_requirements text[],
  p_digital_instructions text, p_agent_public_key text, p_appeal_note text
) returns boolean
  language plpgsql immutable
  as $$
begin
  return char_length(p_title) >= 1 and char_length(p_title) <= 200
    and char_length(p_description) >= 1 and char_length(p_description) <= 5000
    and char_length(p_location_address) <= 500
    and cardinality(p_proof_requirements) >= 1 and cardinality(p_proof_requirements) <= 20
    and char_length(p_digital_instructions) <= 10000
    and char_length(p_agent_public_key) <= 1024
    and char_length(p_appeal_note) <= 2000;
end
$$;

create function private.task_kind_known(p_task_type text, p_task_domain text, p_proof_type text) returns boolean
  language plpgsql immutable
  as $$
begin
  return p_task_type ~ '^[A-Z_]{3,40}$'
    and p_task_domain in ('PHYSICAL', 'DIGITAL')
    and p_proof_type in ('PHOTO', 'SCREENSHOT', 'CONFIRMATION', 'ARTIFACT');
end
$$;

create function private.task_place_valid(
  p_task_domain text, p_location_lat double precision, p_location_lng double precision, p_location_country text,
  p_max_distance_m integer
) returns boolean
  language plpgsql immutable
  as $$
begin
  return p_location_lat >= -90 and p_location_lat <= 90
    and p_location_lng >= -180 and p_location_lng <= 180
    and p_location_country ~ '^[A-Z]{2}$'
    and (p_task_domain = 'DIGITAL' or (p_location_lat is not null and p_location_lng is not null))
    and p_max_distance_m >= 10 and p_max_distance_m <= 50000
    and (p_max_distance_m is null or p_task_domain = 'PHYSICAL');
end
$$;

create function private.task_money_valid(
  p_reward_cents bigint, p_fee_cents bigint, p_fee_rate_pct integer, p_operator_earnings_cents bigint, p_escrow_cents bigint
) returns boolean
  language plpgsql immutable
  as $$
begin
  return p_reward_cents >= 1000 and p_reward_cents <= 1000000
    and p_fee_cents >= 200
    and p_fee_rate_pct in (12, 15, 18)
    and p_operator_earnings_cents >= 0
    and p_escrow_cents >= 0;
end
$$;

/**
 * A unit of work posted by an agent; its reward and fee sit in its agent's escrow account, as the
 * task's share of it (`escrow_cents`).
 *
 * `status` has no foreign key to task_statuses: every write of it goes through api.create_task (an
 * initial state) or private.transition_task (a move task_transitions lists, whose ends reference
 * task_statuses), and api.verify_ledger checks each task's path. A key would cost every insert and
 * status change a lookup and a share lock on one of a handful of rows that every task shares.
 * The column rules are four CHECKs, one per concern, each a call of the function below that states
 * it (see private.task_texts_within_limits for why).
 */
create table public.tasks (
  id text primary key default private.new_id('task'),
  agent_id text not null references public.agents (id),
  title text not null,
  description text not null,
  task_type text not null,
  task_domain text not null,
  proof_type text not null,
  location_lat double precision,
  location_lng double precision,
  location_address text,
  reward_cents bigint not null,
  fee_cents bigint not null,
  fee_rate_pct integer not null,
  deadline timestamptz not null,
  proof_requirements text[] not null,
  digital_instructions text,
  agent_public_key text,
  status text not null default 'PENDING',
  operator_id text,
  proof jsonb,
  guardian_result jsonb,
  accepted_at timestamptz,
  started_at timestamptz,
  submitted_at timestamptz,
  verified_at timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz,
  expired_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- What the operator earned from the task (the reward, or its share of a split dispute), and when
  -- that left the 7-day hold.
  operator_earnings_cents bigint,
  earnings_released_at timestamptz,
  dispute_resolution jsonb,
  -- The key that posted the task (from the request's claims: a column default, so every way of
  -- inserting a task records it) and the country its coordinates lie in, as the API derived it.
  key_id text default api.current_key_id(),
  location_country text,
  -- The owner's decision: `{decision: APPROVED|DECLINED, key_id, decided_at}`.
  approval jsonb,
  -- A tighter radius the agent asked for (metres): the Guardian approves a photo only within it
  -- (and within its own radius, whichever is smaller). Physical tasks only.
  max_distance_m integer,
  -- Why the proof was not accepted, each time: `[{by: agent|guardian, reason, at}]`, oldest first.
  -- Untrusted text (the agent's words, or the Guardian's): escaped where shown, fenced in prompts.
  rejections jsonb not null default '[]'::jsonb,
  -- The operator's one second chance: the proof it replaced and when, then its one appeal.
  first_proof jsonb,
  resubmitted_at timestamptz,
  appeal_note text,
  appealed_at timestamptz,
  -- The task's share of its agent's escrow account: the sum of the postings tagged with it there.
  -- Written only with those postings: by private.post_entry in the statement that writes them, and
  -- at insert by api.create_task, whose private.post_task_escrow posts the same amount.
  escrow_cents bigint not null default 0,
  -- The seq of the task's last event (task_events.seq): kept by private.transition_task in the
  -- update that moves the status, so the full ledger check can prove each task's path in one scan.
  last_event_seq integer not null default 1,
  -- A dispute the agent confirmed while the operator could still act: it settles as a refund at this
  -- time (the deadline to resubmit, or the end of the appeal window) unless the operator acts first.
  refund_at timestamptz,
  constraint task_texts_within_limits check (private.task_texts_within_limits(
    title, description, location_address, proof_requirements, digital_instructions, agent_public_key, appeal_note)),
  constraint task_kind_known check (private.task_kind_known(task_type, task_domain, proof_type)),
  constraint task_place_valid check (private.task_place_valid(
    task_domain, location_lat, location_lng, location_country, max_distance_m)),
  constraint task_money_valid check (private.task_money_valid(
    reward_cents, fee_cents, fee_rate_pct, operator_earnings_cents, escrow_cents)),
  constraint tasks_operator_fk foreign key (operator_id) references public.operators (id)
);

create index tasks_by_agent on public.tasks (agent_id, created_at desc, id);

create index tasks_by_agent_status on public.tasks (agent_id, status, created_at desc, id);

create index tasks_by_operator on public.tasks (operator_id, status) where operator_id is not null;

create index tasks_unreleased_earnings on public.tasks (completed_at) where status = 'COMPLETED' and earnings_released_at is null;

create index tasks_overdue on public.tasks (deadline) where status in ('PENDING', 'ACCEPTED', 'IN_PROGRESS');

-- Accepted tasks nobody started, oldest first: they go back to the feed after the hold.
create index tasks_unstarted on public.tasks (accepted_at) where status = 'ACCEPTED';

-- Appealed disputes waiting for the admin, oldest first (GET /admin/appeals).
create index tasks_appealed on public.tasks (appealed_at) where status = 'DISPUTED' and appealed_at is not null;

-- Open physical tasks nearest first, in O(log n): a GiST index on each task's point on the sphere.
create index tasks_open_physical_by_place on public.tasks
  using gist (private.sphere_point(location_lat, location_lng))
  where status = 'PENDING' and operator_id is null and task_domain = 'PHYSICAL';

-- Open tasks newest first, per domain: digital tasks after the physical ones near an operator, and
-- every open task (a merge of both domains) when the operator gives no place.
create index tasks_open_by_recency on public.tasks (task_domain, created_at desc, id desc)
  where status = 'PENDING' and operator_id is null;

-- An operator's own tasks, most recently changed first (GET /operator/my-tasks), so a page is read
-- from where it starts instead of sorting everything the operator ever held.
create index tasks_held_by_operator on public.tasks
  (operator_id, (coalesce(submitted_at, started_at, accepted_at, created_at)) desc, id)
  where operator_id is not null;

-- A key's spend in a budget window, from the index alone.
create index tasks_by_key on public.tasks (key_id, created_at) include (reward_cents, fee_cents, status) where key_id is not null;

create index tasks_awaiting_approval on public.tasks (created_at) where status = 'PENDING_APPROVAL';

alter table public.tasks enable row level security;

/**
 * Where and how a task's agent wants to hear about it. Apart from tasks, because operators may read
 * open tasks and must not see an agent's endpoint or secret.
 */
create table public.task_callbacks (
  task_id text primary key references public.tasks (id),
  agent_id text not null references public.agents (id),
  url text not null check (char_length(url) <= 2048),
  secret text check (char_length(secret) <= 256),
  -- Test mode: how many of the task's next webhook deliveries fail on purpose (api.fail_next_webhooks).
  fail_next integer not null default 0 check (fail_next >= 0)
);

alter table public.task_callbacks enable row level security;

/**
 * The audit trail of every state change; it also feeds webhooks. Its statuses have no foreign key
 * for the reason tasks.status has none: transition_task writes only moves task_transitions lists.
 */
create table public.task_events (
  id bigint generated always as identity primary key,
  task_id text not null references public.tasks (id),
  from_status text,
  to_status text not null,
  actor text not null,
  created_at timestamptz not null default now(),
  -- The event's place in its task's history, 1 for the event that created it: with from_status,
  -- each event names the one it follows (see api.verify_ledger's state path fingerprint).
  seq integer not null default 1
);

create index task_events_by_task on public.task_events (task_id, id);

alter table public.task_events enable row level security;

/**
 * Each agent's settled spend per UTC day, so the fee tier (trailing 30 days) is a sum over at most
 * 30 rows. Fee tiers count only spend that happened: a task counts when it becomes COMPLETED (paid,
 * no refund possible), by the UTC day it completed, for the part of its reward that went to the
 * operator (all of it, or the operator's share of a dispute split). Posting, cancelling, expiring
 * and refunding never move it, so parked capital cannot buy a cheaper rate (post big tasks, post a
 * small one at 12 %, cancel the big ones for a full refund).
 */
create table public.agent_spend_daily (
  agent_id text not null references public.agents (id),
  day date not null,
  reward_cents bigint not null check (reward_cents >= 0),
  primary key (agent_id, day)
);

comment on table public.agent_spend_daily is
  'Per agent and UTC day: rewards paid to operators on tasks that completed that day; the fee tier sums the last 30 days.';

alter table public.agent_spend_daily enable row level security;

/**
 * Lock order, everywhere: the task row first, then ledger accounts by id, then the spend rollup.
 *
 * Moves a task to `p_to` if task_transitions allows it from its current state, stamps the matching
 * timestamp and records the event. The caller must already hold the task row lock.
 */
create function private.transition_task(p_task_id text, p_to text, p_actor text) returns text
  language plpgsql
  set search_path = ''
  as $$
declare
  v_from text;
  v_seq integer;
begin
  select t.status, t.last_event_seq + 1 into v_from, v_seq from public.tasks t where t.id = p_task_id for update;
  if not exists (select from public.task_transitions tr where tr.from_status = v_from and tr.to_status = p_to) then
    perform private.fail(409, 'invalid_transition', format('Task is %s and cannot become %s', v_from, p_to),
                         jsonb_build_object('status', v_from));
  end if;
  update public.tasks t set
    status = p_to,
    updated_at = now(),
    accepted_at  = case when p_to = 'ACCEPTED'    then now() else t.accepted_at end,
    started_at   = case when p_to = 'IN_PROGRESS' then now() else t.started_at end,
    submitted_at = case when p_to = 'SUBMITTED'   then now() else t.submitted_at end,
    verified_at  = case when p_to = 'VERIFIED'    then now() else t.verified_at end,
    completed_at = case when p_to = 'COMPLETED'   then now() else t.completed_at end,
    cancelled_at = case when p_to = 'CANCELLED'   then now() else t.cancelled_at end,
    expired_at   = case when p_to = 'EXPIRED'     then now() else t.expired_at end,
    last_event_seq = v_seq
  where t.id = p_task_id;
  insert into public.task_events (task_id, from_status, to_status, actor, seq) values (p_task_id, v_from, p_to, p_actor, v_seq);
  return v_from;
end
$$;

/**
 * The task the calling agent posted, locked for the rest of the transaction, or 404 (another
 * agent's task is not revealed). What may happen to it next is for the caller and
 * private.transition_task to decide.
 */
create function private.posted_task(p_task_id text, p_agent_id text) returns public.tasks
  language plpgsql
  set search_path = ''
  as $$
declare
  v_task public.tasks;
begin
  select * into v_task from public.tasks t where t.id = p_task_id and t.agent_id = p_agent_id for update;
  if v_task.id is null then
    perform private.fail(404, 'task_not_found', 'Task not found');
  end if;
  return v_task;
end
$$;

create function private.fee_rate_pct(p_spend_cents bigint) returns integer
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return case when p_spend_cents < 500000 then 18 when p_spend_cents <= 2500000 then 15 else 12 end;
end
$$;

create function private.platform_fee_cents(p_reward_cents bigint, p_rate_pct integer) returns bigint
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return greatest(200, (p_reward_cents * p_rate_pct + 50) / 100);
end
$$;

create function private.agent_fee_rate_pct(p_agent_id text) returns integer
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return private.fee_rate_pct((select coalesce(sum(s.reward_cents), 0)::bigint
                                 from public.agent_spend_daily s
                                where s.agent_id = p_agent_id and s.day > (now() at time zone 'utc')::date - 30));
end
$$;

/**
 * Adds a task's operator earnings to its agent's spend when it completes. A trigger rather than a
 * line in each settlement function, so every path that pays an operator (approval, Guardian,
 * dispute pay or split) counts, and so will any new one. It runs inside the settlement's
 * transaction with the task row already locked; the rollup row is taken before the ledger
 * accounts, and only settlements write it, so the order is the same everywhere.
 */
create function private.count_settled_spend() returns trigger
  language plpgsql
  set search_path = ''
  as $$
declare
  v_delta bigint := coalesce(new.operator_earnings_cents, 0) - coalesce(old.operator_earnings_cents, 0);
begin
  if v_delta <> 0 then
    insert into public.agent_spend_daily as s (agent_id, day, reward_cents)
    values (new.agent_id, (coalesce(new.completed_at, now()) at time zone 'utc')::date, greatest(v_delta, 0))
    on conflict (agent_id, day) do update set reward_cents = greatest(0, s.reward_cents + v_delta);
  end if;
  return null;
end
$$;

create trigger tasks_count_settled_spend
  after update of operator_earnings_cents on public.tasks
  for each row when (new.status = 'COMPLETED')
  execute function private.count_settled_spend();

/**
 * Posts a task for the calling agent: prices the fee from its settled-spend tier, applies the
 * calling key's spending policy, moves reward + fee from its deposit to its escrow (the task's share),
 * and records the first event (PENDING, or PENDING_APPROVAL). 402 when funds fall short, 403
 * when the policy refuses. Inputs are validated by the API; the table's constraints are the
 * backstop.
 *
 * The hottest path there is, so it runs as few statements as its rules allow (each costs an
 * executor start-up, and each write its constraint, foreign-key and trigger work): the policy is
 * read once, for its rules and its budgets; the task is inserted holding its share of the escrow
 * (private.post_task_escrow posts the entry that moves it, in this transaction) rather than
 * updated after; the agent's two accounts are locked by one statement.
 */
create function api.create_task(
  p_title text, p_description text, p_task_type text, p_task_domain text, p_proof_type text,
  p_location_lat double precision, p_location_lng double precision, p_location_address text,
  p_reward_cents bigint, p_deadline timestamptz, p_proof_requirements text[],
  p_digital_instructions text default null, p_callback_url text default null,
  p_callback_secret text default null, p_agent_public_key text default null,
  p_location_country text default null, p_max_distance_m integer default null
) returns table (
  id text, status text, reward_cents bigint, fee_cents bigint, total_escrow_cents bigint,
  deadline timestamptz, created_at timestamptz
)
  language plpgsql
  security definer
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  set enable_seqscan = off
  as $$
declare
  v_agent_id text := private.require_agent();
  v_key_id text := api.current_key_id();
  v_daily_limit bigint;
  v_monthly_limit bigint;
  v_deposit_account bigint;
  v_escrow_account bigint;
  v_available bigint;
  v_rate integer;
  v_fee bigint;
  v_total bigint;
  v_status text;
  v_task public.tasks;
begin
  if p_deadline <= now() then
    perform private.fail(400, 'validation_error', 'deadline: must be in the future');
  end if;
  if v_key_id is not null then
    perform private.require_scope('agent');
  end if;

  v_rate := private.agent_fee_rate_pct(v_agent_id);
  v_fee := private.platform_fee_cents(p_reward_cents, v_rate);
  v_total := p_reward_cents + v_fee;
  select e.status, e.daily_limit_cents, e.monthly_limit_cents into v_status, v_daily_limit, v_monthly_limit
    from private.enforce_spending_policy(v_agent_id, v_key_id, p_task_type, p_task_domain, p_location_lat, p_location_lng,
                                         p_location_country, p_reward_cents, p_agent_public_key is not null) e;

  -- Everything that does not need the agent's accounts is written before they are locked, so this
  -- agent's concurrent posts queue only for the funds and budget checks and the escrow move.
  insert into public.tasks (
    agent_id, key_id, title, description, task_type, task_domain, proof_type,
    location_lat, location_lng, location_address, location_country, reward_cents, fee_cents, fee_rate_pct, deadline,
    proof_requirements, digital_instructions, agent_public_key, status, max_distance_m, escrow_cents)
  values (
    v_agent_id, v_key_id, p_title, p_description, p_task_type, p_task_domain, p_proof_type,
    p_location_lat, p_location_lng, p_location_address, p_location_country, p_reward_cents, v_fee, v_rate, p_deadline,
    p_proof_requirements, p_digital_instructions, p_agent_public_key, v_status, p_max_distance_m, v_total)
  returning * into v_task;

  if p_callback_url is not null then
    insert into public.task_callbacks (task_id, agent_id, url, secret)
    values (v_task.id, v_agent_id, p_callback_url, p_callback_secret);
  end if;

  insert into public.task_events (task_id, from_status, to_status, actor)
  values (v_task.id, null, v_status, 'agent:' || v_agent_id);

  -- Serialises this agent's money moves: the balance read here and the budgets' sums (which count
  -- the task just written) are current until commit. Both accounts, in id order (the lock order).
  select min(a.id) filter (where a.kind = 'agent_deposit'), min(a.balance) filter (where a.kind = 'agent_deposit'),
         min(a.id) filter (where a.kind = 'agent_escrow')
    into v_deposit_account, v_available, v_escrow_account
    from (select l.id, l.kind, l.balance from public.ledger_accounts l
           where l.agent_id = v_agent_id and l.kind in ('agent_deposit', 'agent_escrow')
           order by l.id
             for update) a;

  if v_daily_limit is not null or v_monthly_limit is not null then
    perform private.enforce_spending_budgets(v_key_id, v_daily_limit, v_monthly_limit, v_total);
  end if;

  if v_available < v_total then
    perform private.fail(402, 'insufficient_balance', 'Insufficient balance for escrow',
      jsonb_build_object('required_usd', v_total / 100.0, 'available_usd', v_available / 100.0,
                         'reward_usd', p_reward_cents / 100.0, 'platform_fee_usd', v_fee / 100.0));
  end if;

  perform private.post_task_escrow(v_agent_id, v_task.id, v_deposit_account, v_escrow_account, v_total);

  return query select v_task.id, v_task.status, v_task.reward_cents, v_task.fee_cents, v_total,
                      v_task.deadline, v_task.created_at;
end
$$;
grant execute on function api.create_task(text, text, text, text, text, double precision, double precision, text, bigint, timestamp with time zone, text[], text, text, text, text, text, integer) to authenticated;

/**
 * POST /tasks in one round trip (instead of five or six: rate limit, key lookup, begin, claims,
 * create_task, commit, and two more with an Idempotency-Key). One statement does all of it in one
 * transaction, in the same order and with the same rules as the other agent routes:
 *
 * 1. finds the agent behind the key hash (api.authenticate_agent: active, unexpired) and counts the
 *    request in its rate-limit window (when the limiter is on): a valid key's own (p_rate_bucket),
 *    anything else the anonymous callers' (p_anonymous_bucket), so made-up keys cannot each get a
 *    window of their own; refuses past the limit;
 * 2. refuses a key that found no agent with 401, and checks the key holds a scope the route needs
 *    (p_scopes_needed), or refuses;
 * 3. acts as that agent through that key: the same claims the API sets for agent requests (agent,
 *    key, scopes), read below by private.require_agent, the key's scope and its spending policy
 *    (the money moves are security definer; nothing here reads through row-level security);
 * 4. claims the Idempotency-Key (api.claim_idempotency_key): a replay returns the stored response,
 *    a key used for another body is a 409, a concurrent duplicate waits for the first;
 * 5. posts the task (api.create_task, whatever its current definition: fee tier, escrow, event and
 *    webhook outbox in this same transaction) and stores the response under the key.
 *
 * Steps 2 to 5 run in a subtransaction: when one refuses, its writes are undone but the rate-limit
 * hit stays (failed requests count), and the refusal comes back as data
 * (`error`: sqlstate, message, hint, detail) for the API to answer as on any other route. The response
 * body is built here, so a replay returns the same bytes the first answer had.
 */
create function api.post_task(
  p_key_hash text, p_rate_bucket text, p_rate_limit integer, p_scopes_needed text[],
  p_idempotency_key text, p_request_hash text,
  p_title text, p_description text, p_task_type text, p_task_domain text, p_proof_type text,
  p_location_lat double precision, p_location_lng double precision, p_location_address text,
  p_reward_cents bigint, p_deadline timestamptz, p_proof_requirements text[],
  p_digital_instructions text default null, p_callback_url text default null,
  p_callback_secret text default null, p_agent_public_key text default null,
  p_location_country text default null, p_anonymous_bucket text default null, p_anonymous_limit integer default null,
  p_max_distance_m integer default null
) returns jsonb
  language plpgsql
  security definer
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  set enable_seqscan = off
  as $$
declare
  v_rate jsonb;
  v_bucket text;
  v_limit integer;
  v_agent_id text;
  v_key_id text;
  v_scopes text[];
  v_agent jsonb;
  v_claim record;
  v_task record;
  v_body jsonb;
  v_state text;
  v_message text;
  v_hint text;
  v_detail text;
begin
  select a.agent_id, a.key_id, a.scopes into v_agent_id, v_key_id, v_scopes from api.authenticate_agent(p_key_hash) a;
  v_bucket := case when v_agent_id is null then p_anonymous_bucket else p_rate_bucket end;
  v_limit := case when v_agent_id is null then p_anonymous_limit else p_rate_limit end;
  if v_bucket is not null then
    select jsonb_build_object('hits', h.hits, 'reset_at', h.reset_at, 'limit', v_limit) into v_rate
      from api.hit_rate_limit(v_bucket, 60) h;
    if (v_rate->>'hits')::integer > v_limit then
      return jsonb_build_object('rate', v_rate, 'limited', true);
    end if;
  end if;

  begin
    if v_agent_id is null then
      return jsonb_build_object('rate', v_rate, 'unauthenticated', true);
    end if;
    v_agent := jsonb_build_object('id', v_agent_id, 'keyId', v_key_id, 'scopes', to_jsonb(v_scopes));
    -- The route's scope, as the agent middleware checks it (the API words the 403).
    if not (v_scopes && p_scopes_needed) then
      return jsonb_build_object('rate', v_rate, 'agent', v_agent, 'forbidden', true);
    end if;
    perform set_config('request.jwt.claims',
      jsonb_build_object('sub', v_agent_id, 'role', 'authenticated', 'humanops_role', 'agent',
                         'humanops_key', v_key_id, 'humanops_scopes', to_jsonb(v_scopes))::text, true);

    if p_idempotency_key is not null then
      select c.state, c.response_status, c.response_body into v_claim
        from api.claim_idempotency_key(p_idempotency_key, p_request_hash) c;
      if v_claim.state = 'mismatch' then
        return jsonb_build_object('rate', v_rate, 'agent', v_agent, 'idempotency', 'mismatch');
      elsif v_claim.state = 'replay' then
        return jsonb_build_object('rate', v_rate, 'agent', v_agent, 'idempotency', 'replay',
                                  'status', coalesce(v_claim.response_status, 200), 'body', v_claim.response_body);
      end if;
    end if;

    select * into v_task from api.create_task(
      p_title => p_title, p_description => p_description, p_task_type => p_task_type,
      p_task_domain => p_task_domain, p_proof_type => p_proof_type,
      p_location_lat => p_location_lat, p_location_lng => p_location_lng, p_location_address => p_location_address,
      p_reward_cents => p_reward_cents, p_deadline => p_deadline, p_proof_requirements => p_proof_requirements,
      p_digital_instructions => p_digital_instructions, p_callback_url => p_callback_url,
      p_callback_secret => p_callback_secret, p_agent_public_key => p_agent_public_key,
      p_location_country => p_location_country, p_max_distance_m => p_max_distance_m);
    -- The reference's answer: amounts in dollars (numbers), times in ISO 8601 UTC to the millisecond.
    v_body := jsonb_build_object(
      'task_id', v_task.id,
      'status', v_task.status,
      'reward_usd', (v_task.reward_cents / 100.0)::float8,
      'platform_fee', (v_task.fee_cents / 100.0)::float8,
      'total_escrow', (v_task.total_escrow_cents / 100.0)::float8,
      'deadline', to_char(v_task.deadline at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'created_at', to_char(v_task.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
    if p_idempotency_key is not null then
      perform api.store_idempotent_response(p_idempotency_key, 201, v_body);
    end if;
    return jsonb_build_object('rate', v_rate, 'agent', v_agent, 'status', 201, 'body', v_body);
  exception when others then
    get stacked diagnostics v_state = returned_sqlstate, v_message = message_text, v_hint = pg_exception_hint,
                            v_detail = pg_exception_detail;
    return jsonb_build_object('rate', v_rate, 'agent', v_agent,
      'error', jsonb_build_object('code', v_state, 'message', v_message, 'hint', nullif(v_hint, ''), 'detail', nullif(v_detail, '')));
  end;
end
$$;
grant execute on function api.post_task(text, text, integer, text[], text, text, text, text, text, text, text, double precision, double precision, text, bigint, timestamp with time zone, text[], text, text, text, text, text, text, integer, integer) to service_role;

/**
 * Several POST /tasks of one key in one transaction: each element of `p_requests` holds
 * api.post_task's arguments by name (without `p_`), and each gets api.post_task's answer, in order.
 * The API sends the posts of a key that arrive while one of its posts is in the database: they
 * would otherwise queue one after another on the agent's deposit account, each holding it until its
 * own commit has reached the disk, so one agent could post at most one task per disk flush. Each
 * post still counts its own rate-limit hit, claims its own Idempotency-Key and is refused or
 * written on its own (api.post_task's subtransaction); they share the commit, and the budgets of
 * later ones count the earlier ones, as one after another would.
 */
create function api.post_tasks(p_requests jsonb) returns jsonb
  language plpgsql
  security definer
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  set enable_seqscan = off
  as $$
declare
  v_request jsonb;
  v_answers jsonb := '[]';
begin
  for v_request in select r.value from jsonb_array_elements(p_requests) r loop
    v_answers := v_answers || jsonb_build_array(api.post_task(
      p_key_hash => v_request->>'key_hash',
      p_rate_bucket => v_request->>'rate_bucket', p_rate_limit => (v_request->>'rate_limit')::integer,
      p_anonymous_bucket => v_request->>'anonymous_bucket', p_anonymous_limit => (v_request->>'anonymous_limit')::integer,
      p_scopes_needed => array(select jsonb_array_elements_text(v_request->'scopes_needed')),
      p_idempotency_key => v_request->>'idempotency_key', p_request_hash => v_request->>'request_hash',
      p_title => v_request->>'title', p_description => v_request->>'description', p_task_type => v_request->>'task_type',
      p_task_domain => v_request->>'task_domain', p_proof_type => v_request->>'proof_type',
      p_location_lat => (v_request->>'location_lat')::double precision,
      p_location_lng => (v_request->>'location_lng')::double precision,
      p_location_address => v_request->>'location_address', p_reward_cents => (v_request->>'reward_cents')::bigint,
      p_deadline => (v_request->>'deadline')::timestamptz,
      p_proof_requirements => array(select jsonb_array_elements_text(v_request->'proof_requirements')),
      p_digital_instructions => v_request->>'digital_instructions', p_callback_url => v_request->>'callback_url',
      p_callback_secret => v_request->>'callback_secret', p_agent_public_key => v_request->>'agent_public_key',
      p_location_country => v_request->>'location_country', p_max_distance_m => (v_request->>'max_distance_m')::integer));
  end loop;
  return v_answers;
end
$$;
grant execute on function api.post_tasks(jsonb) to service_role;

/**
 * Returns everything left in a task's escrow to its agent's deposit. Used by cancel, expiry and
 * dispute refunds. The caller holds the task row. A refunded task was never paid, so the spend
 * rollup has nothing to undo.
 */
create function private.refund_task(p_task public.tasks, p_kind text) returns bigint
  language plpgsql
  set search_path = ''
  as $$
declare
  v_escrow bigint := (select t.escrow_cents from public.tasks t where t.id = p_task.id);
begin
  if v_escrow > 0 then
    perform private.post_entry(p_kind,
      array[private.agent_account(p_task.agent_id, 'agent_escrow'), private.agent_account(p_task.agent_id, 'agent_deposit')],
      array[-v_escrow, v_escrow], p_agent_id => p_task.agent_id, p_task_id => p_task.id);
  end if;
  return v_escrow;
end
$$;

/** Cancels one of the calling agent's PENDING or ACCEPTED tasks and refunds reward + fee. */
create function api.cancel_task(p_task_id text)
  returns table (id text, status text, refunded_cents bigint)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_task public.tasks;
  v_refunded bigint;
begin
  v_task := private.posted_task(p_task_id, v_agent_id);
  if v_task.status not in ('PENDING', 'ACCEPTED') then
    perform private.fail(409, 'task_not_cancellable',
      format('Only PENDING or ACCEPTED tasks can be cancelled; this task is %s', v_task.status),
      jsonb_build_object('status', v_task.status));
  end if;

  perform private.transition_task(v_task.id, 'CANCELLED', 'agent:' || v_agent_id);
  v_refunded := private.refund_task(v_task, 'task_refund');
  return query select v_task.id, 'CANCELLED'::text, v_refunded;
end
$$;
grant execute on function api.cancel_task(text) to authenticated;

/**
 * One page of the calling agent's tasks, newest first (ties by id), after a cursor or from an
 * offset, reading only the page it returns. Under row-level security the two SELECT policies on
 * tasks (an agent reads its tasks; an operator reads the tasks it holds) are OR'd, so a plain
 * SELECT plans a BitmapOr over both indexes: every task of the agent read, then sorted, for a
 * page of 20. This function and count_agent_tasks apply the agent policy's own condition
 * (agent_id = the calling agent) themselves, as security definer, so the plan is one index range
 * in page order: tasks_by_agent, or tasks_by_agent_status with a status, from the cursor's
 * position when there is one. They are planned per call (plan_cache_mode), so an absent status or
 * cursor drops out of the plan.
 */
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
grant execute on function api.agent_tasks(text, timestamp with time zone, text, integer, integer) to authenticated;

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
grant execute on function api.count_agent_tasks(text, integer) to authenticated;

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
grant execute on function api.expire_overdue_tasks(integer) to service_role;

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
grant execute on function api.sandbox_expire_task(text) to service_role;

-- Who reads what: anyone reads the state machine; an agent reads its tasks, their events and
-- callbacks (never a callback's secret); an operator reads the tasks it holds and their events.
create policy "anyone reads the task statuses" on public.task_statuses for select using (true);
grant select on public.task_statuses to anon, authenticated, service_role;
create policy "anyone reads the task state machine" on public.task_transitions for select using (true);
grant select on public.task_transitions to anon, authenticated, service_role;
create policy "an agent reads its tasks" on public.tasks for select to authenticated
  using (agent_id = (select api.current_agent_id()));
create policy "an operator reads the tasks it holds" on public.tasks for select to authenticated
  using ((select api.current_operator_id()) is not null and operator_id = (select api.current_operator_id()));
grant select on public.tasks to authenticated, service_role;
create policy "an agent reads its callbacks" on public.task_callbacks for select to authenticated
  using (agent_id = (select api.current_agent_id()));
grant select on public.task_callbacks to service_role;
grant select (task_id, agent_id, url) on public.task_callbacks to authenticated;
create policy "an agent reads the events of its tasks" on public.task_events for select to authenticated
  using (exists (select from public.tasks t where t.id = task_id and t.agent_id = (select api.current_agent_id())));
create policy "an operator reads the events of its tasks" on public.task_events for select to authenticated
  using (exists (select from public.tasks t where t.id = task_id and t.operator_id = (select api.current_operator_id())));
grant select on public.task_events to authenticated, service_role;
grant select on public.agent_spend_daily to service_role;
