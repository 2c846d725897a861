/**
 * Small functions planned once per connection, not once per call.
 *
 * Every function here was `language sql` with `set search_path = ''`. A SQL function that sets a
 * configuration parameter is never inlined, and before Postgres 18 its body is parsed, analysed and
 * planned again in every transaction that calls it (the executor's cache lives only as long as
 * the calling query's transaction). A profile of api.create_task under pgbench (perf, 10 clients)
 * put a fifth of Postgres's CPU there: auth claims, the fee, the spending policy, new ids, each
 * parsed anew per task. As plpgsql they are compiled once per connection and their statements keep
 * their plans; they keep `search_path = ''`, their volatility, their owners and their grants
 * (create or replace keeps privileges). Bodies are unchanged in meaning.
 *
 * The next fifth was planning too: the statements of create_task and post_entry take array and
 * nullable parameters, for which Postgres's plan cache judged a custom plan (planned per call)
 * cheaper than its generic one, every time. Their generic plans are the same index probes, so the
 * functions on the path of POST /tasks say so (plan_cache_mode), and plan once per connection.
 * Together: api.create_task from 700 to about 1,150 tps on 2 cores (bench/tasks.mjs's pgbench).
 */

create or replace function api.current_agent_id() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  return case when v_claims->>'humanops_role' = 'agent' then v_claims->>'sub' end;
end
$$;

create or replace function api.current_key_id() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  return case when v_claims->>'humanops_role' = 'agent' then v_claims->>'humanops_key' end;
end
$$;

create or replace function api.current_operator_id() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  return case when v_claims->>'role' = 'authenticated' and coalesce(v_claims->>'humanops_role', 'operator') = 'operator'
              then v_claims->>'sub' end;
end
$$;

create or replace function api.current_verified_operator_id() returns text
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return (select o.id from public.operators o where o.id = api.current_operator_id() and o.kyc_status = 'VERIFIED');
end
$$;

create or replace function private.current_key_scopes() returns text[]
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  if v_claims->>'humanops_role' is distinct from 'agent' then
    return null;
  end if;
  return coalesce(array(select jsonb_array_elements_text(v_claims->'humanops_scopes')), '{}');
end
$$;

create or replace function private.fee_rate_pct(p_spend_cents bigint) returns integer
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return case when p_spend_cents < 500000 then 18 when p_spend_cents <= 2500000 then 15 else 12 end;
end
$$;

create or replace function private.platform_fee_cents(p_reward_cents bigint, p_rate_pct integer) returns bigint
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return greatest(200, (p_reward_cents * p_rate_pct + 50) / 100);
end
$$;

create or replace function private.agent_fee_rate_pct(p_agent_id text) returns integer
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return private.fee_rate_pct((select coalesce(sum(s.reward_cents), 0)::bigint
                                 from public.agent_spend_daily s
                                where s.agent_id = p_agent_id and s.day > (now() at time zone 'utc')::date - 30));
end
$$;

create or replace function private.effective_policy(p_agent_id text, p_key_id text) returns public.spending_policies
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_policy public.spending_policies;
begin
  -- The key's own policy, else the account's default: two index probes.
  select * into v_policy from public.spending_policies k where k.key_id = p_key_id and k.agent_id = p_agent_id;
  if not found then
    select * into v_policy from public.spending_policies a where a.agent_id = p_agent_id and a.key_id is null;
  end if;
  return v_policy;
end
$$;

create or replace function private.budget_windows(out day_since timestamptz, out month_since timestamptz)
  language plpgsql stable
  set search_path = ''
  as $$
begin
  day_since := now() - interval '24 hours';
  month_since := date_trunc('month', now() at time zone 'utc') at time zone 'utc';
end
$$;

create or replace function private.key_is_active(p_key public.api_keys) returns boolean
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return p_key.revoked_at is null and (p_key.expires_at is null or p_key.expires_at > now());
end
$$;

create or replace function private.key_spend_cents(p_key_id text, p_since timestamptz) returns bigint
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return (select coalesce(sum(t.reward_cents + t.fee_cents), 0)::bigint
            from public.tasks t
           where t.key_id = p_key_id and t.created_at > p_since and t.status not in ('CANCELLED', 'EXPIRED'));
