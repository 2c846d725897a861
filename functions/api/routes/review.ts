/** After submission: the agent's manual review and the admin's dispute resolution. */
import { Hono } from 'hono';
import { notFound } from '../../_shared/errors.ts';
import { ID_PATTERN, ResolveDisputeSchema, VerifyTaskSchema } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { readJson, validate } from '../http.ts';
import { idempotent } from '../middleware.ts';

const MESSAGES: Record<string, string> = {
  COMPLETED: 'Task manually approved and completed.',
  DISPUTED: 'Task rejected; funds stay in escrow until the dispute is resolved.',
};

export function reviewRoutes(deps: Deps) {
  const { db } = deps;
  const app = new Hono<AppEnv>();

  // Authenticated by the tasks router's /tasks/* middleware.
  app.post('/tasks/:id/verify', async (c) => {
    const id = c.req.param('id');
    const raw = await readJson(c);
    const input = await validate(VerifyTaskSchema, raw);
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const outcome = await db.asAgent(c.get('agent').id, (tx) =>
      idempotent(c, tx, raw, async () => {
        const [task] = await tx<{ id: string; status: string }[]>`select id, status from api.verify_task(${id}, ${input.decision})`;
        return { status: 200, body: { task_id: task.id, status: task.status, message: MESSAGES[task.status] } };
      }));
    return c.json(outcome.body as object, outcome.status as 200);
  });

  // Behind X-Admin-Key: the admin router guards /admin/*.
  app.post('/admin/tasks/:id/resolve', async (c) => {
    const input = await validate(ResolveDisputeSchema, await readJson(c));
    const [task] = await db.asService((tx) => tx<{ id: string; status: string; dispute_resolution: unknown }[]>`
      select id, status, dispute_resolution from api.resolve_dispute(${c.req.param('id')}, ${input.resolution}, ${input.operator_usd ?? null}, ${input.note ?? null})`);
    return c.json({ task_id: task.id, status: task.status, resolution: task.dispute_resolution });
  });

  return app;
}
