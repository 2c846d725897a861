// The thread on a task: operators ask before accepting, the agent answers the asker or in public,
// then only the holder and the agent talk; closed tasks keep a read-only thread.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Operator, operatorToken, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
let receiver: Server;
const received: any[] = [];
let callbackUrl: string;

beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent('asked-agent');
  await stack.deposit(agent, 500);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  callbackUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((r) => receiver.close(() => r()));
  await stack?.stop();
});

const newTask = async (overrides: Record<string, unknown> = {}) => {
  const reply = await stack.createTask(agent, { callback_url: callbackUrl, ...overrides });
  expect(reply.status).toBe(201);
  return reply.body.task_id as string;
};

const ask = (operator: Operator, taskId: string, text: string) =>
  stack.call('POST', `/operator/tasks/${taskId}/messages`, { headers: operator.auth, body: { text } });
const thread = (operator: Operator, taskId: string) =>
  stack.call('GET', `/operator/tasks/${taskId}/messages`, { headers: operator.auth });
const answer = (taskId: string, body: Record<string, unknown>) =>
  stack.call('POST', `/tasks/${taskId}/messages`, { key: agent.key, body });

describe('the thread before accepting', () => {
  it('an eligible operator asks, the agent answers the asker only, and another operator sees nothing of it', async () => {
    const taskId = await newTask();
    const asker = await stack.registerOperator();
    const other = await stack.registerOperator();

    const question = await ask(asker, taskId, 'Is the side entrance open? <script>alert(1)</script>');
    expect(question.status).toBe(201);
    expect(question.body).toMatchObject({ from: 'operator', mine: true, visibility: 'asker', text: 'Is the side entrance open? <script>alert(1)</script>' });

    const agentView = await stack.call('GET', `/tasks/${taskId}/messages`, { key: agent.key });
    expect(agentView.status).toBe(200);
    expect(agentView.body.data).toEqual([expect.objectContaining({ message_id: question.body.message_id, from: 'operator', operator_id: asker.id })]);

    const reply = await answer(taskId, { text: 'Yes, until 6 pm.', reply_to: question.body.message_id });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ from: 'agent', operator_id: asker.id, visibility: 'asker', in_reply_to: question.body.message_id });

    const askerView = await thread(asker, taskId);
    expect(askerView.status).toBe(200);
    expect(askerView.body.can_write).toBe(true);
    expect(askerView.body.data.map((m: any) => [m.from, m.mine, m.text])).toEqual([
      ['operator', true, 'Is the side entrance open? <script>alert(1)</script>'],
      ['agent', true, 'Yes, until 6 pm.'],
    ]);
    const otherView = await thread(other, taskId);
    expect(otherView.status).toBe(200);
    expect(otherView.body).toEqual({ data: [], can_write: true });
  });

  it('a public answer shows the question and the answer to every operator, never who asked', async () => {
    const taskId = await newTask();
    const asker = await stack.registerOperator();
    const other = await stack.registerOperator();
    const question = await ask(asker, taskId, 'Do I need to go inside?');
    const reply = await answer(taskId, { text: 'No, the storefront from the street is enough.', reply_to: question.body.message_id, visibility: 'public' });
    expect(reply.body.visibility).toBe('public');
    const note = await answer(taskId, { text: 'Details: the shop is at number 12.', visibility: 'public' });
    expect(note.status).toBe(201);
    expect(note.body.operator_id).toBeNull();

    const otherView = await thread(other, taskId);
    expect(otherView.body.data.map((m: any) => [m.from, m.mine, m.visibility, m.text])).toEqual([
      ['operator', false, 'public', 'Do I need to go inside?'],
      ['agent', false, 'public', 'No, the storefront from the street is enough.'],
      ['agent', false, 'public', 'Details: the shop is at number 12.'],
    ]);
    expect(JSON.stringify(otherView.body)).not.toContain(asker.id);
  });

  it('operators who may not take the task cannot see or write its thread', async () => {
    const taskId = await newTask({ task_type: 'VERIFICATION' });
    const otherSkills = await stack.registerOperator({ skills: ['DELIVERY'] });
    expect((await ask(otherSkills, taskId, 'Hello?')).status).toBe(404);
    expect((await thread(otherSkills, taskId)).status).toBe(404);
    const unregistered = { id: 'op_nobody', auth: { authorization: `Bearer ${await operatorToken('op_nobody')}` } };
    expect((await ask(unregistered, taskId, 'Hello?')).status).toBe(403);
    expect((await stack.call('GET', `/tasks/${taskId}/messages`, { key: (await stack.registerAgent('stranger')).key })).status).toBe(404);
  });

  it('refuses what is not plain text up to 2,000 characters, with nothing written', async () => {
    const taskId = await newTask();
    const asker = await stack.registerOperator();
    for (const text of ['', '   ', 'x'.repeat(2001), 'bell\u0007', 42]) {
      const reply = await stack.call('POST', `/operator/tasks/${taskId}/messages`, { headers: asker.auth, body: { text } });
      expect(reply.status).toBe(400);
      expect(reply.body.code).toBe('validation_error');
    }
    expect((await ask(asker, taskId, 'x'.repeat(2000))).status).toBe(201);
    expect((await stack.call('POST', `/operator/tasks/${taskId}/messages`, { headers: asker.auth, body: { text: 'hi', html: '<b>' } })).status).toBe(400);
    const [{ count }] = await stack.sql`select count(*)::int from public.task_messages where task_id = ${taskId}`;
    expect(count).toBe(1);
    // The agent must say whom it answers when nobody holds the task.
    const unaddressed = await answer(taskId, { text: 'To whom?' });
    expect(unaddressed.status).toBe(400);
    expect((await answer(taskId, { text: 'Hm', reply_to: 'msg_doesnotexist' })).status).toBe(404);
  });

  it('the agent hears about each question through a task.message webhook', async () => {
    const taskId = await newTask();
    const asker = await stack.registerOperator();
    const question = await ask(asker, taskId, 'Which door?');
    await stack.tick();
    const event = received.find((e) => e.event === 'task.message' && e.task_id === taskId);
    expect(event).toMatchObject({
      event: 'task.message', task_id: taskId, status: 'PENDING',
      message: { message_id: question.body.message_id, from: 'operator', operator_id: asker.id, text: 'Which door?', in_reply_to: null },
    });
  });
});

