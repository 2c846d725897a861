/**
 * Whether the app can reach the API. `navigator.onLine` alone is not enough: a browser may keep it
 * true with no route to the server (Chromium 150 does after an offline reload), and a phone on a dead
 * cell is "online" too. So a request that fails at the network level (not an HTTP status) marks the
 * app offline until a request succeeds again; while offline, a light probe of `/health` notices the
 * way back without waiting for the operator to do something.
 */
import { API_URL } from './config.ts';

const PROBE_MS = 10_000;
let reachable = navigator.onLine;
let probe: ReturnType<typeof setInterval> | undefined;
const listeners = new Set<(online: boolean) => void>();

function set(online: boolean) {
  if (online === reachable) return;
  reachable = online;
  if (online) {
    clearInterval(probe);
    probe = undefined;
  } else {
    probe ??= setInterval(() => void connectedFetch(`${API_URL}/api/v1/health`, { cache: 'no-store' }).catch(() => undefined), PROBE_MS);
  }
  listeners.forEach((listener) => listener(online));
}

export const isOnline = () => reachable;

/** Calls `listener` whenever the app goes offline or comes back; returns the unsubscribe. */
export function onConnectivityChange(listener: (online: boolean) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** What a request outside `connectedFetch` (an XMLHttpRequest upload, say) learnt of the connection. */
export const reportConnection = (online: boolean) => set(online);

/** fetch, reporting what it learns about the connection: any HTTP answer means online. */
export async function connectedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  try {
    const response = await fetch(input, init);
    set(true);
    return response;
  } catch (error) {
    // An abort is the caller's choice, not the network's verdict.
    if ((error as Error).name !== 'AbortError' || !init?.signal?.aborted) set(false);
    throw error;
  }
}

addEventListener('online', () => set(true));
addEventListener('offline', () => set(false));
