// Web Push end to end: operators subscribe, the worker fans a new task out to those near it through
// the outbox, and a stand-in push service (RFC 8030, HTTPS) receives what a browser would; the test
// decrypts each payload with the subscription's keys (RFC 8291) and checks the VAPID signature.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserSubscription, type Pushed, startPushService, vapidEnv, vapidKeys, verifyVapid } from './helpers/push-service.ts';
import { type Agent, type Operator, operatorToken, type Stack, startStack } from './helpers/stack.ts';

const NEW_YORK = { city: 'New York', country: 'US', lat: 40.7128, lng: -74.006 };
const BOSTON = { city: 'Boston', country: 'US', lat: 42.3601, lng: -71.0589 };
/** Three blocks from NEW_YORK's point: about 0.3 km. */
const NEARBY_TASK = { lat: 40.7150, lng: -74.0030, address: '1 Centre St, New York' };

let push: Awaited<ReturnType<typeof startPushService>>;
let stack: Stack;
let agent: Agent;
const VAPID = vapidKeys();
const HOURLY_CAP = 2;

beforeAll(async () => {
  push = await startPushService();
  stack = await startStack({
    env: {
      ...vapidEnv(VAPID), PUSH_HOURLY_CAP: String(HOURLY_CAP), DENO_CERT: push.caFile,
    },
  });
  agent = await stack.registerAgent('push-agent');
  await stack.deposit(agent, 1000);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await push?.stop();
});

async function subscribedOperator(location = NEW_YORK, skills: string[] = [], travelRadiusKm?: number) {
  const operator = await stack.registerOperator({ location, skills, ...(travelRadiusKm ? { travel_radius_km: travelRadiusKm } : {}) });
  const subscription = push.subscription();
  const reply = await stack.call('POST', '/operator/push-subscriptions', { headers: operator.auth, body: { ...subscription, expirationTime: null } });
  expect(reply.status).toBe(201);
  return { operator, subscription };
}

const pushesTo = (subscription: BrowserSubscription) => push.received.filter((p) => subscription.endpoint.endsWith(`/push/${p.id}`));
const decrypted = (subscription: BrowserSubscription, pushed: Pushed) => JSON.parse(subscription.decrypt(pushed.body));

const postNearby = async (overrides: Record<string, unknown> = {}) => {
  const reply = await stack.createTask(agent, { location: NEARBY_TASK, task_type: 'VERIFICATION', reward_usd: 25, ...overrides });
  expect(reply.status).toBe(201);
  return reply.body.task_id as string;
};

describe('alerts for new tasks nearby', () => {
  it('one encrypted push to the subscribed operator nearby, within seconds of the tick; none outside the radius, for other skills, or below the minimum reward', async () => {
    const near = await subscribedOperator();
    const far = await subscribedOperator(BOSTON);
    // 8 km away, with a travel radius of 5 km and no alert radius of its own: outside.
    const beyondTravel = await subscribedOperator({ ...NEW_YORK, lat: 40.7850 }, [], 5);
    const otherSkills = await subscribedOperator(NEW_YORK, ['DELIVERY']);
    const picky = await subscribedOperator();
    expect((await stack.call('PUT', '/operator/push/preferences', { headers: picky.operator.auth, body: { min_reward_usd: 100 } })).status).toBe(200);

    const taskId = await postNearby({ title: 'Photograph the storefront sign' });
    // Posting never waits on push: nothing is sent until the worker runs.
    expect(pushesTo(near.subscription)).toEqual([]);
    const ticked = Date.now();
    await stack.tick();
    const [pushed] = pushesTo(near.subscription);
    expect(pushed).toBeDefined();
    expect(Date.now() - ticked).toBeLessThan(5_000);

    expect(decrypted(near.subscription, pushed)).toEqual({
      title: 'New task nearby: Photograph the storefront sign', body: '$25.00 · 0 km away', url: `/#/task/${taskId}`,
      task_id: taskId, reward_usd: 25, distance_km: 0,
    });
    expect(pushed.headers['content-encoding']).toBe('aes128gcm');
    expect(pushed.headers.urgency).toBe('normal');
    const ttl = Number(pushed.headers.ttl);
    expect(ttl).toBeGreaterThan(3000);
    expect(ttl).toBeLessThanOrEqual(3600);
    const vapid = await verifyVapid(String(pushed.headers.authorization), push.origin);
    expect(vapid.publicKey).toBe(VAPID.publicKey);
    expect(vapid.claims.sub).toBe('mailto:ops@example.com');

    for (const nobody of [far, otherSkills, picky, beyondTravel]) expect(pushesTo(nobody.subscription)).toEqual([]);
    // The task is fanned out once: another tick sends nothing more.
    await stack.tick();
    expect(pushesTo(near.subscription)).toHaveLength(1);
  });

  it(`stops at ${HOURLY_CAP} new-task alerts an hour per operator`, async () => {
    const capped = await subscribedOperator();
    for (let i = 0; i < HOURLY_CAP + 2; i += 1) await postNearby();
    await stack.tick();
    expect(pushesTo(capped.subscription)).toHaveLength(HOURLY_CAP);
  });

  it('a 410 from the push service removes the subscription; a 500 is retried later', async () => {
    const gone = await subscribedOperator();
    const flaky = await subscribedOperator();
    push.answer(gone.subscription.endpoint.split('/push/')[1], 410);
    push.answer(flaky.subscription.endpoint.split('/push/')[1], 500);
    await postNearby();
    await stack.tick();
    expect(pushesTo(gone.subscription)).toHaveLength(1);
    expect(await stack.sql`select id from push_subscriptions where endpoint = ${gone.subscription.endpoint}`).toEqual([]);
    expect((await stack.call('GET', '/operator/push', { headers: gone.operator.auth })).body.subscriptions).toBe(0);
    const [retry] = await stack.sql`
      select o.status, o.attempts, o.last_status_code, o.next_attempt_at > now() as later
        from push_outbox o join push_subscriptions s on s.id = o.subscription_id where s.endpoint = ${flaky.subscription.endpoint}`;
    expect(retry).toEqual({ status: 'pending', attempts: 1, last_status_code: 500, later: true });
  });
});

