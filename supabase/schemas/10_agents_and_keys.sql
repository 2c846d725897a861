/**
 * An AI agent: a program that posts tasks and pays for them. Every agent gets its own USDC deposit
 * address on Base: the non-hardened child `deposit_index` of the platform's extended public key
 * (DEPOSIT_XPUB). The server derives addresses without any private key, and a transfer's
 * recipient names the agent.
 */
create table public.agents (
  id text primary key default private.new_id('agt'),
  name text not null check (char_length(name) between 1 and 100),
  email text not null check (char_length(email) between 3 and 320),
  company text check (char_length(company) <= 200),
  mode text not null check (mode in ('test', 'live')),
  created_at timestamptz not null default now(),
  deposit_index integer generated always as identity (minvalue 0 start with 0)
    constraint agents_deposit_index_unique unique
    constraint deposit_index_is_not_hardened check (deposit_index between 0 and 2147483647)
);

alter table public.agents enable row level security;

/**
 * API keys: only a SHA-256 hash and a display prefix are kept; the key is shown once.
 *
 * A key holds one or more scopes: `owner` manages keys and spending policies and approves tasks,
 * `agent` posts and manages tasks, `read` reads; every key reads. The key registration returns
 * holds owner and agent. A key never mints a key with more power than it holds. The API passes the
 * calling key in the request's claims (`humanops_key`, `humanops_scopes`), beside the agent id, so
 * SQL knows which key acts and applies its scopes and spending policy.
 */
create table public.api_keys (
  id text primary key default private.new_id('key'),
  agent_id text not null references public.agents (id),
  name text check (char_length(name) between 1 and 100),
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  key_prefix text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  scopes text[] not null default '{owner,agent}'
    constraint api_key_scopes_known check (cardinality(scopes) between 1 and 3 and scopes <@ '{owner,agent,read}'::text[]),
  expires_at timestamptz
);

create index api_keys_active_by_agent on public.api_keys (agent_id, created_at) where revoked_at is null;

alter table public.api_keys enable row level security;

/**
 * The calling agent, else null: the `sub` of the request's claims when they name an agent (an API
 * key), or when they name an owner session (`humanops_role = 'owner'`) whose person is linked to
 * that agent now (public.owner_links, in 12_owners). Security definer so the link is read whatever
 * the caller may see.
 */
create function api.current_agent_id() returns text
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  if v_claims->>'humanops_role' = 'agent' then
    return v_claims->>'sub';
  elsif v_claims->>'humanops_role' = 'owner' then
    return (select l.agent_id from public.owner_links l
             where l.owner_id = v_claims->>'humanops_owner' and l.agent_id = v_claims->>'sub');
  end if;
  return null;
end
$$;
grant execute on function api.current_agent_id() to authenticated, service_role;

/** The calling agent's key (`humanops_key` in the claims), which its scopes and spending policy belong to. */
create function api.current_key_id() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  return case when v_claims->>'humanops_role' = 'agent' then v_claims->>'humanops_key' end;
end
$$;
grant execute on function api.current_key_id() to authenticated, service_role;

/** The calling key's scopes (`humanops_scopes`), an owner session's, or null when no agent calls. */
create function private.current_key_scopes() returns text[]
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  if v_claims->>'humanops_role' = 'owner' then
    -- An owner session holds what the key registration returns holds.
    return '{owner,agent}';
  elsif v_claims->>'humanops_role' is distinct from 'agent' then
    return null;
  end if;
  return coalesce(array(select jsonb_array_elements_text(v_claims->'humanops_scopes')), '{}');
end
$$;

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

/** The calling agent, or a 403 unless its key holds `p_scope`. */
create function private.require_scope(p_scope text) returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  v_scopes text[] := coalesce(private.current_key_scopes(), '{}');
begin
  if not (p_scope = any (v_scopes)) then
    perform private.fail(403, 'insufficient_scope',
      format('This action needs a key with the %s scope; this key holds %s', p_scope,
             coalesce(nullif(array_to_string(v_scopes, ' and '), ''), 'none')),
      jsonb_build_object('key_scopes', to_jsonb(v_scopes), 'required_scopes', jsonb_build_array(p_scope)));
  end if;
  return v_agent_id;
end
$$;

/** A key works until it is revoked or expires. */
create function private.key_is_active(p_key public.api_keys) returns boolean
  language plpgsql stable
  set search_path = ''
  as $$
begin
  return p_key.revoked_at is null and (p_key.expires_at is null or p_key.expires_at > now());
end
$$;

/** Creates an agent with its first key (named "default"), its deposit account and its escrow account. */
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

  insert into public.ledger_accounts (kind, agent_id) values ('agent_deposit', agent_id), ('agent_escrow', agent_id);
  return next;
end
$$;
grant execute on function api.register_agent(text, text, text, text, text, text) to service_role;

/**
 * Finds the agent behind a key hash with the key's scopes, or no row when the key is unknown,
 * revoked or expired. `last_used_at` is written at most once a minute per key.
 */
create function api.authenticate_agent(p_key_hash text)
  returns table (agent_id text, key_id text, mode text, scopes text[])
  language plpgsql
  security definer
  set search_path = ''
  set plan_cache_mode = force_generic_plan
  set enable_seqscan = off
  as $$
