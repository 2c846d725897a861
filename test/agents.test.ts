import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

describe('POST /agents/register', () => {
  it('creates an agent and shows a test-mode key once', async () => {
    const reply = await stack.call('POST', '/agents/register', { body: { name: 'my-agent', email: 'agent@example.com', company: 'Acme Inc' } });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      agent_id: expect.stringMatching(/^agt_[0-9a-f]{32}$/),
      api_key: expect.stringMatching(/^ho_test_[A-Za-z0-9]{40}$/),
      message: "Save this API key - it won't be shown again.",
    });
    const [agent] = await stack.sql`select name, email, company, mode from agents where id = ${reply.body.agent_id}`;
    expect(agent).toEqual({ name: 'my-agent', email: 'agent@example.com', company: 'Acme Inc', mode: 'test' });
  });

  it('stores only a SHA-256 hash and a display prefix of the key', async () => {
    const reply = await stack.call('POST', '/agents/register', { body: { name: 'hashed', email: 'h@example.com' } });
    const key: string = reply.body.api_key;
    const rows = await stack.sql`select key_hash, key_prefix from api_keys where agent_id = ${reply.body.agent_id}`;
    expect(rows).toEqual([{ key_hash: createHash('sha256').update(key).digest('hex'), key_prefix: `${key.slice(0, 15)}..` }]);
    const dump = JSON.stringify(await stack.sql`select * from api_keys`);
    expect(dump).not.toContain(key);
  });

  it.each([
    [{}, 'name: is required; email: is required'],
    [{ name: 'a' }, 'email: is required'],
    [{ name: '', email: 'a@example.com' }, 'name: must not be empty'],
    [{ name: 'x'.repeat(101), email: 'a@example.com' }, 'name: must be at most 100 characters'],
    [{ name: 7, email: 'a@example.com' }, 'name: must be a string'],
    [{ name: 'a', email: 'not-an-email' }, 'email: must be an email address'],
    [{ name: 'a', email: 'a@example.com', company: 'x'.repeat(201) }, 'company: must be at most 200 characters'],
    [{ name: 'a', email: 'a@example.com', role: 'admin' }, 'role: is not a known field'],
    [[], 'Request body: must be a JSON object'],
  ])('refuses %j with a 400 naming the field, and writes nothing', async (body, error) => {
    const before = await stack.sql`select count(*)::int as n from agents`;
    const reply = await stack.call('POST', '/agents/register', { body });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error, code: 'validation_error' });
    expect(await stack.sql`select count(*)::int as n from agents`).toEqual(before);
  });

  it('refuses malformed JSON with a 400', async () => {
    const reply = await stack.call('POST', '/agents/register', { raw: '{"name": "a",' });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: 'Request body is not valid JSON', code: 'invalid_json' });
  });

  it('refuses a body over 64 KB with a 413', async () => {
    const reply = await stack.call('POST', '/agents/register', { body: { name: 'a', email: 'a@example.com', company: 'x'.repeat(70_000) } });
    expect(reply.status).toBe(413);
    expect(reply.body.code).toBe('payload_too_large');
  });
});

describe('agent authentication', () => {
  it('refuses a request without X-API-Key', async () => {
    const reply = await stack.call('GET', '/agents/balance');
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ error: 'Missing X-API-Key header', code: 'unauthorized' });
  });

  it.each(['nonsense', 'ho_test_short', 'ho_prod_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'])('refuses a malformed key %s', async (key) => {
    const reply = await stack.call('GET', '/agents/balance', { key });
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ error: 'Invalid API key', code: 'unauthorized' });
  });

  it('refuses an unknown key', async () => {
    const reply = await stack.call('GET', '/agents/balance', { key: `ho_test_${'A'.repeat(40)}` });
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ error: 'Invalid or revoked API key', code: 'unauthorized' });
  });

  it('refuses a live-mode key on a test-mode server', async () => {
    const reply = await stack.call('GET', '/agents/balance', { key: `ho_live_${'A'.repeat(40)}` });
    expect(reply.status).toBe(401);
    expect(reply.body.error).toBe('This is a live-mode key; this server runs in test mode');
  });
});

