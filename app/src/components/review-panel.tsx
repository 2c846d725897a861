/**
 * Why the proof was not accepted, in the words of whoever said so (shown as text, never markup),
 * and what the operator may still do: send new proof once before the deadline, then appeal once,
 * and by when, once the requester has confirmed the rejection.
 */
import type { OperatorTask, Rejection } from '@humanops/sdk/operator';
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { deadlineWords } from '../format.ts';
import { explain } from '../messages.ts';
import { rejectedBy } from '../outcome-words.ts';
import { verdictReasoning } from '../verdict-words.ts';
import { ConfirmationForm } from './confirmation-form.tsx';
import { CredentialForm } from './credential-form.tsx';
import { ProofCapture } from './proof-capture.tsx';

/**
 * The requester's reason as given; the checks' reasoning as verdictReasoning words it (a rules-only
 * verdict's findings are listed with the status above).
 */
const rejectionWords = (rejection: Rejection) =>
  rejection.by === 'agent' ? rejection.reason : verdictReasoning(rejection.reason) ?? 'The checks found problems with the proof, listed above.';

export function ReviewPanel({ task, onChanged }: { task: OperatorTask; onChanged: () => void }) {
  const review = task.review;
  if (!review || review.rejections.length === 0) return null;
  return (
    <section class="review" aria-labelledby="review-title">
      <h2 id="review-title">Why it was not accepted</h2>
      <ul class="reasons">
        {review.rejections.map((rejection) => (
          <li>
            <strong>{rejectedBy(rejection)}</strong> · <time dateTime={rejection.at}>{deadlineWords(rejection.at)}</time>
            <p class="text">{rejectionWords(rejection)}</p>
          </li>
        ))}
      </ul>
      {review.refund_at && (review.can_resubmit || review.can_appeal) && (
        <p class="notice">
          The requester agreed with this. Unless you {review.can_resubmit ? 'send new proof' : 'appeal'} by{' '}
          <time dateTime={review.refund_at}>{deadlineWords(review.refund_at)}</time>, the reward goes back to them.
        </p>
      )}
      {review.can_resubmit && (
        <>
          <p>You can send new proof once, before the deadline. It will be checked again.</p>
          {task.proof_type === 'CONFIRMATION'
            ? <ConfirmationForm task={task} onSubmitted={onChanged} resubmit />
            : task.proof_type === 'ARTIFACT'
              ? <CredentialForm task={task} onSubmitted={onChanged} resubmit />
              : <ProofCapture task={task} onSubmitted={onChanged} resubmit />}
        </>
      )}
      {review.can_appeal && <AppealForm task={task} onAppealed={onChanged} />}
      {review.appeal && (
        <p>You appealed on <time dateTime={review.appeal.appealed_at}>{deadlineWords(review.appeal.appealed_at)}</time>. An admin will look at both proofs, the reasons and your note, and decide.</p>
      )}
    </section>
  );
}

/** The one appeal: a note for the admin who will decide. */
function AppealForm({ task, onAppealed }: { task: OperatorTask; onAppealed: () => void }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const appeal = async (event: Event) => {
    event.preventDefault();
    if (!note.trim()) return setError('Say why your proof shows the task done.');
    setBusy(true);
    setError(null);
    try {
      await api.tasks.appeal(task.task_id, note.trim());
      onAppealed();
    } catch (failure) {
      setError(explain(failure));
      setBusy(false);
    }
  };
  return (
    <form class="proof" onSubmit={appeal} aria-labelledby="appeal-title" noValidate>
      <h3 id="appeal-title">Appeal</h3>
      <p>Your new proof was not accepted either. You can ask an admin to decide, once.</p>
      <label for="appeal-note">Why your proof shows the task done</label>
      <textarea id="appeal-note" rows={3} maxLength={2000} value={note} aria-invalid={error ? 'true' : undefined}
        aria-describedby={error ? 'appeal-error' : undefined} onInput={(e) => setNote(e.currentTarget.value)} />
      {error && <p class="error" id="appeal-error" role="alert">{error}</p>}
      <button class="primary wide" type="submit" disabled={busy}>{busy ? 'Sending…' : 'Send appeal'}</button>
    </form>
  );
}
