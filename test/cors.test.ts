// CORS through the real function: browsers on an allowed origin may call the API (preflights are
// answered before authentication); pages on any other origin get no Access-Control-* header.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers/stack.ts';

const APP = 'https://app.example.com';

describe('CORS', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { CORS_ALLOWED_ORIGINS: `${APP},http://localhost:5173` } });
  });
  afterAll(() => stack?.stop());

  const preflight = (origin: string, path = '/tasks', headers = 'x-api-key, content-type, idempotency-key') =>
    fetch(`${stack.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers },
    });
  const corsHeaders = ({ headers }: { headers: Headers }) => [...headers.keys()].filter((h) => h.startsWith('access-control-'));

  it('answers a preflight from an allowed origin before authentication, with the headers the API reads', async () => {
    const response = await preflight(APP);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-methods')?.split(',')).toEqual(expect.arrayContaining(['GET', 'POST', 'DELETE']));
    const allowed = response.headers.get('access-control-allow-headers')!.toLowerCase().split(',');
    expect(allowed).toEqual(expect.arrayContaining(['x-api-key', 'content-type', 'idempotency-key', 'authorization']));
    expect(response.headers.get('vary')).toMatch(/origin/i);
    // An operator route too: preflights never meet the Bearer check.
    expect((await preflight('http://localhost:5173', '/operator/tasks', 'authorization')).status).toBe(204);
  });

  it('gives a preflight from another origin no CORS headers', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.example.com', 'null']) {
      const response = await preflight(origin);
      expect(corsHeaders(response)).toEqual([]);
      expect(response.status).not.toBe(204);
      await response.body?.cancel();
    }
  });

  it('lets an allowed origin read answers and errors (with the request id), and not another origin', async () => {
    const agent = await stack.registerAgent('cors');
    const ok = await stack.call('GET', '/agents/balance', { key: agent.key, headers: { origin: APP } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/);

    const refused = await stack.call('GET', '/agents/balance', { headers: { origin: APP } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);

    const other = await stack.call('GET', '/agents/balance', { key: agent.key, headers: { origin: 'https://evil.example.com' } });
    expect(other.status).toBe(200);
    expect(corsHeaders(other)).toEqual([]);
  });
});
