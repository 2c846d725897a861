/**
 * Tier 2 credentials: the agent fetches the encrypted blob the operator delivered, once the task is
 * COMPLETED (the operator is paid for it), as often as it likes (the same ciphertext each time).
 * The server only ever holds ciphertext; the Guardian judges credential tasks on metadata alone.
 */
import { Hono } from 'hono';
import type { Context } from 'hono';
import { CATEGORIES, type TaskType } from '../../_shared/categories.ts';
import { ApiError, notFound } from '../../_shared/errors.ts';
import { ID_PATTERN } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';


export function credentialRoutes({ db }: Deps) {
  const app = new Hono<AppEnv>();

  // Authenticated by the tasks router's /tasks/* middleware. The reference shows POST and mentions GET.
  const retrieve = async (c: Context<AppEnv>) => {
    const id = c.req.param('id') ?? '';
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const [task] = await db.asAgent(c.get('agent'), (tx) => tx<{ id: string; status: string; task_type: string; proof: { artifact?: unknown } | null }[]>`
      select id, status, task_type, proof from public.tasks where id = ${id} and agent_id = ${c.get('agent').id}`);
    if (!task) throw notFound('task_not_found', 'Task not found');
    if (CATEGORIES[task.task_type as TaskType]?.tier !== 2) {
      throw new ApiError(400, 'not_a_credential_task', `${task.task_type} tasks do not deliver credentials`);
    }
    if (task.status !== 'COMPLETED' || !task.proof?.artifact) {
      throw new ApiError(409, 'credential_not_available', `The credential is available once the task is COMPLETED (status: ${task.status})`, { status: task.status });
    }
    return c.json({ task_id: task.id, encrypted_credential: task.proof.artifact });
  };
  app.post('/tasks/:id/retrieve-credential', retrieve);
  app.get('/tasks/:id/retrieve-credential', retrieve);
  return app;
}
