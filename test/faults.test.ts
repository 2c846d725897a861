// Faults, each for real: the API killed with SIGKILL in the middle of a burst, Postgres killed
// with SIGKILL (fsync on) and restarted, a worker killed while it holds a Guardian job or a webhook
// lease, a webhook receiver that is down for a while, and a model that answers 429/529/500 or
// never answers. After each: nothing lost, nothing paid twice, every retry gets the first answer.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startApi } from '../scripts/lib/api.mjs';
import { migrate } from '../scripts/lib/migrate.mjs';
import { onFreePort } from '../scripts/lib/ports.mjs';
import { startPostgres } from '../scripts/lib/postgres.mjs';
import { toolAnswer } from './helpers/anthropic-stand-in.ts';
import { type Agent, type Operator, physicalTask, type Stack, startStack, txHash } from './helpers/stack.ts';

const ADMIN_KEY = 'admin-key-for-tests-0123456789';
const problems = (sql: postgres.Sql) => sql`select problem, subject from api.verify_ledger()`;
const digitalTask = { task_type: 'CONTENT_REVIEW', reward_usd: 20, location: undefined, proof_requirements: ['Written assessment'] };
const approve = (request: { body: any }): { status: number; body: unknown; headers?: Record<string, string> } => {
  const text = request.body.messages[0].content.find((b: { type: string }) => b.type === 'text').text;
  const requirements = JSON.parse(text.slice(text.indexOf('<untrusted_data>') + 16, text.indexOf('</untrusted_data>'))).proof_requirements;
  return toolAnswer({ requirement_results: requirements.map((requirement: string) => ({ requirement, met: true, note: 'ok' })), confidence: 96, reasoning: 'All met.' });
};

/**
 * A Messages API stand-in whose behaviour the test sets: 'approve', 'error' (429, 529, 500 in turn,
 * never retried inside the SDK), or 'hang' (the request is held and never answered).
 */
async function startModel() {
  let calls = 0;
  let onCall: () => void = () => {};
  const held: import('node:http').ServerResponse[] = [];
  const model = {
    mode: 'approve' as 'approve' | 'error' | 'hang',
    get calls() {
      return calls;
    },
    url: '',
    /** Resolves at the next call. */
    nextCall: () => new Promise<void>((r) => (onCall = r)),
    stop: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      calls += 1;
      onCall();
      if (model.mode === 'hang') return void held.push(res);
      const { status, body, headers } = model.mode === 'approve'
        ? approve({ body: JSON.parse(raw) })
        : { status: [429, 529, 500][(calls - 1) % 3], body: { type: 'error', error: { type: 'api_error', message: 'simulated' } }, headers: { 'x-should-retry': 'false' } };
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  model.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return model;
}

/** Sends a request until it gets an answer (the API may be down or restarting meanwhile). */
async function untilAnswered<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt > 200) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function submittedDigital(stack: Stack, agent: Agent, operator: Operator) {
  const id = (await stack.createTask(agent, digitalTask)).body.task_id as string;
  await stack.call('POST', `/operator/tasks/${id}/accept`, { headers: operator.auth });
  expect((await stack.call('POST', `/operator/tasks/${id}/submit`, { headers: operator.auth, body: { confirmation_text: 'Reviewed' } })).status).toBe(200);
  return id;
}

