/**
 * One task: its facts, the timeline, the proof (photos through their signed URLs, with the place
 * and time their EXIF gives), the Guardian's reasoning and the webhook deliveries; and what the
 * owner can do at its stage: approve or decline, approve or reject the work, cancel, rate.
 */
import { useEffect, useState } from 'preact/hooks';
import { readFacts, type PhotoFacts } from '../../exif.ts';
import { usd } from '../../format.ts';
import { typeName } from '../../task-types.ts';
import { useFocusOnMount } from '../../hooks.ts';
import { call } from '../api.ts';
import { refreshApprovals } from '../live.ts';
import { explain, fieldError, STATUS_WORDS } from '../messages.ts';
import type { Delivery, TaskEvent } from '../types.ts';

interface Task {
  task_id: string; title: string; description: string; status: string; task_type: string;
  location: { lat: number | null; lng: number | null; address: string | null };
  reward_usd: number; platform_fee_usd: number; total_escrow_usd: number; deadline: string; proof_requirements: string[];
  proof: { photos: string[]; notes: string | null; confirmation_text: string | null; reference_url: string | null } | null;
  guardian_result: { decision: string | null; reasoning: string | null; confidence?: number | null } | null;
  operator: { id: string; name: string; rating: number | null } | null;
}

interface Loaded { task: Task; events: TaskEvent[]; deliveries: Delivery[] }

export function TaskPage({ id }: { id: string }) {
  const heading = useFocusOnMount<HTMLHeadingElement>(id);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = `/tasks/${encodeURIComponent(id)}`;
  const load = () => Promise.all([
    call<Task>('GET', path),
    call<{ data: TaskEvent[] }>('GET', `${path}/events`),
    call<{ data: Delivery[] }>('GET', `${path}/webhooks`),
  ]).then(([task, events, deliveries]) => setLoaded({ task, events: events.data, deliveries: deliveries.data }), (failure) => setError(explain(failure)));
  useEffect(() => {
    load();
  }, [id]);

  const task = loaded?.task;
  return (
    <section class="screen" aria-labelledby="task-title">
      <p><a href="#/tasks">← All tasks</a></p>
      <h1 id="task-title" tabIndex={-1} ref={heading}>{task?.title ?? 'Task'}</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {loaded && task && (
        <>
          <p class="status-line">{STATUS_WORDS[task.status] ?? task.status}</p>
          <dl class="facts">
            <dt>Reward</dt><dd>{usd(task.reward_usd)} + {usd(task.platform_fee_usd)} fee</dd>
            <dt>Type</dt><dd>{typeName(task.task_type)}</dd>
            <dt>Where</dt><dd>{task.location.address ?? 'Remote'}</dd>
            <dt>Deadline</dt><dd>{new Date(task.deadline).toLocaleString()}</dd>
            <dt>Operator</dt><dd>{task.operator ? task.operator.name : 'None yet'}</dd>
          </dl>
          <p class="text">{task.description}</p>
          <Actions task={task} onDone={load} />
          <h2>Timeline</h2>
          <ol class="timeline">
            {loaded.events.map((e) => <li><time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time> {STATUS_WORDS[e.to_status] ?? e.to_status} <span class="muted">by {e.actor}</span></li>)}
          </ol>
          {task.proof && <Proof proof={task.proof} />}
          {task.guardian_result && (
            <>
              <h2>The Guardian</h2>
              <p><strong>{task.guardian_result.decision ?? 'No decision'}</strong></p>
              {task.guardian_result.reasoning && <p class="text">{task.guardian_result.reasoning}</p>}
            </>
          )}
          <h2>Webhook deliveries</h2>
          {loaded.deliveries.length === 0 ? <p class="muted">None: this task has no callback URL, or nothing happened yet.</p> : (
            <ul class="plain">{loaded.deliveries.map((d) => <li key={d.delivery_id}>{d.event}: {d.status}, {d.attempts} attempt{d.attempts === 1 ? '' : 's'}{d.last_status_code ? ` (HTTP ${d.last_status_code})` : ''}</li>)}</ul>
          )}
        </>
      )}
    </section>
  );
}

