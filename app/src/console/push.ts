/**
 * Approval alerts on this device: permission is asked only when the owner taps to turn them on. The
 * subscription belongs to the console's own service worker (scope /console/), apart from the
 * operator app's, and goes to the API as the signed-in person's; signing out removes it.
 */
import { call } from './api.ts';

export const pushSupported = () =>
  window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

export type AlertState = 'unsupported' | 'unavailable' | 'denied' | 'off' | 'on';

const registration = () => navigator.serviceWorker.getRegistration(new URL('./', location.href).href);

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export async function alertState(): Promise<AlertState> {
  if (!pushSupported()) return 'unsupported';
  const { vapid_public_key: key } = await call<{ vapid_public_key: string | null }>('GET', '/owner/push', { personal: true });
  if (!key) return 'unavailable';
  if (Notification.permission === 'denied') return 'denied';
  return (await (await registration())?.pushManager.getSubscription()) ? 'on' : 'off';
}

/** Call from a tap: asks for permission, subscribes with the server's VAPID key and registers the subscription. */
export async function turnOnAlerts(): Promise<AlertState> {
  const { vapid_public_key: key } = await call<{ vapid_public_key: string | null }>('GET', '/owner/push', { personal: true });
  if (!key) return 'unavailable';
  if ((await Notification.requestPermission()) !== 'granted') return 'denied';
  const worker = await navigator.serviceWorker.register('./sw.js', { scope: './' });
  await navigator.serviceWorker.ready;
  const subscription = await worker.pushManager.getSubscription()
    ?? await worker.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
  await call('POST', '/owner/push-subscriptions', { body: subscription.toJSON(), personal: true });
  return 'on';
}

/** Removes this device's subscription from the API and the browser; quiet when there is none. */
export async function turnOffAlerts(): Promise<void> {
  if (!pushSupported()) return;
  const subscription = await (await registration())?.pushManager.getSubscription();
  if (!subscription) return;
  await call('DELETE', `/owner/push-subscriptions?endpoint=${encodeURIComponent(subscription.endpoint)}`, { personal: true }).catch(() => {});
  await subscription.unsubscribe().catch(() => false);
}
