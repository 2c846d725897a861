/** Errors the SDK throws: one class per kind, so callers `catch` by type. */

export class HumanOpsError extends Error {
  /** HTTP status, or undefined when no response arrived. */
  readonly status: number | undefined;
  /** The API's machine-readable code, e.g. `insufficient_balance`. */
  readonly code: string | undefined;
  /** The response's X-Request-Id: quote it when asking for help. */
  readonly requestId: string | undefined;
  readonly headers: Headers | undefined;
  readonly details: unknown;

  constructor(message: string, init: { status?: number; code?: string; requestId?: string; headers?: Headers; details?: unknown } = {}) {
    super(message);
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.headers = init.headers;
    this.details = init.details;
  }
}

export class BadRequestError extends HumanOpsError {}
export class AuthenticationError extends HumanOpsError {}
export class InsufficientBalanceError extends HumanOpsError {}
export class PermissionDeniedError extends HumanOpsError {}
export class NotFoundError extends HumanOpsError {}
export class ConflictError extends HumanOpsError {}
export class GoneError extends HumanOpsError {}
export class RateLimitError extends HumanOpsError {}
export class InternalServerError extends HumanOpsError {}
/** No response: the network failed. */
export class APIConnectionError extends HumanOpsError {}
/** No response within `timeoutMs`. */
export class APIConnectionTimeoutError extends APIConnectionError {}
/** The caller's `signal` aborted the request (no retry follows). */
export class APIUserAbortError extends HumanOpsError {}
/**
 * A wait for completion that ended otherwise: the task came to rest DISPUTED, CANCELLED or EXPIRED
 * (`code` is `task_<status>`), or the wait timed out (`task_wait_timeout`). `task` is the last seen.
 */
export class TaskNotCompletedError extends HumanOpsError {
  readonly task: unknown;
  constructor(message: string, init: { code: string; task: unknown }) {
    super(message, { code: init.code });
    this.task = init.task;
  }
}
/** A webhook whose signature or timestamp does not check out. */
export class WebhookVerificationError extends HumanOpsError {}

const BY_STATUS: Record<number, typeof HumanOpsError> = {
  400: BadRequestError, 401: AuthenticationError, 402: InsufficientBalanceError, 403: PermissionDeniedError,
  404: NotFoundError, 409: ConflictError, 410: GoneError, 429: RateLimitError,
};

/** The error for an API response with status `status`. */
export function errorFor(status: number, body: { error?: string; code?: string; details?: unknown } | null, headers: Headers): HumanOpsError {
  const Kind = BY_STATUS[status] ?? (status >= 500 ? InternalServerError : HumanOpsError);
  return new Kind(body?.error ?? `HTTP ${status}`, {
    status, code: body?.code, details: body?.details, headers, requestId: headers.get('x-request-id') ?? undefined,
  });
}
