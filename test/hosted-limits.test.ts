// Hosted under Supabase's limits, on this machine: connections through the pooled URL (2 per
// isolate), a tick that ends within its budget whatever the model and the receivers do, and a
// tick's memory and CPU with photo-sized proofs.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../functions/_shared/db.ts';
import { type StandIn, startAnthropicStandIn, toolAnswer } from './helpers/anthropic-stand-in.ts';
import { makeJpeg, makeLargeJpeg, withExif } from './helpers/images.ts';
import { type Agent, type Instance, type Operator, type Stack, startStack } from './helpers/stack.ts';

const NY = { lat: 40.7128, lng: -74.006, address: '123 Main St, NY' };

/** Every requirement met, with full confidence. */
const approve = (request: { body: any }) => {
  const text = request.body.messages[0].content.at(-1).text as string;
  const requirements: string[] = JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1).replace(/\\u003c/g, '<').replace(/\\u003e/g, '>')).proof_requirements;
  return toolAnswer({ requirement_results: requirements.map((requirement) => ({ requirement, met: true, note: 'seen' })), confidence: 97, reasoning: 'Looks right' });
};

let scenes = 0;
/** Posts a task, has `operator` accept it and submit `photos` (fresh EXIF each), and returns its id. */
async function submitted(stack: Stack, agent: Agent, operator: Operator, photos: Uint8Array[] = [makeJpeg({ scene: ++scenes })], task: Record<string, unknown> = {}) {
  const created = await stack.createTask(agent, { location: NY, proof_requirements: ['Photo of storefront sign'], ...task });
  const id = created.body.task_id as string;
  expect((await stack.call('POST', `/operator/tasks/${id}/accept`, { headers: operator.auth })).status).toBe(200);
  const paths: string[] = [];
  for (const photo of photos) {
    const uploaded = await stack.upload(operator, id, withExif(photo, { lat: NY.lat + 0.0002, lng: NY.lng - 0.0002, takenAt: new Date() }));
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    paths.push(uploaded.body.path);
  }
  const reply = await stack.call('POST', `/operator/tasks/${id}/submit`, { headers: operator.auth, body: { photos: paths, notes: 'Done' } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return id;
}

/** CPU seconds (user + system) a process has used, from /proc. */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
};
/** Peak resident memory (VmHWM) in MB since the last reset. */
const peakRssMb = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const resetPeakRss = (pid: number) => writeFileSync(`/proc/${pid}/clear_refs`, '5');

describe('connections: twelve API instances configured as on Supabase', () => {
  let stack: Stack;
  let model: StandIn;
  const instances: Instance[] = [];
  beforeAll(async () => {
    model = await startAnthropicStandIn();
    model.answer = (request) => ({ ...approve(request), delayMs: 1_500 }); // a slow model: jobs overlap
    stack = await startStack({
      env: {
        SB_REGION: 'local-ci', STORAGE_BACKEND: 'local', DB_POOL_SIZE: '', // the hosted defaults
        ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: model.url,
      },
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await stack?.stop();
    await model?.stop();
  });

  it('each keeps at most 2 connections while all of them run ticks at once, and all go through the pooled URL', async () => {
    const agent = await stack.registerAgent('pool');
    await stack.deposit(agent, 2000);
    const operator = await stack.registerOperator();
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(await submitted(stack, agent, operator));
    // Eleven more, each naming itself; the direct URL leads nowhere, so only the pooled one can work.
    for (let i = 1; i <= 11; i += 4) {
      instances.push(...await Promise.all([i, i + 1, i + 2, i + 3].filter((n) => n <= 11).map((n) => stack.startInstance({
        SUPABASE_DB_URL: 'postgres://nobody@127.0.0.1:1/direct',
        DB_POOLER_URL: `${stack.databaseUrl}?application_name=humanops-i${n}`,
      }))));
    }
    const seen = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rows = await stack.sql<{ name: string; n: number }[]>`
          select application_name as name, count(*)::int as n from pg_stat_activity
           where datname = current_database() and application_name like 'humanops-%' group by 1`;
        for (const { name, n } of rows) seen.set(name, Math.max(seen.get(name) ?? 0, n));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const ran = await Promise.all([stack.tick(), ...instances.map((instance) => instance.tick())]);
    sampling = false;
    await sampler;

    expect(ran.reduce((sum, r) => sum + Number(r.guardian_jobs), 0)).toBe(24);
    expect(ran.filter((r) => Number(r.guardian_jobs) > 0).length).toBeGreaterThanOrEqual(6); // they really ran at once
    console.log('peak connections per instance:', Object.fromEntries([...seen].sort()));
    expect(seen.size).toBeGreaterThanOrEqual(7);
    for (const [name, n] of seen) expect(n, name).toBeLessThanOrEqual(2);
    expect(await stack.sql`select count(*)::int as n from tasks where id in ${stack.sql(ids)} and status = 'COMPLETED'`).toEqual([{ n: 24 }]);
  }, 240_000);
});

describe('a tick with a deadline', () => {
  let stack: Stack;
  let model: StandIn;
  let agent: Agent;
  let operator: Operator;
  let receiver: Server;
  let receiverUrl: string;
  const BUDGET_MS = 8_000;
  const error = { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } };
  beforeAll(async () => {
    model = await startAnthropicStandIn();
    receiver = createServer(() => {}); // takes the webhook and never answers
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    stack = await startStack({
      env: {
        ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: model.url, ANTHROPIC_TIMEOUT_MS: '60000',
        WEBHOOK_TIMEOUT_MS: '60000', TICK_BUDGET_MS: String(BUDGET_MS),
      },
    });
    agent = await stack.registerAgent('budget');
    await stack.deposit(agent, 1000);
    operator = await stack.registerOperator();
  });
  afterAll(async () => {
    await stack?.stop();
    await model?.stop();
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
  });

  const job = async (id: string) => (await stack.sql`
    select status, attempts, extract(epoch from available_at - now())::float8 as wait from guardian_jobs where task_id = ${id}`)[0];

  it('returns within its budget while the model takes 50 s to say Retry-After: 120; the job is retried later', async () => {
    model.answer = () => ({ status: 429, body: error, headers: { 'retry-after': '120' }, delayMs: 50_000 });
    const id = await submitted(stack, agent, operator);
    const started = Date.now();
    const ran = await stack.tick();
    const took = Date.now() - started;
    console.log(`tick against a 50 s model: ${took} ms (budget ${BUDGET_MS} ms)`);
    expect(ran.guardian_jobs).toBe(1);
    expect(took).toBeLessThan(BUDGET_MS);
    expect(await job(id)).toMatchObject({ status: 'queued', attempts: 1 });
    expect((await job(id)).wait).toBeGreaterThan(10);
    expect((await stack.sql`select status from tasks where id = ${id}`)[0].status).toBe('SUBMITTED');
    await stack.sql`update guardian_jobs set status = 'done' where task_id = ${id}`; // out of the next test's way
  }, 60_000);

  it('does not sit out a Retry-After: the job waits in the queue for it instead', async () => {
    model.answer = () => ({ status: 429, body: error, headers: { 'retry-after': '120' } });
    const id = await submitted(stack, agent, operator);
    const calls = model.requests.length;
    const started = Date.now();
    await stack.tick();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(model.requests.length - calls).toBe(1);
    const waiting = await job(id);
    expect(waiting).toMatchObject({ status: 'queued', attempts: 1 });
    expect(waiting.wait).toBeGreaterThan(115);
    expect(waiting.wait).toBeLessThanOrEqual(130);
    await stack.sql`update guardian_jobs set status = 'done' where task_id = ${id}`;
  }, 60_000);

  it('sends a proof whose photos exceed the per-job byte budget to manual review without reading the rest', async () => {
    const id = await submitted(stack, agent, operator, [makeJpeg(), makeJpeg()]);
    const calls = model.requests.length;
    const worker = await stack.startInstance({ GUARDIAN_JOB_MAX_BYTES: '1000' });
    try {
      expect((await worker.tick()).guardian_jobs).toBe(1);
    } finally {
      await worker.stop();
    }
    expect(model.requests.length).toBe(calls);
    const [task] = await stack.sql`select status, guardian_result from tasks where id = ${id}`;
    expect(task.status).toBe('MANUAL_REVIEW');
    expect(task.guardian_result.error).toMatch(/add up to more than/);
    expect(await stack.sql`select status from guardian_jobs where task_id = ${id}`).toEqual([{ status: 'failed' }]);
  }, 60_000);

  it('stops a webhook batch at the deadline when the receiver never answers', async () => {
    const id = (await stack.createTask(agent, { callback_url: receiverUrl })).body.task_id;
    expect((await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key })).status).toBe(200);
    const started = Date.now();
    const ran = await stack.tick();
    expect(ran.webhook_deliveries).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(BUDGET_MS);
    const [delivery] = await stack.sql`select status, last_error from webhook_deliveries where task_id = ${id}`;
    expect(delivery.status).toBe('pending');
    expect(delivery.last_error).toMatch(/no answer within/);
  }, 60_000);
});

