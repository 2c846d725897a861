/** Agents see the webhook deliveries of their tasks and can have one sent again. */
import { Hono } from 'hono';
import { notFound } from '../../_shared/errors.ts';
import { ID_PATTERN, NoInputSchema } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, readJson, validate } from '../http.ts';
import { requireAgent } from '../middleware/agent-auth.ts';
import { countHit } from '../middleware/rate-limit.ts';

interface DeliveryRow {
  id: string;
  event: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date;
  delivered_at: Date | null;
  created_at: Date;
}

const delivery = (d: DeliveryRow) => ({
  delivery_id: d.id,
  event: d.event,
  status: d.status,
  attempts: d.attempts,
  last_status_code: d.last_status_code,
  last_error: d.last_error,
  next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
  delivered_at: iso(d.delivered_at),
  created_at: iso(d.created_at),
});

export function webhookRoutes(deps: Deps) {
  const { db } = deps;
  const app = new Hono<AppEnv>();
  // Only the agent's own route: other /webhooks/ paths (dLocal's, coming soon) must not ask for a key.
  app.use('/webhooks/:id/resend', requireAgent(deps));

  // Authenticated by the tasks router's /tasks/* middleware.
  app.get('/tasks/:id/webhooks', async (c) => {
    const id = c.req.param('id');
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const agentId = c.get('agent').id;
    const { task, rows } = await db.asAgent(c.get('agent'), async (tx) => ({
      task: (await tx`select 1 from public.tasks where id = ${id} and agent_id = ${agentId}`)[0],
      rows: await tx<DeliveryRow[]>`
        select id, event, status, attempts, last_status_code, last_error, next_attempt_at, delivered_at, created_at
          from public.webhook_deliveries where task_id = ${id} order by seq`,
    }));
    if (!task) throw notFound('task_not_found', 'Task not found');
    return c.json({ data: rows.map(delivery) });
  });

  app.post('/webhooks/:id/resend', async (c) => {
    await validate(NoInputSchema, await readJson(c));
    const id = c.req.param('id');
    if (!ID_PATTERN.test(id)) throw notFound('delivery_not_found', 'No webhook delivery with this id');
    // A resend makes a delivery due at once: per agent, whatever its keys or addresses, only a few a minute.
    // (The route's own per-address limit sets the RateLimit headers; this one only refuses.)
    if (deps.config.rateLimit.enabled) {
      await countHit(deps, { bucket: `webhook resend ${c.get('agent').id}`, limit: deps.config.webhooks.resendsPerMinute });
    }
    const [row] = await db.asAgent(c.get('agent'), (tx) => tx<DeliveryRow[]>`
      select id, event, status, attempts, last_status_code, last_error, next_attempt_at, delivered_at, created_at from api.resend_webhook(${id})`);
    return c.json(delivery(row));
  });

  return app;
}
