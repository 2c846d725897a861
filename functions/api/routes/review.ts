/** After submission: the agent's manual review of the Guardian's doubtful verdicts, and of its disputes. */
import { Hono } from 'hono';
import { notFound } from '../../_shared/errors.ts';
import { ID_PATTERN, VerifyTaskSchema } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { readJson, validate } from '../http.ts';
import { idempotent } from '../middleware/idempotency.ts';

const MESSAGES: Record<string, string> = {
  COMPLETED: 'Task manually approved and completed.',
  DISPUTED: 'Task rejected; funds stay in escrow. The operator reads your reason and may resubmit once before the deadline; after that an admin settles the dispute.',
  CANCELLED: 'Dispute settled: reward and fee refunded to your deposit balance.',
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
    const outcome = await db.asAgent(c.get('agent'), (tx) =>
      idempotent(c, tx, raw, async () => {
        const [task] = await tx<{ id: string; status: string }[]>`select id, status from api.verify_task(${id}, ${input.decision}, ${input.reason ?? null})`;
        return { status: 200, body: { task_id: task.id, status: task.status, message: MESSAGES[task.status] } };
      }));
    return c.json(outcome.body as object, outcome.status as 200);
  });

  return app;
}
