/**
 * The task's thread with its requester: questions before accepting (answers may be public, for
 * everyone who looks at the task), then between the holder and the requester. Text is rendered as
 * text, never as markup; new answers are fetched while the screen is open.
 */
import type { OperatorTaskMessages } from '@humanops/sdk/operator';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { explain } from '../messages.ts';

/** How often an open thread checks for the requester's answer. */
const POLL_MS = 4000;
const MAX_CHARS = 2000;

export function TaskThread({ taskId, held }: { taskId: string; held: boolean }) {
  const [thread, setThread] = useState<OperatorTaskMessages | null>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setThread(await api.tasks.messages(taskId));
    } catch {
      // A thread that cannot be read (not yet registered, offline) stays hidden; the task still works.
    }
  }, [taskId]);

  useEffect(() => {
    load();
    const timer = setInterval(load, POLL_MS);
    return () => clearInterval(timer);
  }, [load]);

  if (!thread) return null;
  const send = async (event: Event) => {
    event.preventDefault();
    if (!text.trim()) return setError('Write your question first.');
    setBusy(true);
    setError(null);
    try {
      await api.tasks.sendMessage(taskId, text.trim());
      setText('');
      await load();
    } catch (failure) {
      setError(explain(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="thread" aria-labelledby="thread-title">
      <h2 id="thread-title">{held ? 'Messages with the requester' : 'Questions to the requester'}</h2>
      {thread.data.length === 0
        ? <p class="muted">{held ? 'No messages yet.' : 'No questions yet. Ask if something about the task is unclear.'}</p>
        : (
          <ol class="messages" aria-live="polite">
            {thread.data.map((m) => (
              <li key={m.message_id} class={m.from === 'agent' ? 'from-requester' : 'from-operator'}>
                <p class="message-meta">
                  {m.from === 'agent' ? 'Requester' : m.mine ? 'You' : 'Another operator'}
                  {m.visibility === 'public' && ' · public answer'}
                </p>
                <p class="text">{m.text}</p>
              </li>
            ))}
          </ol>
        )}
      {thread.can_write
        ? (
          <form onSubmit={send}>
            <label for="thread-text">{held ? 'Message the requester' : 'Ask the requester'}</label>
            <textarea id="thread-text" rows={3} maxLength={MAX_CHARS} value={text} onInput={(e) => setText(e.currentTarget.value)} />
            <p class="hint">{text.length} / {MAX_CHARS}. Do not share phone numbers, emails or other contact details.</p>
            {error && <p class="error" role="alert">{error}</p>}
            <button type="submit" disabled={busy}>{busy ? 'Sending…' : 'Send'}</button>
          </form>
        )
        : <p class="muted">This thread is closed: you can read it, but not write.</p>}
    </section>
  );
}
