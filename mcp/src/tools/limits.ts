/** What the account owner allows this key to spend, so the model can plan within it and explain it. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { Context } from '../server.ts';
import { guarded, ok } from '../results.ts';

const usd = (n: number | null) => (n === null ? 'no limit' : `$${n.toFixed(2)}`);

export function registerLimitTools(server: McpServer, { client }: Context) {
  server.registerTool('get_spending_limits', {
    title: 'Get spending limits',
    description: "The spending policy the account owner set for this API key (maximum reward, daily and monthly budgets of reward + fee, allowed task types and regions, credential tasks, the approval threshold) and what is left of each budget today and this month. Free. Use it to plan tasks within the limits and to explain a refusal to your user; the limits are the owner's to change, not yours.",
    inputSchema: {},
    outputSchema: z.looseObject({ key_id: z.string(), policy: z.looseObject({ source: z.string() }), day: z.looseObject({ remaining_usd: z.number().nullable() }), month: z.looseObject({ remaining_usd: z.number().nullable() }) }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  }, () => guarded(async () => {
    const usage = await client.owner.usage();
    const mine = usage.data.find((k) => k.calling_key);
    if (!mine) throw new Error('This API key is not among the account\'s active keys');
    const policy = await client.owner.keyPolicy(mine.key_id);
    const budget = (w: { remaining_usd: number | null; limit_usd: number | null }, period: string) =>
      w.limit_usd === null ? `no ${period} budget` : `${usd(w.remaining_usd)} left of ${usd(w.limit_usd)} ${period === 'daily' ? 'today' : 'this month'}`;
    const summary = policy.source === 'none'
      ? 'No spending policy applies to this key: only the balance limits it.'
      : `Policy (${policy.source === 'key' ? "this key's own" : 'the account default'}): ` +
        `${policy.max_reward_usd === null ? 'no maximum reward' : `rewards up to ${usd(policy.max_reward_usd)}`}; ` +
        `${budget(mine.day, 'daily')}; ${budget(mine.month, 'monthly')}` +
        (policy.approval_threshold_usd === null ? '.' : `; rewards above ${usd(policy.approval_threshold_usd)} wait for the owner's approval.`);
    return ok({ key_id: mine.key_id, scopes: mine.scopes, policy, day: mine.day, month: mine.month }, summary);
  }));
}
