// Signed webhooks, delivered by the worker to a receiver written like the reference's Express sample.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackUrlProblem, isPrivateAddress, signatureHeaders } from '../functions/_shared/webhooks.ts';
import { type Agent, type Stack, startStack } from './helpers/stack.ts';

const SECRET = 'your-random-secret-0123';

interface Received {
  path: string;
  event: any;
  signatureOk: boolean;
  standardOk: boolean;
  headers: Record<string, string | string[] | undefined>;
}

/** A receiver that checks signatures exactly as the reference's sample does (raw body, hex HMAC, timingSafeEqual). */
async function startReceiver() {
  const received: Received[] = [];
  let answer = 204;
  // Paths whose answer waits until the test releases it; `arrived` resolves when the post comes in.
  const gates = new Map<string, { arrived: Promise<void>; arrive(): void; released: Promise<void>; release(): void }>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const sig = String(req.headers['x-humanops-signature'] ?? '');
      const computed = createHmac('sha256', SECRET).update(raw).digest('hex');
      const signatureOk = sig.length === computed.length && timingSafeEqual(Buffer.from(sig), Buffer.from(computed));
      const id = String(req.headers['webhook-id']);
      const timestamp = Number(req.headers['webhook-timestamp']);
      const expected = createHmac('sha256', SECRET).update(`${id}.${timestamp}.${raw}`).digest('base64');
      const standardOk = String(req.headers['webhook-signature']) === `v1,${expected}` && Math.abs(Date.now() / 1000 - timestamp) < 300;
      received.push({ path: req.url ?? '', event: JSON.parse(raw.toString('utf8')), signatureOk, standardOk, headers: req.headers });
      const gate = gates.get(req.url ?? '');
      gate?.arrive();
      void (gate?.released ?? Promise.resolve()).then(() => {
        res.writeHead(answer, answer >= 300 && answer < 400 ? { location: '/redirected' } : {});
        res.end();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: (path = '/webhook/humanops') => `http://127.0.0.1:${port}${path}`,
    received,
    answerWith: (status: number) => (answer = status),
    /** Holds the answer to posts on `path` until `release()`; `arrived` resolves when one comes in. */
    hold: (path: string) => {
      let arrive = () => {};
      let release = () => {};
      const arrived = new Promise<void>((r) => (arrive = r));
      const released = new Promise<void>((r) => (release = r));
      const gate = { arrived, arrive, released, release };
      gates.set(path, gate);
      return gate;
    },
    stop: () => new Promise<void>((r) => {
      for (const gate of gates.values()) gate.release();
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

let stack: Stack;
let agent: Agent;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver();
  stack = await startStack({ env: { WEBHOOK_TIMEOUT_MS: '1000' } });
  agent = await stack.registerAgent('hooked');
  await stack.deposit(agent, 2000);
});
afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
});

const withCallback = (path?: string, secret: string | undefined = SECRET) =>
  stack.createTask(agent, { callback_url: receiver.url(path), ...(secret ? { callback_secret: secret } : {}) }).then((r) => r.body.task_id as string);
const deliveries = (id: string) => stack.call('GET', `/tasks/${id}/webhooks`, { key: agent.key }).then((r) => r.body.data);

describe('webhooks', () => {
  it('announces a cancellation, signed both ways, with the reference payload', async () => {
    const id = await withCallback('/cancel');
    await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
    expect((await stack.tick()).webhook_deliveries).toBe(1);
    const got = receiver.received.filter((r) => r.event.task_id === id);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ signatureOk: true, standardOk: true });
    expect(got[0].event).toEqual({ event: 'task.cancelled', task_id: id, status: 'CANCELLED', guardian_result: null, timestamp: expect.stringMatching(/Z$/) });
    expect(got[0].headers['user-agent']).toMatch(/^HumanOps-Webhooks\//);
    expect(await deliveries(id)).toEqual([expect.objectContaining({ event: 'task.cancelled', status: 'delivered', attempts: 1, last_status_code: 204 })]);
  });

  it('announces an operator accepting the task', async () => {
    const id = await withCallback('/lifecycle');
    const operator = await stack.registerOperator();
    await stack.call('POST', `/operator/tasks/${id}/accept`, { headers: operator.auth });
    await stack.tick();
    const events = () => receiver.received.filter((r) => r.event.task_id === id).map((r) => r.event.event);
    expect(events()).toEqual(['task.accepted']);
  });

  it('sends the sandbox lifecycle: accepted, submitted, verified, completed', async () => {
    const id = await withCallback('/sandbox');
    await stack.call('POST', `/sandbox/tasks/${id}/simulate`, { key: agent.key, body: { action: 'accept' } });
    await stack.call('POST', `/sandbox/tasks/${id}/simulate`, { key: agent.key, body: { action: 'submit', verdict: { decision: 'APPROVE', confidence: 97 } } });
    await stack.tick();
    const got = receiver.received.filter((r) => r.event.task_id === id);
    expect(got.map((r) => r.event.event).sort()).toEqual(['task.accepted', 'task.completed', 'task.submitted', 'task.verified']);
    expect(got.find((r) => r.event.event === 'task.verified')!.event.guardian_result).toMatchObject({ decision: 'APPROVE', confidence: 97 });
    expect(got.every((r) => r.signatureOk && r.standardOk)).toBe(true);
  });

  it('retries with backoff while the receiver fails, and delivers when it comes back; the webhook-id stays the same', async () => {
    const id = await withCallback('/flaky');
    receiver.answerWith(500);
    await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
    await stack.tick();
    let [first] = await deliveries(id);
    expect(first).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 500, last_error: 'receiver answered 500' });
    const wait = new Date(first.next_attempt_at).getTime() - Date.now();
    expect(wait).toBeGreaterThan(20_000);
    expect(wait).toBeLessThan(40_000);
    await stack.tick();
    expect((await deliveries(id))[0].attempts).toBe(1); // not due yet
    receiver.answerWith(204);
    await stack.sql`update webhook_deliveries set next_attempt_at = now() where task_id = ${id}`;
    await stack.tick();
    [first] = await deliveries(id);
    expect(first).toMatchObject({ status: 'delivered', attempts: 2 });
    const ids = new Set(receiver.received.filter((r) => r.event.task_id === id).map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
  });

  it('gives up after its attempts, and the agent can have it sent again', async () => {
    const id = await withCallback('/gone');
    receiver.answerWith(410);
    await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
    for (let i = 0; i < 8; i++) {
      await stack.sql`update webhook_deliveries set next_attempt_at = now() where task_id = ${id}`;
      await stack.tick();
    }
    const [failed] = await deliveries(id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 8, next_attempt_at: null });
    receiver.answerWith(204);
    const resent = await stack.call('POST', `/webhooks/${failed.delivery_id}/resend`, { key: agent.key });
    expect(resent.body).toMatchObject({ status: 'pending', attempts: 0 });
    await stack.tick();
    expect((await deliveries(id))[0].status).toBe('delivered');
    const other = await stack.registerAgent('nosy');
    expect((await stack.call('POST', `/webhooks/${failed.delivery_id}/resend`, { key: other.key })).status).toBe(404);
    expect((await stack.call('GET', `/tasks/${id}/webhooks`, { key: other.key })).status).toBe(404);
  });

  it('a receiver that never answers times out and is retried; another delivery in the same tick goes through', async () => {
    const silent = receiver.hold('/slow');
    const slow = await withCallback('/slow');
    const quick = await withCallback('/quick');
    await stack.call('POST', `/tasks/${slow}/cancel`, { key: agent.key });
    await stack.call('POST', `/tasks/${quick}/cancel`, { key: agent.key });
    await stack.tick();
    expect((await deliveries(quick))[0].status).toBe('delivered');
    expect((await deliveries(slow))[0]).toMatchObject({ status: 'pending', last_error: 'no answer within 1000 ms' });
    silent.release();
  });

  it('deliveries in one tick are posted at once: two receivers that answer only when both posts have arrived get both', async () => {
    const [one, two] = [receiver.hold('/together-1'), receiver.hold('/together-2')];
    void Promise.all([one.arrived, two.arrived]).then(() => {
      one.release();
      two.release();
    });
    const ids = [await withCallback('/together-1'), await withCallback('/together-2')];
    for (const id of ids) await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
    await stack.tick();
    // Posted one after the other, the first would have waited for the second until its timeout.
    for (const id of ids) expect((await deliveries(id))[0].status).toBe('delivered');
  });

  it('the sandbox makes the next N attempts fail', async () => {
    const id = await withCallback('/sandbox-fail');
    receiver.answerWith(204);
    expect((await stack.call('POST', `/sandbox/tasks/${id}/simulate`, { key: agent.key, body: { action: 'fail_webhooks', count: 2 } })).status).toBe(200);
    await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
    for (let i = 0; i < 2; i++) {
      await stack.tick();
      await stack.sql`update webhook_deliveries set next_attempt_at = now() where task_id = ${id}`;
    }
    expect((await deliveries(id))[0]).toMatchObject({ status: 'pending', attempts: 2, last_error: 'sandbox: forced failure' });
    await stack.tick();
    expect((await deliveries(id))[0]).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(receiver.received.filter((r) => r.event.task_id === id)).toHaveLength(1);
    const plain = (await stack.createTask(agent)).body.task_id;
    expect((await stack.call('POST', `/sandbox/tasks/${plain}/simulate`, { key: agent.key, body: { action: 'fail_webhooks' } })).body.code).toBe('no_callback');
  });

  it('does not follow a redirect: a 3xx is a failed attempt', async () => {
    const id = await withCallback('/moved');
    receiver.answerWith(302);
    await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
    await stack.tick();
    receiver.answerWith(204);
    expect((await deliveries(id))[0]).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 302 });
    expect(receiver.received.filter((r) => r.path === '/redirected')).toHaveLength(0);
  });

  it("a dead worker's claim comes back when its lease runs out; a live lease is never claimed twice", async () => {
    const id = await withCallback('/lease');
    await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
    // A worker claims the delivery and dies before posting it.
    const claimed = await stack.sql`select id, task_id from api.claim_webhook_deliveries(50, 300)`;
    expect(claimed.map((c) => c.task_id)).toContain(id);
    await stack.tick();
    expect(receiver.received.filter((r) => r.event.task_id === id)).toHaveLength(0);
    // Even a resend leaves the lease alone.
    const [leased] = await deliveries(id);
    expect((await stack.call('POST', `/webhooks/${leased.delivery_id}/resend`, { key: agent.key })).status).toBe(200);
    await stack.tick();
    expect(receiver.received.filter((r) => r.event.task_id === id)).toHaveLength(0);
    await stack.sql`update webhook_deliveries set locked_until = now() - interval '1 second' where task_id = ${id}`;
    await stack.tick();
    expect(receiver.received.filter((r) => r.event.task_id === id)).toHaveLength(1);
    expect((await deliveries(id))[0]).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it("a worker that lost its lease cannot record its late outcome over the newer attempt's", async () => {
    const id = await withCallback('/late');
    await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
    // Worker A claims, stalls past its lease; worker B (the tick) claims again and delivers.
    const [stale] = await stack.sql`select id, lease from api.claim_webhook_deliveries(50, 300) where task_id = ${id}`;
    await stack.sql`update webhook_deliveries set locked_until = now() - interval '1 second' where task_id = ${id}`;
    await stack.tick();
    expect((await deliveries(id))[0]).toMatchObject({ status: 'delivered', attempts: 2 });
    // A wakes up and reports a failure under its old lease: nothing changes.
    const [late] = await stack.sql`select api.record_webhook_attempt(${stale.id}, ${stale.lease}, false, 500, 'late failure', 8) as status`;
    expect(late.status).toBe('lease_lost');
    expect((await deliveries(id))[0]).toMatchObject({ status: 'delivered', attempts: 2, last_error: null });
  });

  it('sends unsigned (but identified) when the task has no secret', async () => {
    const id = await withCallback('/unsigned', '');
    await stack.call('POST', `/tasks/${id}/cancel`, { key: agent.key });
    await stack.tick();
    const [got] = receiver.received.filter((r) => r.event.task_id === id);
    expect(got.headers['x-humanops-signature']).toBeUndefined();
    expect(got.headers['webhook-id']).toMatch(/^whd_/);
  });
});

