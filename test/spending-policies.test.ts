// Spending policies: every rule allows at its exact boundary and refuses one step past it, in
// create_task's own transaction, so a 30-way race against a budget lets through exactly what fits.
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

const ledgerProblems = () => stack.sql`select problem, subject from api.verify_ledger()`;

/** A funded agent, its registration key's id, and a second key with only the agent scope. */
async function setup(name: string, usd = 2000) {
  const owner = await stack.registerAgent(name);
  await stack.deposit(owner, usd);
  const ownerKeyId = (await stack.call('GET', '/agents/keys', { key: owner.key })).body.data[0].id as string;
  const minted = (await stack.call('POST', '/agents/keys', { key: owner.key, body: { name: 'bot', scopes: ['agent'] } })).body;
  const bot: Agent = { id: owner.id, key: minted.api_key };
  return { owner, ownerKeyId, bot, botKeyId: minted.id as string };
}

const putKeyPolicy = (owner: Agent, keyId: string, body: Record<string, unknown>) =>
  stack.call('PUT', `/agents/keys/${keyId}/policy`, { key: owner.key, body });

/** $25 reward at the 18 % tier: $4.50 fee, $29.50 in all. */
const post = (agent: Agent, overrides: Record<string, unknown> = {}) => stack.createTask(agent, overrides);

async function p256PublicKey() {
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
  return Buffer.from(await webcrypto.subtle.exportKey('raw', pair.publicKey)).toString('base64');
}

const credentialTask = async () => ({
  title: 'Create Acme API account', description: 'Sign up at acme.io', location: undefined, task_type: 'API_KEY_PROCUREMENT',
  reward_usd: 50, proof_requirements: ['API key delivered via encrypted channel'], agent_public_key: await p256PublicKey(),
});

describe('setting and reading policies', () => {
  it('a key without a policy posts as the reference says, and its policy reads as none', async () => {
    const { owner, bot, botKeyId } = await setup('policy-none', 12_000);
    const policy = await stack.call('GET', `/agents/keys/${botKeyId}/policy`, { key: bot.key });
    expect(policy.body).toEqual({
      key_id: botKeyId, source: 'none', max_reward_usd: null, daily_limit_usd: null, monthly_limit_usd: null,
      allowed_task_types: null, allowed_regions: null, allow_credential_tasks: null, approval_threshold_usd: null, updated_at: null,
    });
    const posted = await post(bot, { reward_usd: 10_000 });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ status: 'PENDING', reward_usd: 10_000, platform_fee: 1800, total_escrow: 11_800 });
    expect((await stack.call('GET', '/agents/policy', { key: owner.key })).body.source).toBe('none');
  });

  it('changes only the fields named, null removes a limit, and the stored policy comes back', async () => {
    const { owner, botKeyId } = await setup('policy-merge');
    const first = await putKeyPolicy(owner, botKeyId, { max_reward_usd: 50, daily_limit_usd: '200.00', allowed_regions: [{ country: 'us' }] });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      key_id: botKeyId, source: 'key', max_reward_usd: 50, daily_limit_usd: 200, allowed_regions: [{ country: 'US' }],
      monthly_limit_usd: null, updated_at: expect.any(String),
    });
    const second = await putKeyPolicy(owner, botKeyId, { daily_limit_usd: null, monthly_limit_usd: 1000, allow_credential_tasks: false });
    expect(second.body).toMatchObject({ max_reward_usd: 50, daily_limit_usd: null, monthly_limit_usd: 1000, allow_credential_tasks: false, allowed_regions: [{ country: 'US' }] });
    const read = await stack.call('GET', `/agents/keys/${botKeyId}/policy`, { key: owner.key });
    expect(read.body).toEqual(second.body);
  });

  it.each([
    [{ max_reward_usd: 0 }, 'max_reward_usd: must be at least $0.01'],
    [{ daily_limit_usd: 10.005 }, 'daily_limit_usd: must be a USD amount with at most 2 decimal places'],
    [{ allowed_task_types: ['TELEPORT'] }, 'allowed_task_types.0: must be a task type or PHYSICAL or DIGITAL'],
    [{ allowed_task_types: [] }, 'allowed_task_types: must list at least one task type or domain (null removes the rule)'],
    [{ allowed_regions: [{ lat: 1, lng: 2 }] }, 'allowed_regions.0: must be {"lat", "lng", "radius_km"} or {"country"}'],
    [{ allow_credential_tasks: 'no' }, 'allow_credential_tasks: must be true, false or null'],
    [{ approval_threshold_usd: -1 }, 'approval_threshold_usd: must be a USD amount with at most 2 decimal places'],
    [{ daily_limit: 5 }, 'daily_limit: is not a known field'],
  ])('refuses %j with a 400 naming the field, and writes nothing', async (body, error) => {
    const { owner, botKeyId } = await setup('policy-bad', 0);
    const reply = await putKeyPolicy(owner, botKeyId, body);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error, code: 'validation_error' });
    expect(await stack.sql`select count(*)::int as n from spending_policies where agent_id = ${owner.id}`).toEqual([{ n: 0 }]);
  });

  it("404 for a key that is not the caller's, revoked or malformed", async () => {
    const { owner, botKeyId } = await setup('policy-404', 0);
    const stranger = await stack.registerAgent('policy-stranger');
    expect((await putKeyPolicy(stranger, botKeyId, { max_reward_usd: 10 })).status).toBe(404);
    expect((await stack.call('GET', `/agents/keys/${botKeyId}/policy`, { key: stranger.key })).status).toBe(404);
    await stack.call('DELETE', `/agents/keys/${botKeyId}`, { key: owner.key });
    expect((await putKeyPolicy(owner, botKeyId, { max_reward_usd: 10 })).body.code).toBe('key_not_found');
    expect((await putKeyPolicy(owner, 'nonsense!', { max_reward_usd: 10 })).status).toBe(404);
  });

  it('only an owner key changes a policy, its own included', async () => {
    const { owner, bot, botKeyId } = await setup('policy-scope', 0);
    const own = await stack.call('PUT', `/agents/keys/${botKeyId}/policy`, { key: bot.key, body: { daily_limit_usd: null } });
    expect(own.status).toBe(403);
    expect(own.body.code).toBe('insufficient_scope');
    expect((await stack.call('PUT', '/agents/policy', { key: bot.key, body: { daily_limit_usd: 10_000 } })).status).toBe(403);
    expect((await stack.call('DELETE', `/agents/keys/${botKeyId}/policy`, { key: bot.key })).status).toBe(403);
    expect((await putKeyPolicy(owner, botKeyId, { daily_limit_usd: 100 })).status).toBe(200);
    // Reading is every key's right.
    expect((await stack.call('GET', `/agents/keys/${botKeyId}/policy`, { key: bot.key })).body.daily_limit_usd).toBe(100);
  });
});

