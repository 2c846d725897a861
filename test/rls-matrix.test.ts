// Row-level security as every role on every table: anon, an agent, another agent, an operator,
// another operator and service_role, each reading and writing every table and view in `public`
// (found in the catalog, so a new table without a row in SPECS fails here). What a role reads must
// be exactly the rows it owns; nobody but the SQL functions writes. And agent claims cannot use
// the operator's functions directly in SQL, nor operator claims the agent's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeJpeg } from './helpers/images.ts';
import { vapidEnv, vapidKeys } from './helpers/push-service.ts';
import { type Agent, type Operator, operatorToken, physicalTask, type Stack, startStack } from './helpers/stack.ts';

/**
 * Per table: a row's identity, and which rows an agent (`$ID` = its id) or an operator may read.
 * `from` computes the expectation from another relation (a view's rows as its caller would see them).
 */
interface Spec {
  key: string;
  agent?: string;
  operator?: string;
  everyone?: boolean;
  from?: string;
}
const ofTask = (who: 'agent_id' | 'operator_id') => `exists (select from public.tasks x where x.id = t.task_id and x.${who} = $ID)`;
const ofAccount = (who: 'agent_id' | 'operator_id') => `t.account_id in (select a.id from public.ledger_accounts a where a.${who} = $ID)`;
const SPECS: Record<string, Spec> = {
  agents: { key: 't.id', agent: 't.id = $ID' },
  api_keys: { key: 't.id', agent: 't.agent_id = $ID' },
  task_statuses: { key: 't.status', everyone: true },
  task_transitions: { key: "t.from_status || '>' || t.to_status", everyone: true },
  tasks: { key: 't.id', agent: 't.agent_id = $ID', operator: 't.operator_id = $ID' },
  task_callbacks: { key: 't.task_id', agent: 't.agent_id = $ID' },
  task_events: { key: 't.id', agent: ofTask('agent_id'), operator: ofTask('operator_id') },
  deposits: { key: 't.id', agent: 't.agent_id = $ID' },
  idempotency_keys: { key: "coalesce('agent ' || t.agent_id, 'operator ' || t.operator_id) || '/' || t.key" },
  rate_limits: { key: "t.bucket || '@' || t.window_start" },
  agent_spend_daily: { key: "t.agent_id || '@' || t.day" },
  ledger_accounts: { key: 't.id', agent: 't.agent_id = $ID', operator: 't.operator_id = $ID' },
  ledger_entries: { key: 't.id', agent: 't.agent_id = $ID', operator: 't.operator_id = $ID' },
  ledger_postings: { key: 't.id', agent: ofAccount('agent_id'), operator: ofAccount('operator_id') },
  operators: { key: 't.id', operator: 't.id = $ID' },
  proof_files: { key: 't.path', operator: 't.operator_id = $ID' },
  guardian_jobs: { key: 't.id' },
  proof_fingerprints: { key: "t.task_id || '#' || t.photo_number" },
  payouts: { key: 't.id', operator: 't.operator_id = $ID' },
  payout_address_challenges: { key: 't.operator_id', operator: 't.operator_id = $ID' },
  payout_wallets: { key: 't.address' },
  deposit_addresses: { key: 't.address' },
  task_ratings: { key: 't.task_id', agent: 't.agent_id = $ID', operator: 't.operator_id = $ID' },
  // An operator reads the ratings it gave; agents see theirs only as a mean (GET /agents/me).
  requester_ratings: { key: 't.task_id', operator: 't.operator_id = $ID' },
  webhook_deliveries: { key: 't.id', agent: 't.agent_id = $ID' },
  push_subscriptions: { key: 't.id', operator: 't.recipient_id = $ID' },
  push_preferences: { key: 't.operator_id', operator: 't.operator_id = $ID' },
  push_outbox: { key: 't.id' },
  push_task_fanouts: { key: 't.task_id' },
  // Counts the operators' reads keep a minute (api.requester_records); nobody reads the table.
  requester_stats: { key: 't.agent_id' },
  // An operator reads its own conversations, and the public answers on tasks still open to all.
  task_messages: {
    key: 't.id', agent: 't.agent_id = $ID',
    operator: "t.operator_id = $ID or (t.visibility = 'public' and exists (select from public.tasks x where x.id = t.task_id and x.status = 'PENDING' and x.operator_id is null and x.deadline > now()))",
  },
  spending_policies: { key: 't.id', agent: 't.agent_id = $ID' },
  webhook_receivers: { key: 't.receiver' },
  ledger_checks: { key: 't.id' },
  // Read only through api.owned_agents / api.agent_owners; the link itself is what
  // api.current_agent_id checks for an owner session.
  owner_links: { key: "t.owner_id || '>' || t.agent_id" },
  owner_link_codes: { key: 't.code_hash' },
  // Verified operators read open tasks (PENDING, unclaimed, before their deadline) through this view.
  open_tasks: { key: 't.id', from: 'public.tasks', operator: "t.status = 'PENDING' and t.operator_id is null and t.deadline > now()" },
};

