// The SDK's operator client against the real stack, signed in with Bearer tokens from the test
// issuer: register, profile, feed, claim, prove, earn — and every refusal an operator can meet.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError, BadRequestError, ConflictError, GoneError, HumanOpsClient, HumanOpsOperatorClient, PermissionDeniedError,
} from '@humanops/sdk';
import { HumanOpsOperatorClient as FromSubpath, MIN_PAYOUT_USD } from '@humanops/sdk/operator';
import { makeJpeg } from './helpers/images.ts';
import { type Agent, type Stack, operatorToken, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
let origin: string;

const newOperator = async () => {
  const sub = `op_${randomBytes(8).toString('hex')}`;
  const token = await operatorToken(sub);
  return { sub, client: new HumanOpsOperatorClient({ baseUrl: origin, token: () => token, maxRetries: 0 }) };
};
const registration = { name: 'Ana Ruiz', email: 'ana@example.com', phone: '+34600000000', location: { city: 'Madrid', country: 'es', lat: 40.4168, lng: -3.7038 }, skills: [] };

beforeAll(async () => {
  stack = await startStack();
  origin = stack.url.replace(/\/api\/v1$/, '');
  agent = await stack.registerAgent('sdk-operator');
  await stack.deposit(agent, 2000);
});
afterAll(() => stack?.stop());

describe('HumanOpsOperatorClient', () => {
  it('is the same class from the package root and from @humanops/sdk/operator', () => {
    expect(FromSubpath).toBe(HumanOpsOperatorClient);
    expect(MIN_PAYOUT_USD).toBe(10);
  });

  it('registers, then reads its own profile; before registering the profile is operator_not_registered', async () => {
    const { sub, client } = await newOperator();
    await expect(client.account.retrieve()).rejects.toMatchObject({ status: 403, code: 'operator_not_registered' });
    expect(await client.account.register(registration)).toEqual({ operator_id: sub, name: 'Ana Ruiz', kyc_status: 'VERIFIED' });
    expect(await client.account.retrieve()).toMatchObject({
      operator_id: sub, name: 'Ana Ruiz', email: 'ana@example.com', phone: '+34600000000',
      location: { city: 'Madrid', country: 'ES', lat: 40.4168, lng: -3.7038 }, skills: [], kyc_status: 'VERIFIED', rating: null, rating_count: 0,
    });
  });

  it('asks the token supplier before every request, so a refreshed token is used at once', async () => {
    const sub = `op_${randomBytes(8).toString('hex')}`;
    const tokens = [await operatorToken(sub), 'not-a-jwt'];
    let asked = 0;
    const client = new HumanOpsOperatorClient({ baseUrl: origin, token: async () => tokens[asked++], maxRetries: 0 });
    await client.account.register(registration);
    await expect(client.account.retrieve()).rejects.toBeInstanceOf(AuthenticationError);
    expect(asked).toBe(2);
    const signedOut = new HumanOpsOperatorClient({ baseUrl: origin, token: () => null });
    await expect(signedOut.earnings.retrieve()).rejects.toMatchObject({ status: 401, code: 'not_signed_in' });
  });

  it('lists the feed nearest first, filtered by domain, type and reward, with paging', async () => {
    const { client } = await newOperator();
    await client.account.register(registration);
    const near = await stack.createTask(agent, { title: 'Near', location: { lat: 40.4170, lng: -3.7040, address: 'Sol' }, reward_usd: 12 });
    const far = await stack.createTask(agent, { title: 'Far', location: { lat: 40.45, lng: -3.70, address: 'North' }, reward_usd: 40 });
    const digital = await stack.createTask(agent, { title: 'Digital', task_type: 'CONTENT_REVIEW', location: undefined, proof_requirements: ['Screenshot'], reward_usd: 15 });
    expect([near, far, digital].map((r) => r.status)).toEqual([201, 201, 201]);

    const feed = await client.tasks.list({ lat: 40.4168, lng: -3.7038, radius_km: 10, task_domain: 'PHYSICAL' });
    expect(feed.data.map((t) => t.title)).toEqual(['Near', 'Far']);
    expect(feed.data[0].distance_km).toBeLessThan(feed.data[1].distance_km!);
    expect((await client.tasks.list({ lat: 40.4168, lng: -3.7038, radius_km: 10, min_reward_usd: 20 })).data.map((t) => t.title)).toEqual(['Far']);
    expect((await client.tasks.list({ task_domain: 'DIGITAL' })).data.map((t) => t.title)).toEqual(['Digital']);
    const page = await client.tasks.list({ lat: 40.4168, lng: -3.7038, radius_km: 10, limit: 1, offset: 1 });
    expect(page.pagination).toEqual({ limit: 1, offset: 1, total: 3, total_exact: true, has_more: true, next_cursor: expect.any(String) });
    const rest = await client.tasks.list({ lat: 40.4168, lng: -3.7038, radius_km: 10, limit: 1, cursor: page.pagination.next_cursor! });
    expect(rest.data.map((t) => t.title)).toEqual(['Digital']);
    await expect(client.tasks.list({ min_reward_usd: -1 })).rejects.toBeInstanceOf(BadRequestError);
  });

  it('accepts, starts, uploads (bytes kept as sent), submits; the task shows in "mine" with its status', async () => {
    const { client } = await newOperator();
    await client.account.register(registration);
    const task = await stack.createTask(agent, { location: { lat: 40.4168, lng: -3.7038, address: 'Puerta del Sol' } });
    const id = task.body.task_id;
    expect(await client.tasks.accept(id)).toMatchObject({ task_id: id, status: 'ACCEPTED' });
    expect(await client.tasks.start(id)).toMatchObject({ task_id: id, status: 'IN_PROGRESS' });
    const photo = makeJpeg({ lat: 40.4168, lng: -3.7038, takenAt: new Date() });
    const uploaded = await client.tasks.upload({ taskId: id, file: new Blob([photo as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), filename: 'sign.jpg' });
    expect(uploaded).toMatchObject({ content_type: 'image/jpeg', size: photo.length });
    const stored = await fetch(uploaded.url).then((r) => r.arrayBuffer());
    expect(Buffer.from(stored).equals(Buffer.from(photo))).toBe(true);
    expect(await client.tasks.submit(id, { photos: [uploaded.url], notes: 'Sign is up' })).toMatchObject({ task_id: id, status: 'SUBMITTED' });

    const mine = await client.tasks.mine();
    expect(mine.data.map((t) => [t.task_id, t.status])).toEqual([[id, 'SUBMITTED']]);
    expect((await client.tasks.mine({ status: 'COMPLETED' })).data).toEqual([]);
    expect(await client.tasks.retrieve(id)).toMatchObject({ task_id: id, status: 'SUBMITTED', guardian_result: null, submitted_at: expect.any(String) });

    await stack.tick();
    const judged = await client.tasks.retrieve(id);
    expect(judged.guardian_result).toMatchObject({ decision: expect.any(String), reasoning: expect.any(String) });
  });

  it('refuses with typed errors: taken (409), expired (410), KYC pending (403)', async () => {
    const first = await newOperator();
    const second = await newOperator();
    await first.client.account.register(registration);
    await second.client.account.register(registration);
    const taken = (await stack.createTask(agent)).body.task_id;
    await first.client.tasks.accept(taken);
    await expect(second.client.tasks.accept(taken)).rejects.toMatchObject({ constructor: ConflictError, code: 'task_unavailable' });

    const expired = (await stack.createTask(agent)).body.task_id;
    await stack.sql`update tasks set deadline = now() - interval '1 second' where id = ${expired}`;
    await expect(second.client.tasks.accept(expired)).rejects.toMatchObject({ constructor: GoneError, code: 'task_expired' });

    await stack.sql`update operators set kyc_status = 'PENDING' where id = ${second.sub}`;
    expect((await second.client.account.retrieve()).kyc_status).toBe('PENDING');
    const open = (await stack.createTask(agent)).body.task_id;
    await expect(second.client.tasks.accept(open)).rejects.toMatchObject({ constructor: PermissionDeniedError, code: 'kyc_required' });
  });

  it('submitCredential sends only ciphertext, which the agent decrypts with the SDK', async () => {
    const agentClient = new HumanOpsClient({ apiKey: agent.key, baseUrl: origin });
    const { task, privateKey } = await agentClient.dispatchCredentialTask({
      category: 'ACCOUNT_CREATION', title: 'Open an account', description: 'Sign up and hand over the login', reward_usd: 30,
    });
    const { client } = await newOperator();
    await client.account.register(registration);
    await client.tasks.accept(task.task_id);
    const sent: string[] = [];
    const recording = new HumanOpsOperatorClient({
      baseUrl: origin, token: await operatorToken((await client.account.retrieve()).operator_id),
      fetch: (input, init) => (sent.push(String(init?.body ?? '')), fetch(input, init)),
    });
    const held = await recording.tasks.retrieve(task.task_id);
    await recording.tasks.submitCredential(held, { username: 'ana', password: 'pa55-secret-word' });
    expect(sent.join('\n')).not.toContain('pa55-secret-word');
    await stack.tick();
    await agentClient.tasks.verify(task.task_id, 'APPROVE');
    expect(await agentClient.retrieveCredential(task.task_id, privateKey)).toEqual({ username: 'ana', password: 'pa55-secret-word' });
  });

  it('shows earnings and refuses a payout under the minimum', async () => {
    const { client } = await newOperator();
    await client.account.register(registration);
    expect(await client.earnings.retrieve()).toMatchObject({ pending_balance: 0, available_balance: 0, total_earned: 0, currency: 'USD', recent_tasks: [] });
    await expect(client.earnings.requestPayout({ amount_usd: 5 })).rejects.toBeInstanceOf(BadRequestError);
    await expect(client.earnings.requestPayout({ amount_usd: 10 })).rejects.toMatchObject({ status: 402 });
    await expect(client.earnings.payoutStatus('payout_nope')).rejects.toMatchObject({ status: 404, code: 'payout_not_found' });
  });
});
