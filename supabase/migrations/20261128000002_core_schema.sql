/**
 * Core schema: agents and their keys, tasks and their state machine, deposits, and the
 * bookkeeping tables of the API (idempotency, rate limits, spend rollup).
 * Money lives in the ledger (next migration); tables are written only by SQL functions.
 */

/** A random, prefixed, URL-safe id such as `task_5f0c…`. */
create function private.new_id(prefix text) returns text
  language sql volatile
  set search_path = ''
  as $$ select prefix || '_' || replace(gen_random_uuid()::text, '-', '') $$;

/** An AI agent: a program that posts tasks and pays for them. */
create table public.agents (
  id text primary key default private.new_id('agt'),
  name text not null check (char_length(name) between 1 and 100),
  email text not null check (char_length(email) between 3 and 320),
  company text check (char_length(company) <= 200),
  mode text not null check (mode in ('test', 'live')),
  created_at timestamptz not null default now()
);

/** API keys: only a SHA-256 hash and a display prefix are kept; the key is shown once. */
create table public.api_keys (
  id text primary key default private.new_id('key'),
  agent_id text not null references public.agents (id),
  name text check (char_length(name) between 1 and 100),
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  key_prefix text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_keys_active_by_agent on public.api_keys (agent_id, created_at) where revoked_at is null;

/** The states a task can be in. */
create table public.task_statuses (
  status text primary key
);
insert into public.task_statuses (status) values
  ('PENDING'), ('ACCEPTED'), ('IN_PROGRESS'), ('SUBMITTED'), ('VERIFIED'), ('MANUAL_REVIEW'),
  ('COMPLETED'), ('DISPUTED'), ('CANCELLED'), ('EXPIRED');

/** The task state machine: a move not listed here is refused by private.transition_task. */
create table public.task_transitions (
  from_status text not null references public.task_statuses (status),
  to_status text not null references public.task_statuses (status),
  primary key (from_status, to_status)
);
insert into public.task_transitions (from_status, to_status) values
  ('PENDING', 'ACCEPTED'), ('PENDING', 'CANCELLED'), ('PENDING', 'EXPIRED'),
  ('ACCEPTED', 'IN_PROGRESS'), ('ACCEPTED', 'SUBMITTED'), ('ACCEPTED', 'CANCELLED'), ('ACCEPTED', 'EXPIRED'),
  ('IN_PROGRESS', 'SUBMITTED'), ('IN_PROGRESS', 'EXPIRED'),
  ('SUBMITTED', 'VERIFIED'), ('SUBMITTED', 'MANUAL_REVIEW'), ('SUBMITTED', 'DISPUTED'), ('SUBMITTED', 'COMPLETED'),
  ('VERIFIED', 'COMPLETED'),
  ('MANUAL_REVIEW', 'COMPLETED'), ('MANUAL_REVIEW', 'DISPUTED'),
  ('DISPUTED', 'COMPLETED'), ('DISPUTED', 'CANCELLED');

/** A unit of work posted by an agent; its reward and fee sit in the task's own escrow account. */
create table public.tasks (
  id text primary key default private.new_id('task'),
  agent_id text not null references public.agents (id),
  title text not null check (char_length(title) between 1 and 200),
  description text not null check (char_length(description) between 1 and 5000),
  task_type text not null check (task_type ~ '^[A-Z_]{3,40}$'),
  task_domain text not null check (task_domain in ('PHYSICAL', 'DIGITAL')),
  proof_type text not null check (proof_type in ('PHOTO', 'SCREENSHOT', 'CONFIRMATION', 'ARTIFACT')),
  location_lat double precision check (location_lat between -90 and 90),
  location_lng double precision check (location_lng between -180 and 180),
  location_address text check (char_length(location_address) <= 500),
  reward_cents bigint not null check (reward_cents between 1000 and 1000000),
  fee_cents bigint not null check (fee_cents >= 200),
  fee_rate_pct integer not null check (fee_rate_pct in (12, 15, 18)),
  deadline timestamptz not null,
  proof_requirements text[] not null check (cardinality(proof_requirements) between 1 and 20),
  digital_instructions text check (char_length(digital_instructions) <= 10000),
  agent_public_key text check (char_length(agent_public_key) <= 1024),
  status text not null default 'PENDING' references public.task_statuses (status),
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
  constraint physical_tasks_have_coordinates
    check (task_domain = 'DIGITAL' or (location_lat is not null and location_lng is not null))
);
create index tasks_by_agent on public.tasks (agent_id, created_at desc, id);
create index tasks_by_agent_status on public.tasks (agent_id, status, created_at desc, id);
create index tasks_open_by_deadline on public.tasks (deadline) where status = 'PENDING';

/**
 * Where and how a task's agent wants to hear about it. Apart from tasks, because operators may read
 * open tasks and must not see an agent's endpoint or secret.
 */
create table public.task_callbacks (
  task_id text primary key references public.tasks (id),
  agent_id text not null references public.agents (id),
  url text not null check (char_length(url) <= 2048),
  secret text check (char_length(secret) <= 256)
);

/** The audit trail of every state change; it also feeds webhooks. */
create table public.task_events (
  id bigint generated always as identity primary key,
  task_id text not null references public.tasks (id),
  from_status text references public.task_statuses (status),
  to_status text not null references public.task_statuses (status),
  actor text not null,
  created_at timestamptz not null default now()
);
create index task_events_by_task on public.task_events (task_id, id);

/**
 * Deposits credited to an agent. One on-chain transfer credits at most once: the unique key is
 * (chain, tx hash, log index). Fiat deposits have no chain.
 */
create table public.deposits (
  id text primary key default private.new_id('txn'),
  agent_id text not null references public.agents (id),
  method text not null check (method in ('usdc', 'fiat')),
  chain text check (chain in ('base')),
  tx_hash text check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  log_index integer check (log_index >= 0),
  payment_method text check (payment_method in ('card', 'bank_transfer')),
  amount_cents bigint not null check (amount_cents between 500 and 1000000),
  status text not null check (status in ('confirmed', 'completed')),
  created_at timestamptz not null default now(),
  unique (chain, tx_hash, log_index),
  constraint usdc_deposits_name_their_transfer
    check (method <> 'usdc' or (chain is not null and tx_hash is not null and log_index is not null))
);
create index deposits_by_agent on public.deposits (agent_id, created_at desc);

/**
 * Idempotency keys: the first request under a key inserts its row in its own transaction, so a
 * concurrent duplicate waits on that row and then replays the stored response. Kept 7 days.
 */
create table public.idempotency_keys (
  agent_id text not null references public.agents (id),
  key text not null check (char_length(key) between 1 and 255),
  request_hash text not null,
  response_status integer,
  response_body jsonb,
  created_at timestamptz not null default now(),
  primary key (agent_id, key)
);
create index idempotency_keys_by_age on public.idempotency_keys (created_at);

/** Fixed-window request counters per (client IP, route). Unlogged: losing them on a crash is harmless. */
create unlogged table public.rate_limits (
  bucket text not null,
  window_start timestamptz not null,
  hits integer not null,
  primary key (bucket, window_start)
);

/**
 * Each agent's posted rewards per UTC day, kept in step by create_task and cancel_task, so the fee
 * tier (trailing 30 days of spend) is a sum over at most 30 rows.
 */
create table public.agent_spend_daily (
  agent_id text not null references public.agents (id),
  day date not null,
  reward_cents bigint not null check (reward_cents >= 0),
  primary key (agent_id, day)
);