// A worker that posts with a long timeout, so an attempt stays in flight while the test acts.
describe('an attempt in flight', () => {
  let slowStack: Stack;
  let slowAgent: Agent;
  beforeAll(async () => {
    slowStack = await startStack({ env: { WEBHOOK_TIMEOUT_MS: '60000' } });
    slowAgent = await slowStack.registerAgent('in-flight');
    await slowStack.deposit(slowAgent, 100);
  });
  afterAll(() => slowStack?.stop());

  it('an attempt in flight is not posted again by a concurrent worker, even after a resend', async () => {
    const gate = receiver.hold('/slow-inflight');
    const id = await slowStack.createTask(slowAgent, { callback_url: receiver.url('/slow-inflight'), callback_secret: SECRET }).then((r) => r.body.task_id as string);
    await slowStack.call('POST', `/tasks/${id}/cancel`, { key: slowAgent.key });
    const first = slowStack.tick();
    await gate.arrived; // claimed and posted; the receiver has not answered yet
    const [inFlight] = await slowStack.call('GET', `/tasks/${id}/webhooks`, { key: slowAgent.key }).then((r) => r.body.data);
    expect(inFlight.attempts).toBe(1);
    await slowStack.call('POST', `/webhooks/${inFlight.delivery_id}/resend`, { key: slowAgent.key });
    await slowStack.tick();
    gate.release();
    await first;
    expect(receiver.received.filter((r) => r.event.task_id === id)).toHaveLength(1);
  });
});

