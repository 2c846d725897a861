/**
 * The owner's approval queue: tasks above a key's approval threshold wait in PENDING_APPROVAL
 * (escrow held, hidden from operators) until an `owner` key approves or declines them. The queue
 * itself is `GET /tasks?status=PENDING_APPROVAL`.
 */
import { Hono } from 'hono';
import { notFound } from '../../_shared/errors.ts';
import { centsToUsd } from '../../_shared/money.ts';
import { ID_PATTERN, NoInputSchema } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { readJson, validate } from '../http.ts';
import { idempotent } from '../middleware/idempotency.ts';

export function approvalRoutes(deps: Deps) {
  const { db } = deps;
  const app = new Hono<AppEnv>();

  // Authenticated, with the owner scope, by the tasks router's /tasks/* middleware.
  for (const action of ['approve', 'decline'] as const) {
    app.post(`/tasks/:id/${action}`, async (c) => {
      const id = c.req.param('id');
      const raw = await readJson(c);
      await validate(NoInputSchema, raw);
      if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
      const outcome = await db.asAgent(c.get('agent'), (tx) =>
        idempotent(c, tx, raw, async () => {
          const [task] = await tx<{ id: string; status: string; reward_cents: string; fee_cents: string }[]>`
            select id, status, reward_cents, fee_cents from api.decide_task_approval(${id}, ${action === 'approve' ? 'APPROVE' : 'DECLINE'})`;
          const body = action === 'approve'
            ? { task_id: task.id, status: task.status, message: 'Task approved; operators can now accept it.' }
            : { task_id: task.id, status: task.status, refunded_usd: centsToUsd(Number(task.reward_cents) + Number(task.fee_cents)), message: 'Task declined; reward and fee refunded.' };
          return { status: 200, body };
        }));
      return c.json(outcome.body as object, outcome.status as 200);
    });
  }

  return app;
}