describe('each rule at its boundary', () => {
  it('max reward: allows exactly the maximum, refuses a cent more', async () => {
    const { owner, bot, botKeyId } = await setup('rule-max');
    await putKeyPolicy(owner, botKeyId, { max_reward_usd: 50 });
    expect((await post(bot, { reward_usd: 50 })).status).toBe(201);
    const over = await post(bot, { reward_usd: 50.01 });
    expect(over.status).toBe(403);
    expect(over.body).toEqual({
      error: 'Spending policy: max reward per task $50.00, this task offers $50.01',
      code: 'policy_violation',
      details: { rule: 'max_reward', limit_usd: 50, requested_usd: 50.01 },
    });
  });

  it('daily limit: counts reward + fee, allows a task that uses the last cent, refuses one a cent too big', async () => {
    const { owner, bot, botKeyId } = await setup('rule-daily');
    await putKeyPolicy(owner, botKeyId, { daily_limit_usd: 58.99 });
    expect((await post(bot)).status).toBe(201);
    const refused = await post(bot);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      error: 'Spending policy: daily limit $58.99, $29.49 left, this task needs $29.50',
      code: 'policy_violation',
      details: { rule: 'daily_limit', limit_usd: 58.99, spent_usd: 29.5, remaining_usd: 29.49, required_usd: 29.5 },
    });
    await putKeyPolicy(owner, botKeyId, { daily_limit_usd: 59 });
    expect((await post(bot)).status).toBe(201);
    expect((await post(bot)).body.error).toBe('Spending policy: daily limit $59.00, $0.00 left, this task needs $29.50');
    // The owner's key has no policy of its own: the bot's budget is not the account's.
    expect((await post(owner)).status).toBe(201);
  });

  it('daily limit is a rolling 24 hours, and cancelled tasks give their spend back', async () => {
    const { owner, bot, botKeyId } = await setup('rule-rolling');
    await putKeyPolicy(owner, botKeyId, { daily_limit_usd: 59 });
    const first = (await post(bot)).body.task_id;
    const second = (await post(bot)).body.task_id;
    expect((await post(bot)).status).toBe(403);

    await stack.sql`update tasks set created_at = now() - interval '23 hours 59 minutes' where id = ${first}`;
    expect((await post(bot)).status).toBe(403);
    await stack.sql`update tasks set created_at = now() - interval '24 hours 1 second' where id = ${first}`;
    const third = await post(bot);
    expect(third.status).toBe(201);
    expect((await post(bot)).status).toBe(403);

    expect((await stack.call('POST', `/tasks/${second}/cancel`, { key: bot.key })).status).toBe(200);
    expect((await post(bot)).status).toBe(201);
  });

  it('monthly limit: the calendar month (UTC), to the cent', async () => {
    const { owner, bot, botKeyId } = await setup('rule-monthly');
    await putKeyPolicy(owner, botKeyId, { monthly_limit_usd: 59 });
    const first = (await post(bot)).body.task_id;
    expect((await post(bot)).status).toBe(201);
    const refused = await post(bot);
    expect(refused.body.error).toBe('Spending policy: monthly limit $59.00, $0.00 left, this task needs $29.50');
    expect(refused.body.details.rule).toBe('monthly_limit');
    await stack.sql`update tasks set created_at = date_trunc('month', now() at time zone 'utc') at time zone 'utc' where id = ${first}`;
    expect((await post(bot)).status).toBe(403);
    await stack.sql`update tasks set created_at = (date_trunc('month', now() at time zone 'utc') at time zone 'utc') - interval '1 microsecond' where id = ${first}`;
    expect((await post(bot)).status).toBe(201);
  });

  it('allowed task types: types and whole domains', async () => {
    const { owner, bot, botKeyId } = await setup('rule-types');
    await putKeyPolicy(owner, botKeyId, { allowed_task_types: ['PHOTO', 'DIGITAL'] });
    expect((await post(bot, { task_type: 'PHOTO' })).status).toBe(201);
    expect((await post(bot, { task_type: 'CAPTCHA_SOLVING', reward_usd: 10, location: undefined, proof_requirements: ['Screenshot'] })).status).toBe(201);
    const refused = await post(bot, { task_type: 'VERIFICATION' });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('Spending policy: VERIFICATION tasks are not allowed (allowed: PHOTO, DIGITAL)');
    expect(refused.body.details).toEqual({ rule: 'allowed_task_types', allowed_task_types: ['PHOTO', 'DIGITAL'] });
  });

  it('credential tasks: refused when not allowed, other digital tasks unaffected', async () => {
    const { owner, bot, botKeyId } = await setup('rule-credential');
    await putKeyPolicy(owner, botKeyId, { allow_credential_tasks: false });
    const refused = await post(bot, await credentialTask());
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'Spending policy: credential (Tier 2) tasks are not allowed', details: { rule: 'allow_credential_tasks' } });
    expect((await post(bot, { task_type: 'FORM_FILLING', location: undefined, reward_usd: 15, proof_requirements: ['Screenshot'] })).status).toBe(201);
    await putKeyPolicy(owner, botKeyId, { allow_credential_tasks: true });
    expect((await post(bot, await credentialTask())).status).toBe(201);
  });

  it('allowed regions: a radius to the metre (within allowed, just outside refused), and countries from the coordinates', async () => {
    const { owner, bot, botKeyId } = await setup('rule-regions');
    await putKeyPolicy(owner, botKeyId, { allowed_regions: [{ lat: 40.7128, lng: -74.006, radius_km: 10 }] });
    // One degree of latitude is 111.195 km on the sphere the check uses: 0.0899° ≈ 9.996 km, 0.0900° ≈ 10.008 km.
    const at = (dLat: number) => ({ location: { lat: 40.7128 + dLat, lng: -74.006, address: 'North of Manhattan' } });
    expect((await post(bot, at(0.0899))).status).toBe(201);
    const outside = await post(bot, at(0.09));
    expect(outside.status).toBe(403);
    expect(outside.body.error).toBe("Spending policy: the task's location (40.8028, -74.006, US) is outside the allowed regions");
    // Digital tasks have no place: regions do not apply.
    expect((await post(bot, { task_type: 'CONTENT_REVIEW', location: undefined, reward_usd: 10, proof_requirements: ['Assessment'] })).status).toBe(201);

    await putKeyPolicy(owner, botKeyId, { allowed_regions: [{ country: 'FR' }] });
    expect((await post(bot)).status).toBe(403);
    const paris = await post(bot, { location: { lat: 48.8584, lng: 2.2945, address: 'Champ de Mars, Paris' } });
    expect(paris.status).toBe(201);
    expect(await stack.sql`select location_country from tasks where id = ${paris.body.task_id}`).toEqual([{ location_country: 'FR' }]);
  });
});

