/**
 * Owners: the people behind an agent account. A person signs in through the identity provider
 * operators use (Clerk; the stack's issuer locally) and is linked to an agent once, by a one-time
 * code an owner key makes. One person may own several agents and one agent may have several
 * owners. An owner session acts for one linked agent at a time, with the powers of an owner key:
 * the API passes the person (`humanops_owner`) and the agent (`sub`) in the claims with
 * `humanops_role = 'owner'`, and api.current_agent_id() answers the agent only while the link
 * exists, so every policy and function that trusts it checks the link again, at once.
 */
create table public.owner_links (
  owner_id text not null check (char_length(owner_id) between 1 and 255),
  agent_id text not null references public.agents (id),
  linked_at timestamptz not null default now(),
  primary key (owner_id, agent_id)
);

create index owner_links_by_agent on public.owner_links (agent_id, linked_at);

alter table public.owner_links enable row level security;

/**
 * One-time link codes: only a SHA-256 hash is kept (the code is shown once, to the key that made
 * it). A code links whoever redeems it first before it expires, and never again.
 */
create table public.owner_link_codes (
  code_hash text primary key check (code_hash ~ '^[0-9a-f]{64}$'),
  agent_id text not null references public.agents (id),
  created_by_key text references public.api_keys (id),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  used_by text,
  constraint owner_link_codes_used_together check ((used_at is null) = (used_by is null))
);

create index owner_link_codes_by_agent on public.owner_link_codes (agent_id, created_at);

alter table public.owner_link_codes enable row level security;

/** The signed-in person of an owner session (`humanops_owner`), else null. */
create function private.current_owner_id() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_claims jsonb := auth.jwt();
begin
  return case when v_claims->>'humanops_role' = 'owner' then nullif(v_claims->>'humanops_owner', '') end;
end
$$;

/** The signed-in person, or a 401 when the request is not an owner session. */
create function private.require_owner() returns text
  language plpgsql stable
  set search_path = ''
  as $$
declare
  v_owner_id text := private.current_owner_id();
begin
  if v_owner_id is null then
    perform private.fail(401, 'unauthenticated', 'This action needs a signed-in person');
  end if;
  return v_owner_id;
end
$$;

/**
 * A one-time code that links the person who redeems it to the calling agent (owner scope). At most
 * 20 codes wait unredeemed per agent, so a leaked key cannot pile them up.
 */
create function api.create_owner_link_code(p_code_hash text, p_expires_at timestamptz)
  returns table (expires_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
begin
  perform 1 from public.agents a where a.id = v_agent_id for update;
  if (select count(*) from public.owner_link_codes c
       where c.agent_id = v_agent_id and c.used_at is null and c.expires_at > now()) >= 20 then
    perform private.fail(409, 'link_code_limit_reached', 'At most 20 link codes may wait at once; use one or let them expire');
  end if;
  return query
    insert into public.owner_link_codes as c (code_hash, agent_id, created_by_key, expires_at)
    values (p_code_hash, v_agent_id, api.current_key_id(), p_expires_at)
    returning c.expires_at;
end
$$;
grant execute on function api.create_owner_link_code(text, timestamp with time zone) to authenticated;

/**
 * Links the signed-in person to the agent a code names. An unknown code is a 404; a used or
 * expired one a 410, and neither changes anything. Redeeming a code for an agent one already owns
 * uses the code up and keeps the first link.
 */
create function api.redeem_owner_link_code(p_code_hash text)
  returns table (agent_id text, agent_name text, mode text, linked_at timestamptz)
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_owner_id text := private.require_owner();
  v_code public.owner_link_codes;
begin
  select * into v_code from public.owner_link_codes c where c.code_hash = p_code_hash for update;
  if v_code.code_hash is null then
    perform private.fail(404, 'link_code_not_found', 'No link code like this; ask an owner of the agent for a new one');
  end if;
  if v_code.used_at is not null then
    perform private.fail(410, 'link_code_used', 'This link code was already used; ask an owner of the agent for a new one');
  end if;
  if v_code.expires_at <= now() then
    perform private.fail(410, 'link_code_expired', 'This link code has expired; ask an owner of the agent for a new one');
  end if;
  update public.owner_link_codes c set used_at = now(), used_by = v_owner_id where c.code_hash = p_code_hash;
  insert into public.owner_links (owner_id, agent_id) values (v_owner_id, v_code.agent_id)
    on conflict on constraint owner_links_pkey do nothing;
  return query
    select l.agent_id, a.name, a.mode, l.linked_at
      from public.owner_links l join public.agents a on a.id = l.agent_id
     where l.owner_id = v_owner_id and l.agent_id = v_code.agent_id;
end
$$;
grant execute on function api.redeem_owner_link_code(text) to authenticated;

/** The agents the signed-in person owns, oldest link first. */
create function api.owned_agents()
  returns table (agent_id text, agent_name text, mode text, linked_at timestamptz)
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_owner_id text := private.require_owner();
begin
  return query
    select l.agent_id, a.name, a.mode, l.linked_at
      from public.owner_links l join public.agents a on a.id = l.agent_id
     where l.owner_id = v_owner_id
     order by l.linked_at, l.agent_id;
end
$$;
grant execute on function api.owned_agents() to authenticated;

/** The people who own the calling agent (owner scope), oldest link first. */
create function api.agent_owners()
  returns table (owner_id text, linked_at timestamptz)
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
begin
  return query
    select l.owner_id, l.linked_at from public.owner_links l
     where l.agent_id = v_agent_id
     order by l.linked_at, l.owner_id;
end
$$;
grant execute on function api.agent_owners() to authenticated;

/**
 * Unlinks a person from the calling agent (owner scope; an owner may unlink themself). Their
 * sessions lose the agent at once: api.current_agent_id() reads the link on every request.
 */
create function api.unlink_owner(p_owner_id text) returns void
  language plpgsql
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_scope('owner');
begin
  delete from public.owner_links l where l.agent_id = v_agent_id and l.owner_id = p_owner_id;
  if not found then
    perform private.fail(404, 'owner_not_found', 'No owner with this id is linked to this agent');
  end if;
end
$$;
grant execute on function api.unlink_owner(text) to authenticated;

-- Who reads what: nobody reads links or codes directly; people and owners read them through the
-- functions above.
grant select on public.owner_links to service_role;
grant select on public.owner_link_codes to service_role;