declare
  v_last_used_at timestamptz;
begin
  -- Read first: on every request but one a minute there is nothing to write, and an UPDATE that
  -- matches nothing still costs a statement.
  select k.agent_id, k.id, a.mode, k.scopes, k.last_used_at
    into agent_id, key_id, mode, scopes, v_last_used_at
    from public.api_keys k
    join public.agents a on a.id = k.agent_id
   where k.key_hash = p_key_hash and private.key_is_active(k);
  if not found then
    return;
  end if;
  if v_last_used_at is null or v_last_used_at < now() - interval '1 minute' then
    update public.api_keys k
       set last_used_at = now()
     where k.id = key_id and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');
  end if;
  return next;
end
$$;
grant execute on function api.authenticate_agent(text) to service_role;

/**
 * Adds a key for the calling agent (owner scope). Its scopes default to the calling key's and may
 * not exceed them; a key that expires can only mint keys that expire no later. At most 20 active
 * keys per agent.
 */
create function api.create_api_key(
  p_name text, p_key_hash text, p_key_prefix text, p_scopes text[] default null, p_expires_at timestamptz default null
) returns table (id text, name text, key_prefix text, scopes text[], expires_at timestamptz, created_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
  v_caller public.api_keys;
  v_held text[] := private.current_key_scopes() || '{read}'::text[];
  v_scopes text[];
  v_expires_at timestamptz;
begin
  perform 1 from public.agents a where a.id = v_agent_id for update;
  select * into v_caller from public.api_keys k where k.id = api.current_key_id() and k.agent_id = v_agent_id;
  v_scopes := coalesce(p_scopes, private.current_key_scopes());
  if not (v_scopes <@ v_held) then
    perform private.fail(403, 'insufficient_scope',
      format('A key cannot mint a key with more power than it holds: this key holds %s, the new key asks for %s',
             array_to_string(private.current_key_scopes(), ' and '), array_to_string(v_scopes, ' and ')),
      jsonb_build_object('key_scopes', to_jsonb(private.current_key_scopes()), 'requested_scopes', to_jsonb(v_scopes)));
  end if;
  v_expires_at := coalesce(p_expires_at, v_caller.expires_at);
  if v_expires_at is not null and v_expires_at <= now() then
    perform private.fail(400, 'validation_error', 'expires_at: must be in the future');
  end if;
  if v_caller.expires_at is not null and v_expires_at > v_caller.expires_at then
    perform private.fail(403, 'insufficient_scope',
      format('A key cannot mint a key that outlives it: this key expires at %s',
             to_char(v_caller.expires_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
      jsonb_build_object('key_expires_at', v_caller.expires_at));
  end if;
  if (select count(*) from public.api_keys k where k.agent_id = v_agent_id and private.key_is_active(k)) >= 20 then
    perform private.fail(409, 'key_limit_reached', 'An agent may have at most 20 active API keys; revoke one first');
  end if;
  return query
    insert into public.api_keys as k (agent_id, name, key_hash, key_prefix, scopes, expires_at)
    values (v_agent_id, p_name, p_key_hash, p_key_prefix, v_scopes, v_expires_at)
    returning k.id, k.name, k.key_prefix, k.scopes, k.expires_at, k.created_at;
end
$$;
grant execute on function api.create_api_key(text, text, text, text[], timestamp with time zone) to authenticated;

/**
 * Revokes one of the calling agent's keys (owner scope), at once and for good. The last active
 * key, and the last active owner key, cannot be revoked: the account would be out of reach, or
 * nobody could manage it any more.
 */
create function api.revoke_api_key(p_key_id text) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
  v_key public.api_keys;
begin
  perform 1 from public.agents a where a.id = v_agent_id for update;
  select * into v_key from public.api_keys k where k.id = p_key_id and k.agent_id = v_agent_id and private.key_is_active(k);
  if v_key.id is null then
    perform private.fail(404, 'key_not_found', 'No active API key with this id');
  end if;
  if (select count(*) from public.api_keys k where k.agent_id = v_agent_id and private.key_is_active(k)) = 1 then
    perform private.fail(409, 'last_key', 'This is your only active API key; create another before revoking it');
  end if;
  if 'owner' = any (v_key.scopes)
     and (select count(*) from public.api_keys k
           where k.agent_id = v_agent_id and private.key_is_active(k) and 'owner' = any (k.scopes)) = 1 then
    perform private.fail(409, 'last_owner_key', 'This is your only active key with the owner scope; create another owner key before revoking it');
  end if;
  update public.api_keys k set revoked_at = now() where k.id = p_key_id;
end
$$;
grant execute on function api.revoke_api_key(text) to authenticated;

-- Who reads what: an agent reads itself and its keys, never a key's hash.
create policy "an agent reads itself" on public.agents for select to authenticated
  using (id = (select api.current_agent_id()));
grant select on public.agents to authenticated, service_role;
create policy "an agent reads its keys" on public.api_keys for select to authenticated
  using (agent_id = (select api.current_agent_id()));
grant select on public.api_keys to service_role;
grant select (id, agent_id, name, key_prefix, created_at, last_used_at, revoked_at, scopes, expires_at) on public.api_keys to authenticated;