describe('signing', () => {
  it('signs as the reference sample and Standard Webhooks check, a whsec_ secret keyed by its decoded bytes', async () => {
    const body = '{"event":"task.completed","task_id":"task_1"}';
    const plain = await signatureHeaders(body, SECRET, 'whd_1', 1700000000);
    expect(plain).toEqual({
      'webhook-id': 'whd_1',
      'webhook-timestamp': '1700000000',
      'X-HumanOps-Signature': createHmac('sha256', SECRET).update(body).digest('hex'),
      'webhook-signature': `v1,${createHmac('sha256', SECRET).update(`whd_1.1700000000.${body}`).digest('base64')}`,
    });
    const key = Buffer.from('a-32-byte-key-for-standard-hooks');
    const whsec = `whsec_${key.toString('base64')}`;
    const standard = await signatureHeaders(body, whsec, 'whd_2', 1700000001);
    expect(standard['webhook-signature']).toBe(`v1,${createHmac('sha256', key).update(`whd_2.1700000001.${body}`).digest('base64')}`);
    expect(standard['X-HumanOps-Signature']).toBe(createHmac('sha256', whsec).update(body).digest('hex'));
    expect(await signatureHeaders(body, null, 'whd_3', 1)).toEqual({ 'webhook-id': 'whd_3', 'webhook-timestamp': '1' });
  });
});

