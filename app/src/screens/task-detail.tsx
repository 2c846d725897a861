/** One task: what, where, for how much, by when; accept it, do it, prove it, follow its review. */
import { APIConnectionError, ConflictError, GoneError, type OperatorProfile, type OperatorTask } from '@humanops/sdk/operator';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { KycNotice } from '../components/kyc-notice.tsx';
import { LoadFailed } from '../components/load-failed.tsx';
import { ConfirmationForm } from '../components/confirmation-form.tsx';
import { CredentialForm } from '../components/credential-form.tsx';
import { ProofCapture } from '../components/proof-capture.tsx';
import { PushOffer } from '../components/push-offer.tsx';
import { TaskStatus } from '../components/task-status.tsx';
import { TaskThread } from '../components/task-thread.tsx';
import { ReleaseButton } from '../components/release-button.tsx';
import { RequesterCard } from '../components/requester-card.tsx';
import { ReviewPanel } from '../components/review-panel.tsx';
import { TaskRatings } from '../components/task-ratings.tsx';
import { outcomeShort, outcomeWords } from '../outcome-words.ts';
import { deadlineWords, timeLeft, usd } from '../format.ts';
import { typeName } from '../task-types.ts';
import { useFocusOnMount, useNow } from '../hooks.ts';
import { explain } from '../messages.ts';
import { bringIntoView } from '../scroll.ts';

/** While the Guardian or the requester is deciding, the screen checks again this often. */
const WATCH_MS = 3000;
const WATCHED = new Set(['SUBMITTED', 'VERIFIED', 'MANUAL_REVIEW']);
/** Statuses after which the deadline no longer matters: the screen shows the outcome instead. */
const CLOSED = new Set(['COMPLETED', 'DISPUTED', 'CANCELLED', 'EXPIRED']);

