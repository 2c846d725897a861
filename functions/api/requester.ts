/**
 * Who an operator works for: the requester's record on the tasks an operator sees, and the ratings
 * each side gave the other on a finished task.
 */
import type { z } from 'zod';
import type { Tx } from '../_shared/db.ts';
import type { OperatorTaskResponse, RequesterRecord as RequesterRecordShape } from '../../sdk/src/contract/responses.ts';

/** A requester (the agent that posted a task) as operators see it: the contract's shape. */
export type RequesterRecord = z.output<typeof RequesterRecordShape>;

/** The ratings each side gave the other on a finished task, as the contract answers them. */
export type TaskRatings = NonNullable<z.output<typeof OperatorTaskResponse>['ratings']>;

const numeric = (value: unknown) => (value === null || value === undefined ? null : Number(value));

/** A record as private.requester_record builds it (JSON numbers may come as strings of numerics). */
export function requesterRecord(r: Record<string, unknown>): RequesterRecord {
  return {
    name: String(r.name),
    tasks_posted: Number(r.tasks_posted),
    approval_rate: numeric(r.approval_rate),
    median_review_minutes: numeric(r.median_review_minutes),
    disputes_lost: Number(r.disputes_lost),
    rating: numeric(r.rating),
    rating_count: Number(r.rating_count),
  };
}

/** The record of each task's requester, for the tasks the calling operator may see (api.requester_records). */
export async function requestersOf(tx: Tx, taskIds: string[]): Promise<Map<string, RequesterRecord>> {
  if (taskIds.length === 0) return new Map();
  const rows = await tx<{ task_id: string; requester: Record<string, unknown> }[]>`
    select task_id, requester from api.requester_records(${taskIds}::text[])`;
  return new Map(rows.map(({ task_id, requester }) => [task_id, requesterRecord(requester)]));
}

/** Both ratings of each of the calling operator's tasks (read under row-level security). */
export async function ratingsOf(tx: Tx, taskIds: string[]): Promise<Map<string, TaskRatings>> {
  if (taskIds.length === 0) return new Map();
  const [given, received] = await Promise.all([
    tx<{ task_id: string; rating: number; comment: string | null }[]>`
      select task_id, rating, comment from public.requester_ratings where task_id = any (${taskIds}::text[])`,
    tx<{ task_id: string; rating: number; comment: string | null }[]>`
      select task_id, rating, comment from public.task_ratings where task_id = any (${taskIds}::text[])`,
  ]);
  const of = new Map(given.map((r) => [r.task_id, { rating: r.rating, comment: r.comment }]));
  const by = new Map(received.map((r) => [r.task_id, { rating: r.rating, comment: r.comment }]));
  return new Map(taskIds.map((id) => [id, { by_requester: by.get(id) ?? null, of_requester: of.get(id) ?? null }]));
}
