/**
 * Push alerts in this browser: permission is asked only when the operator taps to turn alerts on
 * (after a first accepted task, or in the profile), never on load. The subscription goes to the API;
 * turning alerts off or signing out removes it there and in the browser.
 */
import { api } from './api.ts';

/** Whether this browser can take push alerts at all (a secure context with a service worker). */
export const pushSupported = () =>
  typeof window !== 'undefined' && window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

const OFFERED_KEY = 'humanops.push.offered';

/** The alert offer after accepting a task is made once per browser, whatever the answer, unless alerts are blocked. */
export const shouldOfferPush = () => pushSupported() && Notification.permission !== 'denied' && !localStorage.getItem(OFFERED_KEY);
export const markPushOffered = () => localStorage.setItem(OFFERED_KEY, '1');

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export type PushState = 'unsupported' | 'unavailable' | 'denied' | 'off' | 'on';

/** Where alerts stand in this browser. */
export async function pushState(): Promise<PushState> {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  return subscription ? 'on' : 'off';
}

/** Asks for permission (call it from a tap), subscribes with the server's VAPID key and registers the subscription. */
export async function turnOnPush(): Promise<PushState> {
  if (!pushSupported()) return 'unsupported';
  const { vapid_public_key: key } = await api.push.settings();
  if (!key) return 'unavailable';
  if ((await Notification.requestPermission()) !== 'granted') return 'denied';
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.getSubscription()
    ?? await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
  await api.push.subscribe(subscription.toJSON() as Parameters<typeof api.push.subscribe>[0]);
  return 'on';
}

/** Removes this browser's subscription from the API and from the browser; quiet when there is none. */
export async function turnOffPush(): Promise<void> {
  if (!pushSupported()) return;
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  if (!subscription) return;
  await api.push.unsubscribe(subscription.endpoint).catch(() => {});
  await subscription.unsubscribe().catch(() => false);
}
