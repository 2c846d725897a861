// Key scopes: owner manages keys and policies, agent posts and manages tasks, read reads; no key
// mints a key with more power than it holds; expired keys are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, futureDeadline, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

const mint = (agent: Agent | string, body: Record<string, unknown>) =>
  stack.call('POST', '/agents/keys', { key: typeof agent === 'string' ? agent : agent.key, body });

describe('key scopes', () => {
  it('the key registration returns holds owner and agent, and a key made without scopes inherits the maker\'s', async () => {
    const agent = await stack.registerAgent('scoped-owner');
    const list = await stack.call('GET', '/agents/keys', { key: agent.key });
    expect(list.body.data[0]).toMatchObject({ name: 'default', scopes: ['owner', 'agent'], expiresAt: null });
    const plain = await mint(agent, { name: 'plain' });
    expect(plain.status).toBe(201);
    expect(plain.body.scopes).toEqual(['owner', 'agent']);
  });

  it('a read key reads but cannot post, cancel, fund, mint keys or change policies', async () => {
    const agent = await stack.registerAgent('scoped-read');
    await stack.deposit(agent, 100);
    const task = (await stack.createTask(agent)).body;
    const read = (await mint(agent, { name: 'dashboard', scopes: ['read'] })).body.api_key;

    expect((await stack.call('GET', '/agents/balance', { key: read })).status).toBe(200);
    expect((await stack.call('GET', `/tasks/${task.task_id}`, { key: read })).status).toBe(200);
    expect((await stack.call('GET', '/tasks', { key: read })).body.pagination.total).toBe(1);

    const post = await stack.createTask({ id: agent.id, key: read });
    expect(post.status).toBe(403);
    expect(post.body).toEqual({
      error: 'This key holds read; POST /api/v1/tasks needs a key with the agent scope',
      code: 'insufficient_scope',
      details: { key_scopes: ['read'], required_scopes: ['agent'] },
    });
    expect((await stack.call('POST', `/tasks/${task.task_id}/cancel`, { key: read })).status).toBe(403);
    expect((await stack.call('POST', '/agents/deposit', { key: read, body: { amount_usd: 10, payment_method: 'card' } })).status).toBe(403);
    expect((await mint(read, { scopes: ['read'] })).body.code).toBe('insufficient_scope');
    expect((await stack.call('PUT', '/agents/policy', { key: read, body: { daily_limit_usd: 1 } })).status).toBe(403);
    expect((await stack.call('GET', '/agents/policy', { key: read })).status).toBe(200);
    expect((await stack.call('GET', '/agents/usage', { key: read })).status).toBe(200);
    expect(await stack.sql`select count(*)::int as n from tasks where agent_id = ${agent.id}`).toEqual([{ n: 1 }]);
  });

  it('an agent key posts and cancels tasks but cannot mint or revoke keys', async () => {
    const agent = await stack.registerAgent('scoped-agent');
    await stack.deposit(agent, 100);
    const worker = (await mint(agent, { name: 'bot', scopes: ['agent'] })).body;
    const posted = await stack.createTask({ id: agent.id, key: worker.api_key });
    expect(posted.status).toBe(201);
    expect((await stack.call('POST', `/tasks/${posted.body.task_id}/cancel`, { key: worker.api_key })).status).toBe(200);

    const stronger = await mint(worker.api_key, { scopes: ['owner'] });
    expect(stronger.status).toBe(403);
    expect(stronger.body.code).toBe('insufficient_scope');
    const same = await mint(worker.api_key, { scopes: ['agent'] });
    expect(same.status).toBe(403);
    const keys = await stack.call('GET', '/agents/keys', { key: agent.key });
    const ownerKeyId = keys.body.data[0].id;
    expect((await stack.call('DELETE', `/agents/keys/${ownerKeyId}`, { key: worker.api_key })).status).toBe(403);
    expect(await stack.sql`select count(*)::int as n from api_keys where agent_id = ${agent.id}`).toEqual([{ n: 2 }]);
  });

  it('an owner key without agent cannot mint an agent key nor post, and no key mints past its own scopes', async () => {
    const agent = await stack.registerAgent('scoped-split');
    await stack.deposit(agent, 100);
    const admin = (await mint(agent, { name: 'admin', scopes: ['owner', 'read'] })).body;
    expect(admin.scopes).toEqual(['owner', 'read']);
    expect((await stack.createTask({ id: agent.id, key: admin.api_key })).status).toBe(403);
    const escalate = await mint(admin.api_key, { scopes: ['owner', 'agent'] });
    expect(escalate.status).toBe(403);
    expect(escalate.body.error).toBe('A key cannot mint a key with more power than it holds: this key holds owner and read, the new key asks for owner and agent');
    expect((await mint(admin.api_key, { scopes: ['read'] })).status).toBe(201);
    expect((await mint(admin.api_key, { scopes: ['owner'] })).status).toBe(201);
    // Funding is allowed to owner keys too: adding money is never a risk.
    expect((await stack.call('POST', '/agents/deposit', { key: admin.api_key, body: { amount_usd: 10, payment_method: 'card' } })).status).toBe(200);
  });

  it('refuses unknown scopes and an empty list with a 400 naming the field', async () => {
    const agent = await stack.registerAgent('scoped-bad');
    const unknown = await mint(agent, { scopes: ['admin'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('scopes.0: must be owner, agent or read');
    expect((await mint(agent, { scopes: [] })).body.error).toBe('scopes: must list at least one scope');
    expect((await mint(agent, { expires_at: '2020-01-01T00:00:00Z' })).body.error).toBe('expires_at: must be in the future');
  });

  it('an expired key is refused at once, and a key that expires cannot mint one that outlives it', async () => {
    const agent = await stack.registerAgent('scoped-expiry');
    const expiresAt = futureDeadline(1);
    const shortLived = (await mint(agent, { name: 'temp', expires_at: expiresAt })).body;
    expect(shortLived.expires_at).toBe(new Date(expiresAt).toISOString());

    const longer = await mint(shortLived.api_key, { expires_at: futureDeadline(2) });
    expect(longer.status).toBe(403);
    expect(longer.body.error).toMatch(/^A key cannot mint a key that outlives it: this key expires at /);
    const inherited = await mint(shortLived.api_key, { name: 'child' });
    expect(inherited.status).toBe(201);
    expect(inherited.body.expires_at).toBe(shortLived.expires_at);
    const forever = await mint(agent, { name: 'forever' });
    expect(forever.body.expires_at).toBeNull();

    await stack.sql`update api_keys set expires_at = now() - interval '1 second' where id = ${shortLived.id}`;
    const refused = await stack.call('GET', '/agents/balance', { key: shortLived.api_key });
    expect(refused.status).toBe(401);
    const listed = await stack.call('GET', '/agents/keys', { key: agent.key });
    expect(listed.body.data.map((k: { id: string }) => k.id)).not.toContain(shortLived.id);
  });

  it('the last active owner key cannot be revoked, even when an agent key remains', async () => {
    const agent = await stack.registerAgent('scoped-last-owner');
    const worker = (await mint(agent, { scopes: ['agent'] })).body;
    const keys = await stack.call('GET', '/agents/keys', { key: agent.key });
    const refused = await stack.call('DELETE', `/agents/keys/${keys.body.data[0].id}`, { key: agent.key });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('last_owner_key');
    expect((await stack.call('DELETE', `/agents/keys/${worker.id}`, { key: agent.key })).status).toBe(200);
  });
});
