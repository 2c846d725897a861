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

/** `application/json`, with or without parameters (`; charset=utf-8`). */
const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;

/**
 * The JSON body, or `{}` when there is none. A body sent as anything but `application/json` is a
 * 415 (a `text/plain` or form-encoded POST is a "simple" cross-origin request that skips the CORS
 * preflight, and a form is not what the route reads); malformed JSON is a 400. The size limit is
 * enforced before any route runs (see limitBody).
 */
export async function readJson(c: Context): Promise<unknown> {
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    throw badRequest('unreadable_body', 'The request body could not be read to its end');
  }
  if (text.trim() === '') return {};
  const type = c.req.header('content-type');
  if (!type || !JSON_MEDIA_TYPE.test(type)) {
    throw new ApiError(415, 'unsupported_media_type', `The request body must be JSON sent as Content-Type: application/json${type ? `, not ${type.split(';')[0].trim().slice(0, 100)}` : ''}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('invalid_json', 'Request body is not valid JSON');
  }
}

/** Validates `input`, or throws a 400 naming every offending field (in the message and in `details.issues`). */
export async function validate<S extends z.ZodType>(schema: S, input: unknown): Promise<z.output<S>> {
  const withNul = nulField(input, []);
  if (withNul) {
    const field = withNul.join('.') || null;
    const message = 'must not contain NUL characters (\\u0000)';
    throw badRequest('validation_error', field ? `${field}: ${message}` : `Request body: ${message}`, { issues: [{ field, message }] });
  }
  const result = await schema.safeParseAsync(input);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'is not a known field' }))
      : [{ field: issue.path.join('.') || null, message: issue.message }]);
  // Every field's problem at once, so a form can be fixed in one go: the first issue of each field
  // (a later one is often a consequence, e.g. an unreadable date is also "not within 365 days").
  const firstOfEach = issues.filter((issue, index) => issues.findIndex((other) => other.field === issue.field) === index);
  const message = firstOfEach.map((issue) => (issue.field ? `${issue.field}: ${issue.message}` : `Request body: ${issue.message}`)).join('; ');
  throw badRequest('validation_error', message, { issues });
}

/**
 * The path of the first string in `value` holding a NUL character, or null. Postgres text cannot
 * store one, so it is refused here by name rather than by the database without one.
 */
function nulField(value: unknown, path: (string | number)[]): (string | number)[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = nulField(item, [...path, index]);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = nulField(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

/** ISO 8601 with milliseconds, or null. */
export const iso = (value: Date | string | null | undefined): string | null =>
  value == null ? null : new Date(value).toISOString();
