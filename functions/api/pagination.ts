/**
 * Keyset (cursor) pagination next to offset. A cursor names the last row of a page by its sort key,
 * so the next page starts from the index where the last one stopped, however deep; an offset still
 * works and costs what it skips. Cursors are opaque to clients: base64url JSON that we check on the
 * way back in, tagged with the list they belong to.
 */
import { z } from 'zod';
import { badRequest } from '../_shared/errors.ts';

/**
 * Totals are counted up to a cap, so a count costs at most that many index entries however many
 * rows match; above the cap `total` is the cap and `total_exact` is false.
 */
export const TOTAL_CAP = 1000;

/** A timestamptz as Postgres prints it (`created_at::text`), to the microsecond: a keyset value. */
export const TIMESTAMP_KEY = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;

const base64url = (text: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text))).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

function unbase64url(text: string): string {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
}

export function encodeCursor(list: string, key: Record<string, unknown>): string {
  return base64url(JSON.stringify({ list, ...key }));
}

/** The key a cursor carries for `list`, or a 400 when it is not one of that list's cursors. */
export function decodeCursor<S extends z.ZodType>(list: string, schema: S, cursor: string): z.output<S> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(unbase64url(cursor));
  } catch {
    parsed = undefined;
  }
  const result = z.object({ list: z.literal(list) }).and(schema).safeParse(parsed);
  if (!result.success) {
    throw badRequest('invalid_cursor', 'cursor: must be the next_cursor of a previous page of this list', {
      issues: [{ field: 'cursor', message: 'must be the next_cursor of a previous page of this list' }],
    });
  }
  return result.data as z.output<S>;
}

/** `pagination` as every list answers it; `counted` was counted up to `cap + 1`. */
export function pagination(
  query: { limit: number; offset: number },
  counted: number,
  cap: number,
  nextCursor: string | null,
) {
  return {
    limit: query.limit,
    offset: query.offset,
    total: Math.min(counted, cap),
    total_exact: counted <= cap,
    has_more: nextCursor !== null,
    next_cursor: nextCursor,
  };
}
