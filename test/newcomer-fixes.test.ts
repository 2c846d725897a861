// What a newcomer trying the reference's examples ran into: disputes the agent can settle, fields
// the reference shows, uploads without task_id, webhooks in order, and status codes.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeJpeg } from './helpers/images.ts';
import { type Agent, type Operator, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent('newcomer');
  await stack.deposit(agent, 2_000);
});
afterAll(() => stack?.stop());

const post = (operator: Operator, path: string, body?: unknown) => stack.call('POST', path, { headers: operator.auth, body });
const balance = async () => (await stack.call('GET', '/agents/balance', { key: agent.key })).body.deposit_balance as number;
const verify = (taskId: string, decision: 'APPROVE' | 'REJECT') =>
  stack.call('POST', `/tasks/${taskId}/verify`, { key: agent.key, body: decision === 'REJECT' ? { decision, reason: 'The sign is not in the photo.' } : { decision } });

/** A physical task accepted by `operator` and submitted with a photo taken 50 km away: the Guardian disputes it. */
async function disputedByGuardian(operator: Operator) {
  const taskId = (await stack.createTask(agent)).body.task_id as string;
  expect((await post(operator, `/operator/tasks/${taskId}/accept`)).status).toBe(200);
  const photo = await stack.upload(operator, taskId, makeJpeg({ lat: 41.2, lng: -74.006 }));
  expect((await post(operator, `/operator/tasks/${taskId}/submit`, { photos: [photo.body.path] })).status).toBe(200);
  await stack.tick();
  const task = await stack.call('GET', `/tasks/${taskId}`, { key: agent.key });
  expect(task.body.status).toBe('DISPUTED');
  return taskId;
}

describe('disputes the agent can settle', () => {
  it('the agent approves a task the Guardian disputed: COMPLETED, the operator paid, verified_at stamped', async () => {
    const operator = await stack.registerOperator();
    const taskId = await disputedByGuardian(operator);
    const approved = await verify(taskId, 'APPROVE');
    expect(approved.body).toMatchObject({ task_id: taskId, status: 'COMPLETED' });
    const task = (await stack.call('GET', `/tasks/${taskId}`, { key: agent.key })).body;
    expect(task.verified_at).toEqual(expect.any(String));
    const earnings = (await stack.call('GET', '/operator/earnings', { headers: operator.auth })).body;
    expect(earnings.total_earned).toBe(25);
    const [row] = await stack.sql`select dispute_resolution from tasks where id = ${taskId}`;
    expect(row.dispute_resolution).toMatchObject({ resolution: 'pay', by: 'agent' });
  });

  it('the agent confirms a Guardian dispute with REJECT: its reason is kept while the operator may resubmit, then reward and fee come back, CANCELLED', async () => {
    const operator = await stack.registerOperator();
    const taskId = await disputedByGuardian(operator);
    const before = await balance();
    const recorded = await verify(taskId, 'REJECT');
    expect(recorded.body).toMatchObject({ task_id: taskId, status: 'DISPUTED' });
    expect(await balance()).toBe(before);
    const seen = (await stack.call('GET', `/operator/tasks/${taskId}`, { headers: operator.auth })).body;
    expect(seen.review.rejections.map((r: { by: string }) => r.by)).toEqual(['guardian', 'agent']);
    expect(seen.review.can_resubmit).toBe(true);
    // The deadline passes without new proof: the second chance is gone, and REJECT settles.
    await stack.sql`update tasks set deadline = now() - interval '1 second' where id = ${taskId}`;
    const rejected = await verify(taskId, 'REJECT');
    expect(rejected.body).toMatchObject({ task_id: taskId, status: 'CANCELLED', message: expect.stringContaining('refunded') });
    expect(await balance()).toBe(before + 29.5);
    expect((await verify(taskId, 'REJECT')).status).toBe(409);
    expect(await stack.sql`select * from api.verify_ledger()`).toEqual([]);
  });

  it('a dispute the agent raised itself is the admin\'s to settle; the agent may still approve after all', async () => {
    const operator = await stack.registerOperator();
    const taskId = (await stack.createTask(agent)).body.task_id as string;
    await post(operator, `/operator/tasks/${taskId}/accept`);
    const photo = await stack.upload(operator, taskId, makeJpeg());
    await post(operator, `/operator/tasks/${taskId}/submit`, { photos: [photo.body.path] });
    expect((await verify(taskId, 'REJECT')).body.status).toBe('DISPUTED');
    const again = await verify(taskId, 'REJECT');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('dispute_pending');
    expect((await verify(taskId, 'APPROVE')).body.status).toBe('COMPLETED');
  });

  it('a manual approval stamps verified_at, and the agent sees the operator as the reference shows it', async () => {
    const operator = await stack.registerOperator({ name: 'Jane Doe' });
    const taskId = (await stack.createTask(agent)).body.task_id as string;
    await post(operator, `/operator/tasks/${taskId}/accept`);
    const photo = await stack.upload(operator, taskId, makeJpeg());
    await post(operator, `/operator/tasks/${taskId}/submit`, { photos: [photo.body.path] });
    await stack.tick();
    expect((await verify(taskId, 'APPROVE')).body.status).toBe('COMPLETED');
    await stack.call('POST', `/tasks/${taskId}/rate`, { key: agent.key, body: { rating: 5 } });
    const task = (await stack.call('GET', `/tasks/${taskId}`, { key: agent.key })).body;
    expect(task.verified_at).toEqual(expect.any(String));
    expect(task.operator).toEqual({ id: operator.id, name: 'Jane D.', rating: 5, releases: 0 });
  });
});

