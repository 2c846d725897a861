/** Reading and validating request input, and the shapes every route answers with. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError, badRequest } from '../_shared/errors.ts';

const MAX_BODY_BYTES = 64 * 1024;

/**
 * The JSON body, or `{}` when there is none. Malformed JSON is a 400; bodies over 64 KB a 413.
 * The Content-Type is not insisted on: `curl -d` sends form encoding by default.
 */
export async function readJson(c: Context): Promise<unknown> {
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) throw new ApiError(413, 'payload_too_large', 'Request body is larger than 64 KB');
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    throw badRequest('unreadable_body', 'The request body could not be read to its end');
  }
  if (new TextEncoder().encode(text).length > MAX_BODY_BYTES) {
    throw new ApiError(413, 'payload_too_large', 'Request body is larger than 64 KB');
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