describe('the smaller limits: statement timeout, sampled logs', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.stop());

  it('sets a statement timeout on every transaction, whatever role it takes', async () => {
    const db = createDb(stack.databaseUrl, { poolSize: 1, prepare: false, idleTimeoutSeconds: 1, statementTimeoutMs: 250 });
    try {
      const agent = { id: 'agt_none', keyId: 'key_none', scopes: ['read' as const] };
      expect((await db.asAgent(agent, (tx) => tx`show statement_timeout`))[0].statement_timeout).toBe('250ms');
      expect((await db.asOperator('op_none', (tx) => tx`show statement_timeout`))[0].statement_timeout).toBe('250ms');
      await expect(db.asService((tx) => tx`select pg_sleep(2)`)).rejects.toMatchObject({ code: '57014' });
    } finally {
      await db.end();
    }
  });

  it('a request the statement timeout cancels answers 503 try_again with Retry-After, and changes nothing', async () => {
    const instance = await stack.startInstance({ DB_STATEMENT_TIMEOUT_MS: '300' });
    const agent = await stack.registerAgent();
    await stack.deposit(agent, 100);
    const created = await stack.createTask(agent, { location: NY });
    expect(created.status).toBe(201);
    const id = created.body.task_id as string;
    try {
      // Another transaction holds the task's row, which the cancel must lock: it waits past its timeout.
      const answer = await stack.sql.begin(async (tx) => {
        await tx`select 1 from tasks where id = ${id} for update`;
        return fetch(`${instance.url}/tasks/${id}/cancel`, { method: 'POST', headers: { 'x-api-key': agent.key } })
          .then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.json() }));
      });
      expect(answer).toMatchObject({ status: 503, retryAfter: '2', body: { code: 'try_again' } });
      const [task] = await stack.sql`select status from tasks where id = ${id}`;
      expect(task.status).toBe('PENDING');
      // Nothing was kept under the request's Idempotency-Key either: the retry is what takes effect.
      const retried = await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
      expect(retried.status).toBe(200);
    } finally {
      await instance.stop();
    }
  });

  it('logs the first requests of each 10 s, every error, and a count of the rest', async () => {
    const instance = await stack.startInstance({ LOG_REQUESTS_PER_10S: '5' });
    try {
      const lines = () => instance.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
      for (let i = 0; i < 20; i++) await fetch(`${instance.url}/openapi.json`).then((r) => r.body?.cancel());
      // Log lines arrive through a pipe, a moment after the answers.
      const requests = () => lines().filter((l) => l.msg === 'request').length;
      await expect.poll(requests).toBe(5);
      await new Promise((r) => setTimeout(r, 10_100)); // the window began with the first of them
      await fetch(`${instance.url}/openapi.json`).then((r) => r.body?.cancel());
      await expect.poll(() => lines().find((l) => l.msg === 'requests not logged')).toMatchObject({ count: 15, by_status: { '2xx': 15 } });
      await expect.poll(requests).toBe(6);
    } finally {
      await instance.stop();
    }
  }, 60_000);
});

