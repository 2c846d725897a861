/**
 * Idempotency keys: the first request under a key inserts its row in its own transaction, so a
 * concurrent duplicate waits on that row and then replays the stored response. Kept 7 days.
 * A key belongs to one caller, an agent or an operator, so nobody's key collides with another's.
 * The operator has no foreign key (operators come later in the schema): the claim checks the
 * operator is registered.
 */
create table public.idempotency_keys (
  agent_id text references public.agents (id),
  key text not null check (char_length(key) between 1 and 255),
  request_hash text not null,
  response_status integer,
  response_body jsonb,
  created_at timestamptz not null default now(),
  operator_id text,
  constraint idempotency_keys_one_caller check (num_nonnulls(agent_id, operator_id) = 1),
  constraint idempotency_keys_per_agent unique (agent_id, key),
  constraint idempotency_keys_per_operator unique (operator_id, key)
);

create index idempotency_keys_by_age on public.idempotency_keys (created_at);

alter table public.idempotency_keys enable row level security;

/**
 * Rate limits: a fixed window per (client IP, route), counted on up to 16 rows per window. A
 * request adds to the row of its database connection's shard (backend pid mod 16) and reads the
 * others, so requests on different connections (and instances) never wait on each other's row; the
 * sum over the shards is the window's count, shared by every instance through the table. Two
 * requests counting at the same moment may each miss the other's uncommitted hit, so the limit can
 * be passed by at most the number of requests in flight at that moment; a one-row counter would be
 * exact only by making them queue. The window (not a sliding log) keeps a hit at one row write.
 * Unlogged: losing the counters on a crash is harmless.
 */
create unlogged table public.rate_limits (
  bucket text not null,
  window_start timestamptz not null,
  hits integer not null,
  shard smallint not null default 0,
  primary key (bucket, window_start, shard)
);

alter table public.rate_limits enable row level security;

/**
 * Claims an idempotency key for one caller (exactly one of `p_agent_id`, `p_operator_id`) inside
 * the request's transaction. 'new': this request owns the key and must store its response;
 * 'replay': a finished request with the same body, whose response is returned; 'mismatch': the key
 * was used for another body.
 */
create function private.claim_idempotency_key(p_agent_id text, p_operator_id text, p_key text, p_request_hash text)
  returns table (state text, response_status integer, response_body jsonb)
  language plpgsql
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  set enable_seqscan = off
  as $$
declare
  v_row public.idempotency_keys;
begin
  insert into public.idempotency_keys (agent_id, operator_id, key, request_hash)
  values (p_agent_id, p_operator_id, p_key, p_request_hash)
  on conflict do nothing;
  if found then
    return query select 'new'::text, null::integer, null::jsonb;
    return;
  end if;

  if p_agent_id is not null then
    select * into v_row from public.idempotency_keys k where k.agent_id = p_agent_id and k.key = p_key;
  else
    select * into v_row from public.idempotency_keys k where k.operator_id = p_operator_id and k.key = p_key;
  end if;
  if v_row.request_hash <> p_request_hash then
    return query select 'mismatch'::text, null::integer, null::jsonb;
  else
    return query select 'replay'::text, v_row.response_status, v_row.response_body;
  end if;
end
$$;

/** Stores the response of the request that claimed the key (see private.claim_idempotency_key). */
create function private.store_idempotent_response(p_agent_id text, p_operator_id text, p_key text, p_status integer, p_body jsonb)
  returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  if p_agent_id is not null then
    update public.idempotency_keys set response_status = p_status, response_body = p_body
     where agent_id = p_agent_id and key = p_key;
  else
    update public.idempotency_keys set response_status = p_status, response_body = p_body
     where operator_id = p_operator_id and key = p_key;
  end if;
end
$$;

/** Claims an idempotency key for the calling agent (see private.claim_idempotency_key). */
create function api.claim_idempotency_key(p_key text, p_request_hash text)
  returns table (state text, response_status integer, response_body jsonb)
  language sql
  security definer
  set search_path = ''
  as $$
  select * from private.claim_idempotency_key(private.require_agent(), null, p_key, p_request_hash);
$$;
grant execute on function api.claim_idempotency_key(text, text) to authenticated;

create function api.store_idempotent_response(p_key text, p_status integer, p_body jsonb) returns void
  language sql
  security definer
  set search_path = ''
  as $$
  select private.store_idempotent_response(private.require_agent(), null, p_key, p_status, p_body);
$$;
grant execute on function api.store_idempotent_response(text, integer, jsonb) to authenticated;

/** Counts one request in its window and returns the window's count (all shards) and its end. */
create function api.hit_rate_limit(p_bucket text, p_window_seconds integer)
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
grant execute on function api.hit_rate_limit(text, integer) to service_role;

-- Written by the functions above only; the API's trusted role reads them (operations).
grant select on public.idempotency_keys to service_role;
grant select on public.rate_limits to service_role;
