/** Cross-origin access for the allowed browser origins. */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv, Deps } from '../context.ts';

/**
 * CORS for the allowed origins, answered before rate limits and authentication (a preflight carries
 * no credentials). A request from any other origin gets no `Access-Control-*` header at all, so
 * the browser keeps the response from that page; calls without an Origin (servers, SDKs) are as before.
 */
export function corsPolicy({ config }: Deps): MiddlewareHandler<AppEnv> {
  const origins = config.cors.allowedOrigins;
  const allowed = (origin: string) => origins.includes('*') || origins.includes(origin);
  const headers = ['Authorization', 'Content-Type', 'X-API-Key', 'Idempotency-Key', 'X-Request-Id', 'X-Agent-Id'];
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
