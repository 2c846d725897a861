/**
 * The webhook worker step: claims due deliveries with a lease and sends them concurrently, each
 * task's in order. The claim shares the worker fairly (api.claim_webhook_deliveries: a few at a time
 * per agent and per receiver, round-robin across agents, none to a receiver whose circuit is open),
 * so one agent's receiver that never answers holds up only its own deliveries.
 */
import { deliver } from '../_shared/webhooks.ts';
import type { WorkStep } from './worker.ts';

const BATCH = 20;
/** Attempts before a delivery is marked failed; with the backoff in SQL, about a day. */
export const MAX_WEBHOOK_ATTEMPTS = 8;

/**
 * A task's next event is claimable only once the one before it is settled, so a tick claims again
 * while deliveries keep succeeding: a task's whole story goes out in one tick, in order. New rounds
 * stop after a few seconds, or sooner at the tick's deadline, so one tick stays short.
 */
const MAX_ROUNDS = 10;
const ROUNDS_BUDGET_MS = 5_000;
/** A round starts only with this much time left: less is not worth a receiver's answer. */
const MIN_ROUND_MS = 1_000;
/** Kept after the last delivery for recording it and the tick's later steps. */
const TAIL_MS = 1_000;

export const webhookDeliveries: WorkStep = {
  name: 'webhook_deliveries',
  run: async ({ db, config }, tick) => {
    const lease = Math.ceil((config.webhooks.timeoutMs * 2) / 1000) + 30;
    const started = Date.now();
    const left = () => tick.deadline - TAIL_MS - Date.now();
    let sent = 0;
    for (let round = 0; round < MAX_ROUNDS && Date.now() - started < ROUNDS_BUDGET_MS && left() >= MIN_ROUND_MS; round++) {
      // Each delivery of the round gets at most what is left of the tick.
      const timeoutMs = Math.min(config.webhooks.timeoutMs, left());
      const claimed = await db.asService((tx) => tx<{ id: string; url: string; secret: string | null; payload: unknown; fail: boolean; lease: string }[]>`
        select id, url, secret, payload, fail, lease from api.claim_webhook_deliveries(${BATCH}, ${lease})`);
      // Concurrently: a slow receiver holds up only its own delivery.
      const delivered = await Promise.all(claimed.map(async (delivery) => {
        const result = delivery.fail
          ? { delivered: false, statusCode: null, error: 'sandbox: forced failure' }
          : await deliver(delivery, { allowPrivate: config.webhooks.allowPrivateAddresses, timeoutMs });
        // What the receiver did feeds its circuit breaker: an answer (any status) closes it, a
        // timeout counts towards opening it, unless the tick had cut the timeout short. A refused
        // connection costs no one any time: neither.
        const silent = result.timedOut === true && timeoutMs >= config.webhooks.timeoutMs;
        const answered = result.statusCode !== null ? true : silent ? false : null;
        await db.asService((tx) => tx`
          select api.record_webhook_attempt(${delivery.id}, ${delivery.lease}::uuid, ${result.delivered}, ${result.statusCode}, ${result.error}, ${MAX_WEBHOOK_ATTEMPTS}),
                 api.note_webhook_receiver(${delivery.url}, ${answered}::boolean)`);
        return result.delivered;
      }));
      sent += claimed.length;
      if (!delivered.some(Boolean)) break;
    }
    return sent;
  },
};
