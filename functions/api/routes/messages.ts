/**
 * The thread on each task between its agent and operators: questions before accepting (answered to
 * the asker or in public), then the holder and the agent. The text is stored and returned as the
 * sender wrote it; it is untrusted data wherever it is shown.
 */
import { Hono } from 'hono';
import { notFound } from '../../_shared/errors.ts';
import { AgentMessageSchema, ID_PATTERN, OperatorMessageSchema } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, readJson, validate } from '../http.ts';

interface MessageRow {
  id: string;
  sender: 'agent' | 'operator';
  operator_id?: string | null;
  mine?: boolean;
  body: string;
  visibility: 'private' | 'public';
  in_reply_to: string | null;
  created_at: Date;
}

const visibility = (row: MessageRow) => (row.visibility === 'public' ? 'public' : 'asker');

const agentMessage = (row: MessageRow) => ({
  message_id: row.id,
  from: row.sender,
  operator_id: row.operator_id ?? null,
  text: row.body,
  visibility: visibility(row),
  in_reply_to: row.in_reply_to,
  created_at: iso(row.created_at),
});

const operatorMessage = (row: MessageRow) => ({
  message_id: row.id,
  from: row.sender,
  mine: row.mine ?? false,
  text: row.body,
  visibility: visibility(row),
  in_reply_to: row.in_reply_to,
  created_at: iso(row.created_at),
});

const taskId = (id: string) => {
  if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
  return id;
};

/** Mounted after the tasks and operator routers, whose /tasks/* and /operator/* guards authenticate. */
export function messageRoutes(deps: Deps) {
  const { db } = deps;
  const app = new Hono<AppEnv>();

  app.get('/tasks/:id/messages', async (c) => {
    const id = taskId(c.req.param('id'));
    const rows = await db.asAgent(c.get('agent'), (tx) => tx<MessageRow[]>`select * from api.agent_task_messages(${id})`);
    return c.json({ data: rows.map(agentMessage) });
  });

  app.post('/tasks/:id/messages', async (c) => {
    const input = await validate(AgentMessageSchema, await readJson(c));
    const id = taskId(c.req.param('id'));
    const [row] = await db.asAgent(c.get('agent'), (tx) => tx<MessageRow[]>`
      select * from api.send_agent_message(${id}, ${input.text}, ${input.reply_to ?? null}, ${input.visibility === 'public'})`);
    return c.json(agentMessage(row), 201);
  });

  app.get('/operator/tasks/:id/messages', async (c) => {
    const id = taskId(c.req.param('id'));
    const { rows, access } = await db.asOperator(c.get('operator').id, async (tx) => {
      const [{ access }] = await tx<{ access: 'write' | 'read' }[]>`select api.operator_thread_access(${id}) as access`;
      const rows = await tx<MessageRow[]>`select * from api.operator_task_messages(${id})`;
      return { rows, access };
    });
    return c.json({ data: rows.map(operatorMessage), can_write: access === 'write' });
  });

  app.post('/operator/tasks/:id/messages', async (c) => {
    const input = await validate(OperatorMessageSchema, await readJson(c));
    const id = taskId(c.req.param('id'));
    const [row] = await db.asOperator(c.get('operator').id, (tx) => tx<MessageRow[]>`
      select *, true as mine from api.send_operator_message(${id}, ${input.text})`);
    return c.json(operatorMessage(row), 201);
  });

  return app;
}
