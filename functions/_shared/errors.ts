/** An error the API answers with `{ error, code, details? }` and `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string, details?: unknown) => new ApiError(400, code, message, details);
export const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);
export const forbidden = (code: string, message: string) => new ApiError(403, code, message);
export const notFound = (code: string, message: string) => new ApiError(404, code, message);
export const conflict = (code: string, message: string, details?: unknown) => new ApiError(409, code, message, details);

interface PostgresErrorLike {
  name?: string;
  code?: string;
  message: string;
  hint?: string;
  detail?: string;
  constraint_name?: string;
}

const isPostgresError = (e: unknown): e is PostgresErrorLike =>
  typeof e === 'object' && e !== null && (e as { name?: string }).name === 'PostgresError';

/**
 * Turns anything thrown while serving a request into an ApiError. SQL functions raise typed errors
 * as SQLSTATE `HO<status>` with the code in HINT and JSON details in DETAIL. A constraint or data
 * error that validation missed is still the client's input, so it is a 400, not a 500.
 * Returns null for errors that are ours (a 500).
 */
export function toApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  if (isPostgresError(error)) {
    const typed = /^HO(\d{3})$/.exec(error.code ?? '');
    if (typed) {
      let details: unknown;
      if (error.detail) {
        try {
          details = JSON.parse(error.detail);
        } catch {
          details = undefined;
        }
      }
      return new ApiError(Number(typed[1]), error.hint || 'error', error.message, details);
    }
    if (error.code === '23514' || error.code?.startsWith('22')) {
      return badRequest('invalid_input', `Invalid input${error.constraint_name ? ` (${error.constraint_name})` : ''}`);
    }
    if (error.code === '40001' || error.code === '40P01' || error.code === '55P03') {
      return new ApiError(503, 'try_again', 'The request conflicted with another; try again', undefined, { 'Retry-After': '1' });
    }
    // The statement timeout (DB_STATEMENT_TIMEOUT_MS) cancelled the request's transaction, so nothing
    // of it was written: a retry is safe, and with its Idempotency-Key it takes effect once.
    if (error.code === '57014') {
      return new ApiError(503, 'try_again', 'The database took too long to answer; try again', undefined, { 'Retry-After': '2' });
    }
    if (error.code?.startsWith('08') || error.code === '57P01' || error.code === '53300') {
      return new ApiError(503, 'database_unavailable', 'The database is unavailable; try again shortly', undefined, { 'Retry-After': '2' });
    }
    return null;
  }
  const code = (error as { code?: string } | null)?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'CONNECT_TIMEOUT' || code === 'CONNECTION_CLOSED') {
    return new ApiError(503, 'database_unavailable', 'The database is unavailable; try again shortly', undefined, { 'Retry-After': '2' });
  }
  return null;
}
