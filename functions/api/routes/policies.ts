/**
 * Owner controls: spending policies per key and for the account, and what each key has spent.
 * Changing a policy needs an `owner` key (checked by requireAgent and again in SQL); reading needs any key.
 */
import { type Context, Hono } from 'hono';
import { notFound } from '../../_shared/errors.ts';
import { centsToUsd } from '../../_shared/money.ts';
import { ID_PATTERN, SpendingPolicySchema } from '../../_shared/schemas.ts';
import type { Tx } from '../../_shared/db.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, readJson, validate } from '../http.ts';
import { requireAgent } from '../middleware/agent-auth.ts';
import { effectivePolicies, type PolicyRow } from '../effective-policy.ts';

const usdOrNull = (cents: string | null) => (cents === null ? null : centsToUsd(cents));

/** A policy as the API shows it; `source` says whose it is: the key's own, the account default, or none. */
function policyBody(keyId: string | null, row: PolicyRow | undefined) {
  return {
    key_id: keyId,
    source: !row ? 'none' : row.key_id === null ? 'account' : 'key',
    max_reward_usd: usdOrNull(row?.max_reward_cents ?? null),
    daily_limit_usd: usdOrNull(row?.daily_limit_cents ?? null),
    monthly_limit_usd: usdOrNull(row?.monthly_limit_cents ?? null),
    allowed_task_types: row?.allowed_task_types ?? null,
    allowed_regions: row?.allowed_regions ?? null,
    allow_credential_tasks: row?.allow_credential_tasks ?? null,
    approval_threshold_usd: usdOrNull(row?.approval_threshold_cents ?? null),
    updated_at: iso(row?.updated_at),
  };
}

/** The policy a key follows (its own, else the account default), or the account default when keyId is null. */
async function effectivePolicy(tx: Tx, agentId: string, keyId: string | null) {
  const [row] = await tx<PolicyRow[]>`
    select * from public.spending_policies
     where agent_id = ${agentId} and (key_id = ${keyId} or key_id is null)
     order by key_id nulls last
     limit 1`;
  return row;
}

export function policyRoutes(deps: Deps) {
  const { db } = deps;
  const app = new Hono<AppEnv>();
  app.use('/agents/policy', requireAgent(deps));
  app.use('/agents/usage', requireAgent(deps));
  app.use('/agents/keys/:id/policy', requireAgent(deps));

  const keyExists = async (tx: Tx, keyId: string) =>
    (await tx`select 1 from public.api_keys where id = ${keyId} and revoked_at is null and (expires_at is null or expires_at > now())`).length > 0;

  /** Writes the fields the body names (null removes a limit) and returns the stored policy. */
  const setPolicy = async (c: Context<AppEnv>, keyId: string | null) => {
    const input = await validate(SpendingPolicySchema, await readJson(c));
    const fields = Object.keys(input);
    const row = await db.asAgent(c.get('agent'), async (tx) => {
      const [stored] = await tx<PolicyRow[]>`
        select * from api.set_spending_policy(
          p_key_id => ${keyId},
          p_fields => ${fields}::text[],
          p_max_reward_cents => ${input.max_reward_usd ?? null},
          p_daily_limit_cents => ${input.daily_limit_usd ?? null},
          p_monthly_limit_cents => ${input.monthly_limit_usd ?? null},
          p_allowed_task_types => ${input.allowed_task_types ?? null}::text[],
          p_allowed_regions => ${input.allowed_regions ? tx.json(input.allowed_regions) : null}::jsonb,
          p_allow_credential_tasks => ${input.allow_credential_tasks ?? null}::boolean,
          p_approval_threshold_cents => ${input.approval_threshold_usd ?? null})`;
      return stored;
    });
    return c.json(policyBody(keyId, row));
  };

  app.get('/agents/policy', async (c) => {
    const agent = c.get('agent');
    const row = await db.asAgent(agent, async (tx) => {
      const [account] = await tx<PolicyRow[]>`select * from public.spending_policies where agent_id = ${agent.id} and key_id is null`;
      return account;
    });
    return c.json(policyBody(null, row));
  });

  app.put('/agents/policy', (c) => setPolicy(c, null));

  app.get('/agents/keys/:id/policy', async (c) => {
    const keyId = c.req.param('id');
    if (!ID_PATTERN.test(keyId)) throw notFound('key_not_found', 'No active API key with this id');
    const agent = c.get('agent');
    const row = await db.asAgent(agent, async (tx) => {
      if (!(await keyExists(tx, keyId))) throw notFound('key_not_found', 'No active API key with this id');
      return effectivePolicy(tx, agent.id, keyId);
    });
    return c.json(policyBody(keyId, row));
  });

  app.put('/agents/keys/:id/policy', (c) => {
    const keyId = c.req.param('id');
    if (!ID_PATTERN.test(keyId)) throw notFound('key_not_found', 'No active API key with this id');
    return setPolicy(c, keyId);
  });

  // The key follows the account default again.
  app.delete('/agents/keys/:id/policy', async (c) => {
    const keyId = c.req.param('id');
    if (!ID_PATTERN.test(keyId)) throw notFound('key_not_found', 'No active API key with this id');
    const agent = c.get('agent');
    const row = await db.asAgent(agent, async (tx) => {
      await tx`select api.clear_key_policy(${keyId})`;
      return effectivePolicy(tx, agent.id, keyId);
    });
    return c.json(policyBody(keyId, row));
  });

  app.get('/agents/usage', async (c) => {
    const agent = c.get('agent');
    const { rows, policies } = await db.asAgent(agent, async (tx) => ({
      rows: await tx<{
        key_id: string; name: string | null; key_prefix: string; scopes: string[]; is_calling_key: boolean; policy_source: string;
        day_spent_cents: string; month_spent_cents: string; day_since: Date; month_since: Date;
      }[]>`select * from api.spending_usage()`,
      policies: await tx<PolicyRow[]>`select * from public.spending_policies where agent_id = ${agent.id}`,
    }));
    const effectiveOf = effectivePolicies(policies);
    const window = (since: Date, spentCents: string, limitUsd: number | null) => ({
      since: iso(since),
      spent_usd: centsToUsd(spentCents),
      limit_usd: limitUsd,
      remaining_usd: limitUsd === null ? null : centsToUsd(Math.max(0, Math.round(limitUsd * 100) - Number(spentCents))),
    });
    return c.json({
      data: rows.map((r) => {
        const effective = effectiveOf(r.key_id);
        return {
          key_id: r.key_id,
          name: r.name,
          key_prefix: r.key_prefix,
          scopes: r.scopes,
          calling_key: r.is_calling_key,
          policy: r.policy_source,
          effective_policy: effective,
          day: window(r.day_since, r.day_spent_cents, effective.daily_limit_usd),
          month: window(r.month_since, r.month_spent_cents, effective.monthly_limit_usd),
        };
      }),
    });
  });

  return app;
}
