/** Cross-cutting request handling: ids and logs, errors, rate limits, agent keys, idempotency. */
import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { matchedRoutes } from 'hono/route';
import ipaddr from 'ipaddr.js';
import { ApiError, toApiError, unauthorized } from '../_shared/errors.ts';
import { randomBase62, sha256Hex } from '../_shared/crypto.ts';
import { log } from '../_shared/log.ts';
import type { Scope, Tx } from '../_shared/db.ts';
import { OPERATOR_ID } from '../_shared/storage.ts';
import type { AppEnv, Deps } from './context.ts';

/** The route pattern that answered (e.g. `/api/v1/tasks/:id`), or null when none did. */
export function matchedRoute(c: Context): { method: string; path: string } | null {
  const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL');
  return route ? { method: route.method, path: route.path } : null;
}

/** X-Request-Id on every response (the caller's, if sane) and one JSON log line per request. */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : `req_${randomBase62(20)}`;
    c.set('requestId', requestId);
    await next();
    c.header('X-Request-Id', requestId);
    if (c.get('quiet')) return;
    const route = matchedRoute(c);
    log(c.res.status >= 500 ? 'error' : 'info', 'request', {
      request_id: requestId,
      method: c.req.method,
      route: route?.path ?? null,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      agent_id: c.get('agent')?.id,
    });
  };
}

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

/**
 * CORS for the allowed origins, answered before rate limits and authentication (a preflight carries
 * no credentials). A request from any other origin gets no `Access-Control-*` header at all, so
 * the browser keeps the response from that page; calls without an Origin (servers, SDKs) are as before.
 */
export function corsPolicy({ config }: Deps): MiddlewareHandler<AppEnv> {
  const origins = config.cors.allowedOrigins;
  const allowed = (origin: string) => origins.includes('*') || origins.includes(origin);
  const headers = ['Authorization', 'Content-Type', 'X-API-Key', 'Idempotency-Key', 'X-Request-Id'];
  if (config.allowDevOperatorIdHeader) headers.push('X-Operator-Id');
  const answer = cors({
    origin: (origin) => origin,
    allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: headers,
    exposeHeaders: ['X-Request-Id', 'Idempotent-Replayed', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
    maxAge: 600,
  });
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (!origin || !allowed(origin)) return next();
    return answer(c, next);
  };
}

/**
 * The caller's address, for rate limits. Behind proxies, X-Forwarded-For is "<whatever the client
 * sent>, …, <what each trusted proxy appended>": everything left of the entry the first trusted
 * proxy appended is the client's to invent, so that entry (`hops` from the right) is the one we
 * take. A header too short to hold it, or an entry that is not an address, falls back to the socket.
 */
export function clientIp(forwardedFor: string | undefined, socketAddress: string | undefined, hops: number | null): string {
  if (hops !== null && forwardedFor) {
    const entries = forwardedFor.split(',').map((entry) => entry.trim());
    const entry = entries[entries.length - hops];
    if (entry !== undefined && ipaddr.isValid(entry)) return ipaddr.process(entry).toString();
  }
  return socketAddress ?? 'unknown';
}

/**
 * Routes that count their own rate-limit hit in the statement that does their work (one round
 * trip instead of two): POST /tasks. The middleware leaves them alone.
 */
const SELF_LIMITED = new Set(['POST /api/v1/tasks']);

/** The rate-limit bucket (client IP + route pattern) and limit of a request; null when not limited. */
export function rateLimitOf(c: Context<AppEnv>, { config }: Deps): { bucket: string; limit: number } | null {
  const route = matchedRoute(c);
  if (!config.rateLimit.enabled || route?.path.endsWith('/health')) return null;
  const limit = route?.path.endsWith('/operator/upload') ? config.rateLimit.uploadsPerMinute : config.rateLimit.perMinute;
  const ip = clientIp(c.req.header('x-forwarded-for'), c.env?.remoteAddr?.hostname, config.trustProxyHeaders ? config.trustedProxyHops : null);
  return { bucket: `${ip} ${route ? `${route.method} ${route.path}` : 'unmatched'}`, limit };
}

