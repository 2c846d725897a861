/** The console's screens, in the URL's hash (`#/tasks/…`): any static host serves it. Nothing secret goes in a route. */
import { useHashRoute } from '../router.ts';

export type Route =
  | { name: 'overview' }
  | { name: 'approvals' }
  | { name: 'tasks' }
  | { name: 'task'; id: string }
  | { name: 'keys' }
  | { name: 'deposits' }
  | { name: 'webhooks' }
  | { name: 'agents' };

const SIMPLE = ['approvals', 'tasks', 'keys', 'deposits', 'webhooks', 'agents'] as const;

export function parse(hash: string): Route {
  const [, first, second] = hash.replace(/^#/, '').split('/');
  if (first === 'tasks' && second) return { name: 'task', id: decodeURIComponent(second) };
  if ((SIMPLE as readonly string[]).includes(first)) return { name: first as (typeof SIMPLE)[number] };
  return { name: 'overview' };
}

export const href = (route: Route) =>
  route.name === 'task' ? `#/tasks/${encodeURIComponent(route.id)}` : route.name === 'overview' ? '#/' : `#/${route.name}`;

export const useRoute = (): Route => useHashRoute(parse);
