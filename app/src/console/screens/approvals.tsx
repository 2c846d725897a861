/** Tasks waiting for the owner: reward, fee, requirements, the key that posted, the rule that held it, the time left; approve or decline. */
import { useEffect, useState } from 'preact/hooks';
import { timeLeft, usd } from '../../format.ts';
import { typeName } from '../../task-types.ts';
import { useFocusOnMount, useNow } from '../../hooks.ts';
import { call } from '../api.ts';
import { refreshApprovals, usePendingApprovals } from '../live.ts';
import { explain } from '../messages.ts';
import { type AlertState, alertState, turnOffAlerts, turnOnAlerts } from '../push.ts';
import type { PendingApproval } from '../types.ts';

export function Approvals() {
  const heading = useFocusOnMount<HTMLHeadingElement>('approvals');
  const tasks = usePendingApprovals();
  const [outcomes, setOutcomes] = useState<Record<string, string>>({});
  return (
    <section class="screen" aria-labelledby="approvals-title">
      <h1 id="approvals-title" tabIndex={-1} ref={heading}>Approvals</h1>
      <p class="muted">Tasks above a key’s approval threshold wait here with their money in escrow. Unanswered, they expire with a full refund.</p>
      <DeviceAlerts />
      <div aria-live="polite">
        {Object.entries(outcomes).map(([id, text]) => <p key={id} class="ok" role="status">{text}</p>)}
      </div>
      {tasks === null ? <p class="muted" role="status">Loading…</p>
        : tasks.length === 0 ? <p>Nothing is waiting for you.</p>
        : <ul class="cards">{tasks.map((task) => <Waiting key={task.task_id} task={task} onDecided={(text) => setOutcomes((o) => ({ ...o, [task.task_id]: text }))} />)}</ul>}
    </section>
  );
}

function Waiting({ task, onDecided }: { task: PendingApproval; onDecided: (text: string) => void }) {
  const now = useNow(30_000);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const decide = async (action: 'approve' | 'decline') => {
    setBusy(true);
    setError(null);
    try {
      const result = await call<{ status: string; refunded_usd?: number }>('POST', `/tasks/${encodeURIComponent(task.task_id)}/${action}`);
      onDecided(action === 'approve'
        ? `Approved “${task.title}”: it is open to operators (${result.status}).`
        : `Declined “${task.title}”: ${usd(result.refunded_usd ?? 0)} went back to your deposit.`);
      await refreshApprovals();
    } catch (failure) {
      setError(explain(failure));
      setBusy(false);
    }
  };
  const titleId = `approval-${task.task_id}`;
  return (
    <li class="card" aria-labelledby={titleId}>
      <div class="card-top"><a id={titleId} href={`#/tasks/${encodeURIComponent(task.task_id)}`}>{task.title}</a><span class="reward">{usd(task.reward_usd)}</span></div>
      <dl class="facts">
        <dt>Type</dt><dd>{typeName(task.task_type)}</dd>
        <dt>Fee</dt><dd>{usd(task.platform_fee_usd)} (in escrow: {usd(task.total_escrow_usd)})</dd>
        <dt>Posted by</dt><dd>{task.key ? `${task.key.name ?? 'unnamed key'} (${task.key.key_prefix})` : 'an owner'}</dd>
        <dt>Held by</dt><dd>{task.held_by
          ? `the approval threshold of ${usd(task.held_by.threshold_usd)} in ${task.held_by.policy === 'key' ? 'the key’s own policy' : 'the account default'}`
          : 'a threshold since removed'}</dd>
        <dt>Time left</dt><dd>{timeLeft(task.approval_expires_at, now)}</dd>
      </dl>
      {task.proof_requirements.length > 0 && (
        <><p class="muted">Proof required:</p><ul>{task.proof_requirements.map((r) => <li>{r}</li>)}</ul></>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      <div class="decide">
        <button class="primary" disabled={busy} onClick={() => decide('approve')} aria-describedby={titleId}>Approve</button>
        <button disabled={busy} onClick={() => decide('decline')} aria-describedby={titleId}>Decline</button>
      </div>
    </li>
  );
}

const ALERT_WORDS: Record<AlertState, string> = {
  unsupported: 'This browser cannot take alerts; this page shows new tasks as they come while it is open.',
  unavailable: 'Alerts are not set up on this server; this page shows new tasks as they come while it is open.',
  denied: 'Alerts are blocked for this site in the browser’s settings.',
  off: 'Get an alert on this device when a task starts waiting for you, even with the console closed.',
  on: 'This device gets an alert when a task starts waiting for you.',
};

/** Turns approval alerts on or off for this device (Web Push); permission is asked only on the tap. */
function DeviceAlerts() {
  const [state, setState] = useState<AlertState | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    alertState().then(setState, () => setState('unavailable'));
  }, []);
  const toggle = async () => {
    setError(null);
    try {
      if (state === 'on') {
        await turnOffAlerts();
        setState('off');
      } else setState(await turnOnAlerts());
    } catch (failure) {
      setError(explain(failure));
    }
  };
  if (!state) return null;
  return (
    <div class="panel" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Alerts on this device</h2>
      <p>{ALERT_WORDS[state]}</p>
      {(state === 'off' || state === 'on') && <button onClick={toggle}>{state === 'on' ? 'Stop alerts on this device' : 'Alert me on this device'}</button>}
      {error && <p class="error" role="alert">{error}</p>}
    </div>
  );
}
