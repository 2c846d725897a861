// @humanops/sdk's transport against a local stand-in: connection failures and timeouts, which
// statuses are retried, the caller's own Idempotency-Key, error fields; and verifyWebhook keyed
// exactly as functions/_shared/webhooks.ts signs.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APIConnectionError, APIConnectionTimeoutError, BadRequestError, ConflictError, HumanOpsClient, HumanOpsError,
  NotFoundError, verifyWebhook, WebhookVerificationError,
} from '@humanops/sdk';
import { signatureHeaders } from '../functions/_shared/webhooks.ts';

type Reply = { status: number; headers?: Record<string, string>; body?: unknown } | 'hang';

let server: Server;
let origin: string;
let script: Reply[] = [];
const seen: { method: string; path: string; key: string | undefined }[] = [];
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method!, path: req.url!, key: req.headers['idempotency-key'] as string | undefined });
    const reply = script.shift() ?? { status: 200, body: { ok: true } };
    if (reply === 'hang') return void hanging.push(res);
    res.writeHead(reply.status, { 'content-type': 'application/json', 'x-request-id': `req_${seen.length}`, ...reply.headers });
    res.end(JSON.stringify(reply.body ?? { error: `status ${reply.status}`, code: `code_${reply.status}` }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

const fresh = (replies: Reply[]) => {
  seen.length = 0;
  script = replies;
};
const rejection = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e as HumanOpsError);

describe('transport', () => {
  it('sends to <baseUrl>/api/v1 with the key; a GET carries no Idempotency-Key', async () => {
    fresh([{ status: 200, body: { deposit_balance: 1, escrow_balance: 0, currency: 'USD' } }]);
    const client = new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: `${origin}/` });
    expect(await client.agents.balance()).toMatchObject({ currency: 'USD' });
    expect(seen).toEqual([{ method: 'GET', path: '/api/v1/agents/balance', key: undefined }]);
  });

  it('webhooks.resend posts to the delivery and returns it', async () => {
    const delivery = { delivery_id: 'whd_1', event: 'task.completed', status: 'pending', attempts: 0, last_status_code: 500, last_error: 'receiver answered 500', next_attempt_at: '2026-11-28T12:00:00.000Z', delivered_at: null, created_at: '2026-11-28T11:00:00.000Z' };
    fresh([{ status: 200, body: delivery }]);
    expect(await new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: origin }).webhooks.resend('whd_1')).toEqual(delivery);
    expect(seen).toEqual([{ method: 'POST', path: '/api/v1/webhooks/whd_1/resend', key: expect.any(String) }]);
  });

  it("reuses the caller's Idempotency-Key across retries of one POST, and a new one per logical POST", async () => {
    fresh([{ status: 408 }, { status: 502 }, { status: 201, body: { task_id: 'task_1', status: 'PENDING' } }]);
    const client = new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: origin });
    const task = await client.dispatchDigitalTask({ title: 't', description: 'd', category: 'CAPTCHA_SOLVING', reward_usd: 10, idempotencyKey: 'order-42' });
    expect(task.task_id).toBe('task_1');
    expect(seen.map((s) => s.key)).toEqual(['order-42', 'order-42', 'order-42']);

    fresh([{ status: 200 }, { status: 200 }]);
    await client.tasks.cancel('task_1');
    await client.tasks.cancel('task_1');
    expect(seen[0].key).not.toBe(seen[1].key);
  });

  it('does not retry a 4xx other than 408 and 429, and fills the error from the response', async () => {
    fresh([{ status: 409, headers: { 'x-request-id': 'req_conflict' }, body: { error: 'Task is not cancellable', code: 'invalid_transition', details: { status: 'COMPLETED' } } }]);
    const error = await rejection(new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: origin }).tasks.cancel('task_1'));
    expect(seen).toHaveLength(1);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ name: 'ConflictError', status: 409, code: 'invalid_transition', requestId: 'req_conflict', message: 'Task is not cancellable', details: { status: 'COMPLETED' } });
    expect(error.headers?.get('content-type')).toBe('application/json');

    fresh([{ status: 404 }, { status: 400 }]);
    const client = new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: origin });
    expect(await rejection(client.tasks.retrieve('task_1'))).toBeInstanceOf(NotFoundError);
    expect(await rejection(client.tasks.verify('task_1', 'APPROVE'))).toBeInstanceOf(BadRequestError);
    expect(seen).toHaveLength(2);
  });

  it('retries a refused connection, then throws APIConnectionError (through a custom fetch)', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadOrigin = `http://127.0.0.1:${(closed.address() as { port: number }).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const calls: string[] = [];
    const counting: typeof fetch = (input, init) => {
      calls.push(String(input));
      return fetch(input, init);
    };
    const client = new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: deadOrigin, maxRetries: 1, fetch: counting });
    const error = await rejection(client.agents.balance());
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error).not.toBeInstanceOf(APIConnectionTimeoutError);
    expect(error.status).toBeUndefined();
    expect(calls).toEqual([`${deadOrigin}/api/v1/agents/balance`, `${deadOrigin}/api/v1/agents/balance`]);
  });

  it('gives up on a silent server after timeoutMs per attempt with APIConnectionTimeoutError, one key throughout', async () => {
    fresh(['hang', 'hang']);
    const client = new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: origin, maxRetries: 1, timeoutMs: 200 });
    const started = Date.now();
    const error = await rejection(client.tasks.cancel('task_1'));
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(seen).toHaveLength(2);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });
});

describe('verifyWebhook keys its signature exactly as the platform does', () => {
  const body = JSON.stringify({ event: 'task.completed', task_id: 'task_1', guardian_result: null, timestamp: '2026-11-28T12:00:00Z' });
  const now = Math.floor(Date.now() / 1000);
  const standardOnly = (h: Record<string, string>) => ({ 'webhook-id': h['webhook-id'], 'webhook-timestamp': h['webhook-timestamp'], 'webhook-signature': h['webhook-signature'] });

  it.each([
    ['a plain secret', 'plain-secret-of-some-length'],
    ['whsec_ with standard base64', `whsec_${btoa('sixteen byte key?')}`],
    ['whsec_ with URL-safe base64', 'whsec_c2l4dGVlbiBieXRlIGtleT8-'],
    ['whsec_ with unpadded base64', 'whsec_c2l4dGVlbiBieXRlIGtleT8'],
    ['whsec_ whose rest is not base64 (used as text)', 'whsec_not base64!'],
  ])('%s', async (_label, secret) => {
    const headers = await signatureHeaders(body, secret, 'whd_key', now);
    expect(await verifyWebhook(body, new Headers(standardOnly(headers)), secret)).toMatchObject({ task_id: 'task_1' });
    expect(await verifyWebhook(body, { 'x-humanops-signature': headers['X-HumanOps-Signature'] }, secret)).toMatchObject({ task_id: 'task_1' });
    await expect(verifyWebhook(body, standardOnly(headers), `${secret}x`)).rejects.toBeInstanceOf(WebhookVerificationError);
  });

  it('refuses a timestamp that is not plain unix seconds, and honours toleranceSeconds', async () => {
    const secret = 'plain-secret-of-some-length';
    const headers = standardOnly(await signatureHeaders(body, secret, 'whd_ts', now - 100));
    await expect(verifyWebhook(body, { ...headers, 'webhook-timestamp': `${now - 100}.0` }, secret)).rejects.toThrow('timestamp');
    await expect(verifyWebhook(body, headers, secret, { toleranceSeconds: 60 })).rejects.toThrow('too old');
    expect(await verifyWebhook(body, headers, secret, { toleranceSeconds: 120 })).toMatchObject({ event: 'task.completed' });
    const future = standardOnly(await signatureHeaders(body, secret, 'whd_ts', now + 1000));
    await expect(verifyWebhook(body, future, secret)).rejects.toThrow('too old');
  });
});
