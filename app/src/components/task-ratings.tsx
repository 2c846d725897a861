/** On a finished task: the requester's rating of the work, and the operator's rating of the requester. */
import type { OperatorTask } from '@humanops/sdk/operator';
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { explain } from '../messages.ts';

export function TaskRatings({ task, onRated }: { task: OperatorTask; onRated: () => void }) {
  const given = task.ratings?.by_requester;
  const mine = task.ratings?.of_requester;
  if (!given && !mine && !task.can_rate_requester) return null;
  return (
    <section aria-labelledby="ratings-title">
      <h2 id="ratings-title">Ratings</h2>
      {given && (
        <p>
          The requester rated your work <strong>{given.rating} of 5</strong>
          {given.comment && <>: <q class="text">{given.comment}</q></>}
        </p>
      )}
      {mine && <p>You rated the requester {mine.rating} of 5.</p>}
      {task.can_rate_requester && <RateRequester taskId={task.task_id} onRated={onRated} />}
    </section>
  );
}

function RateRequester({ taskId, onRated }: { taskId: string; onRated: () => void }) {
  const [rating, setRating] = useState<number | null>(null);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const rate = async (event: Event) => {
    event.preventDefault();
    if (rating === null) return setError('Pick a rating from 1 to 5.');
    setBusy(true);
    setError(null);
    try {
      await api.tasks.rateRequester(taskId, rating, comment.trim() || undefined);
      onRated();
    } catch (failure) {
      setError(explain(failure));
      setBusy(false);
    }
  };
  return (
    <form onSubmit={rate} noValidate>
      <fieldset>
        <legend>How was working for this requester?</legend>
        <div class="row">
          {[1, 2, 3, 4, 5].map((n) => (
            <label class="choice">
              <input type="radio" name="requester-rating" value={n} checked={rating === n} onChange={() => setRating(n)} /> {n}
            </label>
          ))}
        </div>
      </fieldset>
      <label for="requester-comment">Comment <span class="muted">(optional)</span></label>
      <textarea id="requester-comment" rows={2} maxLength={1000} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit" disabled={busy}>{busy ? 'Sending…' : 'Rate the requester'}</button>
    </form>
  );
}