describe('a job that kills its worker cannot loop', () => {
  let stack: Stack;
  let model: StandIn;
  beforeAll(async () => {
    model = await startAnthropicStandIn();
    stack = await startStack({ env: { ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: model.url, GUARDIAN_MAX_ATTEMPTS: '3' } });
  });
  afterAll(async () => {
    await stack?.stop();
    await model?.stop();
  });

  it('goes to MANUAL_REVIEW after three deaths without a fourth model call, and its batch-mates complete', async () => {
    const agent = await stack.registerAgent('poison');
    await stack.deposit(agent, 1000);
    const operator = await stack.registerOperator();
    const poisoned = await submitted(stack, agent, operator, [makeJpeg({ scene: ++scenes })], { title: 'The poisoned proof' });
    const mates: string[] = [];
    for (let i = 0; i < 3; i++) mates.push(await submitted(stack, agent, operator, [makeJpeg({ scene: ++scenes })], { title: `A good proof ${i}` }));
    const isPoisoned = (request: { body: any }) => request.body.messages[0].content.at(-1).text.includes('The poisoned proof');
    // The poisoned proof hangs its worker (as one that runs out of memory or CPU would); the others
    // take a moment, so the first death takes them along.
    model.answer = (request) => ({ ...approve(request), delayMs: isPoisoned(request) ? 600_000 : 1_500 });
    const poisonedCalls = () => model.requests.filter(isPoisoned).length;

    for (let death = 1; death <= 3; death++) {
      const tick = stack.tick().catch(() => 'killed');
      await expect.poll(poisonedCalls, { timeout: 30_000 }).toBe(death);
      await stack.killApi();
      expect(await tick).toBe('killed');
      await stack.sql`update guardian_jobs set locked_until = now() - interval '1 second' where status = 'running'`; // the leases run out
      await stack.restartApi();
    }
    await stack.tick();
    expect(poisonedCalls()).toBe(3);
    const [task] = await stack.sql`select status, guardian_result from tasks where id = ${poisoned}`;
    expect(task.status).toBe('MANUAL_REVIEW');
    expect(task.guardian_result).toMatchObject({ decision: 'MANUAL_REVIEW', confidence: null });
    expect(await stack.sql`select status, attempts from guardian_jobs where task_id = ${poisoned}`).toEqual([{ status: 'failed', attempts: 3 }]);
    expect(await stack.sql`select count(*)::int as n from tasks where id in ${stack.sql(mates)} and status = 'COMPLETED'`).toEqual([{ n: 3 }]);
  }, 180_000);
});