describe('the thread once accepted and once closed', () => {
  it('only the holder and the agent talk; the other asker reads its old conversation', async () => {
    const taskId = await newTask();
    const holder = await stack.registerOperator();
    const earlier = await stack.registerOperator();
    const stranger = await stack.registerOperator();
    const early = await ask(earlier, taskId, 'Still open?');
    expect((await stack.call('POST', `/operator/tasks/${taskId}/accept`, { headers: holder.auth, body: {} })).status).toBe(200);

    const late = await ask(earlier, taskId, 'Can I still ask?');
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('thread_closed');
    expect((await thread(earlier, taskId)).body).toMatchObject({ can_write: false, data: [{ text: 'Still open?' }] });
    expect((await thread(stranger, taskId)).status).toBe(404);
    const toEarlier = await answer(taskId, { text: 'Sorry, taken.', reply_to: early.body.message_id });
    expect(toEarlier.status).toBe(409);

    expect((await ask(holder, taskId, 'On my way.')).status).toBe(201);
    const toHolder = await answer(taskId, { text: 'Thanks, take two photos.' });
    expect(toHolder.status).toBe(201);
    expect(toHolder.body.operator_id).toBe(holder.id);
    expect((await thread(holder, taskId)).body.data.map((m: any) => m.text)).toEqual(['On my way.', 'Thanks, take two photos.']);
  });

  it('a cancelled task keeps its thread, read-only on both sides', async () => {
    const taskId = await newTask();
    const holder = await stack.registerOperator();
    await stack.call('POST', `/operator/tasks/${taskId}/accept`, { headers: holder.auth, body: {} });
    await ask(holder, taskId, 'Started.');
    expect((await stack.call('POST', `/tasks/${taskId}/cancel`, { key: agent.key, body: {} })).status).toBe(200);
    const late = await ask(holder, taskId, 'Why?');
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('thread_closed');
    expect((await answer(taskId, { text: 'Plans changed.' })).body.code).toBe('thread_closed');
    expect((await thread(holder, taskId)).body).toMatchObject({ can_write: false, data: [{ text: 'Started.' }] });
  });

  it('caps an operator at 30 messages an hour', async () => {
    const taskId = await newTask();
    const chatty = await stack.registerOperator();
    for (let i = 0; i < 30; i += 1) expect((await ask(chatty, taskId, `question ${i}`)).status).toBe(201);
    const over = await ask(chatty, taskId, 'one more');
    expect(over.status).toBe(429);
    expect(over.body.code).toBe('rate_limited');
  });
});
