/** Idempotency-Key: one effect per key and caller (agent or operator), the first response replayed to retries. */
import type { Context } from 'hono';
import { ApiError } from '../../_shared/errors.ts';
import { sha256Hex } from '../../_shared/crypto.ts';
import type { Tx } from '../../_shared/db.ts';
import type { AppEnv } from '../context.ts';

/** Sorted-key JSON, so the same body hashes the same whatever its key order or spacing. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The request's Idempotency-Key and the hash of what it asks (method, path, canonical body), or
 * null without a key; a 400 for a key that is not 1 to 255 printable ASCII characters.
 */
export async function idempotencyOf(c: Context<AppEnv>, body: unknown): Promise<{ key: string; requestHash: string } | null> {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return null;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new ApiError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  }
  return { key, requestHash: await sha256Hex(`${c.req.method} ${new URL(c.req.url).pathname}\n${canonicalJson(body)}`) };
}

export interface Outcome {
  status: number;
  body: unknown;
}

interface Claim {
  state: 'new' | 'replay' | 'mismatch';
  response_status: number | null;
  response_body: unknown;
}

/**
 * Runs `work` at most once per `Idempotency-Key` and caller, inside the request's transaction: the
 * caller is the route's agent (set by requireAgent) or else its operator, each with keys of its own.
 * A retry with the same body gets the first response again (status and body); a concurrent one
 * waits for the first to finish and then does the same; another body under the key is a 409.
 * Only successes are stored: a failed request wrote nothing, so its retry runs afresh.
 */
export async function idempotent(c: Context<AppEnv>, tx: Tx, body: unknown, work: () => Promise<Outcome>): Promise<Outcome> {
  const request = await idempotencyOf(c, body);
  if (!request) return work();
  const { key, requestHash } = request;
  const byAgent = c.get('agent') !== undefined;
  const [claim] = byAgent
    ? await tx<Claim[]>`select state, response_status, response_body from api.claim_idempotency_key(${key}, ${requestHash})`
    : await tx<Claim[]>`select state, response_status, response_body from api.claim_operator_idempotency_key(${key}, ${requestHash})`;
  if (claim.state === 'mismatch') {
    throw new ApiError(409, 'idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
  }
  if (claim.state === 'replay') {
    c.header('Idempotent-Replayed', 'true');
    return { status: claim.response_status ?? 200, body: claim.response_body };
  }
  const outcome = await work();
  const response = tx.json(outcome.body as never);
  await (byAgent
    ? tx`select api.store_idempotent_response(${key}, ${outcome.status}, ${response})`
    : tx`select api.store_operator_idempotent_response(${key}, ${outcome.status}, ${response})`);
  return outcome;
}
