/** How a thrown error becomes the response the client sees. */
import type { Context } from 'hono';
import { toApiError } from '../../_shared/errors.ts';
import { log } from '../../_shared/log.ts';
import type { AppEnv } from '../context.ts';

/** The one place errors become responses: `{ error, code, details? }`, never a stack trace. */
export function errorResponse(error: unknown, c: Context<AppEnv>): Response {
  const apiError = toApiError(error);
  if (!apiError) {
    log('error', 'unhandled error', {
      request_id: c.get('requestId'),
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return c.json({ error: 'Internal server error', code: 'internal_error' }, 500);
  }
  for (const [name, value] of Object.entries(apiError.headers ?? {})) c.header(name, value);
  const body: Record<string, unknown> = { error: apiError.message, code: apiError.code };
  if (apiError.details !== undefined) body.details = apiError.details;
  return c.json(body, apiError.status as 400);
}