describe('alerts for messages and outcomes', () => {
  it("the requester's answer alerts the asker (high urgency), without the text", async () => {
    const asker = await subscribedOperator(BOSTON);
    const taskId = await postNearby({ location: undefined, task_type: 'CONTENT_REVIEW', reward_usd: 10, title: 'Review a listing' });
    const question = await stack.call('POST', `/operator/tasks/${taskId}/messages`, { headers: asker.operator.auth, body: { text: 'Which listing?' } });
    await stack.call('POST', `/tasks/${taskId}/messages`, { key: agent.key, body: { text: 'The secret one: code 1234', reply_to: question.body.message_id } });
    await stack.tick();
    const [pushed] = pushesTo(asker.subscription);
    expect(decrypted(asker.subscription, pushed)).toEqual({ title: 'The requester answered', body: 'Review a listing', url: `/#/task/${taskId}`, task_id: taskId });
    expect(pushed.headers.urgency).toBe('high');
  });

  it("the outcome of the holder's submission, unless turned off", async () => {
    const holder = await subscribedOperator(BOSTON);
    const quiet = await subscribedOperator(BOSTON);
    await stack.call('PUT', '/operator/push/preferences', { headers: quiet.operator.auth, body: { outcomes: false } });
    for (const { operator } of [holder, quiet]) {
      const taskId = await postNearby({ location: undefined, task_type: 'CONTENT_REVIEW', reward_usd: 10, title: 'Review it' });
      await stack.call('POST', `/operator/tasks/${taskId}/accept`, { headers: operator.auth, body: {} });
      await stack.call('POST', `/operator/tasks/${taskId}/submit`, { headers: operator.auth, body: { confirmation_text: 'Reviewed' } });
      await stack.call('POST', `/tasks/${taskId}/verify`, { key: agent.key, body: { decision: 'APPROVE' } });
    }
    await stack.tick();
    expect(pushesTo(holder.subscription).map((p) => decrypted(holder.subscription, p).body)).toContain('Approved: the reward is in your pending earnings');
    expect(pushesTo(quiet.subscription)).toEqual([]);
  });
});

describe('upkeep', () => {
  it('purges settled alerts after a day, and keeps the pending ones', async () => {
    await stack.sql`update push_outbox set created_at = now() - interval '2 days'`;
    const [{ settled, pending }] = await stack.sql`
      select count(*) filter (where status <> 'pending')::int as settled, count(*) filter (where status = 'pending')::int as pending from push_outbox`;
    expect(settled).toBeGreaterThan(0);
    const [{ result }] = await stack.sql`select api.run_maintenance() as result`;
    expect(result.push_deliveries_purged).toBe(settled);
    expect(await stack.sql`select count(*)::int as n from push_outbox`).toEqual([{ n: pending }]);
  });
});