describe('the API killed (SIGKILL) in the middle of a burst', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { HUMANOPS_ADMIN_KEY: ADMIN_KEY, EARNINGS_HOLD_SECONDS: '0' } });
  });
  afterAll(() => stack?.stop());

  it('task creations, payouts and verdicts: every retry with its key gets one effect and the first answer', async () => {
    const agents = await Promise.all(Array.from({ length: 4 }, (_, i) => stack.registerAgent(`burst-${i}`)));
    for (const agent of agents) await stack.deposit(agent, 3000);
    const operator = await stack.registerOperator();
    // Earnings to pay out, and tasks waiting for the agent's verdict.
    const reviewed = [];
    for (let i = 0; i < 6; i++) reviewed.push({ agent: agents[i % 4], id: await submittedDigital(stack, agents[i % 4], operator) });
    await stack.sql`update guardian_jobs set status = 'done' where status = 'queued'`; // the agents decide these
    const paid = await submittedDigital(stack, agents[0], operator);
    await stack.call('POST', `/tasks/${paid}/verify`, { key: agents[0].key, body: { decision: 'APPROVE' } });
    await stack.tick(); // releases the earnings (no hold here)

    // 60 task creations under their own keys, 6 verdicts and 3 payouts, all at once; the API dies
    // once a third of the creations have an answer.
    const creations = Array.from({ length: 60 }, (_, i) => ({ agent: agents[i % 4], key: `burst-${i}`, body: physicalTask({ reward_usd: 100 + i }) }));
    const firstAnswers = new Map<string, { status: number; body: unknown }>();
    let answered = 0;
    let killed: Promise<void> | null = null;
    const create = (c: (typeof creations)[number]) => stack.call('POST', '/tasks', { key: c.agent.key, body: c.body, headers: { 'idempotency-key': c.key } });
    await Promise.allSettled([
      ...creations.map(async (c) => {
        const reply = await create(c);
        firstAnswers.set(c.key, reply);
        if (++answered === 20) killed = stack.killApi();
      }),
      ...reviewed.map((r) => stack.call('POST', `/tasks/${r.id}/verify`, { key: r.agent.key, body: { decision: 'APPROVE' } })),
      ...[0, 1, 2].map(() => stack.call('POST', '/operator/payout', { headers: operator.auth, body: { amount_usd: 10 } })),
    ]);
    await killed;
    await stack.restartApi();

    // Every client retries what it did not hear back about, and what it did, with the same key.
    for (const c of creations) {
      const reply = await untilAnswered(() => create(c));
      expect(reply.status).toBe(201);
      const first = firstAnswers.get(c.key);
      if (first?.status === 201) expect(reply.body).toEqual(first.body);
    }
    for (const c of creations) {
      const [{ n }] = await stack.sql`select count(*)::int as n from tasks where agent_id = ${c.agent.id} and task_type = 'VERIFICATION' and reward_cents = ${(c.body.reward_usd as number) * 100}`;
      expect(n, c.key).toBe(1);
    }
    // Verdicts are idempotent by state: approved once, settled once, whatever the client saw.
    for (const r of reviewed) {
      const reply = await stack.call('POST', `/tasks/${r.id}/verify`, { key: r.agent.key, body: { decision: 'APPROVE' } });
      expect([200, 409]).toContain(reply.status);
      expect((await stack.call('GET', `/tasks/${r.id}`, { key: r.agent.key })).body.status).toBe('COMPLETED');
      expect(await stack.sql`select count(*)::int as n from ledger_entries where task_id = ${r.id} and kind = 'task_settlement'`).toEqual([{ n: 1 }]);
    }
    // Payouts carry no key: whatever committed is in the books, whole, and nothing else.
    const earnings = (await stack.call('GET', '/operator/earnings', { headers: operator.auth })).body;
    const [{ out }] = await stack.sql`select coalesce(sum(amount_cents), 0)::int as out from payouts where operator_id = ${operator.id}`;
    expect(Math.round((earnings.pending_balance + earnings.available_balance) * 100) + out).toBe(Math.round(earnings.total_earned * 100));
    expect(await problems(stack.sql)).toEqual([]);
  }, 180_000);
});

