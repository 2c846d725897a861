/**
 * Who is signed in. The session token lives in memory and sessionStorage (never in a URL, never in
 * localStorage): it survives a reload of this tab and ends with it. With a Clerk key Clerk keeps
 * its own session and is asked for a fresh token before each request.
 */
import { CLERK_PUBLISHABLE_KEY } from './config.ts';
import { forgetAllPhotos } from './photos.ts';

export interface Identity {
  email: string;
}

type Listener = () => void;
const STORAGE_KEY = 'humanops.session';
const listeners = new Set<Listener>();
let identity: Identity | null = null;
let localToken: string | null = null;
let clerk: import('./clerk.ts').ClerkSession | null = null;

const notify = () => listeners.forEach((listener) => listener());

export const onSessionChange = (listener: Listener) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};

export const currentIdentity = () => identity;

/** The token for the next request, or null when signed out. */
export async function token(): Promise<string | null> {
  if (clerk) return clerk.token();
  return localToken;
}

/** Restores a session: this tab's local one, or Clerk's. */
export async function restoreSession(): Promise<void> {
  if (CLERK_PUBLISHABLE_KEY) {
    const { loadClerk } = await import('./clerk.ts');
    clerk = await loadClerk(CLERK_PUBLISHABLE_KEY, (email) => {
      identity = email ? { email } : null;
      notify();
    });
    return;
  }
  const saved = sessionStorage.getItem(STORAGE_KEY);
  if (saved) {
    const parsed = JSON.parse(saved) as { token: string; email: string };
    localToken = parsed.token;
    identity = { email: parsed.email };
  }
}

/**
 * Local and test stacks only: the stack's own issuer signs a token for this email (the same kind of
 * token `npm run token` mints), so the API's real Bearer verification runs.
 */
export async function localSignIn(email: string): Promise<void> {
  const response = await fetch('/local/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error ?? 'Sign-in is not available here.');
  localToken = body.token;
  identity = { email: email.trim() };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ token: localToken, email: identity.email }));
  notify();
}

/** Shows Clerk's sign-in in `element` (production). */
export const mountClerkSignIn = (element: HTMLDivElement) => clerk?.mountSignIn(element);

/**
 * The session is over (the API refused its token): the token goes, what the operator was doing
 * stays (photos waiting to upload, drafts), for the same person signing in again.
 */
export async function endSession(): Promise<void> {
  sessionStorage.removeItem(STORAGE_KEY);
  localToken = null;
  identity = null;
  await clerk?.signOut();
  notify();
}

/**
 * The operator signs out: nothing of theirs stays on the device for the next person to read —
 * not the profile (email, phone, home coordinates), drafts or places in sessionStorage, nor the
 * photos waiting in IndexedDB.
 */
export async function signOut(): Promise<void> {
  sessionStorage.clear();
  await forgetAllPhotos().catch(() => {});
  await endSession();
}

export const usesClerk = () => Boolean(CLERK_PUBLISHABLE_KEY);
