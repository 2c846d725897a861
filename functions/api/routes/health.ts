import { Hono } from 'hono';
import { VERSION } from '../../_shared/version.ts';
import type { AppEnv, Deps } from '../context.ts';

/** GET /health: the API is up and can reach its database. */
export function healthRoutes({ db }: Deps) {
  return new Hono<AppEnv>().get('/health', async (c) => {
    try {
      await db.sql`select 1`;
      return c.json({ status: 'ok', database: 'ok', version: VERSION });
    } catch {
      return c.json({ status: 'degraded', database: 'unreachable', version: VERSION }, 503);
    }
  });
}