describe('a worker killed while it holds a lease', () => {
  let stack: Stack;
  let model: Awaited<ReturnType<typeof startModel>>;
  let agent: Agent;
  let operator: Operator;
  let receiver: Server;
  let receiverUrl: string;
  const posts: { id: string; body: any }[] = [];
  let arrived: () => void = () => {};
  beforeAll(async () => {
    model = await startModel();
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      // The first post of a delivery is never answered (the worker dies waiting); later ones are.
      req.on('end', () => {
        posts.push({ id: String(req.headers['webhook-id']), body: JSON.parse(raw) });
        arrived();
        if (posts.filter((p) => p.id === req.headers['webhook-id']).length > 1) res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    stack = await startStack({ env: { ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: model.url, ANTHROPIC_TIMEOUT_MS: '60000', WEBHOOK_TIMEOUT_MS: '60000' } });
    agent = await stack.registerAgent('lease');
    await stack.deposit(agent, 1000);
    operator = await stack.registerOperator();
  });
  afterAll(async () => {
    await stack?.stop();
    await model?.stop();
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
  });

  it('a Guardian job: claimed again after the lease, judged once, paid once', async () => {
    const id = await submittedDigital(stack, agent, operator);
    // The model takes its time: the worker is killed while it waits for the verdict.
    model.mode = 'hang';
    const called = model.nextCall();
    const tick = stack.tick().catch(() => 'killed');
    await called;
    await stack.killApi();
    expect(await tick).toBe('killed');
    model.mode = 'approve';
    const [job] = await stack.sql`select status, attempts, locked_until > now() as leased from guardian_jobs where task_id = ${id}`;
    expect(job).toMatchObject({ status: 'running', attempts: 1, leased: true });
    await stack.restartApi();
    expect((await stack.tick()).guardian_jobs).toBe(0); // still leased to the dead worker
    await stack.sql`update guardian_jobs set locked_until = now() - interval '1 second' where task_id = ${id}`; // the lease runs out
    await stack.tick();
    expect(await stack.sql`select status, attempts from guardian_jobs where task_id = ${id}`).toEqual([{ status: 'done', attempts: 2 }]);
    expect(await stack.sql`select status from tasks where id = ${id}`).toEqual([{ status: 'COMPLETED' }]);
    expect(await stack.sql`select count(*)::int as n from ledger_entries where task_id = ${id} and kind = 'task_settlement'`).toEqual([{ n: 1 }]);
    expect(await problems(stack.sql)).toEqual([]);
  }, 60_000);

  it('a webhook delivery: posted again after the lease under the same webhook-id, delivered once recorded', async () => {
    const id = (await stack.createTask(agent, { callback_url: receiverUrl })).body.task_id;
    await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
    const first = new Promise<void>((r) => (arrived = r));
    const tick = stack.tick().catch(() => 'killed');
    await first; // the worker posted and waits for an answer that will not come
    await stack.killApi();
    expect(await tick).toBe('killed');
    await stack.restartApi();
    await stack.tick();
    expect(posts.filter((p) => p.body.task_id === id)).toHaveLength(1); // leased: not posted again yet
    await stack.sql`update webhook_deliveries set locked_until = now() - interval '1 second' where task_id = ${id}`;
    await stack.tick();
    const mine = posts.filter((p) => p.body.task_id === id);
    expect(mine).toHaveLength(2);
    expect(mine[1].id).toBe(mine[0].id); // the receiver de-duplicates on webhook-id
    expect(await stack.sql`select status, attempts from webhook_deliveries where task_id = ${id}`).toEqual([{ status: 'delivered', attempts: 2 }]);
  }, 60_000);
});

describe('the model answering 429, 529, 500, or not at all', () => {
  let stack: Stack;
  let model: Awaited<ReturnType<typeof startModel>>;
  let agent: Agent;
  let operator: Operator;
  beforeAll(async () => {
    model = await startModel();
    stack = await startStack({ env: { ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: model.url, ANTHROPIC_TIMEOUT_MS: '300', GUARDIAN_MAX_ATTEMPTS: '4' } });
    agent = await stack.registerAgent('model-faults');
    await stack.deposit(agent, 1000);
    operator = await stack.registerOperator();
  });
  afterAll(async () => {
    await stack?.stop();
    await model?.stop();
  });

  it('retries with growing backoff and ends in MANUAL_REVIEW, never approved, nothing paid', async () => {
    model.mode = 'error';
    const id = await submittedDigital(stack, agent, operator);
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      await stack.tick();
      const [job] = await stack.sql`select status, attempts, extract(epoch from available_at - now())::float8 as wait from guardian_jobs where task_id = ${id}`;
      expect(job).toMatchObject({ status: 'queued', attempts: attempt });
      waits.push(job.wait);
      expect((await stack.sql`select status from tasks where id = ${id}`)[0].status).toBe('SUBMITTED');
      await stack.sql`update guardian_jobs set available_at = now() where task_id = ${id}`; // time passes
    }
    // 15 s, 30 s, 60 s (plus up to 10 s of jitter).
    expect(waits[0]).toBeGreaterThanOrEqual(14);
    expect(waits[1]).toBeGreaterThanOrEqual(29);
    expect(waits[2]).toBeGreaterThanOrEqual(59);
    model.mode = 'hang'; // the last attempt: no answer within ANTHROPIC_TIMEOUT_MS, retried by the SDK, then given up
    await stack.tick();
    const [task] = await stack.sql`select status, guardian_result from tasks where id = ${id}`;
    expect(task.status).toBe('MANUAL_REVIEW');
    expect(task.guardian_result).toMatchObject({ decision: 'MANUAL_REVIEW', confidence: null });
    expect(await stack.sql`select status, attempts from guardian_jobs where task_id = ${id}`).toEqual([{ status: 'failed', attempts: 4 }]);
    expect(await stack.sql`select count(*)::int as n from ledger_entries where task_id = ${id} and kind = 'task_settlement'`).toEqual([{ n: 0 }]);
    expect(model.calls).toBeGreaterThanOrEqual(4); // three failed answers, then the timed-out call(s)
  }, 60_000);
});

describe('Postgres killed (SIGKILL, fsync on) in the middle of a burst, then restarted', () => {
  let dir: string;
  let pg: Awaited<ReturnType<typeof startPostgres>>;
  let sql: postgres.Sql;
  let api: { url: string; stop(): Promise<void> };
  const apiLogs: string[] = [];
  const dataDir = () => join(dir, 'data');
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'humanops-crash-'));
    await chmod(dir, 0o755); // the postgres user must get in
    pg = await onFreePort((port: number) => startPostgres({ dataDir: dataDir(), port, ephemeral: false }));
    sql = postgres(pg.url(), { onnotice: () => {}, max: 2 });
    await migrate(sql);
    api = await startApi({
      env: {
        SUPABASE_DB_URL: pg.url(), HUMANOPS_MODE: 'test', RATE_LIMIT_ENABLED: 'false', DB_POOL_SIZE: '10',
        CLERK_JWKS_URL: inject('issuerJwksUrl'), CLERK_ISSUER: inject('issuer'), CLERK_AUTHORIZED_PARTIES: inject('issuerAuthorizedParty'),
      },
      onLog: (line: string) => apiLogs.push(line),
    });
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
    await sql?.end();
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, key?: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${api.url}${path}`, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}), ...headers },
    });
    return { status: response.status, body: await response.json().catch(() => null) };
  };

  /** Kills the postmaster and every backend at once, as a crash would, and waits until all are gone. */
  function killPostgres() {
    const children = execFileSync('pgrep', ['-P', String(pg.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
    for (const pid of [pg.pid!, ...children]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    return children;
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('keeps every acknowledged move, half-applies none, and answers every retry as the first time', async () => {
    const agents: { id: string; key: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await call('POST', '/agents/register', undefined, { name: `crash-${i}`, email: `crash-${i}@example.com` });
      agents.push({ id: reply.body.agent_id, key: reply.body.api_key });
      expect((await call('POST', '/agents/deposit/usdc', agents[i].key, { tx_hash: txHash(), amount_usdc: '5000.00' })).status).toBe(200);
    }
    const requests = [
      ...Array.from({ length: 60 }, (_, i) => ({ agent: agents[i % 3], path: '/tasks', key: `crash-task-${i}`, body: physicalTask({ reward_usd: 100 + i }) as unknown })),
      ...Array.from({ length: 30 }, (_, i) => ({ agent: agents[i % 3], path: '/agents/deposit/usdc', key: `crash-deposit-${i}`, body: { tx_hash: txHash(), amount_usdc: `${10 + i}.00` } as unknown })),
    ];
    const send = (r: (typeof requests)[number]) => call('POST', r.path, r.agent.key, r.body, { 'idempotency-key': r.key });
    const acknowledged = new Map<string, { status: number; body: any }>();
    let answers = 0;
    let backends: number[] = [];
    let killed: () => void = () => {};
    const crash = new Promise<void>((r) => (killed = r));
    const burst = Promise.allSettled(requests.map(async (r) => {
      const reply = await send(r);
      if (reply.status < 300) acknowledged.set(r.key, reply);
      if (++answers === 25) {
        backends = killPostgres();
        killed();
      }
    }));
    // A request whose connection died with Postgres may never be answered (postgres.js drops its
    // write): its client gives up after a few seconds, as a real one would, and retries later.
    await Promise.race([burst, crash.then(() => new Promise((r) => setTimeout(r, 3000)))]);
    const heard = new Map(acknowledged);
    expect(heard.size).toBeGreaterThanOrEqual(20);
    expect(heard.size).toBeLessThan(requests.length); // the crash hit work in flight
    await expect.poll(() => [pg.pid!, ...backends].some(alive), { timeout: 30_000 }).toBe(false);

    // Recovery replays the WAL: everything the API acknowledged (it answers after COMMIT) is there.
    pg = await startPostgres({ dataDir: dataDir(), port: pg.port, ephemeral: false });
    await sql.end();
    sql = postgres(pg.url(), { onnotice: () => {}, max: 2 });
    for (const [key, reply] of heard) {
      if (key.startsWith('crash-task-')) {
        const [task] = await sql`select status, escrow_cents, reward_cents + fee_cents as total from tasks where id = ${reply.body.task_id}`;
        expect(task, key).toMatchObject({ status: 'PENDING' });
        expect(task.escrow_cents).toBe(task.total);
      } else {
        expect(await sql`select count(*)::int as n from deposits where id = ${reply.body.transaction_id}`).toEqual([{ n: 1 }]);
      }
    }
    expect(await problems(sql)).toEqual([]);

    // Every client retries with its key: the acknowledged get their first answer, the rest run once.
    for (const r of requests) {
      let reply = await send(r);
      for (let attempt = 0; reply.status >= 500 && attempt < 100; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100)); // the API's pool reconnects
        reply = await send(r);
      }
      expect(reply.status, r.key).toBe(r.path === '/tasks' ? 201 : 200);
      if (heard.has(r.key)) expect(reply.body).toEqual(heard.get(r.key)!.body);
    }
    expect(await sql`select count(*)::int as n from tasks`).toEqual([{ n: 60 }]);
    expect(await sql`select count(*)::int as n from deposits`).toEqual([{ n: 3 + 30 }]);
    expect(await problems(sql)).toEqual([]);
  }, 180_000);
});

describe('a webhook receiver down for a while, then back', () => {
  let stack: Stack;
  let agent: Agent;
  let operator: Operator;
  beforeAll(async () => {
    stack = await startStack({ env: { WEBHOOK_TIMEOUT_MS: '5000' } });
    agent = await stack.registerAgent('receiver-down');
    await stack.deposit(agent, 1000);
    operator = await stack.registerOperator();
  });
  afterAll(() => stack?.stop());

  it('every event is delivered once it is back, in order per task, each delivery recorded once', async () => {
    // A port nobody listens on: connections are refused until the receiver starts there.
    const received: { id: string; event: string; task: string }[] = [];
    const receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const body = JSON.parse(raw);
        received.push({ id: String(req.headers['webhook-id']), event: body.event, task: body.task_id });
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    await new Promise((r) => receiver.close(r));
    const callback = { callback_url: `http://127.0.0.1:${port}/hook` };

    const cancelled = (await stack.createTask(agent, { ...callback, ...digitalTask })).body.task_id;
    await stack.call('POST', `/tasks/${cancelled}/cancel`, { key: agent.key });
    const completed = (await stack.createTask(agent, { ...callback, ...digitalTask })).body.task_id;
    await stack.call('POST', `/operator/tasks/${completed}/accept`, { headers: operator.auth });
    await stack.call('POST', `/operator/tasks/${completed}/submit`, { headers: operator.auth, body: { confirmation_text: 'Reviewed' } });
    for (let i = 0; i < 3; i++) await stack.tick(); // the Guardian (no model) sends it to manual review; every post is refused
    await stack.call('POST', `/tasks/${completed}/verify`, { key: agent.key, body: { decision: 'APPROVE' } });
    await stack.tick();
    const failing = await stack.sql`select status, attempts, last_error from webhook_deliveries where attempts > 0`;
    expect(failing.length).toBeGreaterThan(0);
    for (const d of failing) expect(d).toMatchObject({ status: 'pending' });
    expect(received).toEqual([]);

    try {
      await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r));
      for (let round = 0; round < 10; round++) {
        await stack.sql`update webhook_deliveries set next_attempt_at = now() where status = 'pending'`; // the backoff passes
        await stack.tick();
        const [{ pending }] = await stack.sql`select count(*)::int as pending from webhook_deliveries where status = 'pending'`;
        if (pending === 0) break;
      }
    } finally {
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
    }
    // In order per task: a later event waits until the earlier one is delivered.
    const events = (task: string) => received.filter((r) => r.task === task).map((r) => r.event);
    expect(events(cancelled)).toEqual(['task.cancelled']);
    expect(events(completed)).toEqual(['task.accepted', 'task.submitted', 'task.manual_review', 'task.completed']);
    expect(new Set(received.map((r) => r.id)).size).toBe(received.length); // each delivery posted once when up
    expect(await stack.sql`select distinct status from webhook_deliveries`).toEqual([{ status: 'delivered' }]);
  }, 60_000);
});