let stack: Stack;
let alice: Agent;
let bob: Agent;
let xavier: Operator;
let yvonne: Operator;
type Role = { name: string; role: string; claims: Record<string, unknown> | null; agent?: string; operator?: string };
let roles: Role[];

beforeAll(async () => {
  stack = await startStack({ env: { EARNINGS_HOLD_SECONDS: '0', RATE_LIMIT_PER_MINUTE: '1000000', ...vapidEnv() } });
  alice = await stack.registerAgent('alice');
  bob = await stack.registerAgent('bob');
  xavier = await stack.registerOperator();
  yvonne = await stack.registerOperator();
  // Push: each operator subscribes and sets preferences; the tick fans the open tasks out to both.
  for (const operator of [xavier, yvonne]) {
    const keys = { p256dh: vapidKeys().publicKey, auth: 'AAAAAAAAAAAAAAAAAAAAAA' };
    const subscribed = await stack.call('POST', '/operator/push-subscriptions', { headers: operator.auth, body: { endpoint: `https://push.example.test/push/${operator.id}`, keys } });
    expect(subscribed.status).toBe(201);
    expect((await stack.call('PUT', '/operator/push/preferences', { headers: operator.auth, body: { radius_km: 50 } })).status).toBe(200);
  }
  const digital = { task_type: 'CONTENT_REVIEW', reward_usd: 20, location: undefined, proof_requirements: ['Written assessment'] };
  // Every table gets rows of both agents and both operators: tasks open, held, completed, rated and
  // paid out; proof files, one judged by the Guardian; webhook deliveries; idempotency keys of both.
  for (const [agent, operator] of [[alice, xavier], [bob, yvonne]] as const) {
    await stack.deposit(agent, 500);
    expect((await stack.call('GET', '/agents/deposit/address', { key: agent.key })).status).toBe(200);
    expect((await stack.call('GET', '/operator/payout-address/challenge', { headers: operator.auth })).status).toBe(200);
    expect((await stack.call('PUT', '/agents/policy', { key: agent.key, body: { max_reward_usd: 1000 } })).status).toBe(200);
    const open = (await stack.createTask(agent, {}, { 'idempotency-key': `open-${agent.id}` })).body.task_id;
    const held = (await stack.createTask(agent, { callback_url: 'http://127.0.0.1:9/hook' })).body.task_id;
    // Threads: a private question and its answer, a public note, and the holder's conversation.
    const question = await stack.call('POST', `/operator/tasks/${open}/messages`, { headers: operator.auth, body: { text: 'Which door?' } });
    await stack.call('POST', `/tasks/${open}/messages`, { key: agent.key, body: { text: 'The front one.', reply_to: question.body.message_id } });
    await stack.call('POST', `/tasks/${open}/messages`, { key: agent.key, body: { text: 'Open until 6 pm.', visibility: 'public' } });
    expect((await stack.call('GET', `/operator/tasks/${open}`, { headers: operator.auth })).body.requester).toBeDefined(); // counts its requester
    await stack.call('POST', `/operator/tasks/${held}/accept`, { headers: operator.auth });
    expect((await stack.call('POST', `/operator/tasks/${held}/messages`, { headers: operator.auth, body: { text: 'On my way' } })).status).toBe(201);
    expect((await stack.upload(operator, held, makeJpeg())).status).toBe(201);
    const judged = (await stack.createTask(agent)).body.task_id; // the tick's Guardian fingerprints its photo
    await stack.call('POST', `/operator/tasks/${judged}/accept`, { headers: operator.auth });
    const photo = await stack.upload(operator, judged, makeJpeg({ scene: agent === alice ? 1 : 2 }));
    expect((await stack.call('POST', `/operator/tasks/${judged}/submit`, { headers: operator.auth, body: { photos: [photo.body.path] } })).status).toBe(200);
    const done = (await stack.createTask(agent, digital)).body.task_id;
    await stack.call('POST', `/operator/tasks/${done}/accept`, { headers: operator.auth });
    await stack.call('POST', `/operator/tasks/${done}/submit`, { headers: operator.auth, body: { confirmation_text: 'Reviewed' } });
    expect((await stack.call('POST', `/tasks/${done}/verify`, { key: agent.key, body: { decision: 'APPROVE' } })).status).toBe(200);
    expect((await stack.call('POST', `/tasks/${done}/rate`, { key: agent.key, body: { rating: 5 } })).status).toBe(201);
    expect((await stack.call('POST', `/operator/tasks/${done}/rate`, { headers: operator.auth, body: { rating: 4 } })).status).toBe(201);
  }
  await stack.tick(); // releases earnings (no hold here), queues and tries the webhooks
  for (const operator of [xavier, yvonne]) {
    const headers = { ...operator.auth, 'idempotency-key': `payout-${operator.id}` };
    expect((await stack.call('POST', '/operator/payout', { headers, body: { amount_usd: 10 } })).status).toBe(200);
  }
  await stack.sql`select * from api.verify_ledger_incremental()`; // leaves its watermark in ledger_checks
  await stack.sql`select api.note_webhook_receiver('https://silent.example.com/hook', false)`; // a receiver that timed out
  await stack.sql`select api.note_payout_wallet(${`0x${'ab'.repeat(20)}`}, 'short of USDC')`; // a payout wallet the worker found dry
  // A person linked to alice (their code used) and a code of bob's waiting.
  const code = (await stack.call('POST', '/agents/owners/link-code', { key: alice.key })).body.code;
  const ownerAuth = { authorization: `Bearer ${await operatorToken('user_rls_owner')}` };
  expect((await stack.call('POST', '/owner/link', { headers: ownerAuth, body: { code } })).status).toBe(200);
  expect((await stack.call('POST', '/agents/owners/link-code', { key: bob.key })).status).toBe(201);
  roles = [
    { name: 'anon', role: 'anon', claims: null },
    { name: 'agent alice', role: 'authenticated', claims: { sub: alice.id, role: 'authenticated', humanops_role: 'agent' }, agent: alice.id },
    { name: 'agent bob', role: 'authenticated', claims: { sub: bob.id, role: 'authenticated', humanops_role: 'agent' }, agent: bob.id },
    { name: 'operator xavier', role: 'authenticated', claims: { sub: xavier.id, role: 'authenticated' }, operator: xavier.id },
    { name: 'operator yvonne', role: 'authenticated', claims: { sub: yvonne.id, role: 'authenticated' }, operator: yvonne.id },
    // An owner session reads what its linked agent reads, and nothing of an agent it is not linked to.
    { name: 'owner of alice', role: 'authenticated', claims: { sub: alice.id, role: 'authenticated', humanops_role: 'owner', humanops_owner: 'user_rls_owner' }, agent: alice.id },
    { name: 'owner of alice naming bob', role: 'authenticated', claims: { sub: bob.id, role: 'authenticated', humanops_role: 'owner', humanops_owner: 'user_rls_owner' } },
    { name: 'service_role', role: 'service_role', claims: { role: 'service_role' } },
  ];
});
afterAll(() => stack?.stop());

