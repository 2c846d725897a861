/**
 * How the Guardian calls the model inside a tick's deadline. The SDK's own retries are off: it
 * waits whatever Retry-After says (up to 24 days), which no edge worker survives. Here each try
 * gets the time that is left, at most `timeoutMs`; a retryable answer (429, 529, 5xx, a dropped or
 * timed-out connection) is tried again only when its wait and a useful call still fit before the
 * deadline. Otherwise the job is handed back with the wait the model asked for (ModelRetryLater),
 * and the queue's backoff, not this worker, sits it out.
 */
import Anthropic from '@anthropic-ai/sdk';

/** Tries per job per tick. */
export const MAX_TRIES = 3;
/** Less time than this left before the deadline is not worth a call. */
export const MIN_CALL_MS = 5_000;
/** Waits between tries when the model names none: 1 s, then 2 s. */
const BACKOFF_MS = 1_000;
/** The longest wait a Retry-After may impose on a job (its backoff is capped at an hour too). */
const MAX_RETRY_AFTER_SECONDS = 3_600;

/** The model could not answer within this tick; the job should wait `retryAfterSeconds` before its next try. */
export class ModelRetryLater extends Error {
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}

export interface CallBudget {
  /** Epoch ms by which the call must have ended. */
  deadline: number;
  /** The longest one try may take. */
  timeoutMs: number;
}

/** Milliseconds the answer asks us to wait (retry-after-ms, or Retry-After in seconds or as a date), or null. */
export function retryAfterMs(headers: Headers | undefined): number | null {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : null;
}

function retryable(error: unknown): boolean {
  if (error instanceof Anthropic.APIConnectionError) return true; // includes timeouts
  if (error instanceof Anthropic.APIError) {
    // The API's own word on it, as the SDK reads it.
    const says = error.headers?.get('x-should-retry');
    if (says === 'true' || says === 'false') return says === 'true';
    const status = error.status ?? 0;
    return status === 408 || status === 409 || status === 429 || status >= 500;
  }
  return false;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Runs `call` (given how long this try may take) until it answers, a non-retryable error, or the
 * budget runs out; a retryable failure that cannot be retried in time becomes ModelRetryLater.
 */
export async function callWithinBudget<T>(budget: CallBudget, call: (timeoutMs: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const left = budget.deadline - Date.now();
    if (left < MIN_CALL_MS) throw new ModelRetryLater('The tick ran out of time before the model could be asked', 0);
    try {
      return await call(Math.min(budget.timeoutMs, left));
    } catch (error) {
      if (!retryable(error)) throw error;
      const asked = error instanceof Anthropic.APIError ? retryAfterMs(error.headers) : null;
      const wait = asked ?? BACKOFF_MS * 2 ** (attempt - 1);
      const fits = Date.now() + wait + MIN_CALL_MS <= budget.deadline;
      if (attempt >= MAX_TRIES || !fits) {
        throw new ModelRetryLater(`The model did not answer: ${describe(error)}`, Math.min(MAX_RETRY_AFTER_SECONDS, Math.ceil(wait / 1000)));
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
