// @humanops/sdk (the built package) against the real local stack, running the reference's examples.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError, BadRequestError, ConflictError, encryptForAgent, HumanOpsClient, InsufficientBalanceError,
  InternalServerError, NotFoundError, RateLimitError, TaskNotCompletedError, defaultRequirements,
} from '@humanops/sdk';
import { type Agent, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
let client: HumanOpsClient;
const origin = () => stack.url.replace(/\/api\/v1$/, '');

beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent('sdk');
  client = new HumanOpsClient({ apiKey: agent.key, baseUrl: origin(), validateResponses: true });
  await client.deposits.usdc({ tx_hash: `0x${'5d'.repeat(32)}`, amount_usdc: '500.00' });
});
afterAll(() => stack?.stop());

describe('the reference SDK examples', () => {
  it('dispatchDigitalTask (Tier 1), as printed, ends COMPLETED: CONFIRMATION proof is asked for no screenshot', async () => {
    const task = await client.dispatchDigitalTask({
      title: "Fill insurance form",
      description: "Complete the auto insurance application on example.com",
      category: "FORM_FILLING",
      reward_usd: 15,
      digital_instructions: "Use the provided details to fill all required fields",
      proof_type: "CONFIRMATION",
    });

    console.log(task.task_id, task.status);
    expect(task.task_id).toMatch(/^task_/);
    expect(task.status).toBe('PENDING');
    const stored = await client.tasks.retrieve(task.task_id);
    expect(stored).toMatchObject({ task_type: 'FORM_FILLING', proof_type: 'CONFIRMATION', proof_requirements: [defaultRequirements('FORM_FILLING', 'CONFIRMATION')[0]] });
    expect(stored.proof_requirements[0]).not.toMatch(/screenshot/i);
    expect(Date.parse(stored.deadline) - Date.now()).toBeGreaterThan(24 * 3_600_000);

    // An operator confirms as the reference says CONFIRMATION proofs are made; without a model the
    // Guardian leaves it for review (no failed check), and the agent approves.
    const operator = await stack.registerOperator();
    await stack.call('POST', `/operator/tasks/${task.task_id}/accept`, { headers: operator.auth });
    const submitted = await stack.call('POST', `/operator/tasks/${task.task_id}/submit`, {
      headers: operator.auth, body: { confirmation_text: 'Application submitted, reference AX-1042', reference_url: 'https://example.com/confirmation/AX-1042' },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    await stack.tick();
    const reviewed = await client.tasks.retrieve(task.task_id);
    expect(reviewed.status, JSON.stringify(reviewed.guardian_result)).toBe('MANUAL_REVIEW');
    expect(JSON.stringify(reviewed.guardian_result)).not.toContain('ask for an image');
    expect((await client.tasks.verify(task.task_id, 'APPROVE')).status).toBe('COMPLETED');
    expect(await client.waitForCompletion(task.task_id, { intervalMs: 50 })).toMatchObject({ status: 'COMPLETED', operator: { id: operator.id } });
  });

  it('dispatchCredentialTask (Tier 2), as printed: retrieveCredential waits for completion, then decrypts', async () => {
    const operatorDoesTheWork = async (taskId: string) => {
      const operator = await stack.registerOperator();
      await stack.call('POST', `/operator/tasks/${taskId}/accept`, { headers: operator.auth });
      const { agent_public_key } = await client.tasks.retrieve(taskId);
      const artifact = await encryptForAgent(agent_public_key as string, { api_key: 'sk_live_acme_123', dashboard_url: 'https://acme.io/dashboard' }, { taskId });
      const submitted = await stack.call('POST', `/operator/tasks/${taskId}/submit`, { headers: operator.auth, body: { artifact } });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
      const plaintextField = await stack.call('POST', `/operator/tasks/${taskId}/submit`, { headers: operator.auth, body: { artifact, api_key: 'sk_live_acme_123' } });
      expect(plaintextField.status).toBe(400);
      expect(JSON.stringify(await stack.sql`select * from tasks where id = ${taskId}`)).not.toContain('sk_live_acme_123');
      // The Guardian judges it on metadata alone (without a model: manual review); the agent approves.
      await stack.tick();
      const reviewed = await client.tasks.retrieve(taskId);
      expect(reviewed.status).toBe('MANUAL_REVIEW');
      expect(JSON.stringify(reviewed.guardian_result)).not.toContain('sk_live');
      await expect(client.retrieveCredential(taskId, 'unused', { wait: false })).rejects.toBeInstanceOf(ConflictError);
      expect((await client.tasks.verify(taskId, 'APPROVE')).status).toBe('COMPLETED');
    };
    const fast = new HumanOpsClient({ apiKey: agent.key, baseUrl: origin() });
    const example = async (client: HumanOpsClient) => {
      // The reference's example, unchanged:
      // Dispatches a credential task with auto-generated E2EE keypair
      const { task, privateKey } = await client.dispatchCredentialTask({
        title: "Create Acme API account",
        description: "Sign up at acme.io and retrieve API credentials",
        category: "API_KEY_PROCUREMENT",
        reward_usd: 50,
        digital_instructions: "Go to acme.io/signup, create account, get API key",
      });
      started(task.task_id);

      // Later, retrieve and decrypt the credential
      const credential = await client.retrieveCredential(task.task_id, privateKey);
      console.log(credential); // { api_key: "sk_...", dashboard_url: "..." }
      return { credential, task, privateKey };
    };
    let started!: (taskId: string) => void;
    const dispatched = new Promise<string>((resolve) => (started = resolve));
    // The wait polls every 5 s by default: the work is done within one interval.
    const [{ credential, task, privateKey }] = await Promise.all([example(fast), dispatched.then(operatorDoesTheWork)]);
    expect(credential).toEqual({ api_key: 'sk_live_acme_123', dashboard_url: 'https://acme.io/dashboard' });
    expect((await client.tasks.retrieve(task.task_id)).status).toBe('COMPLETED');
    expect(await client.retrieveCredential(task.task_id, privateKey, { wait: false })).toEqual(credential); // repeatable
  });

  it('waiting for a credential ends at once when the task will never complete', async () => {
    const { task, privateKey } = await client.dispatchCredentialTask({ title: 'Never', description: 'Cancelled', category: 'PHONE_VERIFICATION', reward_usd: 10 });
    await client.tasks.cancel(task.task_id);
    const error = await client.retrieveCredential(task.task_id, privateKey).catch((e) => e);
    expect(error).toBeInstanceOf(TaskNotCompletedError);
    expect(error).toMatchObject({ code: 'task_cancelled', task: { status: 'CANCELLED' } });
    const { task: slow } = await client.dispatchCredentialTask({ title: 'Slow', description: 'Nobody takes it', category: 'PHONE_VERIFICATION', reward_usd: 10 });
    expect(await client.waitForCompletion(slow.task_id, { timeoutMs: 200, intervalMs: 50 }).catch((e) => e)).toMatchObject({ code: 'task_wait_timeout' });
  });

  it('the sandbox delivers an encrypted credential too', async () => {
    const { task, privateKey } = await client.dispatchCredentialTask({ title: 'Sandbox key', description: 'Try it', category: 'PHONE_VERIFICATION', reward_usd: 10 });
    await client.sandbox.simulate(task.task_id, { action: 'accept' });
    await client.sandbox.simulate(task.task_id, { action: 'submit', verdict: { decision: 'APPROVE', confidence: 95 } });
    expect(await client.retrieveCredential(task.task_id, privateKey)).toMatchObject({ sandbox: true, api_key: expect.stringMatching(/^sk_sandbox_/) });
  });
});

describe('resources', () => {
  it('cover the agent endpoints', async () => {
    expect(await client.agents.balance()).toMatchObject({ currency: 'USD' });
    const key = await client.keys.create('ci');
    expect((await client.keys.list()).data.map((k) => k.id)).toContain(key.id);
    expect(await client.keys.revoke(key.id)).toEqual({ revoked: true });
    const created = await client.tasks.create({
      title: 'Verify storefront signage', description: 'Photo of the sign', location: { lat: 40.7, lng: -74, address: '123 Main St' },
      reward_usd: 25, deadline: new Date(Date.now() + 86_400_000).toISOString(), proof_requirements: ['Photo'], task_type: 'VERIFICATION',
    });
    expect((await client.tasks.list({ status: 'PENDING', limit: 100 })).data.map((t) => t.task_id)).toContain(created.task_id);
    expect(await client.tasks.cancel(created.task_id)).toMatchObject({ status: 'CANCELLED', refunded_usd: 29.5 });
    expect((await client.operators.search({ lat: 0, lng: 0 })).data).toEqual([]);
    expect(client.listDigitalCategories().map((c) => c.category)).toEqual([
      'CAPTCHA_SOLVING', 'FORM_FILLING', 'BROWSER_INTERACTION', 'CONTENT_REVIEW', 'DATA_VALIDATION',
      'ACCOUNT_CREATION', 'API_KEY_PROCUREMENT', 'PHONE_VERIFICATION', 'SUBSCRIPTION_SETUP',
    ]);
  });

  it('waitForTask polls until the status arrives', async () => {
    const task = await client.dispatchDigitalTask({ title: 'Wait', description: 'Wait for it', category: 'CONTENT_REVIEW', reward_usd: 10 });
    setTimeout(() => void client.tasks.cancel(task.task_id), 300);
    const done = await client.waitForTask(task.task_id, { intervalMs: 100, timeoutMs: 10_000 });
    expect(done.status).toBe('CANCELLED');
  });

  it('throws typed errors with the code and request id', async () => {
    const err = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a rejection'); }, (e) => e);
    const bad = await err(client.tasks.create({ title: '' } as never));
    expect(bad).toBeInstanceOf(BadRequestError);
    expect(bad).toMatchObject({ status: 400, code: 'validation_error', requestId: expect.stringMatching(/^req_/) });
    expect(await err(new HumanOpsClient({ apiKey: `ho_test_${'A'.repeat(40)}`, baseUrl: origin() }).agents.balance())).toBeInstanceOf(AuthenticationError);
    const poor = await err(client.dispatchCredentialTask({ title: 'Too much', description: 'x', category: 'SUBSCRIPTION_SETUP', reward_usd: 500 }));
    expect(poor).toBeInstanceOf(InsufficientBalanceError);
    expect(poor.details).toMatchObject({ required_usd: expect.any(Number) });
    expect(await err(client.tasks.retrieve('task_00000000000000000000000000000000'))).toBeInstanceOf(NotFoundError);
  });
});

describe('retries', () => {
  let server: Server;
  let url: string;
  const seen: { key: string | undefined; at: number }[] = [];
  let script: number[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ key: req.headers['idempotency-key'] as string | undefined, at: Date.now() });
      const status = script.shift() ?? 201;
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': `req_${seen.length}` };
      if (status === 429) headers['retry-after'] = '1';
      res.writeHead(status, headers);
      res.end(JSON.stringify(status < 300 ? { task_id: 'task_1', status: 'PENDING' } : { error: 'busy', code: 'busy' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('retries 503 and 429 with one Idempotency-Key, honouring Retry-After', async () => {
    seen.length = 0;
    script = [503, 429, 201];
    const flaky = new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: url, maxRetries: 2 });
    expect(await flaky.tasks.cancel('task_1')).toMatchObject({ task_id: 'task_1' });
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
    expect(seen[0].key).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[2].at - seen[1].at).toBeGreaterThanOrEqual(950);
  });

  it('gives up after maxRetries with the last error', async () => {
    seen.length = 0;
    script = [500, 500, 500];
    const flaky = new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: url, maxRetries: 1 });
    await expect(flaky.tasks.cancel('task_1')).rejects.toBeInstanceOf(InternalServerError);
    expect(seen).toHaveLength(2);
    script = [429];
    await expect(new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: url, maxRetries: 0 }).tasks.cancel('task_1')).rejects.toBeInstanceOf(RateLimitError);
  });
});
