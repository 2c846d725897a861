/** Which route pattern answered a request: the key of rate limits, scopes and request logs. */
import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';

/** The route pattern that answered (e.g. `/api/v1/tasks/:id`), or null when none did. */
export function matchedRoute(c: Context): { method: string; path: string } | null {
  const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL');
  return route ? { method: route.method, path: route.path } : null;
}
