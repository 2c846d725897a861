/**
 * Key scopes and expiry. A key holds one or more scopes: `owner` manages keys and spending
 * policies and approves tasks, `agent` posts and manages tasks, `read` reads; every key reads.
 * Keys made before scopes existed, and the key registration returns, hold owner and agent, which
 * is everything a key could do before. A key never mints a key with more power than it holds.
 *
 * The API passes the calling key in the request's claims (`humanops_key`, `humanops_scopes`),
 * beside the agent id, so SQL knows which key acts and applies its scopes and spending policy.
 */
alter table public.api_keys
  add column scopes text[] not null default '{owner,agent}'
    constraint api_key_scopes_known check (cardinality(scopes) between 1 and 3 and scopes <@ '{owner,agent,read}'::text[]),
  add column expires_at timestamptz;

grant select (scopes, expires_at) on public.api_keys to authenticated;

/** The key the current request came with, or null (a trusted caller without one). */
create function api.current_key_id() returns text
  language sql stable
  set search_path = ''
  as $$ select case when auth.jwt()->>'humanops_role' = 'agent' then auth.jwt()->>'humanops_key' end $$;

/** The scopes of the key the current request came with (empty without one). */
create function private.current_key_scopes() returns text[]
  language sql stable
  set search_path = ''
  as $$
  select coalesce(array(select jsonb_array_elements_text(auth.jwt()->'humanops_scopes')), '{}')
   where auth.jwt()->>'humanops_role' = 'agent'
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

/** Whether a key can sign in now: not revoked and not expired. */
create function private.key_is_active(p_key public.api_keys) returns boolean
  language sql stable
  set search_path = ''
  as $$ select p_key.revoked_at is null and (p_key.expires_at is null or p_key.expires_at > now()) $$;

drop function api.authenticate_agent(text);
/**
 * Finds the agent behind a key hash with the key's scopes, or no row when the key is unknown,
 * revoked or expired. `last_used_at` is written at most once a minute per key.
 */
create function api.authenticate_agent(p_key_hash text)
  returns table (agent_id text, key_id text, mode text, scopes text[])
  language plpgsql
  security definer
  set search_path = ''
  as $$
begin
  update public.api_keys k
     set last_used_at = now()
   where k.key_hash = p_key_hash
     and private.key_is_active(k)
     and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');

  return query
    select k.agent_id, k.id, a.mode, k.scopes
      from public.api_keys k
      join public.agents a on a.id = k.agent_id
     where k.key_hash = p_key_hash and private.key_is_active(k);
end
$$;

drop function api.create_api_key(text, text, text);
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

/**
 * Revokes one of the calling agent's keys (owner scope), at once and for good. The last active
 * key, and the last active owner key, cannot be revoked: the account would be out of reach, or
 * nobody could manage it any more.
 */
create or replace function api.revoke_api_key(p_key_id text) returns void
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

revoke all on function api.current_key_id(), private.current_key_scopes(), private.require_scope(text),
  private.key_is_active(public.api_keys), api.authenticate_agent(text),
  api.create_api_key(text, text, text, text[], timestamptz) from public, anon, authenticated, service_role;
grant execute on function api.current_key_id() to authenticated, service_role;
grant execute on function api.authenticate_agent(text) to service_role;
grant execute on function api.create_api_key(text, text, text, text[], timestamptz) to authenticated;
