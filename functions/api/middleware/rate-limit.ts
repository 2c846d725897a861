/** Fixed-window rate limits per client address and route, counted in Postgres. */
import type { Context, MiddlewareHandler } from 'hono';
import ipaddr from 'ipaddr.js';
import { ApiError } from '../../_shared/errors.ts';
import type { AppEnv, Deps } from '../context.ts';
import { matchedRoute } from './route.ts';

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
