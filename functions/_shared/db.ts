/**
 * The API's way into Postgres. Each request's SQL runs in one transaction as the caller: the
 * `authenticated` role with the caller's claims set, exactly as Supabase's PostgREST does, so row-
 * level security decides what a request may see. Trusted steps (registration, crediting a verified
 * deposit) run as `service_role`.
 */
import postgres from 'postgres';
import { log } from './log.ts';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

/** What a key may do: `owner` manages keys, policies and approvals; `agent` posts and manages tasks; every key reads. */
export type Scope = 'owner' | 'agent' | 'read';

/**
 * The agent a request acts for and the key it came with (its policy and scopes apply in SQL), or
 * the signed-in owner acting for it (`ownerId`, no key: SQL checks the link on every statement).
 */
export interface AgentKey {
  id: string;
  keyId: string | null;
  scopes: Scope[];
  ownerId?: string;
}

export interface Db {
  sql: Sql;
  /**
   * Runs `work` in one transaction as the given agent, through the given key: the key's id and
   * scopes travel in the claims, so SQL applies that key's spending policy and scopes.
   */
  asAgent<T>(agent: AgentKey, work: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Runs `work` in one transaction as an operator: the claims a Clerk token carries on Supabase
   * (`sub`, `role: authenticated`), so RLS treats the API and supabase-js alike.
   */
  asOperator<T>(operatorId: string, work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs `work` in one transaction as a signed-in owner acting for no agent (linking, listing their agents). */
  asOwner<T>(ownerId: string, work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs `work` in one transaction as service_role. */
  asService<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

export interface DbOptions {
  poolSize: number;
  prepare: boolean;
  idleTimeoutSeconds: number;
  /**
   * Set on every transaction: Supabase's 8 s for `authenticated` is a role setting, which a role
   * taken with set_config('role') inside a transaction does not pick up.
   */
  statementTimeoutMs: number;
}

export function createDb(url: string, options: DbOptions): Db {
  const sql = postgres(url, {
    max: options.poolSize,
    prepare: options.prepare,
    idle_timeout: options.idleTimeoutSeconds,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: 'humanops-api' },
  });

  const run = <T>(role: string, claims: Record<string, unknown>, work: (tx: Tx) => Promise<T>) =>
    sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('role', ${role}, true),
                      set_config('statement_timeout', ${String(options.statementTimeoutMs)}, true)`;
      return work(tx);
    }) as Promise<T>;

  return {
    sql,
    asAgent: (agent, work) =>
      run('authenticated', agent.ownerId
        ? { sub: agent.id, role: 'authenticated', humanops_role: 'owner', humanops_owner: agent.ownerId }
        : { sub: agent.id, role: 'authenticated', humanops_role: 'agent', humanops_key: agent.keyId, humanops_scopes: agent.scopes },
      work),
    asOperator: (operatorId, work) => run('authenticated', { sub: operatorId, role: 'authenticated' }, work),
    asOwner: (ownerId, work) => run('authenticated', { sub: ownerId, role: 'authenticated', humanops_role: 'owner', humanops_owner: ownerId }, work),
    asService: (work) => run('service_role', { role: 'service_role' }, work),
    end: () => sql.end({ timeout: 5 }),
  };
}

/**
 * Runs one trusted step as service_role inside a caller's transaction (crediting a verified
 * deposit), then returns to the caller's role, so the step and the caller's writes commit together.
 */
export async function asServiceWithin<T>(tx: Tx, work: () => Promise<T>): Promise<T> {
  await tx`select set_config('role', 'service_role', true)`;
  const result = await work();
  await tx`select set_config('role', 'authenticated', true)`;
  return result;
}

/**
 * postgres.js (3.4.9) can throw from a timer after a connection drops (porsager/postgres#1154,
 * #1208): a write it scheduled with setImmediate runs once the socket is gone. The query it
 * belonged to has already been rejected with CONNECTION_CLOSED and its transaction rolled back, so
 * this one error is logged and the server lives on; without this, Postgres restarting took the
 * whole API down with every request in flight. Any other uncaught error still ends the process.
 */
export function surviveDroppedConnections(): void {
  globalThis.addEventListener('error', (event) => {
    const error = (event as ErrorEvent).error;
    if (error instanceof TypeError && error.message.includes("reading 'write'") && /postgres\/src\/connection\.js/.test(error.stack ?? '')) {
      event.preventDefault();
      log('warn', 'database connection dropped before a write', { error: error.message });
    }
  });
}
