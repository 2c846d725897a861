import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { physicalTask, type Stack, startStack } from './helpers/stack.ts';
import { makeJpeg } from './helpers/images.ts';

/**
 * Windows are fixed UTC minutes of the database's clock: a burst that straddled a minute boundary
 * would be counted in two windows. Start each burst with at least 20 s of the minute left.
 */
async function inFreshWindow(stack: Stack) {
  const [{ left }] = await stack.sql`select 60 - extract(epoch from now())::numeric % 60 as left`;
  if (Number(left) < 20) await new Promise((r) => setTimeout(r, Number(left) * 1000 + 50));
}

describe('rate limits (fixed window per caller and route)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { RATE_LIMIT_PER_MINUTE: '5' } });
  });
  afterAll(() => stack?.stop());

  it('answers 429 with Retry-After and RateLimit headers past the limit', async () => {
    await inFreshWindow(stack);
    const agent = await stack.registerAgent('limited');
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await stack.call('GET', '/agents/balance', { key: agent.key }));
    expect(replies.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(replies[0].headers.get('ratelimit-limit')).toBe('5');
    expect(replies[0].headers.get('ratelimit-remaining')).toBe('4');
    expect(replies[4].headers.get('ratelimit-remaining')).toBe('0');
    const refused = replies[5];
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: 'Too many requests: at most 5 per minute on this endpoint', code: 'rate_limited' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('ratelimit-reset')).toBe(String(retryAfter));
  });

  it('counts hits from different connections on rows of their own, and sums them all', async () => {
    const bucket = '203.0.113.50 GET /api/v1/shards';
    const connections = await Promise.all(Array.from({ length: 6 }, () => stack.sql.reserve()));
    const counts = [];
    for (const connection of connections) counts.push((await connection`select hits from api.hit_rate_limit(${bucket}, 60)`)[0].hits);
    for (const connection of connections) connection.release();
    expect(counts).toEqual([1, 2, 3, 4, 5, 6]);
    const [{ rows }] = await stack.sql`select count(*)::int as rows from rate_limits where bucket = ${bucket}`;
    expect(rows).toBeGreaterThan(1);
  });

  it('counts each route separately, and never limits health checks', async () => {
    await inFreshWindow(stack);
    for (let i = 0; i < 10; i++) expect((await stack.call('GET', '/health')).status).toBe(200);
    const other = await stack.call('GET', '/tasks', { key: 'ho_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(other.status).toBe(401); // counted and answered, not limited
  });

  it('counts requests that fail, so guessing keys is limited too', async () => {
    await inFreshWindow(stack);
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await stack.call('GET', '/agents/keys', { key: `ho_test_${String(i).repeat(30)}` })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });

  it('ignores X-Forwarded-For unless told to trust a proxy', async () => {
    await inFreshWindow(stack);
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await stack.call('POST', '/tasks', { body: {}, headers: { 'x-forwarded-for': `10.0.0.${i}` } })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });
});

describe('rate limits on posting tasks (counted in the statement that posts)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { RATE_LIMIT_PER_MINUTE: '5' } });
  });
  afterAll(() => stack?.stop());

  it('counts posts that succeed and posts the database refuses, per key, with the headers, then answers 429', async () => {
    await inFreshWindow(stack);
    const funded = await stack.registerAgent('funded');
    await stack.deposit(funded, 100);
    const posted = await stack.createTask(funded);
    expect(posted.status).toBe(201);
    expect(posted.headers.get('ratelimit-limit')).toBe('5');
    expect(posted.headers.get('ratelimit-remaining')).toBe('4');
    const broke = await stack.registerAgent('broke');
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await stack.createTask(broke));
    expect(replies.map((r) => r.status)).toEqual([402, 402, 402, 402, 402, 429]);
    expect(replies[5].body.code).toBe('rate_limited');
    expect(Number(replies[5].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('counts keys that find no agent with the anonymous callers, so made-up keys get no window each', async () => {
    await inFreshWindow(stack);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await stack.call('POST', '/tasks', { key: `ho_test_${String(i).repeat(28)}`, body: physicalTask() })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });
});

describe('rate limits behind a proxy', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY_HEADERS: 'true' } });
  });
  afterAll(() => stack?.stop());

  it('counts per client IP, as the trusted proxy appended it (the right-most entry)', async () => {
    await inFreshWindow(stack);
    const from = (ip: string) => stack.call('POST', '/agents/register', { body: {}, headers: { 'x-forwarded-for': `198.51.100.7, ${ip}` } });
    expect([(await from('203.0.113.1')).status, (await from('203.0.113.1')).status, (await from('203.0.113.1')).status]).toEqual([400, 400, 429]);
    expect((await from('203.0.113.2')).status).toBe(400);
  });

  it('a client cannot escape its limit by inventing X-Forwarded-For entries', async () => {
    await inFreshWindow(stack);
    // The attack as found: a random left-most entry on every request, the proxy's real one after it.
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      const spoofed = `${1 + i}.${i * 7}.${i * 13}.${200 - i}`;
      statuses.push((await stack.call('POST', '/agents/register', { body: {}, headers: { 'x-forwarded-for': `${spoofed}, 203.0.113.9` } })).status);
    }
    expect(statuses).toEqual([400, 400, 429, 429, 429]);
  });
});

