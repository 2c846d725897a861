/**
 * Routes live in the URL's hash (`#/task/…`), so any static host serves the app without rewrite
 * rules. Nothing secret ever goes in a route.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { name: 'feed' }
  | { name: 'task'; id: string }
  | { name: 'mine' }
  | { name: 'earnings' }
  | { name: 'profile' };

export function parse(hash: string): Route {
  const [, first, second] = hash.replace(/^#/, '').split('/');
  if (first === 'task' && second) return { name: 'task', id: decodeURIComponent(second) };
  if (first === 'mine' || first === 'earnings' || first === 'profile') return { name: first };
  return { name: 'feed' };
}

export const href = (route: Route) => (route.name === 'task' ? `#/task/${encodeURIComponent(route.id)}` : route.name === 'feed' ? '#/' : `#/${route.name}`);

/** The route in the URL's hash, by `parse`, kept current as the hash changes (the console's too). */
export function useHashRoute<R>(parse: (hash: string) => R): R {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const update = () => setRoute(parse(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

export const useRoute = (): Route => useHashRoute(parse);
