/**
 * The feed's map view: the map module is imported only now (its own chunk), and the list of the
 * same tasks stays below it, so everything on the map is also a link in the list.
 */
import type { OpenTask } from '@humanops/sdk/operator';
import { useEffect, useRef, useState } from 'preact/hooks';
import { usd } from '../format.ts';
import type { TaskMap } from '../map/task-map.ts';
import { href } from '../router.ts';

export function TaskMapView({ tasks, centre }: { tasks: OpenTask[]; centre: { lat: number; lng: number } }) {
  const element = useRef<HTMLDivElement>(null);
  const map = useRef<TaskMap | null>(null);
  // The tasks as they are when the map module arrives, which may be after they changed.
  const latest = useRef(tasks);
  latest.current = tasks;
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    let cancelled = false;
    import('../map/task-map.ts').then(({ createTaskMap }) => {
      if (cancelled || !element.current) return;
      map.current = createTaskMap(element.current, centre, (id) => (location.hash = href({ name: 'task', id })));
      map.current.show(pinned(latest.current));
    }).catch(() => setFailed(true));
    return () => {
      cancelled = true;
      map.current?.destroy();
      map.current = null;
    };
  }, [centre.lat, centre.lng]);

  useEffect(() => {
    map.current?.show(pinned(tasks));
  }, [tasks]);

  if (failed) return <p class="notice" role="status">The map could not be loaded. Every task is in the list below.</p>;
  return <div class="task-map" ref={element} role="region" aria-label="Map of open tasks nearby (every task is also in the list below)" />;
}

/** Physical tasks at their published position; a task without one has no pin. */
const pinned = (tasks: OpenTask[]) => tasks.flatMap((task) => task.task_domain === 'PHYSICAL' && task.location.lat !== null && task.location.lng !== null
  ? [{ id: task.task_id, title: task.title, reward: usd(task.reward_usd), lat: task.location.lat, lng: task.location.lng }]
  : []);