describe('rate limits keyed on who calls, behind a proxy that sends no address (as on Supabase)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { RATE_LIMIT_PER_MINUTE: '100', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '4', TRUST_PROXY_HEADERS: 'true' } });
  });
  afterAll(() => stack?.stop());

  it("agent A's 101 calls to a route do not make agent B's first call a 429", async () => {
    const [a, b] = [await stack.registerAgent('a'), await stack.registerAgent('b')];
    await inFreshWindow(stack);
    const statuses = [];
    for (let i = 0; i < 101; i++) statuses.push((await stack.call('GET', '/agents/balance', { key: a.key })).status);
    expect(statuses.slice(0, 100).every((s) => s === 200)).toBe(true);
    expect(statuses[100]).toBe(429);
    const first = await stack.call('GET', '/agents/balance', { key: b.key });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-remaining')).toBe('99');
  }, 60_000);

  it('counts each operator on its own', async () => {
    const [x, y] = [await stack.registerOperator(), await stack.registerOperator()];
    await inFreshWindow(stack);
    for (let i = 0; i < 100; i++) await stack.call('GET', '/operator/earnings', { headers: x.auth });
    expect((await stack.call('GET', '/operator/earnings', { headers: x.auth })).status).toBe(429);
    expect((await stack.call('GET', '/operator/earnings', { headers: y.auth })).status).toBe(200);
  }, 60_000);

  it('puts anonymous callers without a trustworthy address in one bucket with its own limit, and keys that fail with them', async () => {
    const known = await stack.registerAgent('c');
    await inFreshWindow(stack);
    const spec = (options: { headers?: Record<string, string>; key?: string } = {}) => stack.call('GET', '/openapi.json', options).then((r) => r.status);
    const statuses = [await spec(), await spec({ headers: { 'x-forwarded-for': '10.0.0.8' } }), await spec({ key: `ho_test_${'9'.repeat(30)}` }), await spec(), await spec()];
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    // An address the proxy vouches for counts on its own; known callers never touch the anonymous bucket.
    expect(await spec({ headers: { 'x-forwarded-for': '203.0.113.77' } })).toBe(200);
    expect(await spec({ key: known.key })).toBe(200);
  });
});

describe('rate limits switched off', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { RATE_LIMIT_PER_MINUTE: '1', RATE_LIMIT_ENABLED: 'false' } });
  });
  afterAll(() => stack?.stop());

  it('lets everything through without headers', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await stack.call('POST', '/agents/register', { body: {} });
      expect(reply.status).toBe(400);
      expect(reply.headers.get('ratelimit-limit')).toBeNull();
    }
  });
});

describe('upload rate limit', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { RATE_LIMIT_UPLOADS_PER_MINUTE: '2' } });
  });
  afterAll(() => stack?.stop());

  it('allows uploads at their own, lower rate', async () => {
    const agent = await stack.registerAgent('uploads');
    await stack.deposit(agent, 100);
    const task = await stack.createTask(agent);
    const operator = await stack.registerOperator();
    await stack.call('POST', `/operator/tasks/${task.body.task_id}/accept`, { headers: operator.auth });
    await inFreshWindow(stack);
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await stack.upload(operator, task.body.task_id, makeJpeg())).status);
    }
    expect(statuses).toEqual([201, 201, 429]);
    expect((await stack.call('GET', '/operator/earnings', { headers: operator.auth })).status).toBe(200);
  });
});