describe('whose policy applies', () => {
  it('a key follows the account default; its own policy narrows it and cannot widen it; removing its own returns it to the default', async () => {
    const { owner, bot, botKeyId } = await setup('policy-default');
    const account = await stack.call('PUT', '/agents/policy', { key: owner.key, body: { max_reward_usd: 20 } });
    expect(account.body).toMatchObject({ key_id: null, source: 'account', max_reward_usd: 20 });
    expect((await post(bot)).body.details).toEqual({ rule: 'max_reward', limit_usd: 20, requested_usd: 25 });
    expect((await stack.call('GET', `/agents/keys/${botKeyId}/policy`, { key: bot.key })).body).toMatchObject({ source: 'account', max_reward_usd: 20 });

    // A higher maximum of its own does not lift the default's; a lower one binds.
    await putKeyPolicy(owner, botKeyId, { max_reward_usd: 30 });
    expect((await stack.call('GET', `/agents/keys/${botKeyId}/policy`, { key: bot.key })).body).toMatchObject({ source: 'key', max_reward_usd: 30 });
    expect((await post(bot)).body.details).toEqual({ rule: 'max_reward', limit_usd: 20, requested_usd: 25 });
    await putKeyPolicy(owner, botKeyId, { max_reward_usd: 15 });
    expect((await post(bot, { reward_usd: 18 })).body.details).toEqual({ rule: 'max_reward', limit_usd: 15, requested_usd: 18 });
    const cleared = await stack.call('DELETE', `/agents/keys/${botKeyId}/policy`, { key: owner.key });
    expect(cleared.body).toMatchObject({ source: 'account', max_reward_usd: 20 });
    expect((await post(bot, { reward_usd: 18 })).status).toBe(201);
  });
});

