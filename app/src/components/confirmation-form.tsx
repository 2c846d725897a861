/** Proof by confirmation (digital tasks): what was done, and where to see it. */
import type { OperatorTask } from '@humanops/sdk/operator';
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { explain } from '../messages.ts';

/** `resubmit`: the operator's one second chance on a task not accepted. */
export function ConfirmationForm({ task, onSubmitted, resubmit = false }: { task: OperatorTask; onSubmitted: () => void; resubmit?: boolean }) {
  const draftKey = `humanops.confirmation.${task.task_id}`;
  const [text, setText] = useState(() => sessionStorage.getItem(draftKey) ?? '');
  const [url, setUrl] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setMissing(!text.trim());
    if (!text.trim()) return setError(null);
    setBusy(true);
    setError(null);
    try {
      const proof = { confirmation_text: text.trim(), ...(url.trim() ? { reference_url: url.trim() } : {}) };
      await (resubmit ? api.tasks.resubmit(task.task_id, proof) : api.tasks.submit(task.task_id, proof));
      sessionStorage.removeItem(draftKey);
      onSubmitted();
    } catch (failure) {
      setError(explain(failure));
      setBusy(false);
    }
  };
  return (
    <form class="proof" onSubmit={submit} aria-labelledby="confirmation-title">
      <h2 id="confirmation-title">{resubmit ? 'Confirm again what you did' : 'Confirm what you did'}</h2>
      <label for="confirmation">Confirmation</label>
      <textarea id="confirmation" rows={4} maxLength={10_000} value={text}
        aria-invalid={missing ? 'true' : undefined} aria-describedby={missing ? 'confirmation-error' : undefined} onInput={(e) => {
        setText(e.currentTarget.value);
        if (e.currentTarget.value.trim()) setMissing(false);
        sessionStorage.setItem(draftKey, e.currentTarget.value);
      }} />
      {missing && <p id="confirmation-error" class="error field-error" role="alert">Describe what you did.</p>}
      <label for="reference">Reference link <span class="muted">(optional)</span></label>
      <input id="reference" type="url" inputMode="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} placeholder="https://" />
      {error && <p class="error" role="alert">{error}</p>}
      <button class="primary wide" type="submit" disabled={busy}>{busy ? 'Submitting…' : resubmit ? 'Send new confirmation' : 'Submit confirmation'}</button>
    </form>
  );
}
