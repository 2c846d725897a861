/**
 * What an account's owner reads besides tasks and policies (the console's screens, and any key):
 * tasks waiting for approval with why they wait, a task's timeline, the credits, the webhook log,
 * spend per day and the fee tier.
 */
import { Hono } from 'hono';
import { notFound } from '../../_shared/errors.ts';
import { centsToUsd } from '../../_shared/money.ts';
import { ID_PATTERN, SpendQuery } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, validate } from '../http.ts';
import { requireAgent } from '../middleware/agent-auth.ts';
import type { PolicyRow } from '../effective-policy.ts';

/** The approval window: the deadline, or 72 hours after posting, whichever comes first (private.approval_expires_at). */
const APPROVAL_WINDOW_MS = 72 * 3_600_000;

/** Where a waiting task's threshold comes from: the lower of the key's own and the account default's. */
function heldBy(rewardCents: number, account: PolicyRow | undefined, own: PolicyRow | undefined) {
  const sources = [['key', own], ['account', account]] as const;
  const thresholds = sources
    .filter(([, row]) => row?.approval_threshold_cents != null)
    .map(([source, row]) => ({ source, cents: Number(row!.approval_threshold_cents) }))
    .filter((t) => rewardCents > t.cents)
    .sort((a, b) => a.cents - b.cents);
  const rule = thresholds[0];
  return rule ? { rule: 'approval_threshold_usd', threshold_usd: centsToUsd(rule.cents), policy: rule.source } : null;
}

