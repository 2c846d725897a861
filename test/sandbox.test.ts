// The sandbox: an agent drives its own task through the lifecycle in test mode, without a human.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent('sandboxer');
  await stack.deposit(agent, 1000);
});
afterAll(() => stack?.stop());

const simulate = (id: string, body: unknown, key = agent.key) => stack.call('POST', `/sandbox/tasks/${id}/simulate`, { key, body });
const detail = (id: string) => stack.call('GET', `/tasks/${id}`, { key: agent.key }).then((r) => r.body);

describe('POST /sandbox/tasks/:id/simulate', () => {
  it('accept, then submit with a forced approval: completed and paid through the real ledger', async () => {
    const id = (await stack.createTask(agent)).body.task_id;
    const accepted = await simulate(id, { action: 'accept' });
    expect(accepted.body).toEqual({ task_id: id, action: 'accept', status: 'ACCEPTED', mode: 'test' });
    expect((await detail(id)).operator).toMatchObject({ id: 'sandbox_operator' });
    const submitted = await simulate(id, { action: 'submit', verdict: { decision: 'APPROVE', confidence: 95 } });
    expect(submitted.body.status).toBe('COMPLETED');
    const task = await detail(id);
    expect(task.guardian_result).toMatchObject({ decision: 'APPROVE', confidence: 95, model: 'sandbox' });
    expect(task.proof.photos).toHaveLength(1);
    expect((await fetch(task.proof.photos[0])).status).toBe(200);
    expect(await stack.sql`select kind from ledger_entries where task_id = ${id} order by id`).toEqual([{ kind: 'task_escrow' }, { kind: 'task_settlement' }]);
  });

  it.each([['MANUAL_REVIEW', 70, 'MANUAL_REVIEW'], ['REJECT', 20, 'DISPUTED']])('a forced %s verdict leaves the task %s', async (decision, confidence, status) => {
    const id = (await stack.createTask(agent)).body.task_id;
    await simulate(id, { action: 'accept' });
    expect((await simulate(id, { action: 'submit', verdict: { decision, confidence } })).body.status).toBe(status);
  });

  it('submit without a verdict leaves the proof to the real Guardian, which judges it on the next tick', async () => {
    const id = (await stack.createTask(agent, { task_type: 'CONTENT_REVIEW', reward_usd: 20, location: undefined, proof_requirements: ['Written assessment'] })).body.task_id;
    await simulate(id, { action: 'accept' });
    expect((await simulate(id, { action: 'submit' })).body.status).toBe('SUBMITTED');
    await stack.tick();
    expect((await detail(id)).status).toBe('MANUAL_REVIEW');
  });

  it('each sandbox photo proof is a file of its own: the Guardian sends them to review, never refutes a later one as reused', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const id = (await stack.createTask(agent)).body.task_id;
      await simulate(id, { action: 'accept' });
      expect((await simulate(id, { action: 'submit' })).body.status).toBe('SUBMITTED');
      ids.push(id);
    }
    await stack.tick();
    for (const id of ids) expect((await detail(id)).status).toBe('MANUAL_REVIEW');
    const files = await stack.sql`select distinct encode(sha256, 'hex') as sha256 from proof_files where task_id = any(${ids}::text[])`;
    expect(files).toHaveLength(2);
  });

  it('expire refunds the escrow like a real deadline', async () => {
    const id = (await stack.createTask(agent)).body.task_id;
    const before = (await stack.call('GET', '/agents/balance', { key: agent.key })).body;
    expect((await simulate(id, { action: 'expire' })).body.status).toBe('EXPIRED');
    const after = (await stack.call('GET', '/agents/balance', { key: agent.key })).body;
    expect(after.deposit_balance).toBe(before.deposit_balance + 29.5);
    expect((await simulate(id, { action: 'expire' })).status).toBe(409);
  });

  it('refuses out-of-order actions, unknown actions, and other agents', async () => {
    const id = (await stack.createTask(agent)).body.task_id;
    expect((await simulate(id, { action: 'submit' })).body.code).toBe('not_sandbox_task');
    expect((await simulate(id, { action: 'dance' })).status).toBe(400);
    expect((await simulate(id, { action: 'submit', verdict: { decision: 'APPROVE', confidence: 101 } })).status).toBe(400);
    const stranger = await stack.registerAgent('stranger');
    expect((await simulate(id, { action: 'accept' }, stranger.key)).status).toBe(404);
    expect((await stack.call('POST', `/sandbox/tasks/${id}/simulate`, { body: { action: 'accept' } })).status).toBe(401);
  });
});

describe('the sandbox in live mode', () => {
  let live: Stack;
  beforeAll(async () => {
    live = await startStack({ env: { HUMANOPS_MODE: 'live', HUMANOPS_ADMIN_KEY: 'admin-key-for-tests-0123456789' } });
  });
  afterAll(() => live?.stop());

  it('does not exist', async () => {
    const reply = await live.call('POST', '/sandbox/tasks/task_0123/simulate', { body: { action: 'accept' } });
    expect(reply.status).toBe(404);
    expect(reply.body.code).toBe('route_not_found');
  });
});
