/**
 * Agents, keys and deposits. Errors are raised with SQLSTATE `HO<status>` (e.g. HO409), a message
 * for people, a machine code in HINT and optional JSON details in DETAIL; the API maps them.
 */

/** Raises a typed error that the API turns into `{ error, code, details }` with `status`. */
create function private.fail(p_status integer, p_code text, p_message text, p_details jsonb default null)
  returns void
  language plpgsql
  set search_path = ''
  as $$
begin
  raise exception using
    errcode = 'HO' || p_status::text,
    message = p_message,
    hint = p_code,
    detail = coalesce(p_details::text, '');
end
$$;

/** The agent this request acts for, from the claims the API set (never from a parameter). */
create function api.current_agent_id() returns text
  language sql stable
  set search_path = ''
  as $$ select case when auth.jwt()->>'humanops_role' = 'agent' then auth.jwt()->>'sub' end $$;

/** The calling agent, or a 401 when the request carries no agent identity. */
create function private.require_agent() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_agent_id text := api.current_agent_id();
begin
  if v_agent_id is null then
    perform private.fail(401, 'unauthenticated', 'This action needs an agent API key');
  end if;
  return v_agent_id;
end
$$;

/** Creates an agent with its first key (named "default") and its deposit account. */
create function api.register_agent(
  p_name text, p_email text, p_company text, p_mode text, p_key_hash text, p_key_prefix text
) returns table (agent_id text, key_id text)
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  insert into public.agents (name, email, company, mode)
  values (p_name, p_email, p_company, p_mode)
  returning id into agent_id;

  insert into public.api_keys (agent_id, name, key_hash, key_prefix)
  values (agent_id, 'default', p_key_hash, p_key_prefix)
  returning id into key_id;

  insert into public.ledger_accounts (kind, agent_id) values ('agent_deposit', agent_id);
  return next;
end
$$;

/**
 * Finds the agent behind a key hash, or no row when the key is unknown or revoked. `last_used_at`
 * is written at most once a minute per key, so authentication does not write on every request.
 */
create function api.authenticate_agent(p_key_hash text)
  returns table (agent_id text, key_id text, mode text)
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  update public.api_keys k
     set last_used_at = now()
   where k.key_hash = p_key_hash
     and k.revoked_at is null
     and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');

  return query
    select k.agent_id, k.id, a.mode
      from public.api_keys k
      join public.agents a on a.id = k.agent_id
     where k.key_hash = p_key_hash and k.revoked_at is null;
end
$$;