describe('API keys', () => {
  it('creates an extra key, lists active keys without secrets, and records when a key was last used', async () => {
    const agent = await stack.registerAgent('keys');
    const created = await stack.call('POST', '/agents/keys', { key: agent.key, body: { name: 'ci-pipeline' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^key_/),
      api_key: expect.stringMatching(/^ho_test_[A-Za-z0-9]{40}$/),
      key_prefix: `${created.body.api_key.slice(0, 15)}..`,
      name: 'ci-pipeline',
      scopes: ['owner', 'agent'],
      expires_at: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });

    const unnamed = await stack.call('POST', '/agents/keys', { key: agent.key });
    expect(unnamed.status).toBe(201);
    expect(unnamed.body.name).toBeNull();

    const list = await stack.call('GET', '/agents/keys', { key: agent.key });
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(3);
    expect(list.body.data[0]).toEqual({
      id: expect.stringMatching(/^key_/),
      keyPrefix: `${agent.key.slice(0, 15)}..`,
      name: 'default',
      scopes: ['owner', 'agent'],
      expiresAt: null,
      lastUsed: expect.any(String),
      createdAt: expect.any(String),
      // No spending policy anywhere: nothing limits the key beyond the API's own rules.
      policy: {
        max_reward_usd: null, daily_limit_usd: null, monthly_limit_usd: null, allowed_task_types: null, allowed_regions: null,
        allow_credential_tasks: null, approval_threshold_usd: null,
      },
    });
    expect(list.body.data[1]).toMatchObject({ id: created.body.id, name: 'ci-pipeline', lastUsed: null });
    expect(JSON.stringify(list.body)).not.toContain(created.body.api_key);

    const other = await stack.call('GET', '/agents/balance', { key: created.body.api_key });
    expect(other.status).toBe(200);
    const [{ last_used_at }] = await stack.sql`select last_used_at from api_keys where id = ${created.body.id}`;
    expect(last_used_at).toBeInstanceOf(Date);
  });

  it('writes lastUsed at most once a minute, not on every request', async () => {
    const agent = await stack.registerAgent('quiet');
    await stack.call('GET', '/agents/balance', { key: agent.key });
    const [first] = await stack.sql`select last_used_at from api_keys where agent_id = ${agent.id}`;
    for (let i = 0; i < 3; i++) await stack.call('GET', '/agents/balance', { key: agent.key });
    const [again] = await stack.sql`select last_used_at from api_keys where agent_id = ${agent.id}`;
    expect(again.last_used_at).toEqual(first.last_used_at);

    await stack.sql`update api_keys set last_used_at = now() - interval '2 minutes' where agent_id = ${agent.id}`;
    await stack.call('GET', '/agents/balance', { key: agent.key });
    const [later] = await stack.sql`select last_used_at from api_keys where agent_id = ${agent.id}`;
    expect(later.last_used_at.getTime()).toBeGreaterThan(first.last_used_at.getTime());
  });

  it('a revoked key is refused at once', async () => {
    const agent = await stack.registerAgent('revoker');
    const spare = await stack.call('POST', '/agents/keys', { key: agent.key, body: { name: 'spare' } });
    expect((await stack.call('GET', '/agents/balance', { key: spare.body.api_key })).status).toBe(200);

    const revoked = await stack.call('DELETE', `/agents/keys/${spare.body.id}`, { key: agent.key });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ revoked: true });

    const after = await stack.call('GET', '/agents/balance', { key: spare.body.api_key });
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('Invalid or revoked API key');
    const list = await stack.call('GET', '/agents/keys', { key: agent.key });
    expect(list.body.data.map((k: { id: string }) => k.id)).not.toContain(spare.body.id);
    expect((await stack.call('DELETE', `/agents/keys/${spare.body.id}`, { key: agent.key })).status).toBe(404);
  });

  it('an agent can revoke the key it is calling with, but never its last key', async () => {
    const agent = await stack.registerAgent('last');
    const lone = await stack.call('GET', '/agents/keys', { key: agent.key });
    const onlyId = lone.body.data[0].id;
    const refused = await stack.call('DELETE', `/agents/keys/${onlyId}`, { key: agent.key });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ error: 'This is your only active API key; create another before revoking it', code: 'last_key' });

    const second = await stack.call('POST', '/agents/keys', { key: agent.key });
    const self = await stack.call('DELETE', `/agents/keys/${onlyId}`, { key: agent.key });
    expect(self.status).toBe(200);
    expect((await stack.call('GET', '/agents/balance', { key: agent.key })).status).toBe(401);
    expect((await stack.call('GET', '/agents/balance', { key: second.body.api_key })).status).toBe(200);
  });

  it("an agent cannot see or revoke another agent's keys", async () => {
    const alice = await stack.registerAgent('alice');
    const bob = await stack.registerAgent('bob');
    await stack.call('POST', '/agents/keys', { key: bob.key });
    const bobKeys = await stack.call('GET', '/agents/keys', { key: bob.key });
    const aliceView = await stack.call('GET', '/agents/keys', { key: alice.key });
    expect(aliceView.body.data).toHaveLength(1);
    const stolen = await stack.call('DELETE', `/agents/keys/${bobKeys.body.data[0].id}`, { key: alice.key });
    expect(stolen.status).toBe(404);
    expect(stolen.body.code).toBe('key_not_found');
    expect((await stack.call('GET', '/agents/balance', { key: bob.key })).status).toBe(200);
  });

  it('caps active keys at 20', async () => {
    const agent = await stack.registerAgent('many');
    const replies = [];
    for (let i = 0; i < 20; i++) replies.push(await stack.call('POST', '/agents/keys', { key: agent.key }));
    expect(replies.slice(0, 19).every((r) => r.status === 201)).toBe(true);
    expect(replies[19].status).toBe(409);
    expect(replies[19].body.code).toBe('key_limit_reached');
  });

  it('refuses a bad key name and an id that cannot exist', async () => {
    const agent = await stack.registerAgent('names');
    const bad = await stack.call('POST', '/agents/keys', { key: agent.key, body: { name: 'x'.repeat(101) } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('name: must be at most 100 characters');
    const unknownField = await stack.call('POST', '/agents/keys', { key: agent.key, body: { label: 'x' } });
    expect(unknownField.body.error).toBe('label: is not a known field');
    const weird = await stack.call('DELETE', `/agents/keys/${encodeURIComponent("'; drop table api_keys; --")}`, { key: agent.key });
    expect(weird.status).toBe(404);
  });
});