describe('memory and CPU of a tick: four jobs of five 3.4 MB photos', () => {
  let stack: Stack;
  let model: StandIn;
  let worker: Instance;
  beforeAll(async () => {
    model = await startAnthropicStandIn();
    model.answer = approve;
    // Images go to the model by signed URL, as with Supabase Storage.
    stack = await startStack({ env: { ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: model.url, GUARDIAN_IMAGE_SOURCE: 'url' } });
  });
  afterAll(async () => {
    await worker?.stop();
    await stack?.stop();
    await model?.stop();
  });

  it('keeps heap + external under 125 MB and CPU under 1 s', async () => {
    const agent = await stack.registerAgent('photos');
    await stack.deposit(agent, 1000);
    const operator = await stack.registerOperator();
    const ids: string[] = [];
    let photo = new Uint8Array();
    // A photo of its own for each task: the same picture for another task would be a reused proof.
    for (let i = 0; i < 4; i++) {
      photo = makeLargeJpeg(i + 1);
      ids.push(await submitted(stack, agent, operator, Array.from({ length: 5 }, () => photo)));
    }

    // A fresh worker runs the tick: nothing left over from the uploads counts against it.
    worker = await stack.startInstance();
    resetPeakRss(worker.pid);
    const cpuBefore = cpuSeconds(worker.pid);
    const ran = await worker.tick();
    const cpu = cpuSeconds(worker.pid) - cpuBefore;
    expect(ran.guardian_jobs).toBe(4);
    const line = worker.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).find((l) => l?.msg === 'tick');
    console.log(`photo ${(photo.length / 1024 / 1024).toFixed(2)} MB; tick: ${JSON.stringify({ ...line, ran: undefined })}; ` +
      `process: ${cpu.toFixed(2)} s CPU, peak RSS ${peakRssMb(worker.pid).toFixed(0)} MB`);
    expect(line.peak_memory_mb).toBeLessThan(125);
    expect(line.cpu_ms).toBeLessThan(1000);

    // The model got the photos by reference, and judged them.
    const images = model.requests.flatMap((r) => r.body.messages[0].content.filter((c: any) => c.type === 'image'));
    expect(images).toHaveLength(20);
    expect(images.every((image: any) => image.source.type === 'url' && image.source.url.includes('/storage/proofs/'))).toBe(true);
    expect(await stack.sql`select count(*)::int as n from tasks where id in ${stack.sql(ids)} and status = 'COMPLETED'`).toEqual([{ n: 4 }]);
  }, 180_000);
});
