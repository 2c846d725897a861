/** Fixed-window rate limits per caller (API key, operator, or else address) and route, counted in Postgres. */
import type { Context, MiddlewareHandler } from 'hono';
import ipaddr from 'ipaddr.js';
import { sha256Hex } from '../../_shared/crypto.ts';
import { ApiError } from '../../_shared/errors.ts';
import type { AppEnv, Deps } from '../context.ts';
import { agentKeyProblem, authenticateAgent } from './agent-auth.ts';
import { operatorOf } from './operator-auth.ts';
import { matchedRoute } from './route.ts';

/**
 * Address ranges a proxy in front of us would connect from, never a client on the internet:
 * an X-Forwarded-For entry in one names the proxy, not the caller.
 */
const PROXY_RANGES = new Set(['unspecified', 'private', 'loopback', 'linkLocal', 'uniqueLocal', 'carrierGradeNat']);

/**
 * The caller's address when one can be trusted, else null. Behind proxies, X-Forwarded-For is
 * "<whatever the client sent>, …, <what each trusted proxy appended>": everything left of the
 * entry the first trusted proxy appended is the client's to invent, so that entry (`hops` from the
 * right) is the one we take, unless it is a proxy's own address. Behind proxies the socket is the
 * proxy, so it never names a caller; without them it does, unless it is unspecified (Supabase's
 * edge gives every request 0.0.0.0).
 */
export function clientIp(forwardedFor: string | undefined, socketAddress: string | undefined, hops: number | null): string | null {
  if (hops !== null) {
    const entries = (forwardedFor ?? '').split(',').map((entry) => entry.trim());
    const entry = entries[entries.length - hops];
    if (entry === undefined || !ipaddr.isValid(entry)) return null;
    const address = ipaddr.process(entry);
    return PROXY_RANGES.has(address.range()) ? null : address.toString();
  }
  if (!socketAddress || !ipaddr.isValid(socketAddress)) return null;
  const address = ipaddr.process(socketAddress);
  return address.range() === 'unspecified' ? null : address.toString();
}

/**
 * Routes that count their own rate-limit hit in the statement that does their work (one round
 * trip instead of two): POST /tasks. The middleware leaves them alone.
 */
const SELF_LIMITED = new Set(['POST /api/v1/tasks']);

/** The bucket of an API key: a prefix of its hash, never the key. */
export const keyCaller = (keyHash: string) => `key:${keyHash.slice(0, 32)}`;

/**
 * Who is calling, for rate limits: `key:…` for a valid API key (the agent is kept for
 * requireAgent), `operator:<sub>` for a verified operator (kept for requireOperatorIdentity), or
 * null for anyone else, whose credentials, if any, are refused later by the route's guard.
 */
export async function identifyCaller(c: Context<AppEnv>, deps: Deps): Promise<string | null> {
  const key = c.req.header('x-api-key');
  if (key !== undefined) {
    if (agentKeyProblem(key, deps.config.mode)) return null;
    const agent = await authenticateAgent(deps, key).catch(() => null);
    if (!agent) return null;
    c.set('keyOwner', agent);
    return keyCaller(await sha256Hex(key));
  }
  const operator = await operatorOf(c, deps).catch(() => null);
  if (!operator) return null;
  c.set('operator', operator);
  return `operator:${operator.id}`;
}

/**
 * The rate-limit bucket (caller + route pattern) and limit of a request; null when not limited.
 * Known callers (`caller`) count on their own; anonymous ones per address, or, where no address
 * can be trusted, together in one bucket with its own generous limit.
 */
export function rateLimitOf(c: Context<AppEnv>, { config }: Deps, caller: string | null): { bucket: string; limit: number } | null {
  const route = matchedRoute(c);
  if (!config.rateLimit.enabled || route?.path.endsWith('/health')) return null;
  const routeName = route ? `${route.method} ${route.path}` : 'unmatched';
  const upload = route?.path.endsWith('/operator/upload');
  if (caller) return { bucket: `${caller} ${routeName}`, limit: upload ? config.rateLimit.uploadsPerMinute : config.rateLimit.perMinute };
  const ip = clientIp(c.req.header('x-forwarded-for'), c.env?.remoteAddr?.hostname, config.trustProxyHeaders ? config.trustedProxyHops : null);
  if (ip) return { bucket: `${ip} ${routeName}`, limit: upload ? config.rateLimit.uploadsPerMinute : config.rateLimit.perMinute };
  return { bucket: `anonymous ${routeName}`, limit: config.rateLimit.anonymousPerMinute };
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
 * Fixed-window rate limit per caller and route pattern, counted in Postgres so it holds across
 * function instances (api.hit_rate_limit says how the count is spread over rows). Health checks are
 * exempt so monitors never see a 429.
 */
export function rateLimit(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const route = matchedRoute(c);
    if (!deps.config.rateLimit.enabled || (route && SELF_LIMITED.has(`${route.method} ${route.path}`))) return next();
    const limiter = rateLimitOf(c, deps, await identifyCaller(c, deps));
    if (!limiter) return next();
    const headers = await countHit(deps, limiter);
    await next();
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
  };
}
