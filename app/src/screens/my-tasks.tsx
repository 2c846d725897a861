/** The operator's own tasks, grouped by what happens next. */
import type { OperatorTask } from '@humanops/sdk/operator';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { LoadFailed } from '../components/load-failed.tsx';
import { usd } from '../format.ts';
import { useFocusOnMount } from '../hooks.ts';
import { explain, STATUS_WORDS } from '../messages.ts';
import { href } from '../router.ts';

const GROUPS: { title: string; statuses: string[] }[] = [
  { title: 'To do', statuses: ['ACCEPTED', 'IN_PROGRESS'] },
  { title: 'Being checked', statuses: ['SUBMITTED', 'VERIFIED', 'MANUAL_REVIEW'] },
  { title: 'Done', statuses: ['COMPLETED'] },
  { title: 'Closed', statuses: ['DISPUTED', 'CANCELLED', 'EXPIRED'] },
];

export function MyTasks() {
  const heading = useFocusOnMount<HTMLHeadingElement>('mine');
  const [tasks, setTasks] = useState<OperatorTask[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api.tasks.mine({ limit: 100 }).then((page) => {
    setTasks(page.data);
    setError(null);
  }, (failure) => setError(explain(failure)));
  useEffect(() => {
    load();
  }, []);
  return (
    <section class="screen" aria-labelledby="mine-title">
      <h1 id="mine-title" tabIndex={-1} ref={heading}>My tasks</h1>
      {error && <LoadFailed message={error} onRetry={load} />}
      {tasks && tasks.length === 0 && <p class="muted">No tasks yet. Accept one from the <a href="#/">task list</a>.</p>}
      {tasks && GROUPS.map((group) => {
        const members = tasks.filter((task) => group.statuses.includes(task.status));
        if (members.length === 0) return null;
        return (
          <section aria-labelledby={`group-${group.title}`}>
            <h2 id={`group-${group.title}`}>{group.title}</h2>
            <ul class="cards">
              {members.map((task) => (
                <li key={task.task_id}>
                  <a class="card" href={href({ name: 'task', id: task.task_id })}>
                    <span class="card-top"><span class="title">{task.title}</span><span class="reward">{usd(task.reward_usd)}</span></span>
                    <span class="card-meta"><span>{STATUS_WORDS[task.status] ?? 'Being updated'}</span></span>
                  </a>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </section>
  );
}
