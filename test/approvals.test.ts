// The approval queue: a task above its key's approval threshold waits in PENDING_APPROVAL with its
// escrow held and out of operators' sight, until an owner key approves it, declines it (refund) or
// lets it expire (refund); the ledger verifies after each move.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

const ledgerProblems = () => stack.sql`select problem, subject from api.verify_ledger()`;
const balance = async (agent: Agent) => (await stack.call('GET', '/agents/balance', { key: agent.key })).body;
const entries = (taskId: string) => stack.sql`select kind from ledger_entries where task_id = ${taskId} order by id`;

/** A funded agent with $100, and a bot key whose policy sends tasks with a reward above $25 for approval. */
async function setup(name: string) {
  const owner = await stack.registerAgent(name);
  await stack.deposit(owner, 100);
  const minted = (await stack.call('POST', '/agents/keys', { key: owner.key, body: { name: 'bot', scopes: ['agent'] } })).body;
  const bot: Agent = { id: owner.id, key: minted.api_key };
  const policy = await stack.call('PUT', `/agents/keys/${minted.id}/policy`, { key: owner.key, body: { approval_threshold_usd: 25 } });
  expect(policy.body.approval_threshold_usd).toBe(25);
  return { owner, bot };
}

/** A $30 task ($5.40 fee, $35.40 in escrow) that needs approval. */
async function postForApproval(bot: Agent, overrides: Record<string, unknown> = {}) {
  const reply = await stack.createTask(bot, { reward_usd: 30, ...overrides });
  expect(reply.status).toBe(201);
  expect(reply.body).toMatchObject({ status: 'PENDING_APPROVAL', reward_usd: 30, platform_fee: 5.4, total_escrow: 35.4 });
  return reply.body.task_id as string;
}

