// What anon, authenticated and service_role may do in our schemas, read from the catalogs: every
// privilege granted to them or to PUBLIC (which they inherit) on every schema, table, column,
// sequence and function, as sorted lines such as `table public.tasks: authenticated SELECT`.
// Objects without an ACL are listed with Postgres's built-in default (functions: EXECUTE to PUBLIC).
import type postgres from 'postgres';

export const CLIENT_ROLES = ['anon', 'authenticated', 'service_role'] as const;
export const OUR_SCHEMAS = ['public', 'api', 'private'] as const;

export async function privileges(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql<{ line: string }[]>`
    with grantees(oid, name) as (
      select oid, rolname::text from pg_roles where rolname = any(${CLIENT_ROLES as unknown as string[]})
      union all select 0, 'PUBLIC'
    ),
    schemas as (
      select oid, nspname, nspowner, nspacl from pg_namespace where nspname = any(${OUR_SCHEMAS as unknown as string[]})
    ),
    objects(kind, name, acl) as (
      select 'schema', quote_ident(nspname), coalesce(nspacl, acldefault('n'::"char", nspowner)) from schemas
      union all
      select case c.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'view' else 'table' end,
             format('%I.%I', s.nspname, c.relname),
             coalesce(c.relacl, acldefault((case c.relkind when 'S' then 's' else 'r' end)::"char", c.relowner))
        from pg_class c join schemas s on s.oid = c.relnamespace
       where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
      union all
      select 'column', format('%I.%I(%I)', s.nspname, c.relname, a.attname), a.attacl
        from pg_attribute a join pg_class c on c.oid = a.attrelid join schemas s on s.oid = c.relnamespace
       where a.attacl is not null and not a.attisdropped and a.attnum > 0
      union all
      select 'function', p.oid::regprocedure::text, coalesce(p.proacl, acldefault('f'::"char", p.proowner))
        from pg_proc p join schemas s on s.oid = p.pronamespace
    )
    select format('%s %s: %s %s', o.kind, o.name, g.name, x.privilege_type) as line
      from objects o cross join lateral aclexplode(o.acl) x join grantees g on g.oid = x.grantee
     order by 1`;
  return rows.map((r) => r.line);
}

/** Default privileges that objects created later in our schemas would get for the client roles. */
export async function defaultPrivileges(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql<{ line: string }[]>`
    select format('%s %s in %s: %s %s',
                  pg_get_userbyid(d.defaclrole),
                  case d.defaclobjtype when 'r' then 'tables' when 'S' then 'sequences' when 'f' then 'functions' when 'T' then 'types' when 'n' then 'schemas' end,
                  coalesce(n.nspname, 'any schema'), coalesce(g.rolname, 'PUBLIC'), x.privilege_type) as line
      from pg_default_acl d
      left join pg_namespace n on n.oid = d.defaclnamespace
      cross join lateral aclexplode(d.defaclacl) x
      left join pg_roles g on g.oid = x.grantee
     where (n.nspname is null or n.nspname = any(${OUR_SCHEMAS as unknown as string[]}))
       and (x.grantee = 0 or g.rolname = any(${CLIENT_ROLES as unknown as string[]}))
     order by 1`;
  return rows.map((r) => r.line);
}

/**
 * The intended privileges. Clients read at most (only SQL functions write); service_role reads
 * every table; functions are executable only by the roles named for each. Change this list
 * together with the migration that changes a grant.
 */