function Proof({ proof }: { proof: NonNullable<Task['proof']> }) {
  return (
    <>
      <h2>Proof</h2>
      {proof.photos.length > 0 && <ul class="photos">{proof.photos.map((url, i) => <Photo key={url} url={url} number={i + 1} />)}</ul>}
      {proof.notes && <p class="text">Notes: {proof.notes}</p>}
      {proof.confirmation_text && <p class="text">{proof.confirmation_text}</p>}
      {proof.reference_url && <p>Reference: <a href={proof.reference_url} rel="noopener noreferrer nofollow" target="_blank">{proof.reference_url}</a></p>}
    </>
  );
}

/** A proof photo through its signed URL, with the place and time its EXIF says. */
function Photo({ url, number }: { url: string; number: number }) {
  const [facts, setFacts] = useState<PhotoFacts | null>(null);
  useEffect(() => {
    fetch(url).then((r) => r.blob()).then(readFacts).then(setFacts, () => setFacts({}));
  }, [url]);
  return (
    <li class="photo">
      <img src={url} alt={`Proof photo ${number}`} />
      <p>
        {facts === null ? 'Reading the photo’s details…' : (
          <>
            {facts.lat !== undefined && facts.lng !== undefined ? `Taken at ${facts.lat.toFixed(5)}, ${facts.lng.toFixed(5)}` : 'No GPS place'}
            <br />
            {facts.takenAt ? `on ${facts.takenAt.toLocaleString()}` : 'No capture time'}
          </>
        )}
      </p>
    </li>
  );
}

function Actions({ task, onDone }: { task: Task; onDone: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [rating, setRating] = useState('5');
  const path = `/tasks/${encodeURIComponent(task.task_id)}`;
  const act = async (action: string, body: unknown, words: string) => {
    setError(null);
    try {
      await call('POST', `${path}/${action}`, { body });
      setDone(words);
      if (action === 'approve' || action === 'decline') refreshApprovals();
      onDone();
    } catch (failure) {
      setError(failure);
    }
  };
  const general = error && !fieldError(error, 'reason') && !fieldError(error, 'rating') ? explain(error) : null;
  const s = task.status;
  return (
    <div class="actions">
      {done && <p class="ok" role="status">{done}</p>}
      {general && <p class="error" role="alert">{general}</p>}
      {s === 'PENDING_APPROVAL' && (
        <div class="decide">
          <button class="primary" onClick={() => act('approve', undefined, 'Approved: it is open to operators.')}>Approve</button>
          <button onClick={() => act('decline', undefined, 'Declined: reward and fee refunded.')}>Decline</button>
        </div>
      )}
      {['SUBMITTED', 'VERIFIED', 'MANUAL_REVIEW', 'DISPUTED'].includes(s) && (
        <>
          <button class="primary" onClick={() => act('verify', { decision: 'APPROVE' }, 'Approved: the operator is paid.')}>Approve the work</button>
          {['SUBMITTED', 'MANUAL_REVIEW', 'DISPUTED'].includes(s) && (
            <form class="panel" noValidate onSubmit={(e) => { e.preventDefault(); act('verify', { decision: 'REJECT', ...(reason ? { reason } : {}) }, 'Rejected.'); }}>
              <label for="reject-reason">Why the work is rejected</label>
              <textarea id="reject-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)}
                aria-invalid={fieldError(error, 'reason') ? true : undefined} aria-describedby={fieldError(error, 'reason') ? 'reason-error' : undefined} />
              {fieldError(error, 'reason') && <p id="reason-error" class="error" role="alert">{fieldError(error, 'reason')}</p>}
              <button type="submit">Reject</button>
            </form>
          )}
        </>
      )}
      {(s === 'PENDING' || s === 'ACCEPTED') && (
        <button onClick={() => confirm('Cancel this task? Reward and fee go back to your deposit.') && act('cancel', undefined, 'Cancelled: reward and fee refunded.')}>Cancel the task</button>
      )}
      {s === 'COMPLETED' && (
        <form class="panel" noValidate onSubmit={(e) => { e.preventDefault(); act('rate', { rating: Number(rating) }, 'Thank you: the rating is saved.'); }}>
          <label for="rating">Rate the operator (1–5)</label>
          <input id="rating" type="number" min={1} max={5} value={rating} onInput={(e) => setRating(e.currentTarget.value)}
            aria-invalid={fieldError(error, 'rating') ? true : undefined} aria-describedby={fieldError(error, 'rating') ? 'rating-error' : undefined} />
          {fieldError(error, 'rating') && <p id="rating-error" class="error" role="alert">{fieldError(error, 'rating')}</p>}
          <button type="submit">Rate</button>
        </form>
      )}
    </div>
  );
}