end
$$;

create or replace function private.new_id(prefix text) returns text
  language plpgsql volatile
  set search_path = ''
  as $$
begin
  return prefix || '_' || replace(gen_random_uuid()::text, '-', '');
end
$$;

create or replace function private.platform_account(p_kind text) returns bigint
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return (select a.id from public.ledger_accounts a where a.kind = p_kind and a.agent_id is null and a.operator_id is null);
end
$$;

create or replace function private.webhook_event(p_status text) returns text
  language plpgsql immutable
  set search_path = ''
  as $$
begin
  return case p_status
    when 'PENDING_APPROVAL' then 'task.pending_approval'
    when 'ACCEPTED' then 'task.accepted' when 'SUBMITTED' then 'task.submitted' when 'VERIFIED' then 'task.verified'
    when 'MANUAL_REVIEW' then 'task.manual_review' when 'DISPUTED' then 'task.disputed' when 'COMPLETED' then 'task.completed'
    when 'CANCELLED' then 'task.cancelled' when 'EXPIRED' then 'task.expired' end;
end
$$;

create or replace function api.store_idempotent_response(p_key text, p_status integer, p_body jsonb) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  update public.idempotency_keys
     set response_status = p_status, response_body = p_body
   where agent_id = api.current_agent_id() and key = p_key;
end
$$;