describe('tasks above the approval threshold', () => {
  it('at the threshold a task opens at once; a cent above it waits, escrow held, its webhook queued', async () => {
    const { owner, bot } = await setup('approve-boundary');
    expect((await stack.createTask(bot, { reward_usd: 25 })).body.status).toBe('PENDING');
    const waiting = await stack.createTask(bot, { reward_usd: 25.01, callback_url: 'http://127.0.0.1:9/hook' });
    expect(waiting.status).toBe(201);
    expect(waiting.body.status).toBe('PENDING_APPROVAL');
    expect(await balance(owner)).toEqual({ deposit_balance: 40.99, escrow_balance: 59.01, currency: 'USD' });
    const [escrow] = await stack.sql`select escrow_cents::int from tasks where id = ${waiting.body.task_id}`;
    expect(escrow.escrow_cents).toBe(2951);
    expect(await stack.sql`select event, payload->>'status' as status from webhook_deliveries where task_id = ${waiting.body.task_id}`)
      .toEqual([{ event: 'task.pending_approval', status: 'PENDING_APPROVAL' }]);
    // The owner's own key has no threshold.
    expect((await stack.createTask(owner, { reward_usd: 30 })).body.status).toBe('PENDING');
    expect(await ledgerProblems()).toEqual([]);
  });

  it('no operator sees, opens or accepts a task waiting for approval', async () => {
    const { bot } = await setup('approve-hidden');
    const taskId = await postForApproval(bot);
    const operator = await stack.registerOperator();
    const browse = await stack.call('GET', '/operator/tasks?limit=100', { headers: operator.auth });
    expect(browse.body.data.map((t: { task_id: string }) => t.task_id)).not.toContain(taskId);
    expect((await stack.call('GET', `/operator/tasks/${taskId}`, { headers: operator.auth })).status).toBe(404);
    const accept = await stack.call('POST', `/operator/tasks/${taskId}/accept`, { headers: operator.auth });
    expect(accept.status).toBe(409);
    expect(accept.body.code).toBe('task_unavailable');
  });

  it('the queue lists them; an owner approves one and operators can then take it, with no money moved', async () => {
    const { owner, bot } = await setup('approve-yes');
    const taskId = await postForApproval(bot);
    const queue = await stack.call('GET', '/tasks?status=PENDING_APPROVAL', { key: owner.key });
    expect(queue.body.data.map((t: { task_id: string; status: string }) => [t.task_id, t.status])).toEqual([[taskId, 'PENDING_APPROVAL']]);

    const refused = await stack.call('POST', `/tasks/${taskId}/approve`, { key: bot.key });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('insufficient_scope');

    const before = await balance(owner);
    const approved = await stack.call('POST', `/tasks/${taskId}/approve`, { key: owner.key });
    expect(approved.status).toBe(200);
    expect(approved.body).toEqual({ task_id: taskId, status: 'PENDING', message: 'Task approved; operators can now accept it.' });
    expect(await balance(owner)).toEqual(before);
    expect(await entries(taskId)).toEqual([{ kind: 'task_escrow' }]);
    const [task] = await stack.sql`select approval->>'decision' as decision, approval->>'key_id' as key_id from tasks where id = ${taskId}`;
    expect(task.decision).toBe('APPROVED');
    expect(task.key_id).toMatch(/^key_/);

    const again = await stack.call('POST', `/tasks/${taskId}/approve`, { key: owner.key });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('task_not_awaiting_approval');
    const operator = await stack.registerOperator();
    expect((await stack.call('POST', `/operator/tasks/${taskId}/accept`, { headers: operator.auth })).status).toBe(200);
    const events = await stack.sql`select from_status, to_status, actor from task_events where task_id = ${taskId} order by id`;
    expect(events.map((e) => `${e.from_status}>${e.to_status}`)).toEqual(['null>PENDING_APPROVAL', 'PENDING_APPROVAL>PENDING', 'PENDING>ACCEPTED']);
    expect(events[1].actor).toMatch(/^owner:key_/);
    expect(await ledgerProblems()).toEqual([]);
  });

  it("an approved task keeps the radius its agent asked for, for the agent, the operators' feed and the Guardian", async () => {
    const { owner, bot } = await setup('approve-radius');
    const taskId = await postForApproval(bot, { max_distance_m: 150 });
    expect((await stack.call('GET', `/tasks/${taskId}`, { key: owner.key })).body.max_distance_m).toBe(150);
    expect((await stack.call('POST', `/tasks/${taskId}/approve`, { key: owner.key })).status).toBe(200);
    expect((await stack.call('GET', `/tasks/${taskId}`, { key: bot.key })).body).toMatchObject({ status: 'PENDING', max_distance_m: 150 });
    const operator = await stack.registerOperator();
    const browse = await stack.call('GET', '/operator/tasks?lat=40.7128&lng=-74.006&limit=100', { headers: operator.auth });
    expect(browse.body.data.find((t: { task_id: string }) => t.task_id === taskId)).toMatchObject({ max_distance_m: 150 });
    expect((await stack.call('GET', `/operator/tasks/${taskId}`, { headers: operator.auth })).body.max_distance_m).toBe(150);
  });

  it('declining refunds reward + fee in one ledger entry and frees the budget', async () => {
    const owner = await stack.registerAgent('approve-no');
    await stack.deposit(owner, 100);
    const minted = (await stack.call('POST', '/agents/keys', { key: owner.key, body: { scopes: ['agent'] } })).body;
    const bot: Agent = { id: owner.id, key: minted.api_key };
    await stack.call('PUT', `/agents/keys/${minted.id}/policy`, { key: owner.key, body: { approval_threshold_usd: 25, daily_limit_usd: 35.4 } });
    const taskId = await postForApproval(bot);
    expect((await stack.createTask(bot, { reward_usd: 10 })).body.details.rule).toBe('daily_limit');

    const declined = await stack.call('POST', `/tasks/${taskId}/decline`, { key: owner.key });
    expect(declined.status).toBe(200);
    expect(declined.body).toEqual({ task_id: taskId, status: 'CANCELLED', refunded_usd: 35.4, message: 'Task declined; reward and fee refunded.' });
    expect(await balance(owner)).toEqual({ deposit_balance: 100, escrow_balance: 0, currency: 'USD' });
    expect(await entries(taskId)).toEqual([{ kind: 'task_escrow' }, { kind: 'task_refund' }]);
    expect((await stack.sql`select approval->>'decision' as decision from tasks where id = ${taskId}`)[0].decision).toBe('DECLINED');
    expect((await stack.call('POST', `/tasks/${taskId}/approve`, { key: owner.key })).status).toBe(409);
    expect((await stack.createTask(bot, { reward_usd: 10 })).status).toBe(201);
    expect(await ledgerProblems()).toEqual([]);
  });

  it('unanswered for 72 hours it expires with a full refund; an approval after the window is refused (410)', async () => {
    const { owner, bot } = await setup('approve-expiry');
    const late = await postForApproval(bot);
    const fresh = await postForApproval(bot);
    await stack.sql`update tasks set created_at = now() - interval '72 hours' - interval '1 second' where id = ${late}`;
    await stack.sql`update tasks set created_at = now() - interval '71 hours 59 minutes' where id = ${fresh}`;

    const tooLate = await stack.call('POST', `/tasks/${late}/approve`, { key: owner.key });
    expect(tooLate.status).toBe(410);
    expect(tooLate.body.code).toBe('approval_expired');

    expect((await stack.tick()).expired_approvals).toBe(1);
    expect((await stack.call('GET', `/tasks/${late}`, { key: owner.key })).body.status).toBe('EXPIRED');
    expect((await stack.call('GET', `/tasks/${fresh}`, { key: owner.key })).body.status).toBe('PENDING_APPROVAL');
    expect(await entries(late)).toEqual([{ kind: 'task_escrow' }, { kind: 'task_refund' }]);
    expect(await balance(owner)).toEqual({ deposit_balance: 64.6, escrow_balance: 35.4, currency: 'USD' });
    expect(await ledgerProblems()).toEqual([]);
  });

  it('a deadline sooner than 72 hours closes the approval window at the deadline', async () => {
    const { owner, bot } = await setup('approve-deadline');
    const taskId = await postForApproval(bot);
    await stack.sql`update tasks set deadline = now() - interval '1 second' where id = ${taskId}`;
    expect((await stack.tick()).expired_approvals).toBe(1);
    expect((await stack.call('GET', `/tasks/${taskId}`, { key: owner.key })).body.status).toBe('EXPIRED');
    expect(await balance(owner)).toEqual({ deposit_balance: 100, escrow_balance: 0, currency: 'USD' });
  });

  it("an owner cannot decide another agent's task", async () => {
    const { bot } = await setup('approve-mine');
    const taskId = await postForApproval(bot);
    const stranger = await stack.registerAgent('approve-stranger');
    const reply = await stack.call('POST', `/tasks/${taskId}/decline`, { key: stranger.key });
    expect(reply.status).toBe(404);
    expect(reply.body.code).toBe('task_not_found');
  });
});
