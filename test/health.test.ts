import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

describe('health', () => {
  it('reports the API and its database as up, with the version', async () => {
    const reply = await stack.call('GET', '/health');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: 'ok', database: 'ok', version: '0.1.0' });
  });

  it('gives every response an X-Request-Id, keeping a sane one the caller sent', async () => {
    const generated = await stack.call('GET', '/health');
    expect(generated.headers.get('x-request-id')).toMatch(/^req_[A-Za-z0-9]{20}$/);
    const echoed = await stack.call('GET', '/health', { headers: { 'x-request-id': 'trace-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-123');
    const replaced = await stack.call('GET', '/health', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_/);
    for (const failing of [await stack.call('GET', '/nope'), await stack.call('GET', '/agents/balance'), await stack.call('POST', '/agents/register', { raw: '{' })]) {
      expect(failing.status).toBeGreaterThanOrEqual(400);
      expect(failing.headers.get('x-request-id')).toMatch(/^req_/);
    }
  });

  it('answers an unknown route with a JSON 404', async () => {
    const reply = await stack.call('GET', '/nope');
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ error: 'No route for GET /api/v1/nope', code: 'route_not_found' });
  });
});

describe('request logs', () => {
  it('writes one JSON line per request with method, route, status, duration and request id, and never a key', async () => {
    const agent = await stack.registerAgent('logged');
    await stack.call('GET', '/agents/balance', { key: agent.key, headers: { 'x-request-id': 'log-check-1' } });
    // The line is written after the response is sent: wait for it to arrive, however long that takes.
    await expect.poll(() => stack.logs.some((l) => l.includes('"log-check-1"')), { timeout: 30_000, interval: 20 }).toBe(true);
    const lines = stack.logs.filter((l) => l.includes('"log-check-1"'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toEqual({
      ts: expect.any(String),
      level: 'info',
      msg: 'request',
      request_id: 'log-check-1',
      method: 'GET',
      route: '/api/v1/agents/balance',
      status: 200,
      duration_ms: expect.any(Number),
      agent_id: agent.id,
    });
    expect(stack.logs.join('\n')).not.toContain(agent.key);
    expect(stack.logs.join('\n')).not.toContain('ho_test_');
  });
});
