// The SDK's owner controls (the built package) against the real local stack: scoped keys, a
// policy the ledger enforces, usage, and the approval queue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HumanOpsClient, PermissionDeniedError } from '@humanops/sdk';
import { operatorToken, physicalTask, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

describe('client.owner', () => {
  it('mints a scoped key, limits it, sees a refusal as a typed error, and approves and declines its tasks', async () => {
    const agent = await stack.registerAgent('sdk-owner');
    const baseUrl = stack.url.replace(/\/api\/v1$/, '');
    const owner = new HumanOpsClient({ apiKey: agent.key, baseUrl, validateResponses: true });
    await owner.deposits.usdc({ tx_hash: `0x${'6e'.repeat(32)}`, amount_usdc: '300.00' });

    const key = await owner.owner.createKey({ name: 'assistant', scopes: ['agent'] });
    expect(key).toMatchObject({ name: 'assistant', scopes: ['agent'], expires_at: null });
    const policy = await owner.owner.setKeyPolicy(key.id, { max_reward_usd: 40, approval_threshold_usd: 20 });
    expect(policy).toMatchObject({ key_id: key.id, source: 'key', max_reward_usd: 40, approval_threshold_usd: 20 });
    expect(await owner.owner.setAccountPolicy({ monthly_limit_usd: 1000 })).toMatchObject({ source: 'account', monthly_limit_usd: 1000 });
    expect(await owner.owner.accountPolicy()).toMatchObject({ monthly_limit_usd: 1000 });

    const bot = new HumanOpsClient({ apiKey: key.api_key, baseUrl, maxRetries: 0 });
    const refusal = await bot.tasks.create(physicalTask({ reward_usd: 41 })).catch((e) => e);
    expect(refusal).toBeInstanceOf(PermissionDeniedError);
    expect(refusal).toMatchObject({ status: 403, code: 'policy_violation', message: 'Spending policy: max reward per task $40.00, this task offers $41.00', details: { rule: 'max_reward' } });
    await expect(bot.owner.setKeyPolicy(key.id, { max_reward_usd: null })).rejects.toMatchObject({ code: 'insufficient_scope' });

    const held = await bot.tasks.create(physicalTask({ reward_usd: 30 }));
    const declinedTask = await bot.tasks.create(physicalTask({ reward_usd: 30 }));
    expect(held.status).toBe('PENDING_APPROVAL');
    expect((await owner.owner.pendingApprovals()).data.map((t) => t.task_id).sort()).toEqual([held.task_id, declinedTask.task_id].sort());
    expect(await owner.owner.approve(held.task_id)).toMatchObject({ task_id: held.task_id, status: 'PENDING' });
    expect(await owner.owner.decline(declinedTask.task_id)).toMatchObject({ status: 'CANCELLED', refunded_usd: 35.4 });

    const usage = await bot.owner.usage();
    expect(usage.data.find((k) => k.calling_key)).toMatchObject({ key_id: key.id, policy: 'key', day: { spent_usd: 35.4 } });
    expect(await owner.owner.clearKeyPolicy(key.id)).toMatchObject({ source: 'account', monthly_limit_usd: 1000 });
    expect(await bot.owner.keyPolicy(key.id)).toMatchObject({ source: 'account' });
  });

  it("reads what the owner's console reads, and makes, lists and unlinks owners", async () => {
    const agent = await stack.registerAgent('sdk-owner-reads');
    const baseUrl = stack.url.replace(/\/api\/v1$/, '');
    const owner = new HumanOpsClient({ apiKey: agent.key, baseUrl, validateResponses: true });
    await owner.deposits.usdc({ tx_hash: `0x${'7e'.repeat(32)}`, amount_usdc: '100.00' });
    await owner.owner.setAccountPolicy({ approval_threshold_usd: 20 });
    const held = await owner.tasks.create(physicalTask({ reward_usd: 30 }));

    expect((await owner.owner.approvals()).data).toMatchObject([{ task_id: held.task_id, held_by: { threshold_usd: 20, policy: 'account' } }]);
    expect((await owner.tasks.events(held.task_id)).data.map((e) => e.to_status)).toEqual(['PENDING_APPROVAL']);
    expect((await owner.deposits.list()).data).toMatchObject([{ method: 'usdc', amount_usd: 100 }]);
    expect((await owner.webhooks.list()).data).toEqual([]);
    const spend = await owner.owner.spend({ days: 3 });
    expect(spend.days.map((d) => d.spent_usd)).toEqual([0, 0, 35.4]);
    expect(spend.fee_tier.rate_pct).toBe(18);

    const code = await owner.owner.linkCode();
    const person = { authorization: `Bearer ${await operatorToken('user_sdk_owner')}` };
    expect((await stack.call('POST', '/owner/link', { headers: person, body: { code: code.code } })).status).toBe(200);
    expect((await owner.owner.owners()).data.map((o) => o.owner_id)).toEqual(['user_sdk_owner']);
    expect(await owner.owner.unlinkOwner('user_sdk_owner')).toEqual({ unlinked: true });
    expect((await owner.owner.owners()).data).toEqual([]);
  });
});
