/** The account's webhook deliveries with their status and attempts; resend one. */
import { useEffect, useState } from 'preact/hooks';
import { useFocusOnMount } from '../../hooks.ts';
import { call } from '../api.ts';
import { explain } from '../messages.ts';
import type { Delivery } from '../types.ts';

export function Webhooks() {
  const heading = useFocusOnMount<HTMLHeadingElement>('webhooks');
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const load = () => call<{ data: Delivery[] }>('GET', '/agents/webhooks').then(({ data }) => setDeliveries(data), (failure) => setError(explain(failure)));
  useEffect(() => {
    load();
  }, []);
  const resend = async (d: Delivery) => {
    setError(null);
    try {
      await call('POST', `/webhooks/${encodeURIComponent(d.delivery_id)}/resend`);
      setDone(`${d.event} is queued to be sent again.`);
      load();
    } catch (failure) {
      setError(explain(failure));
    }
  };
  return (
    <section class="screen" aria-labelledby="webhooks-title">
      <h1 id="webhooks-title" tabIndex={-1} ref={heading}>Webhooks</h1>
      {done && <p class="ok" role="status">{done}</p>}
      {error && <p class="error" role="alert">{error}</p>}
      {deliveries && (deliveries.length === 0 ? <p>No deliveries yet: tasks posted with a callback_url send their events here.</p> : (
        <table class="table">
          <thead><tr><th scope="col">Event</th><th scope="col">Task</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {deliveries.map((d) => (
              <tr key={d.delivery_id}>
                <td>{d.event}<br /><span class="muted">{new Date(d.created_at).toLocaleString()}</span></td>
                <td><a href={`#/tasks/${encodeURIComponent(d.task_id ?? '')}`}>{d.task_id}</a></td>
                <td>{d.status}{d.last_status_code ? ` (HTTP ${d.last_status_code})` : ''}{d.last_error ? `: ${d.last_error}` : ''}</td>
                <td>{d.attempts}</td>
                <td><button onClick={() => resend(d)} aria-label={`Resend ${d.event} of ${d.task_id}`}>Resend</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
