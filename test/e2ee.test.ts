// The E2EE format against its published vectors, and webhook verification against the server's signer.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decrypt, encryptForAgent, generateKeyPair, verifyWebhook, WebhookVerificationError } from '@humanops/sdk';
import { signatureHeaders } from '../functions/_shared/webhooks.ts';
import { isP256PublicKey } from '../functions/_shared/crypto.ts';

const published = JSON.parse(readFileSync(new URL('../sdk/test-vectors/e2ee.json', import.meta.url), 'utf8'));

describe('E2EE (ECDH-P256-AES-256-GCM, HKDF-SHA-256)', () => {
  it.each(published.vectors.map((v: { taskId: string }) => [v.taskId, v]))('reproduces and decrypts the vector for %s', async (_id, v: any) => {
    const blob = await encryptForAgent(v.agent.publicKey, v.credential, {
      taskId: v.taskId, ephemeral: v.ephemeral, iv: Uint8Array.from(atob(v.iv), (c) => c.charCodeAt(0)), createdAt: v.encrypted_credential.createdAt,
    });
    expect(blob).toEqual(v.encrypted_credential);
    expect(await decrypt(v.agent.privateKey, v.encrypted_credential, { taskId: v.taskId })).toEqual(v.credential);
  });

  it('round-trips with fresh keys, and the public key is what the API accepts', async () => {
    const agent = await generateKeyPair();
    expect(await isP256PublicKey(agent.publicKey)).toBe(true);
    const blob = await encryptForAgent(agent.publicKey, { api_key: 'sk_x' }, { taskId: 'task_a' });
    expect(blob.algorithm).toBe('ECDH-P256-AES-256-GCM');
    expect(atob(blob.iv)).toHaveLength(12);
    expect(await decrypt(agent.privateKey, blob, { taskId: 'task_a' })).toEqual({ api_key: 'sk_x' });
  });

  it('is bound to its task, its key and its bytes', async () => {
    const agent = await generateKeyPair();
    const other = await generateKeyPair();
    const blob = await encryptForAgent(agent.publicKey, { secret: 1 }, { taskId: 'task_a' });
    await expect(decrypt(agent.privateKey, blob, { taskId: 'task_b' })).rejects.toThrow();
    await expect(decrypt(other.privateKey, blob, { taskId: 'task_a' })).rejects.toThrow();
    const bytes = Uint8Array.from(atob(blob.ciphertext), (c) => c.charCodeAt(0));
    bytes[0] ^= 1;
    await expect(decrypt(agent.privateKey, { ...blob, ciphertext: btoa(String.fromCharCode(...bytes)) }, { taskId: 'task_a' })).rejects.toThrow();
  });
});

describe('verifyWebhook', () => {
  const body = JSON.stringify({ event: 'task.verified', task_id: 'task_1', guardian_result: null, timestamp: '2026-11-28T12:00:00Z' });
  const now = Math.floor(Date.now() / 1000);

  it.each(['a-plain-secret-123', `whsec_${btoa('sixteen byte key')}`])('accepts what the server signs (secret %s)', async (secret) => {
    const headers = await signatureHeaders(body, secret, 'whd_1', now);
    expect(await verifyWebhook(body, headers, secret)).toMatchObject({ event: 'task.verified' });
    const hexOnly = { 'X-HumanOps-Signature': headers['X-HumanOps-Signature'] };
    expect(await verifyWebhook(new TextEncoder().encode(body), hexOnly, secret)).toMatchObject({ task_id: 'task_1' });
  });

  it('refuses a tampered body, a wrong secret, a stale timestamp and an unsigned request', async () => {
    const secret = 'a-plain-secret-123';
    const headers = await signatureHeaders(body, secret, 'whd_1', now);
    await expect(verifyWebhook(body.replace('task_1', 'task_2'), headers, secret)).rejects.toBeInstanceOf(WebhookVerificationError);
    await expect(verifyWebhook(body, headers, 'another-secret')).rejects.toThrow('does not match');
    const stale = await signatureHeaders(body, secret, 'whd_1', now - 3600);
    await expect(verifyWebhook(body, stale, secret)).rejects.toThrow('too old');
    await expect(verifyWebhook(body, { 'X-HumanOps-Signature': 'ab'.repeat(32) }, secret)).rejects.toThrow('does not match');
    await expect(verifyWebhook(body, {}, secret)).rejects.toThrow('not signed');
  });

  it('refuses a replay of a delivery already received', async () => {
    const secret = 'a-plain-secret-123';
    const headers = await signatureHeaders(body, secret, 'whd_replayed', now);
    const seen = new Set<string>();
    await verifyWebhook(body, headers, secret, { seen });
    await expect(verifyWebhook(body, headers, secret, { seen })).rejects.toThrow('replay');
  });
});

describe('what the server accepts as a credential', () => {
  it('refuses an artifact whose ephemeral key is off the curve, or whose ciphertext is too short for a GCM tag', async () => {
    const { startStack } = await import('./helpers/stack.ts');
    const stack = await startStack();
    try {
      const agent = await stack.registerAgent('e2ee');
      await stack.deposit(agent, 100);
      const keys = await generateKeyPair();
      const task = await stack.createTask(agent, { task_type: 'ACCOUNT_CREATION', location: undefined, agent_public_key: keys.publicKey, reward_usd: 20 });
      const operator = await stack.registerOperator();
      await stack.call('POST', `/operator/tasks/${task.body.task_id}/accept`, { headers: operator.auth });
      const good = await encryptForAgent(keys.publicKey, { u: 'x' }, { taskId: task.body.task_id });
      const offCurve = btoa(String.fromCharCode(4, ...new Array(64).fill(1)));
      const submit = (artifact: unknown) => stack.call('POST', `/operator/tasks/${task.body.task_id}/submit`, { headers: operator.auth, body: { artifact } });
      expect((await submit({ ...good, ephemeralPublicKey: offCurve })).body.error).toBe('artifact.ephemeralPublicKey: must be a P-256 point on the curve');
      expect((await submit({ ...good, ciphertext: btoa('short') })).body.error).toBe('artifact.ciphertext: must hold at least the 16-byte AES-GCM tag');
      expect((await submit({ ...good, iv: btoa('1234') })).status).toBe(400);
      expect((await submit(good)).status).toBe(200);
      const other = (await stack.createTask(agent)).body.task_id;
      expect((await stack.call('POST', `/tasks/${other}/retrieve-credential`, { key: agent.key })).body.code).toBe('not_a_credential_task');
    } finally {
      await stack.stop();
    }
  });
});
