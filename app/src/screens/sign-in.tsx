/** Sign-in: Clerk's own screen in production; locally, an email that the stack's issuer signs a token for. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { localSignIn, mountClerkSignIn, usesClerk } from '../session.ts';
import { useFocusOnMount } from '../hooks.ts';

const OPERATOR_INTRO = 'Find paid tasks near you, do them, and get paid once the proof checks out.';

export function SignIn({ notice, intro = OPERATOR_INTRO }: { notice: string | null; intro?: string }) {
  const heading = useFocusOnMount<HTMLHeadingElement>('sign-in');
  return (
    <section class="screen" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title" tabIndex={-1} ref={heading}>Sign in</h1>
      <p>{intro}</p>
      {notice && <p class="notice" role="alert">{notice}</p>}
      {usesClerk() ? <ClerkSignIn /> : <LocalSignIn />}
    </section>
  );
}

function ClerkSignIn() {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (box.current) mountClerkSignIn(box.current);
  }, []);
  return <div ref={box} />;
}

function LocalSignIn() {
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await localSignIn(email);
    } catch (failure) {
      setError((failure as Error).message);
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} noValidate>
      <p class="muted">This is a local HumanOps: your email signs you in with the local stack's own identity service.</p>
      <label for="email">Email</label>
      <input id="email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} aria-describedby={error ? 'sign-in-error' : undefined} />
      {error && <p id="sign-in-error" class="error" role="alert">{error}</p>}
      <button class="primary" type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  );
}
