// The task state machine: every move between any two states is allowed exactly when
// task_transitions lists it, and every allowed move leaves an event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_STATUSES } from '../functions/_shared/categories.ts';
import { type Stack, startStack } from './helpers/stack.ts';

const ALLOWED = new Set([
  'PENDING>ACCEPTED', 'PENDING>CANCELLED', 'PENDING>EXPIRED',
  'ACCEPTED>IN_PROGRESS', 'ACCEPTED>SUBMITTED', 'ACCEPTED>CANCELLED', 'ACCEPTED>EXPIRED',
  'IN_PROGRESS>SUBMITTED', 'IN_PROGRESS>EXPIRED',
  'SUBMITTED>VERIFIED', 'SUBMITTED>MANUAL_REVIEW', 'SUBMITTED>DISPUTED', 'SUBMITTED>COMPLETED',
  'VERIFIED>COMPLETED', 'MANUAL_REVIEW>COMPLETED', 'MANUAL_REVIEW>DISPUTED',
  'DISPUTED>COMPLETED', 'DISPUTED>CANCELLED',
  'PENDING_APPROVAL>PENDING', 'PENDING_APPROVAL>CANCELLED', 'PENDING_APPROVAL>EXPIRED',
  // The operator's moves: new proof after a rejection, and a task handed back.
  'DISPUTED>SUBMITTED', 'ACCEPTED>PENDING', 'IN_PROGRESS>PENDING',
]);

let stack: Stack;
let taskId: string;
beforeAll(async () => {
  stack = await startStack();
  const agent = await stack.registerAgent('states');
  await stack.deposit(agent, 100);
  taskId = (await stack.createTask(agent)).body.task_id;
});
afterAll(() => stack?.stop());

describe('the task state machine', () => {
  it('the table in SQL is the one documented here', async () => {
    const rows = await stack.sql`select from_status || '>' || to_status as move from task_transitions`;
    expect(new Set(rows.map((r) => r.move))).toEqual(ALLOWED);
  });

  const pairs = TASK_STATUSES.flatMap((from) => TASK_STATUSES.map((to) => [from, to] as const));
  it.each(pairs)('%s → %s', async (from, to) => {
    const allowed = ALLOWED.has(`${from}>${to}`);
    const outcome = await stack.sql.begin(async (tx) => {
      await tx`update tasks set status = ${from} where id = ${taskId}`;
      const before = (await tx`select count(*)::int as n from task_events where task_id = ${taskId}`)[0].n;
      try {
        await tx`select private.transition_task(${taskId}, ${to}, 'test')`;
      } catch (error) {
        throw Object.assign(new Error('rollback'), { refused: error });
      }
      const [row] = await tx`select status, (select count(*)::int from task_events where task_id = ${taskId}) as n from tasks where id = ${taskId}`;
      throw Object.assign(new Error('rollback'), { row, before });
    }).catch((e) => e);
    if (allowed) {
      expect(outcome.refused).toBeUndefined();
      expect(outcome.row).toEqual({ status: to, n: outcome.before + 1 });
    } else {
      expect(outcome.refused).toMatchObject({ code: 'HO409', message: `Task is ${from} and cannot become ${to}` });
    }
  });
});