export const INTENDED_PRIVILEGES = [
  'column public.api_keys(agent_id): authenticated SELECT',
  'column public.api_keys(created_at): authenticated SELECT',
  'column public.api_keys(expires_at): authenticated SELECT',
  'column public.api_keys(id): authenticated SELECT',
  'column public.api_keys(key_prefix): authenticated SELECT',
  'column public.api_keys(last_used_at): authenticated SELECT',
  'column public.api_keys(name): authenticated SELECT',
  'column public.api_keys(revoked_at): authenticated SELECT',
  'column public.api_keys(scopes): authenticated SELECT',
  'column public.task_callbacks(agent_id): authenticated SELECT',
  'column public.task_callbacks(task_id): authenticated SELECT',
  'column public.task_callbacks(url): authenticated SELECT',
  'function api.accept_task(text): authenticated EXECUTE',
  'function api.agent_balance(): authenticated EXECUTE',
  'function api.agent_owners(): authenticated EXECUTE',
  'function api.agent_task_messages(text): authenticated EXECUTE',
  'function api.agent_tasks(text,timestamp with time zone,text,integer,integer): authenticated EXECUTE',
  'function api.appeal_task(text,text): authenticated EXECUTE',
  'function api.apply_guardian_verdict(bigint,text,jsonb): service_role EXECUTE',
  'function api.authenticate_agent(text): service_role EXECUTE',
  'function api.browse_open_tasks(double precision,double precision,double precision,text,text,bigint,integer,integer,text,double precision,timestamp with time zone,text): authenticated EXECUTE',
  'function api.cancel_task(text): authenticated EXECUTE',
  'function api.check_ledger(): service_role EXECUTE',
  'function api.claim_guardian_jobs(integer,integer,integer): service_role EXECUTE',
  'function api.claim_idempotency_key(text,text): authenticated EXECUTE',
  'function api.claim_operator_idempotency_key(text,text): authenticated EXECUTE',
  'function api.claim_payout_to_send(text,bigint): service_role EXECUTE',
  'function api.claim_push_deliveries(integer,integer): service_role EXECUTE',
  'function api.claim_webhook_deliveries(integer,integer): service_role EXECUTE',
  'function api.clear_key_policy(text): authenticated EXECUTE',
  'function api.count_agent_tasks(text,integer): authenticated EXECUTE',
  'function api.count_open_tasks(double precision,double precision,double precision,text,text,bigint,integer): authenticated EXECUTE',
  'function api.create_api_key(text,text,text,text[],timestamp with time zone): authenticated EXECUTE',
  'function api.create_owner_link_code(text,timestamp with time zone): authenticated EXECUTE',
  'function api.create_task(text,text,text,text,text,double precision,double precision,text,bigint,timestamp with time zone,text[],text,text,text,text,text,integer): authenticated EXECUTE',
  'function api.credit_deposit(text,text,bigint,text,text,integer,text): service_role EXECUTE',
  'function api.current_agent_id(): authenticated EXECUTE',
  'function api.current_agent_id(): service_role EXECUTE',
  'function api.current_key_id(): authenticated EXECUTE',
  'function api.current_key_id(): service_role EXECUTE',
  'function api.current_operator_id(): authenticated EXECUTE',
  'function api.current_operator_id(): service_role EXECUTE',
  'function api.current_verified_operator_id(): authenticated EXECUTE',
  'function api.decide_task_approval(text,text): authenticated EXECUTE',
  'function api.delete_owner_push_subscription(text): authenticated EXECUTE',
  'function api.delete_push_subscription(text): authenticated EXECUTE',
  'function api.distance_km(double precision,double precision,double precision,double precision): authenticated EXECUTE',
  'function api.distance_km(double precision,double precision,double precision,double precision): service_role EXECUTE',
  'function api.expire_overdue_tasks(integer): service_role EXECUTE',
  'function api.expire_unapproved_tasks(integer): service_role EXECUTE',
  'function api.fail_guardian_job(bigint,text,integer,integer): service_role EXECUTE',
  'function api.fail_next_webhooks(text,integer): service_role EXECUTE',
  'function api.fan_out_new_tasks(integer,integer): service_role EXECUTE',
  'function api.fee_tier(): authenticated EXECUTE',
  'function api.hit_rate_limit(text,integer): service_role EXECUTE',
  'function api.issue_payout_address_challenge(): authenticated EXECUTE',
  'function api.ledger_invariants(): service_role EXECUTE',
  'function api.my_requester_record(): authenticated EXECUTE',
  'function api.note_payout_wallet(text,text): service_role EXECUTE',
  'function api.note_webhook_receiver(text,boolean): service_role EXECUTE',
  'function api.operator_push_settings(): authenticated EXECUTE',
  'function api.operator_task_messages(text): authenticated EXECUTE',
  'function api.operator_thread_access(text): authenticated EXECUTE',
  'function api.owned_agents(): authenticated EXECUTE',
  'function api.owner_push_subscriptions(): authenticated EXECUTE',
  'function api.payouts_in_flight(integer): service_role EXECUTE',
  'function api.post_task(text,text,integer,text[],text,text,text,text,text,text,text,double precision,double precision,text,bigint,timestamp with time zone,text[],text,text,text,text,text,text,integer,integer): service_role EXECUTE',
  'function api.post_tasks(jsonb): service_role EXECUTE',
  'function api.rate_requester(text,integer,text): authenticated EXECUTE',
  'function api.rate_task(text,integer,text): authenticated EXECUTE',
  'function api.record_deposit_address(text,text): service_role EXECUTE',
  'function api.record_photo_facts(text,text,text,real,text): service_role EXECUTE',
  'function api.record_proof_file(text,text,text,bigint): authenticated EXECUTE',
  'function api.record_proof_fingerprints(text,jsonb,integer,double precision): service_role EXECUTE',
  'function api.record_push_delivery(bigint,uuid,text,integer,text,boolean): service_role EXECUTE',
  'function api.record_signed_payout(text,text,bigint,text,text,text): service_role EXECUTE',
  'function api.record_webhook_attempt(text,uuid,boolean,integer,text,integer): service_role EXECUTE',
  'function api.redeem_owner_link_code(text): authenticated EXECUTE',
  'function api.register_agent(text,text,text,text,text,text): service_role EXECUTE',
  'function api.register_operator(text,text,text,text,text,text,double precision,double precision,text[],text,integer): service_role EXECUTE',
  'function api.release_earnings(interval,integer,text): service_role EXECUTE',
  'function api.release_task(text): authenticated EXECUTE',
  'function api.release_unstarted_tasks(interval,interval,integer): service_role EXECUTE',
  'function api.request_payout(text,bigint,text,text,bigint): service_role EXECUTE',
  'function api.requester_records(text[]): authenticated EXECUTE',
  'function api.resend_webhook(text): authenticated EXECUTE',
  'function api.resolve_dispute(text,text,bigint,text): service_role EXECUTE',
  'function api.resubmit_task(text,jsonb,text[]): authenticated EXECUTE',
  'function api.revoke_api_key(text): authenticated EXECUTE',
  'function api.run_maintenance(): service_role EXECUTE',
  'function api.sandbox_expire_task(text): service_role EXECUTE',
  'function api.save_owner_push_subscription(text,text,text): authenticated EXECUTE',
  'function api.save_push_subscription(text,text,text): authenticated EXECUTE',
  'function api.search_operators(double precision,double precision,double precision,text,numeric,integer): authenticated EXECUTE',
  'function api.send_agent_message(text,text,text,boolean): authenticated EXECUTE',
  'function api.send_operator_message(text,text): authenticated EXECUTE',
  'function api.set_operator_kyc(text,text): service_role EXECUTE',
  'function api.set_payout_address(text,text,text,integer): service_role EXECUTE',
  'function api.set_push_preferences(boolean,double precision,bigint,boolean,boolean): authenticated EXECUTE',
  'function api.set_spending_policy(text,text[],bigint,bigint,bigint,text[],jsonb,boolean,bigint): authenticated EXECUTE',
  'function api.settle_confirmed_disputes(integer): service_role EXECUTE',
  'function api.settle_payout(text,text,text): service_role EXECUTE',
  'function api.spending_usage(): authenticated EXECUTE',
  'function api.start_task(text): authenticated EXECUTE',
  'function api.store_idempotent_response(text,integer,jsonb): authenticated EXECUTE',
  'function api.store_operator_idempotent_response(text,integer,jsonb): authenticated EXECUTE',
  'function api.submit_task(text,jsonb,text[]): authenticated EXECUTE',
  'function api.sweep_unbound_proof_files(interval,integer): service_role EXECUTE',
  'function api.task_operator(text): authenticated EXECUTE',
  'function api.unlink_owner(text): authenticated EXECUTE',
  'function api.update_operator(jsonb): authenticated EXECUTE',
  'function api.verify_ledger(): service_role EXECUTE',
  'function api.verify_ledger_incremental(): service_role EXECUTE',
  'function api.verify_task(text,text,text): authenticated EXECUTE',
  'schema api: authenticated USAGE',
  'schema api: service_role USAGE',
  'table public.agent_spend_daily: service_role SELECT',
  'table public.agents: authenticated SELECT',
  'table public.agents: service_role SELECT',
  'table public.api_keys: service_role SELECT',
  'table public.deposit_addresses: service_role SELECT',
  'table public.deposits: authenticated SELECT',
  'table public.deposits: service_role SELECT',
  'table public.guardian_jobs: service_role SELECT',
  'table public.idempotency_keys: service_role SELECT',
  'table public.ledger_accounts: authenticated SELECT',
  'table public.ledger_accounts: service_role SELECT',
  'table public.ledger_checks: service_role SELECT',
  'table public.ledger_entries: authenticated SELECT',
  'table public.ledger_entries: service_role SELECT',
  'table public.ledger_postings: authenticated SELECT',
  'table public.ledger_postings: service_role SELECT',
  'table public.operators: authenticated SELECT',
  'table public.operators: service_role SELECT',
  'table public.owner_link_codes: service_role SELECT',
  'table public.owner_links: service_role SELECT',
  'table public.payout_address_challenges: authenticated SELECT',
  'table public.payout_address_challenges: service_role SELECT',
  'table public.payout_wallets: service_role SELECT',
  'table public.payouts: authenticated SELECT',
  'table public.payouts: service_role SELECT',
  'table public.proof_files: authenticated SELECT',
  'table public.proof_files: service_role SELECT',
  'table public.proof_fingerprints: service_role SELECT',
  'table public.push_outbox: service_role SELECT',
  'table public.push_preferences: authenticated SELECT',
  'table public.push_preferences: service_role SELECT',
  'table public.push_subscriptions: authenticated SELECT',
  'table public.push_subscriptions: service_role SELECT',
  'table public.push_task_fanouts: service_role SELECT',
  'table public.rate_limits: service_role SELECT',
  'table public.requester_ratings: authenticated SELECT',
  'table public.requester_ratings: service_role SELECT',
  'table public.requester_stats: service_role SELECT',
  'table public.spending_policies: authenticated SELECT',
  'table public.spending_policies: service_role SELECT',
  'table public.task_callbacks: service_role SELECT',
  'table public.task_events: authenticated SELECT',
  'table public.task_events: service_role SELECT',
  'table public.task_messages: authenticated SELECT',
  'table public.task_messages: service_role SELECT',
  'table public.task_ratings: authenticated SELECT',
  'table public.task_ratings: service_role SELECT',
  'table public.task_statuses: anon SELECT',
  'table public.task_statuses: authenticated SELECT',
  'table public.task_statuses: service_role SELECT',
  'table public.task_transitions: anon SELECT',
  'table public.task_transitions: authenticated SELECT',
  'table public.task_transitions: service_role SELECT',
  'table public.tasks: authenticated SELECT',
  'table public.tasks: service_role SELECT',
  'table public.webhook_deliveries: authenticated SELECT',
  'table public.webhook_deliveries: service_role SELECT',
  'table public.webhook_receivers: service_role SELECT',
  'view public.open_tasks: authenticated SELECT',
];
