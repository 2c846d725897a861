/**
 * Production sign-in with Clerk's own browser SDK (clerk-js), loaded from the Clerk Frontend API that
 * the publishable key names, only when a key is configured: local builds never load it, and it
 * stays out of the first-load bundle. The session token it returns is what the API verifies.
 */
export interface ClerkSession {
  token(): Promise<string | null>;
  mountSignIn(element: HTMLDivElement): void;
  signOut(): Promise<void>;
}

interface ClerkGlobal {
  load(): Promise<void>;
  session?: { getToken(): Promise<string | null> } | null;
  user?: { primaryEmailAddress?: { emailAddress: string } | null } | null;
  mountSignIn(element: HTMLDivElement): void;
  signOut(): Promise<void>;
  addListener(listener: (state: { user?: ClerkGlobal['user'] }) => void): void;
}

/** The Frontend API host a publishable key encodes: `pk_<env>_<base64("host$")>`. */
export const frontendApi = (publishableKey: string) => atob(publishableKey.split('_')[2] ?? '').replace(/\$$/, '');

export async function loadClerk(publishableKey: string, onUser: (email: string | null) => void): Promise<ClerkSession> {
  const host = frontendApi(publishableKey);
  await new Promise<void>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = `https://${host}/npm/@clerk/clerk-js@5/dist/clerk.browser.js`;
    script.crossOrigin = 'anonymous';
    script.dataset.clerkPublishableKey = publishableKey;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error('Could not load the sign-in service.'));
    document.head.append(script);
  });
  const clerk = (window as unknown as { Clerk: ClerkGlobal }).Clerk;
  await clerk.load();
  const emailOf = (user: ClerkGlobal['user']) => user?.primaryEmailAddress?.emailAddress ?? null;
  onUser(emailOf(clerk.user));
  clerk.addListener(({ user }) => onUser(emailOf(user)));
  return {
    token: async () => (clerk.session ? clerk.session.getToken() : null),
    mountSignIn: (element) => clerk.mountSignIn(element),
    signOut: () => clerk.signOut(),
  };
}