/** Adds a key for the calling agent; at most 20 active keys per agent. */
create function api.create_api_key(p_name text, p_key_hash text, p_key_prefix text)
  returns table (id text, name text, key_prefix text, created_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
begin
  perform 1 from public.agents a where a.id = v_agent_id for update;
  if (select count(*) from public.api_keys k where k.agent_id = v_agent_id and k.revoked_at is null) >= 20 then
    perform private.fail(409, 'key_limit_reached', 'An agent may have at most 20 active API keys; revoke one first');
  end if;
  return query
    insert into public.api_keys as k (agent_id, name, key_hash, key_prefix)
    values (v_agent_id, p_name, p_key_hash, p_key_prefix)
    returning k.id, k.name, k.key_prefix, k.created_at;
end
$$;

/**
 * Revokes one of the calling agent's keys, at once and for good. The last active key cannot be
 * revoked: an agent has no other way to sign in, and its funds would be out of reach.
 */
create function api.revoke_api_key(p_key_id text) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
begin
  perform 1 from public.agents a where a.id = v_agent_id for update;
  if not exists (select from public.api_keys k
                  where k.id = p_key_id and k.agent_id = v_agent_id and k.revoked_at is null) then
    perform private.fail(404, 'key_not_found', 'No active API key with this id');
  end if;
  if (select count(*) from public.api_keys k where k.agent_id = v_agent_id and k.revoked_at is null) = 1 then
    perform private.fail(409, 'last_key', 'This is your only active API key; create another before revoking it');
  end if;
  update public.api_keys k set revoked_at = now() where k.id = p_key_id;
end
$$;

/**
 * Credits a deposit that the API has verified (a confirmed USDC transfer, or a test-mode deposit).
 * A transfer is identified by (chain, tx hash, log index) and credits at most once: a concurrent
 * duplicate waits for the first and then gets a 409.
 */
create function api.credit_deposit(
  p_agent_id text, p_method text, p_amount_cents bigint,
  p_chain text default null, p_tx_hash text default null, p_log_index integer default null,
  p_payment_method text default null
) returns table (id text, amount_cents bigint, status text, created_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_deposit public.deposits;
  v_source bigint := private.platform_account(case p_method when 'usdc' then 'external_usdc' else 'external_fiat' end);
  v_account bigint;
begin
  select a.id into v_account from public.ledger_accounts a where a.agent_id = p_agent_id and a.kind = 'agent_deposit';
  if v_account is null then
    perform private.fail(404, 'agent_not_found', 'No such agent');
  end if;

  insert into public.deposits (agent_id, method, chain, tx_hash, log_index, payment_method, amount_cents, status)
  values (p_agent_id, p_method, p_chain, p_tx_hash, p_log_index, p_payment_method, p_amount_cents,
          case p_method when 'usdc' then 'confirmed' else 'completed' end)
  on conflict (chain, tx_hash, log_index) do nothing
  returning * into v_deposit;

  if v_deposit.id is null then
    perform private.fail(409, 'deposit_already_credited', 'This transaction has already been credited');
  end if;

  perform private.post_entry('deposit', array[v_source, v_account], array[-p_amount_cents, p_amount_cents],
                             p_agent_id => p_agent_id);
  return query select v_deposit.id, v_deposit.amount_cents, v_deposit.status, v_deposit.created_at;
end
$$;

/**
 * Claims an idempotency key for the calling agent inside the request's transaction.
 * 'new': this request owns the key and must store its response; 'replay': a finished request
 * with the same body, whose response is returned; 'mismatch': the key was used for another body.
 */
create function api.claim_idempotency_key(p_key text, p_request_hash text)
  returns table (state text, response_status integer, response_body jsonb)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_row public.idempotency_keys;
begin
  insert into public.idempotency_keys (agent_id, key, request_hash)
  values (v_agent_id, p_key, p_request_hash)
  on conflict do nothing;
  if found then
    return query select 'new'::text, null::integer, null::jsonb;
    return;
  end if;

  select * into v_row from public.idempotency_keys k where k.agent_id = v_agent_id and k.key = p_key;
  if v_row.request_hash <> p_request_hash then
    return query select 'mismatch'::text, null::integer, null::jsonb;
  else
    return query select 'replay'::text, v_row.response_status, v_row.response_body;
  end if;
end
$$;

/** Stores the response of the request that owns an idempotency key, in the same transaction. */
create function api.store_idempotent_response(p_key text, p_status integer, p_body jsonb) returns void
  language sql
  security definer
  set search_path = ''
  as $$
  update public.idempotency_keys
     set response_status = p_status, response_body = p_body
   where agent_id = api.current_agent_id() and key = p_key
$$;

/**
 * Counts one request in the fixed window of a bucket (client IP + route) and returns the count
 * and when the window resets.
 */
create function api.hit_rate_limit(p_bucket text, p_window_seconds integer)
  returns table (hits integer, reset_at timestamptz)
  language sql
  security definer
  set search_path = ''
  as $$
  insert into public.rate_limits as r (bucket, window_start, hits)
  values (p_bucket, to_timestamp(floor(extract(epoch from now()) / p_window_seconds) * p_window_seconds), 1)
  on conflict (bucket, window_start) do update set hits = r.hits + 1
  returning r.hits, r.window_start + make_interval(secs => p_window_seconds)
$$;