describe('budgets under concurrency', () => {
  it('30 racing posts against a daily budget for exactly 8 tasks: exactly 8 pass, to the cent, and the ledger verifies', async () => {
    const { owner, bot, botKeyId } = await setup('race-exact', 2000);
    await putKeyPolicy(owner, botKeyId, { daily_limit_usd: 8 * 29.5 });
    const replies = await Promise.all(Array.from({ length: 30 }, () => post(bot)));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(8);
    expect(statuses.filter((s) => s === 403)).toHaveLength(22);
    for (const refused of replies.filter((r) => r.status === 403)) {
      expect(refused.body.error).toBe('Spending policy: daily limit $236.00, $0.00 left, this task needs $29.50');
    }
    const usage = (await stack.call('GET', '/agents/usage', { key: bot.key })).body.data.find((k: { key_id: string }) => k.key_id === botKeyId);
    expect(usage).toMatchObject({ policy: 'key', day: { spent_usd: 236, limit_usd: 236, remaining_usd: 0 }, month: { spent_usd: 236, limit_usd: null, remaining_usd: null } });
    const balance = (await stack.call('GET', '/agents/balance', { key: owner.key })).body;
    expect(balance).toEqual({ deposit_balance: 2000 - 236, escrow_balance: 236, currency: 'USD' });
    expect(await ledgerProblems()).toEqual([]);
  });

  it('a budget one cent short of 8 tasks lets exactly 7 through, while other keys of the agent post freely', async () => {
    const { owner, bot, botKeyId } = await setup('race-short', 2000);
    await putKeyPolicy(owner, botKeyId, { daily_limit_usd: 8 * 29.5 - 0.01 });
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => post(i % 6 === 5 ? owner : bot)));
    const bots = replies.filter((_, i) => i % 6 !== 5).map((r) => r.status);
    const owners = replies.filter((_, i) => i % 6 === 5).map((r) => r.status);
    expect(bots.filter((s) => s === 201)).toHaveLength(7);
    expect(bots.filter((s) => s === 403)).toHaveLength(18);
    expect(owners).toEqual([201, 201, 201, 201, 201]);
    const [{ spent }] = await stack.sql`select sum(reward_cents + fee_cents)::int as spent from tasks where key_id = ${botKeyId}`;
    expect(spent).toBe(7 * 2950);
    expect(await ledgerProblems()).toEqual([]);
  });
});
