/**
 * POST /internal/tick: one round of background work (see ../worker.ts), for the local ticker and
 * for pg_cron + pg_net on Supabase. Protected by X-Worker-Secret; absent without WORKER_SECRET.
 */
import { Hono } from 'hono';
import { secretsEqual } from '../../_shared/crypto.ts';
import { ApiError } from '../../_shared/errors.ts';
import type { AppEnv, Deps } from '../context.ts';
import { runTick, type WorkStep } from '../worker.ts';

export function internalRoutes(deps: Deps, steps: WorkStep[]) {
  const app = new Hono<AppEnv>();
  app.post('/internal/tick', async (c) => {
    const given = c.req.header('x-worker-secret');
    if (!deps.config.workerSecret || !given || !(await secretsEqual(given, deps.config.workerSecret))) {
      throw new ApiError(403, 'worker_secret_required', 'This route requires a valid X-Worker-Secret header');
    }
    const ran = await runTick(deps, steps);
    // A tick every 2 s that found nothing to do would drown the log: only the ones that worked show.
    c.set('quiet', Object.entries(ran).every(([step, done]) => step === 'maintenance' || done === 0));
    return c.json({ ran });
  });
  return app;
}
