/** The API's errors as sentences for an owner, keyed by `code`; validation errors keep the API's own words. */
import { ApiProblem } from './api.ts';

const BY_CODE: Record<string, string> = {
  not_signed_in: 'Please sign in first.',
  unauthenticated: 'Your session has ended. Please sign in again.',
  unauthorized: 'Your session has ended. Please sign in again.',
  invalid_token: 'Your session has ended. Please sign in again.',
  not_an_owner: 'You are no longer an owner of this agent. Pick another one, or ask an owner for a new link code.',
  link_code_not_found: 'That link code is not right. Check it, or ask an owner of the agent for a new one.',
  link_code_used: 'That link code was already used. Ask an owner of the agent for a new one.',
  link_code_expired: 'That link code has expired. Ask an owner of the agent for a new one.',
  task_not_awaiting_approval: 'This task is no longer waiting for approval; someone decided already.',
  approval_expired: 'The approval window of this task has closed; it expires with a full refund.',
  task_not_found: 'This task is not one of this agent’s.',
  last_key: 'This is the agent’s only active key; create another before revoking it.',
  last_owner_key: 'This is the only key with the owner scope; create another owner key first.',
  key_limit_reached: 'An agent may have at most 20 active keys; revoke one first.',
  rate_limited: 'Too many tries in a short time. Wait a minute and try again.',
  api_unreachable: 'The service is not reachable. Check your connection and try again.',
  identity_provider_unavailable: 'Sign-in is not reachable right now. Try again in a minute.',
};

export function explain(error: unknown): string {
  if (!(error instanceof ApiProblem)) return 'Something went wrong. Try again.';
  if (BY_CODE[error.code]) return BY_CODE[error.code];
  if (error.code === 'validation_error' || error.status === 400 || error.status === 403 || error.status === 409) return error.message;
  if (error.status === 401) return BY_CODE.unauthenticated;
  if (error.status >= 500) return 'Something went wrong on our side. Try again in a moment.';
  return error.message;
}

/** The message of a validation error about `field`, to show next to that field, else null. */
export const fieldError = (error: unknown, field: string) =>
  error instanceof ApiProblem && error.field === field ? error.message.replace(/^[\w.]+: /, '') : null;

export const STATUS_WORDS: Record<string, string> = {
  PENDING_APPROVAL: 'Waiting for your approval',
  PENDING: 'Open to operators',
  ACCEPTED: 'Accepted',
  IN_PROGRESS: 'In progress',
  SUBMITTED: 'Proof submitted',
  VERIFIED: 'Verified by the Guardian',
  MANUAL_REVIEW: 'Waiting for your review',
  COMPLETED: 'Completed and paid',
  DISPUTED: 'Disputed',
  CANCELLED: 'Cancelled',
  EXPIRED: 'Expired',
};