describe('where webhooks may go', () => {
  it.each([
    ['127.0.0.1', true], ['10.1.2.3', true], ['172.20.0.1', true], ['192.168.1.1', true], ['169.254.169.254', true],
    ['100.64.0.1', true], ['0.0.0.0', true], ['::1', true], ['::', true], ['fe80::1', true], ['fd00::1', true],
    ['::ffff:127.0.0.1', true], ['::ffff:7f00:1', true], ['64:ff9b::a00:1', true], ['224.0.0.1', true],
    ['::127.0.0.1', true], ['2002:7f00:1::1', true], ['2002:a9fe:a9fe::', true], ['fec0::1', true], ['64:ff9b:1::a00:1', true],
    ['2001:0:4136:e378::1', true], ['ff02::1', true], ['not-an-address', true],
    // Found by the outside review: SIIT-translated loopback and the IPv6 discard prefix.
    ['::ffff:0:7f00:1', true], ['100::1', true], ['2001:db8::1', true], ['192.0.2.1', true], ['198.18.0.1', true],
    // 6to4 is refused whatever it embeds: a relay decides where it lands.
    ['2002:808:808::1', true],
    // Third review (finding 6): the IPv4-compatible range ::/96, as URL parsing writes it.
    ['::7f00:1', true], ['::a9fe:a9fe', true], ['::808:808', true],
    ['8.8.8.8', false], ['93.184.216.34', false], ['2606:4700:4700::1111', false], ['::ffff:8.8.8.8', false],
  ])('%s is private: %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

  it('refuses the mail ports 25 and 587, which Supabase blocks, even where private receivers are allowed', () => {
    expect(callbackUrlProblem('http://127.0.0.1:25/hook', true)).toMatch(/^must not use port 25/);
    expect(callbackUrlProblem('https://hooks.example.com:587/hook', false)).toMatch(/^must not use port 587/);
    expect(callbackUrlProblem('https://hooks.example.com:2525/hook', false)).toBeNull();
  });

  describe('in live mode', () => {
    let live: Stack;
    let liveAgent: Agent;
    beforeAll(async () => {
      live = await startStack({ env: { HUMANOPS_MODE: 'live', HUMANOPS_ADMIN_KEY: 'admin-key-for-tests-0123456789' } });
      const reply = await live.call('POST', '/agents/register', { body: { name: 'live', email: 'l@example.com' }, headers: { 'x-admin-key': 'admin-key-for-tests-0123456789' } });
      liveAgent = { id: reply.body.agent_id, key: reply.body.api_key };
      await live.sql`select api.credit_deposit(${liveAgent.id}, 'fiat', 100000)`;
    });
    afterAll(() => live?.stop());

    it.each(['https://127.0.0.1/h', 'https://10.0.0.1/h', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/h', 'https://localhost/h',
      'https://db.internal/h', 'http://example.com/h', 'https://localhost./h', 'https://0x7f.1/h', 'https://[::ffff:10.0.0.1]/h', 'https://[fd00::1]/h',
      'https://100.64.0.1/h', 'https://[fe80::1]/h', 'https://[::ffff:0:7f00:1]/h', 'https://[100::1]/h',
      'https://[::127.0.0.1]/h', 'https://[::a9fe:a9fe]/h',
      'https://hooks.example.com:25/h', 'https://hooks.example.com:587/h'])(
      'refuses a task calling back to %s', async (url) => {
        const reply = await live.createTask(liveAgent, { callback_url: url });
        expect(reply.status).toBe(400);
        expect(reply.body.error).toMatch(/^callback_url: must/);
      });

    it('accepts a public https URL', async () => {
      expect((await live.createTask(liveAgent, { callback_url: 'https://hooks.example.com/humanops' })).status).toBe(201);
    });
  });

  describe('with private addresses turned off in test mode', () => {
    let strict: Stack;
    beforeAll(async () => {
      strict = await startStack({ env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false' } });
    });
    afterAll(() => strict?.stop());

    it('refuses at creation a literal private address', async () => {
      const a = await strict.registerAgent('strict');
      await strict.deposit(a, 100);
      const reply = await strict.createTask(a, { callback_url: receiver.url() });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe('callback_url: must not point to a private, loopback or link-local address');
    });

    // This machine's own name is no literal address, so creation lets it through; /etc/hosts maps it
    // to loopback (127.0.1.1 on Debian) or to the container's private address, so delivery must refuse
    // it after resolving, and never reach the receiver listening on that port.
    const machine = hostname();
    it.skipIf(callbackUrlProblem(`http://${machine}/`, false) !== null)('refuses at delivery a host name that resolves to a private address', async () => {
      const resolved = await lookup(machine, { all: true }).catch(() => []);
      const a = await strict.registerAgent('strict-dns');
      await strict.deposit(a, 100);
      const url = receiver.url('/strict-dns').replace('127.0.0.1', machine);
      const created = await strict.createTask(a, { callback_url: url, callback_secret: SECRET });
      expect(created.status).toBe(201);
      await strict.call('POST', `/tasks/${created.body.task_id}/cancel`, { key: a.key });
      await strict.tick();
      const [delivery] = (await strict.call('GET', `/tasks/${created.body.task_id}/webhooks`, { key: a.key })).body.data;
      expect(delivery).toMatchObject({ status: 'pending', attempts: 1, last_status_code: null });
      if (resolved.length > 0 && resolved.every((r) => isPrivateAddress(r.address))) {
        expect(delivery.last_error).toMatch(new RegExp(`^refused: ${machine} resolves to .*, a private address$`));
      } else {
        expect(delivery.last_error).toBeTruthy(); // unresolvable or public here: not delivered either way
      }
      expect(receiver.received.filter((r) => r.path === '/strict-dns')).toHaveLength(0);
    });
  });
});