/** Runs `query` as a role with its claims, rolled back afterwards; its rows, or its error. */
async function as(role: Role, query: string, params: unknown[] = []) {
  let result: { rows?: Record<string, unknown>[]; error?: { code: string; message: string } } = {};
  await stack.sql
    .begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${role.claims ? JSON.stringify(role.claims) : ''}, true), set_config('role', ${role.role}, true)`;
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

const relations = () => stack.sql<{ name: string; kind: string }[]>`
  select relname as name, relkind as kind from pg_class
   where relnamespace = 'public'::regnamespace and relkind in ('r', 'p', 'v', 'm') order by relname`;

/** The keys `role` may read in `table`, computed as the owner from the spec. */
async function expectedKeys(table: string, spec: Spec, role: Role): Promise<string[]> {
  const from = spec.from ?? `public.${table}`;
  let predicate = 'false';
  if (role.role === 'service_role') predicate = spec.from ? 'false' : 'true';
  else if (spec.everyone) predicate = 'true';
  else if (role.agent && spec.agent) predicate = spec.agent.replaceAll('$ID', `'${role.agent}'`);
  else if (role.operator && spec.operator) predicate = spec.operator.replaceAll('$ID', `'${role.operator}'`);
  const rows = await stack.sql.unsafe(`select (${spec.key})::text as key from ${from} t where ${predicate}`);
  return rows.map((r) => r.key as string).sort();
}

describe('RLS as every role on every table', () => {
  it('every table and view in public has its row in this matrix, and holds rows to test', async () => {
    const names = (await relations()).map((r) => r.name);
    expect(names.filter((n) => !(n in SPECS)), 'tables without a spec here').toEqual([]);
    for (const name of names) {
      const source = SPECS[name].from ?? `public.${name}`;
      const [{ n }] = await stack.sql.unsafe(`select count(*)::int as n from ${source}`);
      expect(n, name).toBeGreaterThan(0);
    }
  });

  it('each role reads exactly the rows it owns, in every table', async () => {
    const seen: string[] = [];
    for (const { name: table } of await relations()) {
      const spec = SPECS[table];
      for (const role of roles) {
        const expected = await expectedKeys(table, spec, role);
        const { rows, error } = await as(role, `select (${spec.key})::text as key from public.${table} t`);
        // No grant at all reads as nothing; any other error is a failure.
        if (error) expect(error.code, `${role.name} reading ${table}: ${error.message}`).toBe('42501');
        const actual = (rows ?? []).map((r) => r.key as string).sort();
        expect(actual, `${role.name} reading ${table}`).toEqual(expected);
        if (actual.length > 0) seen.push(`${role.name}:${table}`);
      }
    }
    // Not vacuous: each agent and operator reads its own rows somewhere, and only they do.
    for (const role of roles.filter((r) => r.name !== 'anon' && r.name !== 'owner of alice naming bob')) expect(seen.some((s) => s.startsWith(`${role.name}:`)), role.name).toBe(true);
  });

  it('no role writes any table directly: insert, update and delete are refused', async () => {
    for (const { name: table } of await relations()) {
      const [{ column }] = await stack.sql`
        select column_name as column from information_schema.columns
         where table_schema = 'public' and table_name = ${table} and is_identity = 'NO' and is_generated = 'NEVER'
         order by ordinal_position limit 1`;
      for (const role of roles) {
        for (const statement of [
          `insert into public.${table} default values`,
          `update public.${table} set "${column}" = "${column}"`,
          `delete from public.${table}`,
        ]) {
          const { error } = await as(role, statement);
          expect(error?.code, `${role.name}: ${statement}`).toBe('42501');
        }
      }
    }
  });

  it("agent claims cannot call the operator's functions in SQL, nor operator claims the agent's", async () => {
    const [open] = await stack.sql`select id from tasks where agent_id = ${bob.id} and status = 'PENDING' limit 1`;
    const [held] = await stack.sql`select id from tasks where operator_id = ${xavier.id} and status = 'ACCEPTED' limit 1`;
    const [mine] = await stack.sql`select id from tasks where agent_id = ${alice.id} and status = 'PENDING' limit 1`;
    const operatorCalls = [
      `select api.accept_task('${open.id}')`,
      `select api.start_task('${held.id}')`,
      `select api.submit_task('${held.id}', '{}'::jsonb, '{}'::text[])`,
      `select api.resubmit_task('${held.id}', '{}'::jsonb, '{}'::text[])`,
      `select api.appeal_task('${held.id}', 'note')`,
      `select * from api.release_task('${held.id}')`,
      `select api.record_proof_file('${held.id}', 'x/y.jpg', 'image/jpeg', 10)`,
      `select api.claim_operator_idempotency_key('k', 'h')`,
      `select api.store_operator_idempotent_response('k', 200, '{}'::jsonb)`,
      `select api.send_operator_message('${open.id}', 'hello')`,
      `select * from api.operator_task_messages('${open.id}')`,
    ];
    const body = physicalTask();
    const agentCalls = [
      `select api.create_task('t', 'd', 'VERIFICATION', 'PHYSICAL', 'PHOTO', 40.7, -74.0, 'NY', 2500, now() + interval '1 day', array['${body.proof_requirements[0]}'])`,
      `select api.cancel_task('${mine.id}')`,
      `select api.verify_task('${mine.id}', 'APPROVE', null)`,
      `select api.rate_task('${mine.id}', 5, null)`,
      `select api.create_api_key('k', repeat('b', 64), 'ho_test_k..')`,
      `select api.claim_idempotency_key('k', 'h')`,
      `select api.store_idempotent_response('k', 200, '{}'::jsonb)`,
      `select * from api.agent_tasks(null, null, null, 20, 0)`,
      `select api.count_agent_tasks(null, 1000)`,
      `select api.send_agent_message('${mine.id}', 'hello', null, true)`,
      `select * from api.agent_task_messages('${mine.id}')`,
    ];
    const alices = roles.find((r) => r.name === 'agent alice')!;
    const xaviers = roles.find((r) => r.name === 'operator xavier')!;
    for (const call of operatorCalls) expect((await as(alices, call)).error, `agent: ${call}`).toMatchObject({ code: 'HO401' });
    for (const call of agentCalls) expect((await as(xaviers, call)).error, `operator: ${call}`).toMatchObject({ code: 'HO401' });
    // The agent's list bypasses row-level security (to read one index range) and applies the
    // agent policy's condition itself: alice sees all her tasks and none of bob's.
    const listed = (await as(alices, 'select id from api.agent_tasks(null, null, null, 1000, 0)')).rows.map((r: { id: string }) => r.id);
    const hers = (await stack.sql`select id from tasks where agent_id = ${alice.id}`).map((r) => r.id);
    expect(listed.length).toBeGreaterThan(0);
    expect([...listed].sort()).toEqual([...hers].sort());
    expect((await as(alices, 'select api.count_agent_tasks(null, 1000) as n')).rows).toEqual([{ n: String(hers.length) }]);
    // And with its own claims each still works, so the refusals above are about who calls.
    expect((await as(xaviers, `select id from api.accept_task('${open.id}')`)).rows).toEqual([{ id: open.id }]);
    expect((await as(alices, `select id from api.cancel_task('${mine.id}')`)).rows).toEqual([{ id: mine.id }]);
  });
});