describe('uploads without task_id', () => {
  it('are accepted, bound to the task at submit, and only the uploader can use them, once', async () => {
    const operator = await stack.registerOperator();
    const other = await stack.registerOperator();
    const form = (bytes: Uint8Array) => {
      const body = new FormData();
      body.set('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'sign.jpg');
      return body;
    };
    const upload = async (who: Operator) => {
      const response = await fetch(`${stack.url}/operator/upload`, { method: 'POST', headers: who.auth, body: form(makeJpeg()) });
      return { status: response.status, body: await response.json() };
    };
    const mine = await upload(operator);
    expect(mine.status, JSON.stringify(mine.body)).toBe(201);
    expect(mine.body.path).toMatch(new RegExp(`^${operator.id}/unbound/`));
    const theirs = await upload(other);

    const taskId = (await stack.createTask(agent)).body.task_id as string;
    await post(operator, `/operator/tasks/${taskId}/accept`);
    const stolen = await post(operator, `/operator/tasks/${taskId}/submit`, { photos: [theirs.body.path] });
    expect(stolen.status).toBe(400);
    expect(stolen.body.code).toBe('unknown_photo');
    const submitted = await post(operator, `/operator/tasks/${taskId}/submit`, { photos: [mine.body.url] });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    expect(await stack.sql`select task_id from proof_files where path = ${mine.body.path}`).toEqual([{ task_id: taskId }]);

    // Bound now: it cannot prove a second task.
    const second = (await stack.createTask(agent)).body.task_id as string;
    await post(operator, `/operator/tasks/${second}/accept`);
    expect((await post(operator, `/operator/tasks/${second}/submit`, { photos: [mine.body.path] })).status).toBe(400);
  });
});

describe('status codes', () => {
  it('accepting an expired task is a 410 before and after the ticker marks it EXPIRED', async () => {
    const operator = await stack.registerOperator();
    const taskId = (await stack.createTask(agent)).body.task_id as string;
    await stack.sql`update tasks set deadline = now() - interval '1 second' where id = ${taskId}`;
    expect((await post(operator, `/operator/tasks/${taskId}/accept`)).status).toBe(410);
    await stack.tick();
    expect((await stack.call('GET', `/tasks/${taskId}`, { key: agent.key })).body.status).toBe('EXPIRED');
    const after = await post(operator, `/operator/tasks/${taskId}/accept`);
    expect(after.status).toBe(410);
    expect(after.body.code).toBe('task_expired');
  });

  it('the dLocal webhook says plainly that it is not available (404 JSON), with no key asked', async () => {
    const reply = await stack.call('POST', '/webhooks/dlocal', { body: { status: 'PAID' } });
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ error: expect.stringContaining('not available yet'), code: 'not_available' });
    expect((await stack.call('POST', '/webhooks/elsewhere', { body: {} })).body.code).toBe('route_not_found');
  });
});

describe('webhooks in order', () => {
  let server: Server;
  let url: string;
  const received: string[] = [];
  let failures = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8')).event as string;
        if (failures > 0) {
          failures--;
          res.writeHead(503).end();
          return;
        }
        received.push(event);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

  it('a later event waits for the earlier one: delivered, or failed for good', async () => {
    const taskId = (await stack.createTask(agent, { callback_url: url })).body.task_id as string;
    const simulate = (body: unknown) => stack.call('POST', `/sandbox/tasks/${taskId}/simulate`, { key: agent.key, body });
    await simulate({ action: 'accept' });
    await simulate({ action: 'submit', verdict: { decision: 'APPROVE', confidence: 97 } });
    failures = 1; // task.accepted fails once and waits for its retry
    await stack.tick();
    expect(received).toEqual([]);
    const hooks = async () => (await stack.call('GET', `/tasks/${taskId}/webhooks`, { key: agent.key })).body.data as { event: string; status: string; attempts: number }[];
    expect((await hooks()).map((d) => [d.event, d.status, d.attempts])).toEqual([
      ['task.accepted', 'pending', 1], ['task.submitted', 'pending', 0], ['task.verified', 'pending', 0], ['task.completed', 'pending', 0],
    ]);
    for (let round = 0; round < 4; round++) {
      await stack.sql`update webhook_deliveries set next_attempt_at = now() where task_id = ${taskId} and status = 'pending'`;
      await stack.tick();
    }
    expect(received).toEqual(['task.accepted', 'task.submitted', 'task.verified', 'task.completed']);

    // A delivery that failed for good no longer holds the ones after it.
    received.length = 0;
    const next = (await stack.createTask(agent, { callback_url: url })).body.task_id as string;
    await stack.call('POST', `/sandbox/tasks/${next}/simulate`, { key: agent.key, body: { action: 'accept' } });
    await stack.call('POST', `/tasks/${next}/cancel`, { key: agent.key });
    await stack.sql`update webhook_deliveries set status = 'failed' where task_id = ${next} and event = 'task.accepted'`;
    await stack.tick();
    expect(received).toEqual(['task.cancelled']);
  });
});

describe('live mode payouts', () => {
  let live: Stack;
  afterAll(() => live?.stop());
  it('an operator whose KYC is PENDING hears about KYC (403) before the missing payout provider (503)', async () => {
    live = await startStack({ env: { HUMANOPS_MODE: 'live', HUMANOPS_ADMIN_KEY: 'admin-key-for-tests-0123456789' } });
    const operator = await live.registerOperator();
    const payout = await live.call('POST', '/operator/payout', { headers: operator.auth, body: { amount_usd: 10 } });
    expect(payout.status).toBe(403);
    expect(payout.body).toMatchObject({ code: 'kyc_required', details: { kyc_status: 'PENDING' } });
  });
});
