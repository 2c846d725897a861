/**
 * What happened to a task the operator held, as a person would say it: a disputed task is "not
 * accepted" (with what the operator may still do), never "cancelled", and a task whose reward went
 * back to the requester after a dispute says so. Other statuses keep their plain words.
 */
import type { OperatorTask, Rejection } from '@humanops/sdk/operator';
import { STATUS_SHORT, STATUS_WORDS } from './messages.ts';

export function outcomeWords(task: OperatorTask): string {
  const review = task.review;
  if (task.status === 'DISPUTED') {
    if (review?.appeal) return 'Appealed: an admin will look at it and decide';
    if (review?.can_appeal) return 'Not accepted again: you can appeal';
    if (review?.can_resubmit) return 'Not accepted yet: you can send new proof once';
    return 'Your proof was not accepted: it will be settled';
  }
  if (task.status === 'CANCELLED' && review?.resolution === 'refund') return 'Not accepted: the reward went back to the requester';
  if (task.status === 'COMPLETED' && review?.resolution === 'pay') return 'Paid after a second look: in your pending earnings';
  if (task.status === 'COMPLETED' && review?.resolution === 'split') return 'Part of the reward paid after a second look';
  return STATUS_WORDS[task.status] ?? 'Being updated';
}

/** The same in a word or two, for a badge. */
export function outcomeShort(task: OperatorTask): string {
  if (task.status === 'CANCELLED' && task.review?.resolution === 'refund') return 'Not accepted';
  if (task.status === 'DISPUTED' && task.review?.appeal) return 'Appealed';
  return STATUS_SHORT[task.status] ?? 'Being updated';
}

/** Who did not accept the proof, as the operator knows them. */
export const rejectedBy = (rejection: Rejection) => (rejection.by === 'agent' ? 'The requester' : 'The automatic checks');

/** Whether the operator still has something to do about this task (send proof, new proof, or an appeal). */
export const needsOperator = (task: OperatorTask) =>
  task.status === 'ACCEPTED' || task.status === 'IN_PROGRESS' || task.review?.can_resubmit === true || task.review?.can_appeal === true;