describe('subscriptions and preferences', () => {
  it('take only https endpoints with real keys, and come off again with DELETE', async () => {
    const operator: Operator = await stack.registerOperator();
    const subscription = push.subscription();
    const bad = [
      { ...subscription, endpoint: subscription.endpoint.replace('https:', 'http:') },
      { ...subscription, keys: { ...subscription.keys, p256dh: 'AAAA' } },
      { ...subscription, keys: { ...subscription.keys, auth: subscription.keys.p256dh } },
      { endpoint: subscription.endpoint },
    ];
    for (const body of bad) expect((await stack.call('POST', '/operator/push-subscriptions', { headers: operator.auth, body })).status).toBe(400);
    expect((await stack.call('POST', '/operator/push-subscriptions', { headers: operator.auth, body: subscription })).status).toBe(201);
    const settings = await stack.call('GET', '/operator/push', { headers: operator.auth });
    expect(settings.body).toEqual({
      vapid_public_key: VAPID.publicKey, subscriptions: 1,
      preferences: { new_tasks: true, radius_km: null, min_reward_usd: 0, outcomes: true, messages: true },
    });
    const path = `/operator/push-subscriptions?endpoint=${encodeURIComponent(subscription.endpoint)}`;
    expect((await stack.call('DELETE', path, { headers: operator.auth })).body).toEqual({ removed: true });
    expect((await stack.call('DELETE', path, { headers: operator.auth })).body).toEqual({ removed: false });
    expect((await stack.call('PUT', '/operator/push/preferences', { headers: operator.auth, body: { radius_km: 500 } })).status).toBe(400);
    expect((await stack.call('PUT', '/operator/push/preferences', { headers: operator.auth, body: { radius_km: 25 } })).body.preferences.radius_km).toBe(25);
    expect((await stack.call('PUT', '/operator/push/preferences', { headers: operator.auth, body: { radius_km: null } })).body.preferences.radius_km).toBeNull();
  });
});

describe("owners' approval alerts", () => {
  it('every subscribed owner of the agent hears at once that a task waits for approval, with a link to the console; nobody else', async () => {
    const held = await stack.registerAgent('push-approvals');
    await stack.deposit(held, 100);
    const owners = [];
    for (const name of ['user_push_owner_a', 'user_push_owner_b']) {
      const auth = { authorization: `Bearer ${await operatorToken(name)}` };
      const code = (await stack.call('POST', '/agents/owners/link-code', { key: held.key })).body.code;
      expect((await stack.call('POST', '/owner/link', { headers: auth, body: { code } })).status).toBe(200);
      const subscription = push.subscription();
      expect((await stack.call('POST', '/owner/push-subscriptions', { headers: auth, body: subscription })).status).toBe(201);
      owners.push({ auth, subscription });
    }
    const stranger = push.subscription();
    const strangerAuth = { authorization: `Bearer ${await operatorToken('user_push_stranger')}` };
    expect((await stack.call('POST', '/owner/push-subscriptions', { headers: strangerAuth, body: stranger })).status).toBe(201);
    expect((await stack.call('GET', '/owner/push', { headers: owners[0].auth })).body).toEqual({ vapid_public_key: VAPID.publicKey, subscriptions: 1 });

    await stack.call('PUT', '/agents/policy', { key: held.key, body: { approval_threshold_usd: 10 } });
    const below = await stack.createTask(held, { title: 'Under the threshold', reward_usd: 10 });
    const reply = await stack.createTask(held, { title: 'Check the loading bay', reward_usd: 30 });
    expect(reply.body.status).toBe('PENDING_APPROVAL');
    await stack.tick();
    for (const { subscription } of owners) {
      const pushed = pushesTo(subscription);
      expect(pushed).toHaveLength(1);
      expect(decrypted(subscription, pushed[0])).toEqual({
        title: 'Approval needed: Check the loading bay', body: '$30.00 · waits for your answer', url: '/console/#/approvals', task_id: reply.body.task_id,
      });
      expect(pushed[0].headers.urgency).toBe('high');
      expect(Number(pushed[0].headers.ttl)).toBeGreaterThan(250_000);
    }
    expect(pushesTo(stranger)).toEqual([]);
    expect(below.body.status).toBe('PENDING');

    const path = `/owner/push-subscriptions?endpoint=${encodeURIComponent(owners[0].subscription.endpoint)}`;
    expect((await stack.call('DELETE', path, { headers: owners[0].auth })).body).toEqual({ removed: true });
    expect((await stack.call('GET', '/owner/push', { headers: owners[0].auth })).body.subscriptions).toBe(0);
  });
});