/**
 * Applies a counted hit: past the limit a 429 with Retry-After; otherwise the RateLimit headers,
 * returned for the caller to set on its response.
 */
export function rateLimitHeaders(limit: number, hits: number, resetAt: Date | string): Record<string, string> {
  const resetSeconds = Math.max(1, Math.ceil((new Date(resetAt).getTime() - Date.now()) / 1000));
  const headers = {
    'RateLimit-Limit': String(limit),
    'RateLimit-Remaining': String(Math.max(0, limit - hits)),
    'RateLimit-Reset': String(resetSeconds),
  };
  if (hits > limit) {
    throw new ApiError(429, 'rate_limited', `Too many requests: at most ${limit} per minute on this endpoint`, undefined, {
      ...headers,
      'Retry-After': String(resetSeconds),
    });
  }
  return headers;
}

/** Counts one hit of `limiter` in Postgres; see rateLimitHeaders. */
export async function countHit({ db }: Deps, limiter: { bucket: string; limit: number }): Promise<Record<string, string>> {
  const [{ hits, reset_at }] = await db.sql<{ hits: number; reset_at: Date }[]>`
    select hits, reset_at from api.hit_rate_limit(${limiter.bucket}, 60)`;
  return rateLimitHeaders(limiter.limit, hits, reset_at);
}

/**
 * Fixed-window rate limit per client IP and route pattern, counted in Postgres so it holds across
 * function instances (api.hit_rate_limit says how the count is spread over rows). Health checks are
 * exempt so monitors never see a 429.
 */
export function rateLimit(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const route = matchedRoute(c);
    const limiter = rateLimitOf(c, deps);
    if (!limiter || (route && SELF_LIMITED.has(`${route.method} ${route.path}`))) return next();
    const headers = await countHit(deps, limiter);
    await next();
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
  };
}

const KEY_FORMAT = /^ho_(test|live)_[A-Za-z0-9]{20,128}$/;

/**
 * The scope each agent route needs. Every key reads (GET); these writes need `owner`, deposits
 * `agent` or `owner` (adding money is never a risk); every other write needs `agent`.
 */
const OWNER_ROUTES = new Set([
  'POST /api/v1/agents/keys', 'DELETE /api/v1/agents/keys/:id',
  'PUT /api/v1/agents/policy', 'PUT /api/v1/agents/keys/:id/policy', 'DELETE /api/v1/agents/keys/:id/policy',
  'POST /api/v1/tasks/:id/approve', 'POST /api/v1/tasks/:id/decline',
]);
const DEPOSIT_ROUTES = new Set(['POST /api/v1/agents/deposit/usdc', 'POST /api/v1/agents/deposit', 'POST /api/v1/agents/deposit/status']);

export function scopesNeeded(c: Context): Scope[] {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return ['read', 'agent', 'owner'];
  const route = matchedRoute(c);
  const name = `${c.req.method} ${route?.path}`;
  if (OWNER_ROUTES.has(name)) return ['owner'];
  if (DEPOSIT_ROUTES.has(name)) return ['agent', 'owner'];
  return ['agent'];
}

/** The 403 for a key whose scopes do not include one the route needs, or null. */
export function scopeProblem(c: Context, scopes: Scope[]): ApiError | null {
  const needed = scopesNeeded(c);
  if (needed.some((scope) => scopes.includes(scope))) return null;
  return new ApiError(403, 'insufficient_scope',
    `This key holds ${scopes.join(' and ')}; ${c.req.method} ${new URL(c.req.url).pathname} needs a key with the ${needed.join(' or ')} scope`,
    { key_scopes: scopes, required_scopes: needed });
}

/** Why an `X-API-Key` header cannot be a key of this server (a 401), or null when it can be. */
export function agentKeyProblem(key: string | undefined, mode: string): ApiError | null {
  if (!key) return unauthorized('Missing X-API-Key header');
  const format = KEY_FORMAT.exec(key);
  if (!format) return unauthorized('Invalid API key');
  if (format[1] !== mode) return unauthorized(`This is a ${format[1]}-mode key; this server runs in ${mode} mode`);
  return null;
}

