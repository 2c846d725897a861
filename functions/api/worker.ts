/**
 * Background work, one tick at a time: expire overdue tasks, settle confirmed disputes, release held earnings, run the Guardian
 * over queued submissions, deliver webhooks and push alerts, send and confirm payouts, sweep proof files never submitted, purge old bookkeeping. Every step is idempotent and
 * safe to run concurrently (rows are claimed with SKIP LOCKED or guarded by state), so it does not
 * matter whether the local stack's ticker or pg_cron + pg_net on Supabase calls it, or both.
 * A tick works to a budget (TICK_BUDGET_MS): the slow steps (the model, webhook receivers) stop
 * where it ends, so a tick ends well inside the edge runtime's wall clock; leases catch the rest.
 */
import { log } from '../_shared/log.ts';
import type { Deps } from './context.ts';
import { guardianJobs } from './guardian-step.ts';
import { payouts } from './payout-step.ts';
import { removeProofFiles, sweepUnboundProofFiles } from './proof-files.ts';
import { pushNotifications } from './push-step.ts';
import { webhookDeliveries } from './webhook-step.ts';

/** One tick's bounds: what its steps need to finish in time. */
export interface Tick {
  /** Epoch ms by which the tick must be done (TICK_BUDGET_MS after it started). */
  deadline: number;
  /** The API's origin as the tick was called, for signed URLs of the local storage. */
  origin: string;
}

export interface WorkStep {
  name: string;
  /** Does one batch of work within the tick's deadline; returns how many items it handled. */
  run(deps: Deps, tick: Tick): Promise<number>;
}

export const expireTasks: WorkStep = {
  name: 'expired_tasks',
  run: async ({ db }) => {
    const [{ expired }] = await db.asService((tx) => tx<{ expired: number }[]>`select api.expire_overdue_tasks() as expired`);
    return expired;
  },
};

/**
 * Guardian disputes the agent confirmed while the operator could still act, whose operator did not
 * (no new proof by the deadline, no appeal within the window): refunded to the agent.
 */
export const settleConfirmedDisputes: WorkStep = {
  name: 'settled_disputes',
  run: async ({ db }) => {
    const [{ settled }] = await db.asService((tx) => tx<{ settled: number }[]>`select api.settle_confirmed_disputes() as settled`);
    return settled;
  },
};

/**
 * Accepted tasks nobody started within the hold go back to the feed, as if handed back (the agent
 * hears task.released); the files uploaded for them are removed.
 */
export const releaseUnstartedTasks: WorkStep = {
  name: 'released_unstarted_tasks',
  run: async ({ db, config, storage }) => {
    const { physicalSeconds, digitalSeconds } = config.unstartedHold;
    const released = await db.asService((tx) => tx<{ task_id: string; discarded_files: string[] }[]>`
      select task_id, discarded_files from api.release_unstarted_tasks(
        make_interval(secs => ${physicalSeconds}), ${digitalSeconds === null ? null : `${digitalSeconds} seconds`}::interval)`);
    await removeProofFiles(storage, released.flatMap((task) => task.discarded_files));
    return released.length;
  },
};

/** Tasks that waited for their owner's approval past the window: expired and refunded. */
export const expireUnapprovedTasks: WorkStep = {
  name: 'expired_approvals',
  run: async ({ db }) => {
    const [{ expired }] = await db.asService((tx) => tx<{ expired: number }[]>`select api.expire_unapproved_tasks() as expired`);
    return expired;
  },
};

export const releaseEarnings: WorkStep = {
  name: 'released_earnings',
  run: async ({ db, config }) => {
    const [{ released }] = await db.asService((tx) => tx<{ released: number }[]>`
      select api.release_earnings(make_interval(secs => ${config.earningsHoldSeconds})) as released`);
    return released;
  },
};

export const maintenance: WorkStep = {
  name: 'maintenance',
  run: async ({ db }) => {
    await db.asService((tx) => tx`select api.run_maintenance()`);
    return 1;
  },
};

/** Proof files uploaded without a task and never submitted: gone after a day, from storage too. */
export const unboundProofFiles: WorkStep = {
  name: 'swept_proof_files',
  run: ({ db, storage }) => (storage ? sweepUnboundProofFiles({ db, storage }) : Promise.resolve(0)),
};

/** What one tick does, in order. */
export const WORK_STEPS: WorkStep[] = [
  expireTasks, settleConfirmedDisputes, expireUnapprovedTasks, releaseUnstartedTasks, guardianJobs, webhookDeliveries, pushNotifications, releaseEarnings, payouts,
  unboundProofFiles, maintenance,
];

/** Runs every step once; a failing step is logged and does not stop the others. */
export async function runTick(deps: Deps, steps: WorkStep[], tick: Tick): Promise<Record<string, number | string>> {
  const summary: Record<string, number | string> = {};
  for (const step of steps) {
    try {
      summary[step.name] = await step.run(deps, tick);
    } catch (error) {
      log('error', 'worker step failed', { step: step.name, error: error instanceof Error ? error.message : String(error) });
      summary[step.name] = 'failed';
    }
  }
  return summary;
}
