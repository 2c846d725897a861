/** The agent's tasks: filter by status, page with the API's cursor. */
import { useEffect, useState } from 'preact/hooks';
import { usd } from '../../format.ts';
import { typeName } from '../../task-types.ts';
import { useFocusOnMount } from '../../hooks.ts';
import { call } from '../api.ts';
import { explain, STATUS_WORDS } from '../messages.ts';
import type { TaskPage, TaskSummary } from '../types.ts';

const FILTER_KEY = 'humanops.console.filter';

export function Tasks() {
  const heading = useFocusOnMount<HTMLHeadingElement>('tasks');
  const [status, setStatus] = useState(() => sessionStorage.getItem(FILTER_KEY) ?? '');
  const [tasks, setTasks] = useState<TaskSummary[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async (cursor: string | null) => {
    setError(null);
    const query = new URLSearchParams({ limit: '20' });
    if (status) query.set('status', status);
    if (cursor) query.set('cursor', cursor);
    try {
      const page = await call<TaskPage>('GET', `/tasks?${query}`);
      setTasks((shown) => (cursor ? [...(shown ?? []), ...page.data] : page.data));
      setNext(page.pagination.next_cursor ?? null);
    } catch (failure) {
      setError(explain(failure));
    }
  };
  useEffect(() => {
    sessionStorage.setItem(FILTER_KEY, status);
    setTasks(null);
    load(null);
  }, [status]);

  return (
    <section class="screen" aria-labelledby="tasks-title">
      <h1 id="tasks-title" tabIndex={-1} ref={heading}>Tasks</h1>
      <label for="status-filter">Status</label>
      <select id="status-filter" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
        <option value="">All</option>
        {Object.entries(STATUS_WORDS).map(([value, words]) => <option value={value}>{words}</option>)}
      </select>
      {error && <p class="error" role="alert">{error}</p>}
      {tasks === null ? !error && <p class="muted" role="status">Loading…</p>
        : tasks.length === 0 ? <p>No tasks here.</p>
        : (
          <ul class="cards">
            {tasks.map((t) => (
              <li key={t.task_id}>
                <a class="card" href={`#/tasks/${encodeURIComponent(t.task_id)}`}>
                  <span class="card-top"><span>{t.title}</span><span class="reward">{usd(t.reward_usd)}</span></span>
                  <span class="card-meta"><span>{STATUS_WORDS[t.status] ?? t.status}</span><span>{typeName(t.task_type)}</span><span>{new Date(t.created_at).toLocaleString()}</span></span>
                </a>
              </li>
            ))}
          </ul>
        )}
      {next && <button onClick={() => load(next)}>Show more</button>}
    </section>
  );
}
