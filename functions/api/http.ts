/** Reading and validating request input, and the shapes every route answers with. */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { ApiError, badRequest } from '../_shared/errors.ts';

/** The largest JSON body any route accepts. */
export const JSON_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Refuses a body over `maxBytes` with 413 `code` while it streams in: a declared Content-Length is
 * checked before reading, a chunked body is counted as it arrives and dropped at the limit, so
 * nothing larger is ever held in memory. Hono's bodyLimit does the counting.
 */
export function limitBody(maxBytes: number, code: string, message: string): MiddlewareHandler {
  return bodyLimit({ maxSize: maxBytes, onError: () => { throw new ApiError(413, code, message); } });
}

/**
 * The JSON body, or `{}` when there is none. Malformed JSON is a 400; the size limit is enforced
 * before any route runs (see limitBody). The Content-Type is not insisted on: `curl -d` sends form
 * encoding by default.
 */
export async function readJson(c: Context): Promise<unknown> {
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    throw badRequest('unreadable_body', 'The request body could not be read to its end');
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('invalid_json', 'Request body is not valid JSON');
  }
}

/** Validates `input`, or throws a 400 naming the offending field. */
export async function validate<S extends z.ZodType>(schema: S, input: unknown): Promise<z.output<S>> {
  const result = await schema.safeParseAsync(input);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'is not a known field' }))
      : [{ field: issue.path.join('.') || null, message: issue.message }]);
  const first = issues[0];
  const message = first.field ? `${first.field}: ${first.message}` : `Request body: ${first.message}`;
  throw badRequest('validation_error', message, { issues });
}

/** ISO 8601 with milliseconds, or null. */
export const iso = (value: Date | string | null | undefined): string | null =>
  value == null ? null : new Date(value).toISOString();
