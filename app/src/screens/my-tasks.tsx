/** The operator's own tasks, grouped by what happens next. */
import type { OperatorTask } from '@humanops/sdk/operator';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { LoadFailed } from '../components/load-failed.tsx';
import { usd } from '../format.ts';
import { useFocusOnMount } from '../hooks.ts';
import { explain } from '../messages.ts';
import { needsOperator, outcomeWords } from '../outcome-words.ts';
import { href } from '../router.ts';

/** Groups by what happens next: a task not accepted that the operator may still fix is to do. */
const GROUPS: { title: string; holds: (task: OperatorTask) => boolean }[] = [
  { title: 'To do', holds: needsOperator },
  { title: 'Being checked', holds: (task) => ['SUBMITTED', 'VERIFIED', 'MANUAL_REVIEW'].includes(task.status) },
  { title: 'Done', holds: (task) => task.status === 'COMPLETED' },
  { title: 'Closed', holds: (task) => ['DISPUTED', 'CANCELLED', 'EXPIRED'].includes(task.status) && !needsOperator(task) },
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
        const members = tasks.filter(group.holds);
        if (members.length === 0) return null;
        return (
          <section aria-labelledby={`group-${group.title}`}>
            <h2 id={`group-${group.title}`}>{group.title}</h2>
            <ul class="cards">
              {members.map((task) => (
                <li key={task.task_id}>
                  <a class="card" href={href({ name: 'task', id: task.task_id })}>
                    <span class="card-top"><span class="title">{task.title}</span><span class="reward">{usd(task.reward_usd)}</span></span>
                    <span class="card-meta"><span>{outcomeWords(task)}</span></span>
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
