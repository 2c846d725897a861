// What @humanops/sdk offers beside the resources, against the real stack where a real API can show
// it (and a local server where only a misbehaving one can): defaults from the environment,
// auto-pagination over every list, per-request options, raw responses, the User-Agent, and
// opt-in debug logging that never prints a credential.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  APIConnectionTimeoutError, APIUserAbortError, HumanOpsClient, HumanOpsError, HumanOpsOperatorClient, InternalServerError, Page, VERSION,
} from '@humanops/sdk';
import { type Agent, operatorToken, physicalTask, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
let origin: string;

/** A local server that records what it got and answers as told (or never). */
let local: Server;
let localOrigin: string;
const received: { path: string; headers: IncomingHttpHeaders }[] = [];
let answer: (res: ServerResponse) => void = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  stack = await startStack();
  origin = stack.url.replace(/\/api\/v1$/, '');
  agent = await stack.registerAgent('sdk-features');
  await stack.deposit(agent, 1000);
  local = createServer((req, res) => {
    received.push({ path: req.url!, headers: req.headers });
    answer(res);
  });
  await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
  localOrigin = `http://127.0.0.1:${(local.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  await new Promise<void>((r) => local.close(() => r()));
  await stack?.stop();
});

const saved = { key: process.env.HUMANOPS_API_KEY, url: process.env.HUMANOPS_API_URL, log: process.env.HUMANOPS_LOG };
afterEach(() => {
  for (const [name, value] of [['HUMANOPS_API_KEY', saved.key], ['HUMANOPS_API_URL', saved.url], ['HUMANOPS_LOG', saved.log]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  received.length = 0;
});

describe('defaults from the environment', () => {
  it('takes the key from HUMANOPS_API_KEY and the API from HUMANOPS_API_URL', async () => {
    process.env.HUMANOPS_API_KEY = agent.key;
    process.env.HUMANOPS_API_URL = origin;
    const client = new HumanOpsClient();
    expect(client.tasks).toBeDefined();
    expect(await client.agents.balance()).toMatchObject({ currency: 'USD', deposit_balance: 1000 });
  });

  it('options win over the environment, and without any key the constructor says where to put one', async () => {
    process.env.HUMANOPS_API_KEY = 'ho_test_thisisnotakeythisisnotakey';
    process.env.HUMANOPS_API_URL = 'http://127.0.0.1:1';
    expect(await new HumanOpsClient({ apiKey: agent.key, baseUrl: origin }).agents.balance()).toMatchObject({ currency: 'USD' });
    delete process.env.HUMANOPS_API_KEY;
    expect(() => new HumanOpsClient({ baseUrl: origin })).toThrow(/HUMANOPS_API_KEY/);
    expect(() => new HumanOpsClient({ baseUrl: origin })).toThrow(HumanOpsError);
  });
});

describe('auto-pagination', () => {
  it('for await walks every task of every page of tasks.list, a page at a time', async () => {
    const fresh = await stack.registerAgent('pager');
    await stack.deposit(fresh, 1000);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.unshift((await stack.createTask(fresh, { title: `Task ${i}` })).body.task_id);
    const lines: string[] = [];
    const client = new HumanOpsClient({ apiKey: fresh.key, baseUrl: origin, logLevel: 'debug', logger: capture(lines) });

    const seen: string[] = [];
    for await (const task of client.tasks.list({ limit: 3 })) seen.push(task.task_id);
    expect(seen).toEqual(ids); // newest first, each once
    // Three requests, the later two after the cursor the previous page gave.
    const requests = lines.filter((l) => l.startsWith('[humanops] → GET /api/v1/tasks')).map((l) => l.split(' {')[0]);
    expect(requests).toHaveLength(3);
    expect(requests[0]).toBe('[humanops] → GET /api/v1/tasks?limit=3');
    expect(requests.slice(1).every((r) => /^\[humanops\] → GET \/api\/v1\/tasks\?limit=3&cursor=[\w-]+$/.test(r))).toBe(true);

    // Or by hand: a page, its pagination, the next page.
    const first = await client.tasks.list({ limit: 5, status: 'PENDING' });
    expect(first).toBeInstanceOf(Page);
    expect(first.pagination).toMatchObject({ limit: 5, offset: 0, total: 7 });
    expect(first.hasNextPage()).toBe(true);
    const second = await first.getNextPage();
    expect(second.data.map((t) => t.task_id)).toEqual(ids.slice(5));
    expect(second.hasNextPage()).toBe(false);
    expect(() => second.getNextPage()).toThrow(/No next page/);
    expect(JSON.parse(JSON.stringify(second))).toEqual({ data: second.data, pagination: second.pagination });
    expect(second.pagination).toMatchObject({ limit: 5, total: 7 });
  });

  it('every list loops the same way, one page or many: keys, webhooks, operators, and the operator feed', async () => {
    const client = new HumanOpsClient({ apiKey: agent.key, baseUrl: origin });
    await client.keys.create('second');
    const keys: string[] = [];
    for await (const key of client.keys.list()) keys.push(key.id);
    expect(keys).toHaveLength(2);
    expect((await client.keys.list()).hasNextPage()).toBe(false);

    const task = (await stack.createTask(agent, { callback_url: 'http://127.0.0.1:9/hook' })).body.task_id;
    await client.sandbox.simulate(task, { action: 'accept' });
    const deliveries = [];
    for await (const delivery of client.tasks.webhooks(task)) deliveries.push(delivery.event);
    expect(deliveries).toEqual(['task.accepted']);

    const sub = `op_${randomBytes(6).toString('hex')}`;
    const operator = new HumanOpsOperatorClient({ baseUrl: origin, token: await operatorToken(sub) });
    await operator.account.register({ name: 'Ana', email: 'ana@example.com', location: { city: 'New York', country: 'US', lat: 40.7128, lng: -74.006 } });
    for (let i = 0; i < 4; i++) await stack.createTask(agent);
    const feed = await operator.tasks.list({ limit: 2 });
    expect(feed.data).toHaveLength(2);
    let open = 0;
    for await (const _ of operator.tasks.list({ limit: 2 })) open++;
    expect(open).toBe(feed.pagination!.total);
    expect(open).toBeGreaterThanOrEqual(4);
    const near = [];
    for await (const match of client.operators.search({ lat: 40.7128, lng: -74.006, radius_km: 5 })) near.push(match.operator_id);
    expect(near).toContain(sub);
  });
});

describe('per-request options and raw responses', () => {
  it('withResponse gives the parsed body with its status, headers and request id; asResponse the untouched response', async () => {
    const client = new HumanOpsClient({ apiKey: agent.key, baseUrl: origin });
    const { data, response, requestId } = await client.tasks.create(physicalTask()).withResponse();
    expect(data.status).toBe('PENDING');
    expect(response.status).toBe(201);
    expect(requestId).toMatch(/^req_/);
    expect(response.headers.get('ratelimit-limit')).toBeTruthy();

    const raw = await client.tasks.retrieve(data.task_id).asResponse();
    expect(raw.status).toBe(200);
    expect((await raw.json()).task_id).toBe(data.task_id);

    // A list too: the first page with its response.
    const listed = await client.tasks.list({ limit: 1 }).withResponse();
    expect(listed.data.data).toHaveLength(1);
    expect(listed.response.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('extra headers per call reach the API (here our own X-Request-Id comes back), and null drops a default one', async () => {
    const client = new HumanOpsClient({ apiKey: agent.key, baseUrl: origin, defaultHeaders: { 'X-Team': 'ops' } });
    const { requestId } = await client.agents.balance({ headers: { 'X-Request-Id': 'trace-abc-123' } }).withResponse();
    expect(requestId).toBe('trace-abc-123');

    const toLocal = new HumanOpsClient({ apiKey: 'ho_test_local', baseUrl: localOrigin, defaultHeaders: { 'X-Team': 'ops' } });
    await toLocal.agents.balance({ headers: { 'X-Extra': 'yes', 'x-team': null } });
    expect(received[0].headers['x-extra']).toBe('yes');
    expect(received[0].headers['x-team']).toBeUndefined();
    await toLocal.agents.balance();
    expect(received[1].headers['x-team']).toBe('ops');
  });

  it('a per-call timeout and retry count override the client\'s', async () => {
    answer = (res) => void hanging.push(res);
    const client = new HumanOpsClient({ apiKey: 'ho_test_local', baseUrl: localOrigin, timeoutMs: 60_000, maxRetries: 5 });
    const started = Date.now();
    await expect(client.agents.balance({ timeoutMs: 150, maxRetries: 1 })).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    expect(received).toHaveLength(2); // the attempt and one retry
    expect(Date.now() - started).toBeLessThan(5_000);

    received.length = 0;
    answer = (res) => res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"error":"down","code":"try_again"}');
    await expect(client.agents.balance({ maxRetries: 0 })).rejects.toBeInstanceOf(InternalServerError);
    expect(received).toHaveLength(1);
  });

  it('an abort signal stops the call and its retries at once', async () => {
    answer = (res) => void hanging.push(res);
    const client = new HumanOpsClient({ apiKey: 'ho_test_local', baseUrl: localOrigin, maxRetries: 5 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(client.tasks.list({}, { signal: controller.signal })).rejects.toBeInstanceOf(APIUserAbortError);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(received).toHaveLength(1);

    // Aborted while waiting to retry: no further attempt.
    received.length = 0;
    answer = (res) => res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '30' }).end('{"error":"down","code":"try_again"}');
    const waiting = new AbortController();
    setTimeout(() => waiting.abort(), 150);
    await expect(client.agents.balance({ signal: waiting.signal })).rejects.toBeInstanceOf(APIUserAbortError);
    expect(received).toHaveLength(1);
  });
});

describe('identification and logging', () => {
  it('sends User-Agent humanops-sdk-js/<version>, the version package.json declares', async () => {
    answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    const manifest = JSON.parse(readFileSync(new URL('../sdk/package.json', import.meta.url), 'utf8'));
    expect(VERSION).toBe(manifest.version);
    await new HumanOpsClient({ apiKey: 'ho_test_local', baseUrl: localOrigin }).agents.balance();
    expect(received[0].headers['user-agent']).toBe(`humanops-sdk-js/${manifest.version}`);
    await new HumanOpsOperatorClient({ baseUrl: localOrigin, token: 'jwt' }).earnings.retrieve();
    expect(received[1].headers['user-agent']).toBe(`humanops-sdk-js/${manifest.version}`);
  });

  it('logs nothing by default; at debug each request and answer, the key redacted; HUMANOPS_LOG turns it on', async () => {
    const quiet: string[] = [];
    await new HumanOpsClient({ apiKey: agent.key, baseUrl: origin, logger: capture(quiet) }).agents.balance();
    expect(quiet).toEqual([]);

    const lines: string[] = [];
    const client = new HumanOpsClient({ apiKey: agent.key, baseUrl: origin, logLevel: 'debug', logger: capture(lines) });
    await client.tasks.create(physicalTask());
    await expect(client.tasks.retrieve('task_missing')).rejects.toMatchObject({ status: 404 });
    expect(lines.some((l) => l.startsWith('[humanops] → POST /api/v1/tasks') && l.includes('"X-API-Key":"***"'))).toBe(true);
    expect(lines.some((l) => /^\[humanops\] ← 201 POST \/api\/v1\/tasks in \d+ ms .*"requestId":"req_/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('[humanops] GET /api/v1/tasks/task_missing answered 404: Task not found'))).toBe(true);
    expect(lines.join('\n')).not.toContain(agent.key);

    process.env.HUMANOPS_LOG = 'warn';
    const warnings: string[] = [];
    answer = (res) => res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"error":"down","code":"try_again"}');
    await expect(new HumanOpsClient({ apiKey: 'ho_test_local', baseUrl: localOrigin, maxRetries: 1, logger: capture(warnings) }).agents.balance()).rejects.toBeInstanceOf(InternalServerError);
    expect(warnings[0]).toMatch(/^\[humanops\] GET \/api\/v1\/agents\/balance answered 503; retrying in 0 ms \(1 of 1\)/);
    expect(warnings.some((l) => l.startsWith('[humanops] → '))).toBe(false); // warn, not debug
  });
});

/** A logger that keeps each line (message and details) as one string. */
function capture(lines: string[]) {
  const keep = (message: string, details?: unknown) => lines.push(details === undefined ? message : `${message} ${JSON.stringify(details)}`);
  return { error: keep, warn: keep, info: keep, debug: keep };
}