/** Counts one request in its window and returns the window's count (all shards) and its end (see the hot-path migration). */
create or replace function api.hit_rate_limit(p_bucket text, p_window_seconds integer)
  returns table (hits integer, reset_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  return query
  with mine as (
    insert into public.rate_limits as r (bucket, window_start, shard, hits)
    values (p_bucket, to_timestamp(floor(extract(epoch from now()) / p_window_seconds) * p_window_seconds),
            pg_backend_pid() % 16, 1)
    on conflict (bucket, window_start, shard) do update set hits = r.hits + 1
    returning r.hits, r.window_start, r.shard
  )
  select (mine.hits + coalesce((select sum(o.hits) from public.rate_limits o
                                 where o.bucket = p_bucket and o.window_start = mine.window_start
                                   and o.shard <> mine.shard), 0))::integer,
         mine.window_start + make_interval(secs => p_window_seconds)
    from mine;
end
$$;

create or replace function api.agent_balance() returns table (deposit_cents bigint, escrow_cents bigint)
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
begin
  return query
  select a.balance, a.escrow_cents from public.ledger_accounts a
   where a.agent_id = private.require_agent() and a.kind = 'agent_deposit';
end
$$;

/** A point on the unit sphere (cube), for the nearest-first index: as plpgsql, as above (a strict
 * SQL function whose body is not strict is neither inlined nor cached, and every task insert
 * evaluates it for the index). */
create or replace function private.sphere_point(p_lat double precision, p_lng double precision) returns extensions.cube
  language plpgsql immutable parallel safe strict
  as $$
begin
  return extensions.cube(array[cos(radians(p_lat)) * cos(radians(p_lng)),
                               cos(radians(p_lat)) * sin(radians(p_lng)),
                               sin(radians(p_lat))]);
end
$$;

/**
 * Posts one balanced entry (as the hot-path migration's version, which it replaces). Locks the
 * accounts it touches in id order (so two moves never wait on each other in a cycle), updates the
 * cached balances and writes the postings. A balance that would go negative raises 23514 (the
 * CHECK); callers check funds first to give a clear error. A move on a task's escrow account also
 * moves its agent's running escrow on the agent's deposit account, in the same UPDATE.
 *
 * Every lookup is by primary key or by the one-deposit-per-agent index, one account at a time:
 * the version before joined the accounts to themselves, and a plan for that join made while the
 * table was small went on to scan every escrow account (see the bottom of this migration).
 */
create or replace function private.post_entry(
  p_kind text, p_account_ids bigint[], p_amounts bigint[],
  p_agent_id text default null, p_task_id text default null, p_operator_id text default null
) returns bigint
  language plpgsql
  set search_path = ''
  as $$
declare
  v_entry_id bigint;
  v_kind text;
  v_owner text;
  v_ids bigint[] := '{}';
  v_amounts bigint[] := '{}';
  v_escrows bigint[] := '{}';
begin
  if cardinality(p_account_ids) < 2 or cardinality(p_account_ids) <> cardinality(p_amounts) then
    raise exception 'A ledger entry needs at least two postings, one amount per account';
  end if;
  if (select sum(a) from unnest(p_amounts) a) <> 0 then
    raise exception 'Ledger entry % does not balance: % on %', p_kind, p_amounts, p_account_ids;
  end if;

  -- Each leg moves its account's balance; a leg on a task's escrow also moves the running escrow
  -- of that agent's deposit account.
  for i in 1 .. cardinality(p_account_ids) loop
    v_ids := v_ids || p_account_ids[i];
    v_amounts := v_amounts || p_amounts[i];
    v_escrows := v_escrows || 0::bigint;
    select a.kind, a.agent_id into v_kind, v_owner from public.ledger_accounts a where a.id = p_account_ids[i];
    if not found then
      raise exception 'Ledger entry % names no account %', p_kind, p_account_ids[i];
    end if;
    if v_kind = 'task_escrow' then
      v_ids := v_ids || (select d.id from public.ledger_accounts d where d.agent_id = v_owner and d.kind = 'agent_deposit');
      v_amounts := v_amounts || 0::bigint;
      v_escrows := v_escrows || p_amounts[i];
    end if;
  end loop;

  perform 1 from public.ledger_accounts where id = any (v_ids) order by id for update;

  insert into public.ledger_entries (kind, agent_id, task_id, operator_id)
  values (p_kind, p_agent_id, p_task_id, p_operator_id)
  returning id into v_entry_id;

  with moves as (
    select m.account_id, sum(m.amount)::bigint as amount, sum(m.escrow)::bigint as escrow
      from unnest(v_ids, v_amounts, v_escrows) as m (account_id, amount, escrow)
     group by m.account_id
    having sum(m.amount) <> 0 or sum(m.escrow) <> 0
  ), moved as (
    update public.ledger_accounts a
       set balance = a.balance + moves.amount,
           version = a.version + (moves.amount <> 0)::integer,
           escrow_cents = a.escrow_cents + moves.escrow
      from moves
     where a.id = moves.account_id
    returning a.id, a.balance, a.version, moves.amount
  )
  insert into public.ledger_postings (entry_id, account_id, amount, balance_before, balance_after, account_version)
  select v_entry_id, moved.id, moved.amount, moved.balance - moved.amount, moved.balance, moved.version
    from moved
   where moved.amount <> 0;

  return v_entry_id;
end
$$;

-- Planned once per connection: the functions on the path of POST /tasks (see the top). A generic
-- plan is kept until the tables' statistics change, so one made while a table was a page long
-- would go on scanning it whole as it grew (the benchmark's first minute showed it: hash joins
-- over every account): these statements touch a few rows by key, so their plans may not scan.
alter function api.post_task(text, text, integer, text[], text, text, text, text, text, text, text, double precision,
  double precision, text, bigint, timestamptz, text[], text, text, text, text, text)
  set plan_cache_mode = force_generic_plan set enable_seqscan = off;
alter function api.create_task(text, text, text, text, text, double precision, double precision, text, bigint, timestamptz,
  text[], text, text, text, text, text)
  set plan_cache_mode = force_generic_plan set enable_seqscan = off;
alter function private.post_entry(text, bigint[], bigint[], text, text, text)
  set plan_cache_mode = force_generic_plan set enable_seqscan = off;
alter function api.authenticate_agent(text)
  set plan_cache_mode = force_generic_plan set enable_seqscan = off;
alter function api.claim_idempotency_key(text, text)
  set plan_cache_mode = force_generic_plan set enable_seqscan = off;

-- Every task insert wrote this index, and no query reads it since tasks_overdue (deadline, for
-- every open status) came.
drop index public.tasks_open_by_deadline;
