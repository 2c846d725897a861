/**
 * POST /internal/tick: one round of background work (see ../worker.ts), for the local ticker and
 * for pg_cron + pg_net on Supabase. Protected by X-Worker-Secret; absent without WORKER_SECRET.
 */
import { Hono } from 'hono';
import { secretsEqual } from '../../_shared/crypto.ts';
import { ApiError } from '../../_shared/errors.ts';
import { log } from '../../_shared/log.ts';
import type { AppEnv, Deps } from '../context.ts';
import { metered } from '../tick-meter.ts';
import { runTick, type WorkStep } from '../worker.ts';

export function internalRoutes(deps: Deps, steps: WorkStep[]) {
  const app = new Hono<AppEnv>();
  app.post('/internal/tick', async (c) => {
    const given = c.req.header('x-worker-secret');
    if (!deps.config.workerSecret || !given || !(await secretsEqual(given, deps.config.workerSecret))) {
      throw new ApiError(403, 'worker_secret_required', 'This route requires a valid X-Worker-Secret header');
    }
    const tick = { deadline: Date.now() + deps.config.tickBudgetMs, origin: new URL(c.req.url).origin };
    const { result: ran, usage } = await metered(() => runTick(deps, steps, tick));
    // A tick every 2 s that found nothing to do would drown the log: only the ones that worked show.
    const idle = Object.entries(ran).every(([step, done]) => step === 'maintenance' || done === 0);
    c.set('quiet', idle);
    if (!idle) log('info', 'tick', { ran, duration_ms: usage.durationMs, cpu_ms: usage.cpuMs, peak_memory_mb: usage.peakMemoryMb });
    return c.json({ ran });
  });
  return app;
}
