/** Request ids and the one JSON log line per request. */
import type { MiddlewareHandler } from 'hono';
import { randomBase62 } from '../../_shared/crypto.ts';
import { log } from '../../_shared/log.ts';
import type { AppEnv } from '../context.ts';
import { matchedRoute } from './route.ts';

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
