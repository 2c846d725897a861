/** Request ids and the JSON log line per request, sampled above a rate. */
import type { MiddlewareHandler } from 'hono';
import { randomBase62 } from '../../_shared/crypto.ts';
import { log } from '../../_shared/log.ts';
import type { AppEnv, Deps } from '../context.ts';
import { matchedRoute } from './route.ts';

const WINDOW_MS = 10_000;

/**
 * Which requests get a line of their own: per worker, the first `perWindow` in each 10 s window and
 * every 5xx; the rest are counted, and the count is logged (by status class) with the first
 * request of the next window. Supabase keeps about 100 log events per 10 s per function; past that
 * it drops them, the errors with the rest.
 */
function sampler(perWindow: number) {
  let windowStart = 0;
  let logged = 0;
  let skipped: Record<string, number> = {};
  return (status: number): boolean => {
    const now = Date.now();
    if (now - windowStart >= WINDOW_MS) {
      const count = Object.values(skipped).reduce((sum, n) => sum + n, 0);
      if (count > 0) log('info', 'requests not logged', { window_s: WINDOW_MS / 1000, count, by_status: skipped });
      windowStart = now;
      logged = 0;
      skipped = {};
    }
    if (status >= 500 || logged < perWindow) {
      logged++;
      return true;
    }
    const statusClass = `${Math.floor(status / 100)}xx`;
    skipped[statusClass] = (skipped[statusClass] ?? 0) + 1;
    return false;
  };
}

/** X-Request-Id on every response (the caller's, if sane) and a JSON log line per request (sampled, see sampler). */
export function requestLog({ config }: Deps): MiddlewareHandler<AppEnv> {
  const admit = sampler(config.requestLogsPer10s);
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : `req_${randomBase62(20)}`;
    c.set('requestId', requestId);
    await next();
    c.header('X-Request-Id', requestId);
    if (c.get('quiet') || !admit(c.res.status)) return;
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
