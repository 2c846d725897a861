import { useEffect, useRef, useState } from 'preact/hooks';
import { isOnline, onConnectivityChange } from './connectivity.ts';

/** Whether the app can reach the API, kept current (see connectivity.ts). */
export function useOnline(): boolean {
  const [online, setOnline] = useState(isOnline());
  useEffect(() => {
    setOnline(isOnline());
    return onConnectivityChange(setOnline);
  }, []);
  return online;
}

/** The current time, ticking every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Moves keyboard and screen-reader focus to the screen's heading when the screen changes. */
export function useFocusOnMount<T extends HTMLElement>(key: unknown) {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), [key]);
  return ref;
}