describe('GET /agents/balance', () => {
  it('starts at zero in USD', async () => {
    const agent = await stack.registerAgent('fresh');
    const reply = await stack.call('GET', '/agents/balance', { key: agent.key });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ deposit_balance: 0, escrow_balance: 0, currency: 'USD' });
  });
});

describe('live mode', () => {
  let live: Stack;
  const adminKey = 'admin-key-for-tests-0123456789';
  beforeAll(async () => {
    live = await startStack({ env: { HUMANOPS_MODE: 'live', HUMANOPS_ADMIN_KEY: adminKey, CLERK_JWKS_URL: 'http://127.0.0.1:9/jwks', CLERK_ISSUER: 'http://issuer.test' } });
  });
  afterAll(() => live?.stop());

  it('registration needs the admin key', async () => {
    const body = { name: 'prod-agent', email: 'p@example.com' };
    const missing = await live.call('POST', '/agents/register', { body });
    expect(missing.status).toBe(403);
    expect(missing.body).toEqual({ error: 'Registration requires a valid X-Admin-Key header', code: 'admin_key_required' });
    const wrong = await live.call('POST', '/agents/register', { body, headers: { 'x-admin-key': `${adminKey}x` } });
    expect(wrong.status).toBe(403);
    expect(await live.sql`select count(*)::int as n from agents`).toEqual([{ n: 0 }]);

    const ok = await live.call('POST', '/agents/register', { body, headers: { 'x-admin-key': adminKey } });
    expect(ok.status).toBe(201);
    expect(ok.body.api_key).toMatch(/^ho_live_/);
  });

  it('refuses test-mode keys and test-mode shortcuts', async () => {
    const reg = await live.call('POST', '/agents/register', { body: { name: 'p2', email: 'p2@example.com' }, headers: { 'x-admin-key': adminKey } });
    const key = reg.body.api_key;
    const testKey = await live.call('GET', '/agents/balance', { key: `ho_test_${'A'.repeat(40)}` });
    expect(testKey.status).toBe(401);
    expect(testKey.body.error).toBe('This is a test-mode key; this server runs in live mode');

    const fiat = await live.call('POST', '/agents/deposit', { key, body: { amount_usd: 100, payment_method: 'card' } });
    expect(fiat.status).toBe(403);
    expect(fiat.body.code).toBe('test_mode_only');

    const usdc = await live.call('POST', '/agents/deposit/usdc', { key, body: { tx_hash: `0x${'ab'.repeat(32)}`, amount_usdc: '100.00' } });
    expect(usdc.status).toBe(503);
    expect(usdc.body.code).toBe('chain_verification_unavailable');
    expect(usdc.headers.get('retry-after')).toBe('60');

    const balance = await live.call('GET', '/agents/balance', { key });
    expect(balance.body).toEqual({ deposit_balance: 0, escrow_balance: 0, currency: 'USD' });
  });
});
