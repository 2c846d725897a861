import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Stack, futureDeadline, physicalTask, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent('poster');
  await stack.deposit(agent, 5000);
});
afterAll(() => stack?.stop());

const balance = async (a: Agent) => (await stack.call('GET', '/agents/balance', { key: a.key })).body;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Every task id of an agent's list, read `limit` at a time through next_cursor (has_more agrees with it). */
async function idsByCursor(a: Agent, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const reply = await stack.call('GET', `/tasks?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { key: a.key });
    expect(reply.status).toBe(200);
    ids.push(...reply.body.data.map((t: { task_id: string }) => t.task_id));
    cursor = reply.body.pagination.next_cursor;
    expect(reply.body.pagination.has_more).toBe(cursor !== null);
  } while (cursor);
  return ids;
}

async function p256PublicKey(): Promise<string> {
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
  return Buffer.from(await webcrypto.subtle.exportKey('raw', pair.publicKey)).toString('base64');
}

describe('POST /tasks', () => {
  it('posts the reference task, escrows reward + fee and answers as the reference shows', async () => {
    const poster = await stack.registerAgent('reference');
    await stack.deposit(poster, 100);
    const deadline = futureDeadline(3);
    const reply = await stack.createTask(poster, { deadline, callback_url: 'https://your-app.com/webhook', callback_secret: 'your-random-secret' });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      task_id: expect.stringMatching(/^task_[0-9a-f]{32}$/),
      status: 'PENDING',
      reward_usd: 25,
      platform_fee: 4.5,
      total_escrow: 29.5,
      deadline: new Date(deadline).toISOString(),
      created_at: expect.stringMatching(ISO),
    });
    expect(await balance(poster)).toEqual({ deposit_balance: 70.5, escrow_balance: 29.5, currency: 'USD' });
    const events = await stack.sql`select from_status, to_status, actor from task_events where task_id = ${reply.body.task_id}`;
    expect(events).toEqual([{ from_status: null, to_status: 'PENDING', actor: `agent:${poster.id}` }]);
  });

  it('posts a Tier 1 digital task without a location: remote, DIGITAL, with its proof type', async () => {
    const reply = await stack.call('POST', '/tasks', {
      key: agent.key,
      body: {
        title: 'Solve login CAPTCHA',
        description: 'Navigate to example.com/login and solve the CAPTCHA',
        reward_usd: 10,
        deadline: futureDeadline(),
        proof_requirements: ['Screenshot of completed CAPTCHA'],
        task_type: 'CAPTCHA_SOLVING',
        proof_type: 'SCREENSHOT',
        digital_instructions: '1. Go to example.com/login\n2. Solve the CAPTCHA\n3. Take a screenshot',
      },
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ reward_usd: 10, platform_fee: 2, total_escrow: 12 });
    const detail = await stack.call('GET', `/tasks/${reply.body.task_id}`, { key: agent.key });
    expect(detail.body).toMatchObject({
      task_domain: 'DIGITAL',
      proof_type: 'SCREENSHOT',
      location: { lat: null, lng: null, address: 'Remote/Digital' },
      digital_instructions: '1. Go to example.com/login\n2. Solve the CAPTCHA\n3. Take a screenshot',
    });
  });

  it('defaults the proof type per category and infers the domain', async () => {
    const cases = [
      ['VERIFICATION', 'PHYSICAL', 'PHOTO', {}],
      ['FORM_FILLING', 'DIGITAL', 'SCREENSHOT', { location: undefined }],
      ['CONTENT_REVIEW', 'DIGITAL', 'CONFIRMATION', { location: undefined }],
      ['ACCOUNT_CREATION', 'DIGITAL', 'ARTIFACT', { location: undefined, agent_public_key: await p256PublicKey() }],
    ] as const;
    for (const [taskType, domain, proofType, extra] of cases) {
      const reply = await stack.createTask(agent, { task_type: taskType, reward_usd: 20, ...extra });
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
      const [row] = await stack.sql`select task_domain, proof_type from tasks where id = ${reply.body.task_id}`;
      expect(row).toEqual({ task_domain: domain, proof_type: proofType });
    }
  });

  it('posts a Tier 2 credential task with the agent public key', async () => {
    const key = await p256PublicKey();
    const reply = await stack.call('POST', '/tasks', {
      key: agent.key,
      body: {
        title: 'Create Acme API account',
        description: 'Sign up at acme.io and retrieve API credentials',
        reward_usd: 50,
        deadline: futureDeadline(),
        proof_requirements: ['API key delivered via encrypted channel'],
        task_type: 'API_KEY_PROCUREMENT',
        agent_public_key: key,
        digital_instructions: '1. Go to acme.io/signup\n2. Create account',
      },
    });
    expect(reply.status).toBe(201);
    const detail = await stack.call('GET', `/tasks/${reply.body.task_id}`, { key: agent.key });
    expect(detail.body).toMatchObject({ task_type: 'API_KEY_PROCUREMENT', proof_type: 'ARTIFACT', agent_public_key: key });
  });

  const badTasks: [string, Record<string, unknown>, string][] = [
    ['no title', { title: undefined }, 'title: is required'],
    ['blank title', { title: '   ' }, 'title: must not be empty'],
    ['long title', { title: 'x'.repeat(201) }, 'title: must be at most 200 characters'],
    ['numeric title', { title: 42 }, 'title: must be a string'],
    ['no description', { description: undefined }, 'description: is required'],
    ['long description', { description: 'x'.repeat(5001) }, 'description: must be at most 5000 characters'],
    ['physical without location', { location: undefined }, 'location: is required for physical tasks'],
    ['location not an object', { location: 'NYC' }, 'location: must be a JSON object'],
    ['latitude out of range', { location: { lat: 91, lng: 0, address: 'x' } }, 'location.lat: must be between -90 and 90'],
    ['longitude out of range', { location: { lat: 0, lng: -180.5, address: 'x' } }, 'location.lng: must be between -180 and 180'],
    ['latitude as text', { location: { lat: '40.7', lng: 0, address: 'x' } }, 'location.lat: must be a number'],
    ['physical without address', { location: { lat: 1, lng: 2 } }, 'location.address: is required for physical tasks'],
    ['unknown location field', { location: { lat: 1, lng: 2, address: 'x', zip: '10001' } }, 'location.zip: is not a known field'],
    ['no reward', { reward_usd: undefined }, 'reward_usd: is required'],
    ['reward below $10', { reward_usd: 9.99 }, 'reward_usd: must be at least $10.00'],
    ['reward above $10,000', { reward_usd: 10000.01 }, 'reward_usd: must be at most $10,000.00'],
    ['sub-cent reward', { reward_usd: 10.005 }, 'reward_usd: must be a USD amount with at most 2 decimal places'],
    ['negative reward', { reward_usd: -25 }, 'reward_usd: must be a USD amount with at most 2 decimal places'],
    ['reward as object', { reward_usd: { usd: 25 } }, 'reward_usd: must be a USD amount, e.g. 25 or "25.50"'],
    ['CAPTCHA over its cap', { task_type: 'CAPTCHA_SOLVING', reward_usd: 10.01, location: undefined }, 'reward_usd: must be at most $10.00 for CAPTCHA_SOLVING tasks'],
    ['CONTENT_REVIEW over its cap', { task_type: 'CONTENT_REVIEW', reward_usd: 26, location: undefined }, 'reward_usd: must be at most $25.00 for CONTENT_REVIEW tasks'],
    ['SUBSCRIPTION_SETUP over its cap', { task_type: 'SUBSCRIPTION_SETUP', reward_usd: 501, location: undefined, agent_public_key: 'KEY' }, 'reward_usd: must be at most $500.00 for SUBSCRIPTION_SETUP tasks'],
    ['no deadline', { deadline: undefined }, 'deadline: is required'],
    ['deadline not ISO', { deadline: 'next friday' }, 'deadline: must be an ISO 8601 date-time with a time zone, e.g. 2026-02-10T00:00:00Z'],
    ['deadline without zone', { deadline: '2030-01-01T00:00:00' }, 'deadline: must be an ISO 8601 date-time with a time zone, e.g. 2026-02-10T00:00:00Z'],
    ['deadline in the past', { deadline: '2020-01-01T00:00:00Z' }, 'deadline: must be in the future'],
    ['deadline too far', { deadline: futureDeadline(400) }, 'deadline: must be within 365 days'],
    ['no requirements', { proof_requirements: undefined }, 'proof_requirements: is required'],
    ['empty requirements', { proof_requirements: [] }, 'proof_requirements: must list at least one requirement'],
    ['too many requirements', { proof_requirements: Array(21).fill('photo') }, 'proof_requirements: must list at most 20 requirements'],
    ['requirement not text', { proof_requirements: ['photo', 3] }, 'proof_requirements.1: must be a string'],
    ['blank requirement', { proof_requirements: [''] }, 'proof_requirements.0: must not be empty'],
    ['no task type', { task_type: undefined }, 'task_type: is required'],
    ['unknown task type', { task_type: 'ASSASSINATION' }, expect.stringMatching(/^task_type: must be one of VERIFICATION, PHOTO, .* or SUBSCRIPTION_SETUP$/) as unknown as string],
    ['wrong domain', { task_domain: 'DIGITAL' }, 'task_domain: VERIFICATION tasks are PHYSICAL'],
    ['unknown domain', { task_domain: 'VIRTUAL' }, 'task_domain: must be PHYSICAL or DIGITAL'],
    ['proof type not for category', { proof_type: 'SCREENSHOT' }, 'proof_type: VERIFICATION tasks take PHOTO proof'],
    ['unknown proof type', { proof_type: 'VIDEO' }, 'proof_type: must be one of PHOTO, SCREENSHOT, CONFIRMATION or ARTIFACT'],
    ['credential task with other proof', { task_type: 'PHONE_VERIFICATION', location: undefined, proof_type: 'PHOTO', agent_public_key: 'KEY' }, 'proof_type: PHONE_VERIFICATION tasks take ARTIFACT proof'],
    ['instructions on a physical task', { digital_instructions: 'click here' }, 'digital_instructions: only applies to digital tasks'],
    ['instructions too long', { task_type: 'FORM_FILLING', location: undefined, digital_instructions: 'x'.repeat(10_001) }, 'digital_instructions: must be at most 10,000 characters'],
    ['callback not a URL', { callback_url: 'not a url' }, 'callback_url: must be an http(s) URL'],
    ['callback over ftp', { callback_url: 'ftp://example.com/hook' }, 'callback_url: must be an http(s) URL'],
    ['secret without callback', { callback_secret: 'a-long-enough-secret' }, 'callback_secret: needs a callback_url'],
    ['short secret', { callback_url: 'https://example.com/h', callback_secret: 'short' }, 'callback_secret: must be at least 16 characters'],
    ['credential task without key', { task_type: 'ACCOUNT_CREATION', location: undefined }, 'agent_public_key: is required for credential tasks'],
    ['key on a non-credential task', { agent_public_key: 'KEY' }, 'agent_public_key: only applies to credential tasks'],
    ['key not base64', { task_type: 'ACCOUNT_CREATION', location: undefined, agent_public_key: 'not base64!' }, 'agent_public_key: must be a base64-encoded uncompressed P-256 public key (65 bytes)'],
    ['key of wrong length', { task_type: 'ACCOUNT_CREATION', location: undefined, agent_public_key: Buffer.alloc(33, 2).toString('base64') }, 'agent_public_key: must be a base64-encoded uncompressed P-256 public key (65 bytes)'],
    ['key off the curve', { task_type: 'ACCOUNT_CREATION', location: undefined, agent_public_key: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64') }, 'agent_public_key: must be a base64-encoded uncompressed P-256 public key (65 bytes)'],
    ['unknown field', { priority: 'high' }, 'priority: is not a known field'],
  ];

  it.each(badTasks)('refuses a task with %s: 400 naming the field, nothing written', async (_name, overrides, error) => {
    const body: Record<string, unknown> = physicalTask(overrides);
    for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete body[k];
    if (body.agent_public_key === 'KEY') body.agent_public_key = await p256PublicKey();
    const tasksBefore = await stack.sql`select count(*)::int as n from tasks where agent_id = ${agent.id}`;
    const balanceBefore = await balance(agent);
    const reply = await stack.call('POST', '/tasks', { key: agent.key, body });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error, code: 'validation_error' });
    expect(reply.body.details.issues[0]).toEqual({ field: expect.any(String), message: expect.any(String) });
    expect(await stack.sql`select count(*)::int as n from tasks where agent_id = ${agent.id}`).toEqual(tasksBefore);
    expect(await balance(agent)).toEqual(balanceBefore);
  });

  it('answers 402 when the deposit cannot cover reward + fee, and moves nothing', async () => {
    const poor = await stack.registerAgent('poor');
    await stack.deposit(poor, 29.49);
    const reply = await stack.createTask(poor);
    expect(reply.status).toBe(402);
    expect(reply.body).toEqual({
      error: 'Insufficient balance for escrow',
      code: 'insufficient_balance',
      details: { required_usd: 29.5, available_usd: 29.49, reward_usd: 25, platform_fee_usd: 4.5 },
    });
    expect(await balance(poor)).toEqual({ deposit_balance: 29.49, escrow_balance: 0, currency: 'USD' });
    expect(await stack.sql`select count(*)::int as n from tasks where agent_id = ${poor.id}`).toEqual([{ n: 0 }]);

    await stack.deposit(poor, 5);
    expect((await stack.createTask(poor)).status).toBe(201);
  });
});

describe('platform fee', () => {
  const fee = async (a: Agent, reward: number | string) => {
    const reply = await stack.createTask(a, { reward_usd: reward });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return reply.body;
  };

  it('is at least $2 and rounds half-up to the cent', async () => {
    const a = await stack.registerAgent('rounding');
    await stack.deposit(a, 200);
    expect((await fee(a, 10)).platform_fee).toBe(2); // 18 % would be $1.80
    expect((await fee(a, 11.11)).platform_fee).toBe(2); // $1.9998
    expect((await fee(a, 25.25)).platform_fee).toBe(4.55); // $4.545 rounds up
    expect((await fee(a, '25.24')).platform_fee).toBe(4.54); // $4.5432 rounds down
  });

  /** Posts a task and has the sandbox operator do it and the Guardian approve it: the reward is paid. */
  const settle = async (a: Agent, reward: number) => {
    const posted = await fee(a, reward);
    const simulate = (body: unknown) => stack.call('POST', `/sandbox/tasks/${posted.task_id}/simulate`, { key: a.key, body });
    expect((await simulate({ action: 'accept' })).status).toBe(200);
    const done = await simulate({ action: 'submit', verdict: { decision: 'APPROVE', confidence: 95 } });
    expect(done.body.status, JSON.stringify(done.body)).toBe('COMPLETED');
    return posted;
  };

  it('falls from 18 % to 15 % at $5,000 and to 12 % above $25,000 of rewards paid in the last 30 days', async () => {
    const a = await stack.registerAgent('volume');
    await stack.deposit(a, 40_000);
    expect(await settle(a, 4999.99)).toMatchObject({ platform_fee: 900, total_escrow: 5899.99 }); // paid $0 → 18 %
    expect((await fee(a, 100)).platform_fee).toBe(18); // paid $4,999.99 → 18 %
    await settle(a, 100.01);
    expect((await fee(a, 100)).platform_fee).toBe(15); // paid $5,100 → 15 %
    await settle(a, 10000);
    await settle(a, 9900);
    expect((await fee(a, 100)).platform_fee).toBe(15); // paid exactly $25,000.00 → still 15 %
    await settle(a, 100);
    expect((await fee(a, 100)).platform_fee).toBe(12); // paid $25,100 → 12 %
  });

  it('cannot be bought with parked capital: posting big tasks, then cancelling them, leaves the rate at 18 %', async () => {
    // The attack as found: $40k deposited, three $10,000 tasks posted, a $1,000 task priced, the big ones cancelled.
    const a = await stack.registerAgent('tier-gamer');
    await stack.deposit(a, 40_000);
    const parked = [await fee(a, 10000), await fee(a, 10000), await fee(a, 10000)];
    expect(parked.map((t) => t.platform_fee)).toEqual([1800, 1800, 1800]);
    const cheap = await fee(a, 1000);
    expect(cheap.platform_fee).toBe(180);
    for (const t of parked) expect((await stack.call('POST', `/tasks/${t.task_id}/cancel`, { key: a.key })).status).toBe(200);
    const [task] = await stack.sql`select fee_cents::int, fee_rate_pct from tasks where id = ${cheap.task_id}`;
    expect(task).toEqual({ fee_cents: 18000, fee_rate_pct: 18 });
    expect((await balance(a)).deposit_balance).toBe(40_000 - 1180);
  });

  it('does not count posted, cancelled or expired tasks, nor payments older than 30 days', async () => {
    const a = await stack.registerAgent('churn');
    await stack.deposit(a, 20_000);
    const open = await fee(a, 6000);
    expect((await fee(a, 100)).platform_fee).toBe(18);
    await stack.call('POST', `/tasks/${open.task_id}/cancel`, { key: a.key });
    const lapsed = await fee(a, 6000);
    await stack.call('POST', `/sandbox/tasks/${lapsed.task_id}/simulate`, { key: a.key, body: { action: 'expire' } });
    expect((await fee(a, 100)).platform_fee).toBe(18);

    await settle(a, 6000);
    expect((await fee(a, 100)).platform_fee).toBe(15);
    await stack.sql`update agent_spend_daily set day = day - 30 where agent_id = ${a.id}`;
    expect((await fee(a, 100)).platform_fee).toBe(18);
  });
});

describe('GET /tasks', () => {
  let lister: Agent;
  const ids: string[] = [];
  beforeAll(async () => {
    lister = await stack.registerAgent('lister');
    await stack.deposit(lister, 1000);
    for (let i = 0; i < 5; i++) ids.push((await stack.createTask(lister, { title: `Task ${i}` })).body.task_id);
    await stack.call('POST', `/tasks/${ids[1]}/cancel`, { key: lister.key });
  });

  it('lists the agent\'s tasks newest first with the reference\'s fields and pagination', async () => {
    const reply = await stack.call('GET', '/tasks', { key: lister.key });
    expect(reply.status).toBe(200);
    expect(reply.body.pagination).toEqual({ limit: 20, offset: 0, total: 5, total_exact: true, has_more: false, next_cursor: null });
    expect(reply.body.data.map((t: { task_id: string }) => t.task_id)).toEqual([...ids].reverse());
    expect(reply.body.data[0]).toEqual({
      task_id: ids[4],
      title: 'Task 4',
      status: 'PENDING',
      task_type: 'VERIFICATION',
      reward_usd: 25,
      operator: null,
      created_at: expect.stringMatching(ISO),
      deadline: expect.stringMatching(ISO),
    });
  });

  it('filters by status and pages with limit and offset', async () => {
    const cancelled = await stack.call('GET', '/tasks?status=CANCELLED', { key: lister.key });
    expect(cancelled.body.data.map((t: { task_id: string }) => t.task_id)).toEqual([ids[1]]);
    expect(cancelled.body.pagination.total).toBe(1);

    const page = await stack.call('GET', '/tasks?limit=2&offset=2', { key: lister.key });
    expect(page.body.data.map((t: { task_id: string }) => t.task_id)).toEqual([ids[2], ids[1]]);
    expect(page.body.pagination).toMatchObject({ limit: 2, offset: 2, total: 5, total_exact: true, has_more: true });

    const past = await stack.call('GET', '/tasks?offset=50', { key: lister.key });
    expect(past.body).toEqual({ data: [], pagination: { limit: 20, offset: 50, total: 5, total_exact: true, has_more: false, next_cursor: null } });
  });

  it.each([
    ['status=DONE', 'status: must be one of PENDING'],
    ['limit=0', 'limit: must be between 1 and 100'],
    ['limit=101', 'limit: must be between 1 and 100'],
    ['limit=abc', 'limit: must be a number'],
    ['limit=0x10', 'limit: must be a number'],
    ['limit=', 'limit: must be a number'],
    ['limit=1e1', 'limit: must be a number'],
    ['limit=2.5', 'limit: must be an integer'],
    ['offset=-1', 'offset: must not be negative'],
    ['sort=title', 'sort: is not a known field'],
    ['cursor=not%20a%20cursor', 'cursor: must be the next_cursor of a previous page'],
    ['cursor=e30', 'cursor: must be the next_cursor of a previous page of this list'],
    ['cursor=e30&offset=1', 'offset: cannot be combined with cursor'],
  ])('refuses ?%s', async (query, error) => {
    const reply = await stack.call('GET', `/tasks?${query}`, { key: lister.key });
    expect(reply.status).toBe(400);
    expect(reply.body.error.startsWith(error)).toBe(true);
  });

  it('pages by cursor through every task once, in the same order as by offset', async () => {
    expect(await idsByCursor(lister, 2)).toEqual([...ids].reverse());

    const pending = await stack.call('GET', '/tasks?status=PENDING&limit=3', { key: lister.key });
    const rest = await stack.call('GET', `/tasks?status=PENDING&limit=3&cursor=${pending.body.pagination.next_cursor}`, { key: lister.key });
    expect([...pending.body.data, ...rest.body.data].map((t: { task_id: string }) => t.task_id))
      .toEqual([ids[4], ids[3], ids[2], ids[0]]);
  });

  it('pages by cursor through tasks created within one millisecond, microseconds apart (the key keeps every digit)', async () => {
    const burst = await stack.registerAgent('burst');
    await stack.deposit(burst, 500);
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await stack.createTask(burst, { title: `Burst ${i}` })).body.task_id);
    // Concurrent posts can land this close; a JavaScript Date in between would round them together
    // (which is why the time goes in as text here too).
    for (const [i, id] of made.entries()) {
      await stack.sql`update tasks set created_at = ${`2026-12-07 10:00:00.0001${i}5+00`}::text::timestamptz where id = ${id}`;
    }
    expect(await idsByCursor(burst, 1)).toEqual([...made].reverse());
  });

  it("refuses a browsing cursor on the agent's list (cursors name their list)", async () => {
    const key = Buffer.from(JSON.stringify({ list: 'open-tasks', phase: 'recent', chord: null, created_at: '2026-01-01 00:00:00+00', id: 'task_x' })).toString('base64url');
    const reply = await stack.call('GET', `/tasks?cursor=${key}`, { key: lister.key });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('invalid_cursor');
  });

  it("never shows another agent's tasks", async () => {
    const stranger = await stack.registerAgent('stranger');
    const reply = await stack.call('GET', '/tasks', { key: stranger.key });
    expect(reply.body).toEqual({ data: [], pagination: { limit: 20, offset: 0, total: 0, total_exact: true, has_more: false, next_cursor: null } });
  });
});

describe('GET /tasks/:id', () => {
  it('returns every field of the reference, null where not reached yet', async () => {
    const created = await stack.createTask(agent, { callback_url: 'https://your-app.com/webhook', callback_secret: 'your-random-secret' });
    const reply = await stack.call('GET', `/tasks/${created.body.task_id}`, { key: agent.key });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      task_id: created.body.task_id,
      title: 'Verify storefront signage',
      description: 'Take a photo of the signage at 123 Main St',
      status: 'PENDING',
      task_type: 'VERIFICATION',
      task_domain: 'PHYSICAL',
      proof_type: 'PHOTO',
      location: { lat: 40.7128, lng: -74.006, address: '123 Main St, NY' },
      // Beyond the reference: the photo radius the agent asked for, if it did.
      max_distance_m: null,
      reward_usd: 25,
      platform_fee_usd: 4.5,
      total_escrow_usd: 29.5,
      deadline: created.body.deadline,
      proof_requirements: ['Photo of storefront sign', 'GPS-stamped image'],
      digital_instructions: null,
      agent_public_key: null,
      proof: null,
      guardian_result: null,
      // Beyond the reference: how the review went (each rejection's reason, a resubmission, an appeal,
      // when a confirmed dispute settles).
      rejections: [],
      resubmitted_at: null,
      first_proof: null,
      appeal: null,
      refund_at: null,
      operator: null,
      callback_url: 'https://your-app.com/webhook',
      accepted_at: null,
      started_at: null,
      submitted_at: null,
      verified_at: null,
      completed_at: null,
      cancelled_at: null,
      expired_at: null,
      created_at: created.body.created_at,
      updated_at: expect.stringMatching(ISO),
    });
    expect(JSON.stringify(reply.body)).not.toContain('your-random-secret');
  });

  it("is a 404 for an unknown id and for another agent's task", async () => {
    const created = await stack.createTask(agent);
    const stranger = await stack.registerAgent('peeker');
    for (const [key, id] of [[stranger.key, created.body.task_id], [agent.key, 'task_00000000000000000000000000000000'], [agent.key, 'nonsense']]) {
      const reply = await stack.call('GET', `/tasks/${id}`, { key });
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ error: 'Task not found', code: 'task_not_found' });
    }
  });
});

describe('POST /tasks/:id/cancel', () => {
  it('cancels a PENDING task and refunds reward + fee', async () => {
    const a = await stack.registerAgent('canceller');
    await stack.deposit(a, 100);
    const created = await stack.createTask(a);
    const reply = await stack.call('POST', `/tasks/${created.body.task_id}/cancel`, { key: a.key });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ task_id: created.body.task_id, status: 'CANCELLED', refunded_usd: 29.5 });
    expect(await balance(a)).toEqual({ deposit_balance: 100, escrow_balance: 0, currency: 'USD' });
    const detail = await stack.call('GET', `/tasks/${created.body.task_id}`, { key: a.key });
    expect(detail.body.status).toBe('CANCELLED');
    expect(detail.body.cancelled_at).toMatch(ISO);
    const events = await stack.sql`select from_status, to_status from task_events where task_id = ${created.body.task_id} order by id`;
    expect(events).toEqual([{ from_status: null, to_status: 'PENDING' }, { from_status: 'PENDING', to_status: 'CANCELLED' }]);
  });

  it('cancels an ACCEPTED task too', async () => {
    const created = await stack.createTask(agent);
    await stack.sql`select private.transition_task(${created.body.task_id}, 'ACCEPTED', 'operator:op_test')`;
    const reply = await stack.call('POST', `/tasks/${created.body.task_id}/cancel`, { key: agent.key });
    expect(reply.status).toBe(200);
    expect(reply.body.refunded_usd).toBe(29.5);
  });

  it('refuses a task that is no longer PENDING or ACCEPTED, and refunds nothing twice', async () => {
    const created = await stack.createTask(agent);
    expect((await stack.call('POST', `/tasks/${created.body.task_id}/cancel`, { key: agent.key })).status).toBe(200);
    const before = await balance(agent);
    const again = await stack.call('POST', `/tasks/${created.body.task_id}/cancel`, { key: agent.key });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      error: 'Only PENDING or ACCEPTED tasks can be cancelled; this task is CANCELLED',
      code: 'task_not_cancellable',
      details: { status: 'CANCELLED' },
    });
    expect(await balance(agent)).toEqual(before);

    const submitted = await stack.createTask(agent);
    await stack.sql`select private.transition_task(${submitted.body.task_id}, 'ACCEPTED', 'operator:op_test')`;
    await stack.sql`select private.transition_task(${submitted.body.task_id}, 'SUBMITTED', 'operator:op_test')`;
    const late = await stack.call('POST', `/tasks/${submitted.body.task_id}/cancel`, { key: agent.key });
    expect(late.status).toBe(409);
    expect(late.body.details).toEqual({ status: 'SUBMITTED' });
  });

  it('refuses a body with fields: cancel takes no input', async () => {
    const created = await stack.createTask(agent);
    const reply = await stack.call('POST', `/tasks/${created.body.task_id}/cancel`, { key: agent.key, body: { reason: 'changed my mind' } });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('reason: is not a known field');
    const [row] = await stack.sql`select status from tasks where id = ${created.body.task_id}`;
    expect(row.status).toBe('PENDING');
  });

  it("is a 404 on another agent's task, which stays untouched", async () => {
    const created = await stack.createTask(agent);
    const thief = await stack.registerAgent('thief');
    const reply = await stack.call('POST', `/tasks/${created.body.task_id}/cancel`, { key: thief.key });
    expect(reply.status).toBe(404);
    const [row] = await stack.sql`select status from tasks where id = ${created.body.task_id}`;
    expect(row.status).toBe('PENDING');
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response for a retry with the same body, and creates one task', async () => {
    const a = await stack.registerAgent('retrier');
    await stack.deposit(a, 100);
    const body = physicalTask();
    const first = await stack.call('POST', '/tasks', { key: a.key, body, headers: { 'idempotency-key': 'order-1' } });
    // Same content, different key order and spacing.
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(body).reverse()), null, 2);
    const second = await stack.call('POST', '/tasks', { key: a.key, raw: reordered, headers: { 'idempotency-key': 'order-1' } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await stack.sql`select count(*)::int as n from tasks where agent_id = ${a.id}`).toEqual([{ n: 1 }]);
    expect(await balance(a)).toEqual({ deposit_balance: 70.5, escrow_balance: 29.5, currency: 'USD' });
  });

  it('refuses the same key with a different body', async () => {
    const first = await stack.createTask(agent, {}, { 'idempotency-key': 'order-2' });
    expect(first.status).toBe(201);
    const other = await stack.createTask(agent, { reward_usd: 30 }, { 'idempotency-key': 'order-2' });
    expect(other.status).toBe(409);
    expect(other.body).toEqual({ error: 'This Idempotency-Key was already used with a different request', code: 'idempotency_key_reused' });
  });

  it('keys are per agent', async () => {
    const b = await stack.registerAgent('other-retrier');
    await stack.deposit(b, 100);
    const mine = await stack.createTask(agent, {}, { 'idempotency-key': 'shared-key' });
    const theirs = await stack.createTask(b, {}, { 'idempotency-key': 'shared-key' });
    expect(theirs.status).toBe(201);
    expect(theirs.body.task_id).not.toBe(mine.body.task_id);
  });

  it('10 concurrent retries under one key make one task and one escrow', async () => {
    const a = await stack.registerAgent('stampede');
    await stack.deposit(a, 100);
    const body = physicalTask();
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => stack.call('POST', '/tasks', { key: a.key, body, headers: { 'idempotency-key': 'burst' } })),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(replies.map((r) => r.body.task_id)).size).toBe(1);
    expect(await stack.sql`select count(*)::int as n from tasks where agent_id = ${a.id}`).toEqual([{ n: 1 }]);
    expect(await stack.sql`select count(*)::int as n from ledger_entries where agent_id = ${a.id} and kind = 'task_escrow'`).toEqual([{ n: 1 }]);
    expect(await balance(a)).toEqual({ deposit_balance: 70.5, escrow_balance: 29.5, currency: 'USD' });
  });

  it('does not remember a failure: the retry runs afresh', async () => {
    const a = await stack.registerAgent('broke');
    const refused = await stack.createTask(a, {}, { 'idempotency-key': 'after-deposit' });
    expect(refused.status).toBe(402);
    await stack.deposit(a, 50);
    const retried = await stack.createTask(a, {}, { 'idempotency-key': 'after-deposit' });
    expect(retried.status).toBe(201);
  });

  it('makes a cancel retry answer like the first cancel', async () => {
    const created = await stack.createTask(agent);
    const path = `/tasks/${created.body.task_id}/cancel`;
    const first = await stack.call('POST', path, { key: agent.key, headers: { 'idempotency-key': 'cancel-1' } });
    const retry = await stack.call('POST', path, { key: agent.key, headers: { 'idempotency-key': 'cancel-1' } });
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
  });

  it('refuses a malformed key', async () => {
    const reply = await stack.createTask(agent, {}, { 'idempotency-key': 'x'.repeat(256) });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('invalid_idempotency_key');
  });
});