export function accountActivityRoutes(deps: Deps) {
  const { db } = deps;
  const app = new Hono<AppEnv>();
  for (const path of ['/agents/approvals', '/agents/deposits', '/agents/webhooks', '/agents/spend', '/tasks/:id/events']) {
    app.use(path, requireAgent(deps));
  }

  app.get('/agents/approvals', async (c) => {
    const agent = c.get('agent');
    const { tasks, policies } = await db.asAgent(agent, async (tx) => ({
      tasks: await tx<{
        id: string; title: string; task_type: string; reward_cents: string; fee_cents: string; proof_requirements: string[];
        deadline: Date; created_at: Date; key_id: string | null; key_name: string | null; key_prefix: string | null;
      }[]>`
        select t.id, t.title, t.task_type, t.reward_cents, t.fee_cents, t.proof_requirements, t.deadline, t.created_at,
               t.key_id, k.name as key_name, k.key_prefix
          from public.tasks t left join public.api_keys k on k.id = t.key_id
         where t.agent_id = ${agent.id} and t.status = 'PENDING_APPROVAL'
         order by t.created_at, t.id
         limit 200`,
      policies: await tx<PolicyRow[]>`select * from public.spending_policies where agent_id = ${agent.id}`,
    }));
    const account = policies.find((p) => p.key_id === null);
    return c.json({
      data: tasks.map((t) => {
        const reward = Number(t.reward_cents);
        const fee = Number(t.fee_cents);
        return {
          task_id: t.id,
          title: t.title,
          task_type: t.task_type,
          reward_usd: centsToUsd(reward),
          platform_fee_usd: centsToUsd(fee),
          total_escrow_usd: centsToUsd(reward + fee),
          proof_requirements: t.proof_requirements,
          key: t.key_id ? { id: t.key_id, name: t.key_name, key_prefix: t.key_prefix } : null,
          held_by: heldBy(reward, account, policies.find((p) => p.key_id !== null && p.key_id === t.key_id)),
          approval_expires_at: iso(new Date(Math.min(t.deadline.getTime(), t.created_at.getTime() + APPROVAL_WINDOW_MS))),
          created_at: iso(t.created_at),
        };
      }),
    });
  });

  app.get('/tasks/:id/events', async (c) => {
    const id = c.req.param('id');
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const agent = c.get('agent');
    const { task, events } = await db.asAgent(agent, async (tx) => ({
      task: (await tx`select 1 from public.tasks where id = ${id} and agent_id = ${agent.id}`)[0],
      events: await tx<{ from_status: string | null; to_status: string; actor: string; created_at: Date }[]>`
        select from_status, to_status, actor, created_at from public.task_events where task_id = ${id} order by id`,
    }));
    if (!task) throw notFound('task_not_found', 'Task not found');
    return c.json({ data: events.map((e) => ({ from_status: e.from_status, to_status: e.to_status, actor: e.actor, at: iso(e.created_at) })) });
  });

  app.get('/agents/deposits', async (c) => {
    const agent = c.get('agent');
    const rows = await db.asAgent(agent, (tx) => tx<{ id: string; method: string; tx_hash: string | null; payment_method: string | null; amount_cents: string; status: string; created_at: Date }[]>`
      select id, method, tx_hash, payment_method, amount_cents, status, created_at
        from public.deposits where agent_id = ${agent.id} order by created_at desc, id desc limit 200`);
    return c.json({
      data: rows.map((d) => ({
        deposit_id: d.id, method: d.method, tx_hash: d.tx_hash, payment_method: d.payment_method,
        amount_usd: centsToUsd(d.amount_cents), status: d.status, created_at: iso(d.created_at),
      })),
    });
  });

  app.get('/agents/webhooks', async (c) => {
    const agent = c.get('agent');
    const rows = await db.asAgent(agent, (tx) => tx<{ id: string; task_id: string; event: string; status: string; attempts: number; last_status_code: number | null; last_error: string | null; next_attempt_at: Date; delivered_at: Date | null; created_at: Date }[]>`
      select id, task_id, event, status, attempts, last_status_code, last_error, next_attempt_at, delivered_at, created_at
        from public.webhook_deliveries where agent_id = ${agent.id} order by seq desc limit 100`);
    return c.json({
      data: rows.map((d) => ({
        delivery_id: d.id, task_id: d.task_id, event: d.event, status: d.status, attempts: d.attempts,
        last_status_code: d.last_status_code, last_error: d.last_error,
        next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null, delivered_at: iso(d.delivered_at), created_at: iso(d.created_at),
      })),
    });
  });

  app.get('/agents/spend', async (c) => {
    const { days } = await validate(SpendQuery, c.req.query());
    const agent = c.get('agent');
    const { perDay, tier } = await db.asAgent(agent, async (tx) => ({
      // Reward + fee of the tasks posted each UTC day, less those refunded (cancelled, declined, expired).
      perDay: await tx<{ day: string; cents: string }[]>`
        select to_char(d.day, 'YYYY-MM-DD') as day, coalesce(sum(t.reward_cents + t.fee_cents), 0) as cents
          from generate_series((now() at time zone 'utc')::date - ${days - 1}::integer, (now() at time zone 'utc')::date, interval '1 day') d(day)
          left join public.tasks t
            on t.agent_id = ${agent.id} and (t.created_at at time zone 'utc')::date = d.day and t.status not in ('CANCELLED', 'EXPIRED')
         group by d.day order by d.day`,
      tier: (await tx<{ rate_pct: number; settled_cents: string; next_rate_pct: number | null; next_tier_at_cents: string | null }[]>`
        select rate_pct, settled_cents, next_rate_pct, next_tier_at_cents from api.fee_tier()`)[0],
    }));
    return c.json({
      days: perDay.map((d) => ({ day: d.day, spent_usd: centsToUsd(d.cents) })),
      fee_tier: {
        rate_pct: tier.rate_pct,
        settled_30d_usd: centsToUsd(tier.settled_cents),
        next_rate_pct: tier.next_rate_pct,
        next_tier_at_usd: tier.next_tier_at_cents === null ? null : centsToUsd(tier.next_tier_at_cents),
        to_next_tier_usd: tier.next_tier_at_cents === null ? null : centsToUsd(Number(tier.next_tier_at_cents) - Number(tier.settled_cents)),
      },
    });
  });

  return app;
}
