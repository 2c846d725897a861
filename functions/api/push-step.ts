/**
 * Web Push in the worker: first the fan-out of new tasks to the operators near them (in SQL,
 * through the operators' location index, capped per operator an hour), then the outbox: due
 * deliveries claimed with a lease, encrypted for their subscription (RFC 8291, aes128gcm) and
 * signed with the VAPID key (RFC 8292) by @block65/webcrypto-web-push, which needs only Web Crypto
 * and fetch (so it runs on the edge), and posted to the push service (RFC 8030).
 */
import { buildPushPayload } from '@block65/webcrypto-web-push';
import type { Deps } from './context.ts';
import type { WorkStep } from './worker.ts';

const FAN_OUT_TASKS = 50;
const BATCH = 50;
/** Kept after the last delivery for recording it and the tick's later steps. */
const TAIL_MS = 1_000;

interface Delivery {
  id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  payload: Record<string, unknown>;
  ttl_seconds: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
  lease: string;
}

type Outcome = { outcome: 'sent' | 'gone' | 'failed'; statusCode: number | null; error: string | null; retry: boolean };

/** Whether `endpoint` is an https URL on one of the allowed push services (null: any). */
export function pushEndpointProblem(endpoint: string, serviceHosts: string[] | null): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol !== 'https:') return 'must be an https URL';
  if (url.username || url.password) return 'must not carry credentials';
  if (serviceHosts === null) return null;
  const host = url.hostname.toLowerCase();
  return serviceHosts.some((allowed) => host === allowed || host.endsWith(`.${allowed}`))
    ? null
    : `must be on a browser push service (${serviceHosts.join(', ')})`;
}

async function send(deps: Deps, delivery: Delivery, timeoutMs: number): Promise<Outcome> {
  const vapid = deps.config.push.vapid!;
  if (pushEndpointProblem(delivery.endpoint, deps.config.push.serviceHosts)) {
    return { outcome: 'gone', statusCode: null, error: 'endpoint no longer allowed', retry: false };
  }
  const request = await buildPushPayload(
    { data: delivery.payload as never, options: { ttl: delivery.ttl_seconds, urgency: delivery.urgency === 'very-low' ? 'low' : delivery.urgency } },
    { endpoint: delivery.endpoint, expirationTime: null, keys: { p256dh: delivery.p256dh, auth: delivery.auth } },
    vapid,
  );
  // buildPushPayload leaves TTL 0 out as "unset" (it falls back to 60 s); 0 means deliver now or drop.
  request.headers.ttl = String(delivery.ttl_seconds);
  try {
    const response = await fetch(delivery.endpoint, {
      method: 'POST', headers: request.headers, body: request.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { outcome: 'sent', statusCode: response.status, error: null, retry: false };
    if (response.status === 404 || response.status === 410) return { outcome: 'gone', statusCode: response.status, error: null, retry: false };
    // 429 and 5xx are the service's trouble: later. Other answers (400, 401, 403, 413) will not change.
    const retry = response.status === 429 || response.status >= 500;
    return { outcome: 'failed', statusCode: response.status, error: `push service answered ${response.status}`, retry };
  } catch (error) {
    return { outcome: 'failed', statusCode: null, error: error instanceof Error ? error.message : String(error), retry: true };
  }
}

export const pushNotifications: WorkStep = {
  name: 'push_notifications',
  run: async (deps, tick) => {
    const { db, config } = deps;
    if (!config.push.vapid) return 0;
    await db.asService((tx) => tx`select api.fan_out_new_tasks(${config.push.hourlyCap}, ${FAN_OUT_TASKS})`);
    const timeoutMs = Math.min(config.push.timeoutMs, tick.deadline - TAIL_MS - Date.now());
    if (timeoutMs <= 0) return 0;
    const lease = Math.ceil((config.push.timeoutMs * 2) / 1000) + 30;
    const claimed = await db.asService((tx) => tx<Delivery[]>`
      select id::text, endpoint, p256dh, auth, payload, ttl_seconds, urgency, lease from api.claim_push_deliveries(${BATCH}, ${lease})`);
    await Promise.all(claimed.map(async (delivery) => {
      const result = await send(deps, delivery, timeoutMs);
      await db.asService((tx) => tx`
        select api.record_push_delivery(${delivery.id}::bigint, ${delivery.lease}::uuid, ${result.outcome}, ${result.statusCode},
                                        ${result.error}, ${result.retry})`);
    }));
    return claimed.length;
  },
};
