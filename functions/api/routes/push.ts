/** Web Push for operators: the VAPID key, preferences, and the browser subscriptions alerts go to. */
import { Hono } from 'hono';
import { ApiError, badRequest } from '../../_shared/errors.ts';
import { centsToUsd } from '../../_shared/money.ts';
import { PushPreferencesSchema, PushSubscriptionQuery, PushSubscriptionSchema } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { readJson, validate } from '../http.ts';
import { pushEndpointProblem } from '../push-step.ts';

interface SettingsRow {
  new_tasks: boolean;
  radius_km: number | null;
  min_reward_cents: string;
  outcomes: boolean;
  messages: boolean;
  subscriptions: number;
}

/** Mounted after the operator router, whose /operator/* guard authenticates. */
export function pushRoutes(deps: Deps) {
  const { db, config } = deps;
  const app = new Hono<AppEnv>();
  const settings = (row: SettingsRow) => ({
    vapid_public_key: config.push.vapid?.publicKey ?? null,
    preferences: {
      new_tasks: row.new_tasks, radius_km: row.radius_km, min_reward_usd: centsToUsd(row.min_reward_cents),
      outcomes: row.outcomes, messages: row.messages,
    },
    subscriptions: row.subscriptions,
  });

  app.get('/operator/push', async (c) => {
    const [row] = await db.asOperator(c.get('operator').id, (tx) => tx<SettingsRow[]>`select * from api.operator_push_settings()`);
    return c.json(settings(row));
  });

  app.put('/operator/push/preferences', async (c) => {
    const input = await validate(PushPreferencesSchema, await readJson(c));
    const minReward = input.min_reward_usd === undefined ? null : Math.round(input.min_reward_usd * 100);
    const [row] = await db.asOperator(c.get('operator').id, async (tx) => {
      // null goes back to the travel radius: -1 tells the function so (its null means "unchanged").
      const radius = input.radius_km === null ? -1 : input.radius_km ?? null;
      await tx`select api.set_push_preferences(${input.new_tasks ?? null}, ${radius}, ${minReward},
                                               ${input.outcomes ?? null}, ${input.messages ?? null})`;
      return tx<SettingsRow[]>`select * from api.operator_push_settings()`;
    });
    return c.json(settings(row));
  });

  app.post('/operator/push-subscriptions', async (c) => {
    const input = await validate(PushSubscriptionSchema, await readJson(c));
    if (!config.push.vapid) throw new ApiError(503, 'push_unavailable', 'Push alerts are not configured on this server');
    const problem = pushEndpointProblem(input.endpoint, config.push.serviceHosts);
    if (problem) throw badRequest('validation_error', `endpoint: ${problem}`);
    const [row] = await db.asOperator(c.get('operator').id, (tx) => tx<{ id: string; endpoint: string }[]>`
      select id, endpoint from api.save_push_subscription(${input.endpoint}, ${input.keys.p256dh}, ${input.keys.auth})`);
    return c.json({ subscription_id: row.id, endpoint: row.endpoint }, 201);
  });

  app.delete('/operator/push-subscriptions', async (c) => {
    const query = await validate(PushSubscriptionQuery, c.req.query());
    const [{ removed }] = await db.asOperator(c.get('operator').id, (tx) => tx<{ removed: boolean }[]>`
      select api.delete_push_subscription(${query.endpoint}) as removed`);
    return c.json({ removed });
  });

  return app;
}
