// Row-level security, tested as each role the way the API (and Supabase's PostgREST) runs SQL:
// `authenticated` or `anon` with the caller's claims set in the transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
let alice: Agent;
let bob: Agent;
beforeAll(async () => {
  stack = await startStack();
  alice = await stack.registerAgent('alice');
  bob = await stack.registerAgent('bob');
  for (const agent of [alice, bob]) {
    await stack.deposit(agent, 100);
    await stack.createTask(agent);
    await stack.call('POST', '/agents/keys', { key: agent.key });
  }
});
afterAll(() => stack?.stop());

type Claims = Record<string, unknown> | null;
const asAgent = (agent: Agent): Claims => ({ sub: agent.id, role: 'authenticated', humanops_role: 'agent' });

/** Runs `query` as `role` with `claims`, rolled back afterwards; returns its rows or its error. */
async function as(role: string, claims: Claims, query: string, params: unknown[] = []) {
  let result: { rows?: Record<string, unknown>[]; error?: { code: string; message: string } } = {};
  await stack.sql
    .begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${claims ? JSON.stringify(claims) : ''}, true), set_config('role', ${role}, true)`;
      try {
        result = { rows: [...(await tx.unsafe(query, params as never[]))] };
      } catch (error) {
        result = { error: error as { code: string; message: string } };
      }
      throw new Error('rollback');
    })
    .catch(() => {});
  return result;
}

const agentTables = ['agents', 'api_keys', 'tasks', 'task_events', 'deposits', 'ledger_accounts', 'ledger_entries', 'ledger_postings'];
const hiddenTables = ['idempotency_keys', 'rate_limits', 'agent_spend_daily'];

describe('row-level security', () => {
  it('is enabled on every table in public', async () => {
    const unprotected = await stack.sql`
      select relname from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p') and not relrowsecurity`;
    expect(unprotected).toEqual([]);
  });

  it('anon reads nothing but the task state machine', async () => {
    for (const table of [...agentTables, ...hiddenTables]) {
      const { error } = await as('anon', null, `select count(*) from public.${table}`);
      expect(error?.code, table).toBe('42501');
    }
    const { rows } = await as('anon', null, 'select count(*)::int as n from public.task_transitions');
    expect(rows![0].n).toBeGreaterThan(10);
  });

  it('an agent sees exactly its own rows in every table', async () => {
    const own = {
      agents: `select id as owner from public.agents`,
      api_keys: `select agent_id as owner from public.api_keys`,
      tasks: `select agent_id as owner from public.tasks`,
      task_events: `select t.agent_id as owner from public.task_events e join public.tasks t on t.id = e.task_id`,
      deposits: `select agent_id as owner from public.deposits`,
      ledger_accounts: `select agent_id as owner from public.ledger_accounts`,
      ledger_entries: `select agent_id as owner from public.ledger_entries`,
      ledger_postings: `select a.agent_id as owner from public.ledger_postings p join public.ledger_accounts a on a.id = p.account_id`,
    };
    for (const agent of [alice, bob]) {
      for (const [table, query] of Object.entries(own)) {
        const { rows, error } = await as('authenticated', asAgent(agent), query);
        expect(error, table).toBeUndefined();
        expect(rows!.length, table).toBeGreaterThan(0);
        expect(new Set(rows!.map((r) => r.owner)), table).toEqual(new Set([agent.id]));
      }
    }
  });

  it('the ledger visible to an agent is exactly its own accounts', async () => {
    const { rows } = await as('authenticated', asAgent(alice), 'select kind, agent_id from public.ledger_accounts order by id');
    expect(rows).toEqual([
      { kind: 'agent_deposit', agent_id: alice.id },
      { kind: 'agent_escrow', agent_id: alice.id },
    ]);
  });

  it('an authenticated caller that is not a registered operator (any signed-up identity) reads no task at all', async () => {
    // The attack as found: any token with a `sub` read every open task's every column from public.tasks.
    for (const claims of [{ sub: 'user_2abc', role: 'authenticated' }, { sub: alice.id, role: 'authenticated' }]) {
      for (const table of agentTables.concat('task_callbacks', 'open_tasks')) {
        const { rows } = await as('authenticated', claims, `select count(*)::int as n from public.${table}`);
        expect(rows![0].n, table).toBe(0);
      }
    }
  });

  it('a verified operator reads open tasks through open_tasks only, without the agent\'s details; a pending one reads none', async () => {
    const operator = await stack.registerOperator();
    const claims = { sub: operator.id, role: 'authenticated' };
    expect((await as('authenticated', claims, 'select count(*)::int as n from public.tasks')).rows![0].n).toBe(0);
    const { rows } = await as('authenticated', claims, 'select * from public.open_tasks');
    expect(rows!.length).toBe(2);
    for (const row of rows!) {
      expect(row).not.toHaveProperty('agent_id');
      expect(row).toMatchObject({ status: 'PENDING', operator_id: null, digital_instructions: null, agent_public_key: null });
    }
    await stack.sql`update operators set kyc_status = 'PENDING' where id = ${operator.id}`;
    expect((await as('authenticated', claims, 'select count(*)::int as n from public.open_tasks')).rows![0].n).toBe(0);
    expect((await as('anon', null, 'select count(*) from public.open_tasks')).error?.code).toBe('42501');
  });

  it('keeps key hashes and callback secrets out of reach', async () => {
    for (const query of ['select key_hash from public.api_keys', 'select * from public.api_keys', 'select secret from public.task_callbacks']) {
      const { error } = await as('authenticated', asAgent(alice), query);
      expect(error?.code, query).toBe('42501');
    }
  });

  it('clients cannot write any table directly, only through the functions', async () => {
    const writes = [
      `insert into public.agents (name, email, mode) values ('x', 'x@example.com', 'test')`,
      `update public.ledger_accounts set balance = balance + 100000`,
      `update public.tasks set status = 'COMPLETED'`,
      `delete from public.api_keys`,
      `insert into public.deposits (agent_id, method, amount_cents, status) values ('${alice.id}', 'fiat', 100000, 'completed')`,
      `insert into public.idempotency_keys (agent_id, key, request_hash) values ('${alice.id}', 'k', 'h')`,
    ];
    for (const role of ['anon', 'authenticated']) {
      for (const query of writes) {
        const { error } = await as(role, role === 'anon' ? null : asAgent(alice), query);
        expect(error?.code, `${role}: ${query}`).toBe('42501');
      }
    }
  });

  it('agents cannot call the trusted functions, and anon can call none', async () => {
    const trusted = [
      `select api.credit_deposit('${alice.id}', 'fiat', 100000)`,
      `select api.register_agent('x', 'x@example.com', null, 'test', repeat('a', 64), 'ho_test_x..')`,
      `select api.authenticate_agent(repeat('a', 64))`,
      `select api.verify_ledger()`,
      `select private.post_entry('deposit', array[1, 2]::bigint[], array[-1, 1]::bigint[])`,
    ];
    for (const query of trusted) {
      const { error } = await as('authenticated', asAgent(alice), query);
      expect(error?.code, query).toBe('42501');
    }
    const { error } = await as('anon', null, `select api.cancel_task('task_x')`);
    expect(error?.code).toBe('42501');
  });

  it('money functions act only for the agent in the claims', async () => {
    const { error } = await as('authenticated', { sub: 'nobody', role: 'authenticated' }, `select api.cancel_task('task_x')`);
    expect(error).toMatchObject({ code: 'HO401' });
    const [bobTask] = await stack.sql`select id from tasks where agent_id = ${bob.id}`;
    const stolen = await as('authenticated', asAgent(alice), `select * from api.cancel_task($1)`, [bobTask.id]);
    expect(stolen.error).toMatchObject({ code: 'HO404' });
  });

  it('service_role reads everything, as on Supabase', async () => {
    const { rows } = await as('service_role', { role: 'service_role' }, 'select count(distinct agent_id)::int as n from public.tasks');
    expect(rows![0].n).toBe(2);
  });
});
