// Third review, finding 1: one agent's receiver that never answers must not delay anyone else's
// webhooks. Agent A posts 80 tasks whose callback_url never answers and cancels them (it costs
// nothing); agent B's task.cancelled must still arrive within 2 s of the tick, as it does without
// the attack. Both times are printed side by side.
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Stack, startStack } from './helpers/stack.ts';

/** A receiver that accepts connections and never answers: every post to it times out. */
async function startBlackHole() {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    connections: () => connections,
    stop: () => new Promise<void>((r) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => r());
    }),
  };
}

/** A receiver that answers 204 at once and remembers when each task's event arrived. */
async function startReceiver() {
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { task_id } = JSON.parse(body);
      arrivals.set(task_id, performance.now());
      waiters.get(task_id)?.();
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    /** Resolves with when `taskId`'s event arrives. */
    arrival: (taskId: string) => new Promise<number>((resolve) => {
      const seen = arrivals.get(taskId);
      if (seen !== undefined) return resolve(seen);
      waiters.set(taskId, () => resolve(arrivals.get(taskId)!));
    }),
    stop: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

let stack: Stack;
let attacker: Agent;
let victim: Agent;
let blackHole: Awaited<ReturnType<typeof startBlackHole>>;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  blackHole = await startBlackHole();
  receiver = await startReceiver();
  // The production timeout, as in the attack: 10 s a post.
  stack = await startStack({ env: { WEBHOOK_TIMEOUT_MS: '10000', WEBHOOK_RESENDS_PER_MINUTE: '3' } });
  attacker = await stack.registerAgent('attacker');
  victim = await stack.registerAgent('victim');
  await stack.deposit(attacker, 2500);
  await stack.deposit(victim, 100);
});
afterAll(async () => {
  await stack?.stop();
  await blackHole?.stop();
  await receiver?.stop();
});

/** B posts and cancels a task; returns how long after the tick starts its task.cancelled arrives (at least the tick's length if it was not sent). */
async function victimDelay(): Promise<number> {
  const task = await stack.createTask(victim, { callback_url: receiver.url, reward_usd: 10 });
  expect(task.status).toBe(201);
  expect((await stack.call('POST', `/tasks/${task.body.task_id}/cancel`, { key: victim.key })).status).toBe(200);
  const started = performance.now();
  const tick = stack.tick();
  // Not sent in this tick at all: the whole tick was the wait (and more).
  const arrived = await Promise.race([receiver.arrival(task.body.task_id), tick.then(() => performance.now())]);
  await tick;
  return arrived - started;
}

describe('finding 1: fair webhook delivery', () => {
  it('B\'s delivery arrives within 2 s of the tick while A\'s 80 deliveries hang, as it does without them', async () => {
    const quiet = await victimDelay();

    for (let i = 0; i < 80; i++) {
      const task = await stack.createTask(attacker, { callback_url: blackHole.url, reward_usd: 10 });
      await stack.call('POST', `/tasks/${task.body.task_id}/cancel`, { key: attacker.key });
    }
    const underAttack = await victimDelay();
    console.log(`finding 1: B's task.cancelled arrived ${quiet.toFixed(0)} ms after the tick without the attack, ${underAttack.toFixed(0)} ms under it`);
    expect(underAttack).toBeLessThan(2000);
  }, 120_000);

  it('a receiver that keeps timing out is left alone for a while (circuit breaker): the next tick does not wait on it', async () => {
    const before = blackHole.connections();
    const started = performance.now();
    await stack.tick();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(blackHole.connections()).toBe(before);
    // A's deliveries keep their attempts: an open circuit spends none of them.
    const [{ pending }] = await stack.sql`select count(*)::int as pending from webhook_deliveries where agent_id = ${attacker.id} and status = 'pending'`;
    expect(pending).toBe(80);
    // Nor does a resend reopen the circuit: the stuck delivery stays unsent.
    const [stuck] = await stack.sql`select id from webhook_deliveries where agent_id = ${attacker.id} order by seq limit 1`;
    expect((await stack.call('POST', `/webhooks/${stuck.id}/resend`, { key: attacker.key })).status).toBe(200);
    await stack.tick();
    expect(blackHole.connections()).toBe(before);
  }, 60_000);

  it('resends are rate-limited per agent: past WEBHOOK_RESENDS_PER_MINUTE a minute, 429', async () => {
    const agentWithDelivery = async (name: string) => {
      const agent = await stack.registerAgent(name);
      await stack.deposit(agent, 100);
      const task = await stack.createTask(agent, { callback_url: receiver.url, reward_usd: 10 });
      await stack.call('POST', `/tasks/${task.body.task_id}/cancel`, { key: agent.key });
      const [delivery] = await stack.sql`select id from webhook_deliveries where task_id = ${task.body.task_id}`;
      return { agent, delivery: delivery.id as string };
    };
    const { agent: resender, delivery } = await agentWithDelivery('resender');
    const other = await agentWithDelivery('other-resender');
    // Windows are fixed minutes: start the burst with 20 s of the minute left.
    const [{ left }] = await stack.sql`select 60 - extract(epoch from now())::numeric % 60 as left`;
    if (Number(left) < 20) await new Promise((r) => setTimeout(r, Number(left) * 1000 + 50));
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await stack.call('POST', `/webhooks/${delivery}/resend`, { key: resender.key }));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(replies[3].body).toEqual({ error: 'Too many requests: at most 3 per minute on this endpoint', code: 'rate_limited' });
    expect(Number(replies[3].headers.get('retry-after'))).toBeGreaterThan(0);
    // Another agent's resends are counted apart.
    expect((await stack.call('POST', `/webhooks/${other.delivery}/resend`, { key: other.agent.key })).status).toBe(200);
  }, 60_000);
});
