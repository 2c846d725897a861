/**
 * Tasks waiting for approval, kept current for every screen: polled every few seconds while the
 * page is visible (an approval that waits for someone to reload lapses), at once when it becomes
 * visible again. New ones are announced; a phone alert is the seam below.
 */
import { useEffect, useState } from 'preact/hooks';
import { call } from './api.ts';
import type { PendingApproval } from './types.ts';

export const POLL_MS = 3000;

type Listener = (tasks: PendingApproval[]) => void;
const listeners = new Set<Listener>();
let latest: PendingApproval[] | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let seen = new Set<string>();

/**
 * Where a Web Push subscription would hand new approvals to the phone: the console polls while it
 * is open; with push (the reach issue's infrastructure) the server would send `task.pending_approval`
 * to the owner's subscribed devices instead, and this is where the console would subscribe.
 */
export type ApprovalAlert = (fresh: PendingApproval[]) => void;
let alert: ApprovalAlert = () => {};
export const onNewApprovals = (handler: ApprovalAlert) => {
  alert = handler;
};

async function poll() {
  clearTimeout(timer);
  try {
    const { data } = await call<{ data: PendingApproval[] }>('GET', '/agents/approvals');
    const fresh = latest === null ? [] : data.filter((t) => !seen.has(t.task_id));
    seen = new Set(data.map((t) => t.task_id));
    latest = data;
    listeners.forEach((listener) => listener(data));
    if (fresh.length) alert(fresh);
  } catch {
    // The next round tries again; screens show their own errors.
  }
  if (listeners.size && document.visibilityState === 'visible') timer = setTimeout(poll, POLL_MS);
}

/** Asks again now (after an approval or a decline). */
export const refreshApprovals = () => poll();

/** Forgets what was seen (another agent was chosen). */
export function resetApprovals() {
  latest = null;
  seen = new Set();
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && listeners.size) poll();
});

export function usePendingApprovals(): PendingApproval[] | null {
  const [tasks, setTasks] = useState(latest);
  useEffect(() => {
    listeners.add(setTasks);
    if (listeners.size === 1) poll();
    else setTasks(latest);
    return () => {
      listeners.delete(setTasks);
    };
  }, []);
  return tasks;
}