/** The agent behind a well-formed key (active, unexpired), or a 401 when there is none. */
export async function authenticateAgent({ db }: Deps, key: string): Promise<{ id: string; keyId: string; scopes: Scope[] }> {
  const [found] = await db.sql<{ agent_id: string; key_id: string; scopes: Scope[] }[]>`
    select agent_id, key_id, scopes from api.authenticate_agent(${await sha256Hex(key)})`;
  if (!found) throw unauthorized('Invalid or revoked API key');
  return { id: found.agent_id, keyId: found.key_id, scopes: found.scopes };
}

/** Agent routes: `X-API-Key` must name an active, unexpired key of this mode, holding the scope the route needs. */
export function requireAgent(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Guards of overlapping paths (`/agents/keys/*` and `/agents/keys/:id/policy`) authenticate once.
    if (c.get('agent')) return next();
    const key = c.req.header('x-api-key');
    const problem = agentKeyProblem(key, deps.config.mode);
    if (problem) throw problem;
    const agent = await authenticateAgent(deps, key!);
    const refused = scopeProblem(c, agent.scopes);
    if (refused) throw refused;
    c.set('agent', agent);
    await next();
  };
}

/**
 * Operator routes: `Authorization: Bearer <session JWT>` verified against the identity provider's
 * JWKS (Clerk in production, the stack's own issuer locally). `X-Operator-Id` is a local shortcut,
 * honoured only when ALLOW_DEV_OPERATOR_ID_HEADER is on, which live mode never allows.
 */
export function requireOperatorIdentity({ config, verifyOperatorToken }: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const authorization = c.req.header('authorization');
    const devId = c.req.header('x-operator-id');
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!match) throw new ApiError(401, 'invalid_token', 'Authorization must be "Bearer <token>"');
      if (!verifyOperatorToken) {
        throw new ApiError(503, 'identity_provider_unavailable', 'Operator sign-in is not configured on this server');
      }
      const { sub } = await verifyOperatorToken(match[1]);
      if (!OPERATOR_ID.test(sub)) throw new ApiError(401, 'invalid_token', 'Operator token subject is not a valid operator id');
      c.set('operator', { id: sub });
    } else if (devId !== undefined) {
      if (!config.allowDevOperatorIdHeader) {
        throw new ApiError(401, 'unauthorized', 'X-Operator-Id is not accepted here; sign in and send Authorization: Bearer <token>');
      }
      if (!OPERATOR_ID.test(devId)) throw new ApiError(401, 'unauthorized', 'X-Operator-Id is not a valid operator id');
      c.set('operator', { id: devId });
    } else {
      throw new ApiError(401, 'unauthorized', 'Missing Authorization: Bearer <operator token>');
    }
    await next();
  };
}

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

/**
 * Runs `work` at most once per `Idempotency-Key` (per agent), inside the request's transaction.
 * A retry with the same body gets the first response again (status and body); a concurrent one
 * waits for the first to finish and then does the same; another body under the key is a 409.
 * Only successes are stored: a failed request wrote nothing, so its retry runs afresh.
 */
export async function idempotent(c: Context<AppEnv>, tx: Tx, body: unknown, work: () => Promise<Outcome>): Promise<Outcome> {
  const request = await idempotencyOf(c, body);
  if (!request) return work();
  const { key, requestHash } = request;
  const [claim] = await tx<{ state: string; response_status: number | null; response_body: unknown }[]>`
    select state, response_status, response_body from api.claim_idempotency_key(${key}, ${requestHash})`;
  if (claim.state === 'mismatch') {
    throw new ApiError(409, 'idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
  }
  if (claim.state === 'replay') {
    c.header('Idempotent-Replayed', 'true');
    return { status: claim.response_status ?? 200, body: claim.response_body };
  }
  const outcome = await work();
  await tx`select api.store_idempotent_response(${key}, ${outcome.status}, ${tx.json(outcome.body as never)})`;
  return outcome;
}
