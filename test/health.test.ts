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
  });

  it('answers an unknown route with a JSON 404', async () => {
    const reply = await stack.call('GET', '/nope');
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ error: 'No route for GET /api/v1/nope', code: 'route_not_found' });
  });
});
