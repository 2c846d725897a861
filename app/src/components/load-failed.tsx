/**
 * A screen that could not load: what went wrong, a Retry, and (when the connection was the cause)
 * a fresh try as soon as the app is back online, so the screen recovers by itself.
 */
import { useEffect } from 'preact/hooks';
import { onConnectivityChange } from '../connectivity.ts';

export function LoadFailed({ title, message, onRetry, children }: {
  title?: string; message: string; onRetry: () => void; children?: preact.ComponentChildren;
}) {
  useEffect(() => onConnectivityChange((online) => {
    if (online) onRetry();
  }), [onRetry]);
  return (
    <div class="error-box load-failed" role="alert">
      {title && <h2>{title}</h2>}
      <p>{message}</p>
      <button class="primary" onClick={onRetry}>Retry</button>
      {children}
    </div>
  );
}