export function TaskDetail({ id, profile }: { id: string; profile: OperatorProfile }) {
  const [task, setTask] = useState<OperatorTask | null>(null);
  const [error, setError] = useState<{ message: string; offline: boolean } | null>(null);
  const [actionError, setActionError] = useState<{ action: 'accept' | 'start'; message: string; final: boolean } | null>(null);
  const startButton = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [released, setReleased] = useState(false);
  const heading = useFocusOnMount<HTMLHeadingElement>(task?.task_id);
  const now = useNow();

  const load = useCallback(async () => {
    try {
      setTask(await api.tasks.retrieve(id));
      setError(null);
    } catch (failure) {
      setError({ message: explain(failure), offline: failure instanceof APIConnectionError });
    }
  }, [id]);

  useEffect(() => {
    load();
  }, [load]);

  useEffect(() => {
    if (!task || !WATCHED.has(task.status)) return;
    const timer = setInterval(load, WATCH_MS);
    return () => clearInterval(timer);
  }, [task?.status, load]);

  const act = async (action: 'accept' | 'start') => {
    setBusy(true);
    setActionError(null);
    try {
      await api.tasks[action](id);
      await load();
      // The next step (Start, then the proof) appears below: bring it into view, past the bottom bar.
      if (action === 'accept') requestAnimationFrame(() => bringIntoView(startButton.current, true));
    } catch (failure) {
      setActionError({ action, message: explain(failure), final: failure instanceof ConflictError || failure instanceof GoneError });
    } finally {
      setBusy(false);
    }
  };

  if (error && !task) {
    return (
      <section class="screen" aria-labelledby="task-problem">
        <h1 id="task-problem">{error.offline ? 'Waiting for a connection' : 'Task unavailable'}</h1>
        <LoadFailed message={error.offline ? 'This task will load as soon as you are back online.' : error.message} onRetry={load}>
          <a class="button" href="#/">Back to tasks</a>
        </LoadFailed>
      </section>
    );
  }
  if (!task) return <p class="muted" role="status">Loading the task…</p>;

  const { lat, lng, address } = task.location;
  const mapsUrl = lat !== null && lng !== null ? `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lng}#map=18/${lat}/${lng}` : null;
  const held = task.status !== 'PENDING';

  return (
    <article class="screen" aria-labelledby="task-title">
      <p><a href="#/">← Tasks</a></p>
      <h1 id="task-title" tabIndex={-1} ref={heading}>{task.title}</h1>
      <p class="badges">
        <span class="badge">{typeName(task.task_type)}</span>
        {held && <span class="badge status">{outcomeShort(task)}</span>}
      </p>
      <dl class="facts">
        <dt>Reward</dt>
        <dd class="reward">{usd(task.reward_usd)}</dd>
        <dt>Deadline</dt>
        <dd>
          <time dateTime={task.deadline}>{deadlineWords(task.deadline)}</time> ·{' '}
          <strong>{task.review?.can_resubmit ? timeLeft(task.deadline, now) : CLOSED.has(task.status) ? outcomeWords(task) : WATCHED.has(task.status) ? 'Proof sent' : timeLeft(task.deadline, now)}</strong>
        </dd>
        {(address || mapsUrl) && (
          <>
            <dt>Where</dt>
            <dd>
              {address ?? `${lat}, ${lng}`}
              {mapsUrl && <> · <a href={mapsUrl} target="_blank" rel="noopener noreferrer">Open in maps</a></>}
              {task.max_distance_m !== null && task.max_distance_m !== undefined && (
                <> · Take your photos within <strong>{task.max_distance_m} m</strong> of this place</>
              )}
            </dd>
          </>
        )}
        {task.requester && <RequesterCard requester={task.requester} />}
      </dl>
      <h2>What to do</h2>
      <p class="text">{task.description}</p>
      {task.digital_instructions && (
        <>
          <h2>Instructions</h2>
          <p class="text">{task.digital_instructions}</p>
        </>
      )}
      <h2>Proof needed</h2>
      <ul class="checklist">
        {task.proof_requirements.map((requirement, index) => (
          <li>
            <input type="checkbox" id={`req-${index}`} />
            <label for={`req-${index}`}>{requirement}</label>
          </li>
        ))}
      </ul>

      {task.status === 'PENDING' && (
        <div class="actions">
          {released && <p role="status">You handed this task back. It is open to others again.</p>}
          <KycNotice profile={profile} />
          {actionError?.action === 'accept' && <ActionError error={actionError} />}
          <button class="primary wide" onClick={() => act('accept')} disabled={busy || profile.kyc_status !== 'VERIFIED' || actionError?.final}>
            {busy ? 'Accepting…' : 'Accept this task'}
          </button>
        </div>
      )}
      {task.status === 'ACCEPTED' && <PushOffer />}
      {task.status === 'ACCEPTED' && (
        <div class="actions">
          <p>You have this task. Start it when you are at the place (or ready, for remote tasks).</p>
          {actionError?.action === 'start' && <ActionError error={actionError} />}
          <button class="primary wide" ref={startButton} onClick={() => act('start')} disabled={busy || actionError?.final}>{busy ? 'Starting…' : 'Start task'}</button>
        </div>
      )}
      {task.status === 'IN_PROGRESS' && <Proof task={task} onSubmitted={load} />}
      {(task.status === 'ACCEPTED' || task.status === 'IN_PROGRESS') && (
        <ReleaseButton taskId={task.task_id} onReleased={() => {
          setReleased(true);
          load();
        }} />
      )}
      {held && task.status !== 'ACCEPTED' && task.status !== 'IN_PROGRESS' && <TaskStatus task={task} />}
      {held && <ReviewPanel task={task} onChanged={load} />}
      {held && <TaskRatings task={task} onRated={load} />}
      <TaskThread taskId={task.task_id} held={held} />
    </article>
  );
}

/** Why Accept or Start did not work, just above the button, brought into view when it appears. */
function ActionError({ error }: { error: { message: string; final: boolean } }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => bringIntoView(box.current), [error]);
  return (
    <div class="error-box" role="alert" ref={box}>
      <p>{error.message}</p>
      {error.final && <a class="button" href="#/">Find another task</a>}
    </div>
  );
}

function Proof({ task, onSubmitted }: { task: OperatorTask; onSubmitted: () => void }) {
  if (task.proof_type === 'ARTIFACT') return <CredentialForm task={task} onSubmitted={onSubmitted} />;
  if (task.proof_type === 'CONFIRMATION') return <ConfirmationForm task={task} onSubmitted={onSubmitted} />;
  return <ProofCapture task={task} onSubmitted={onSubmitted} />;
}
