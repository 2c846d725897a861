/** Handing a task back: asked once, then the task goes back to the list for someone else. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { explain } from '../messages.ts';
import { bringIntoView } from '../scroll.ts';

export function ReleaseButton({ taskId, onReleased }: { taskId: string; onReleased: () => void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!asking) return;
    bringIntoView(box.current);
    box.current?.querySelector('button')?.focus({ preventScroll: true });
  }, [asking]);
  const release = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.tasks.release(taskId);
      onReleased();
    } catch (failure) {
      setError(explain(failure));
      setBusy(false);
    }
  };
  if (!asking) return <button class="link" onClick={() => setAsking(true)}>I cannot do this task: hand it back</button>;
  return (
    <div class="warning-box" role="alertdialog" aria-labelledby="release-title" ref={box}>
      <p id="release-title"><strong>Hand this task back?</strong> It goes back to the list for someone else, photos you uploaded for it are deleted, and requesters see how often you hand tasks back.</p>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="row">
        <button class="primary" onClick={release} disabled={busy}>{busy ? 'Handing back…' : 'Hand it back'}</button>
        <button onClick={() => setAsking(false)}>Keep it</button>
      </div>
    </div>
  );
}
