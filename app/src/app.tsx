/** The shell: who is signed in, their profile, the screen the route names, and the bottom navigation. */
import type { OperatorProfile } from '@humanops/sdk/operator';
import { APIConnectionError, HumanOpsError } from '@humanops/sdk/operator';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from './api.ts';
import { explain } from './messages.ts';
import { href, type Route, useRoute } from './router.ts';
import { currentIdentity, endSession, onSessionChange, restoreSession } from './session.ts';
import { useOnline } from './hooks.ts';
import { LoadFailed } from './components/load-failed.tsx';
import { Earnings } from './screens/earnings.tsx';
import { Feed } from './screens/feed.tsx';
import { MyTasks } from './screens/my-tasks.tsx';
import { Profile } from './screens/profile.tsx';
import { Register } from './screens/register.tsx';
import { SignIn } from './screens/sign-in.tsx';
import { TaskDetail } from './screens/task-detail.tsx';

const PROFILE_KEY = 'humanops.profile';

type ProfileState =
  | { kind: 'loading' }
  | { kind: 'missing' }
  | { kind: 'ready'; profile: OperatorProfile }
  | { kind: 'failed'; message: string };

export function App() {
  const [restored, setRestored] = useState(false);
  const [identity, setIdentity] = useState(currentIdentity());
  const [state, setState] = useState<ProfileState>({ kind: 'loading' });
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();
  const online = useOnline();

  useEffect(() => {
    restoreSession()
      .catch((error: Error) => setNotice(error.message))
      .finally(() => {
        setIdentity(currentIdentity());
        setRestored(true);
      });
    return onSessionChange(() => setIdentity(currentIdentity()));
  }, []);

  const loadProfile = useCallback(async () => {
    try {
      const profile = await api.account.retrieve();
      sessionStorage.setItem(PROFILE_KEY, JSON.stringify(profile));
      setState({ kind: 'ready', profile });
    } catch (error) {
      if (error instanceof HumanOpsError && error.code === 'operator_not_registered') return setState({ kind: 'missing' });
      if (error instanceof HumanOpsError && error.status === 401) {
        setNotice(explain(error));
        return endSession();
      }
      // Offline: carry on with the profile this tab last saw, so the shell and its screens still work.
      const saved = sessionStorage.getItem(PROFILE_KEY);
      if (error instanceof APIConnectionError && saved) return setState({ kind: 'ready', profile: JSON.parse(saved) });
      setState({ kind: 'failed', message: explain(error) });
    }
  }, []);

  useEffect(() => {
    if (!identity) return;
    setState({ kind: 'loading' });
    loadProfile();
  }, [identity, loadProfile]);

  let screen;
  if (!restored) screen = <p class="muted" role="status">Loading…</p>;
  else if (!identity) screen = <SignIn notice={notice} />;
  else if (state.kind === 'loading') screen = <p class="muted" role="status">Loading your profile…</p>;
  else if (state.kind === 'missing') screen = <Register email={identity.email} onRegistered={loadProfile} />;
  else if (state.kind === 'failed') {
    screen = (
      <section class="screen" aria-labelledby="problem">
        <h1 id="problem">We could not load your profile</h1>
        <LoadFailed message={state.message} onRetry={loadProfile} />
      </section>
    );
  } else screen = <Screen route={route} profile={state.profile} onProfileChanged={loadProfile} />;

  const signedIn = identity && state.kind === 'ready';
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="#/">HumanOps</a>
        {signedIn && <span class="who">{state.profile.name}</span>}
      </header>
      {!online && <p class="offline" role="status">You are offline. Your photos and notes are kept on this phone until you are back.</p>}
      <main id="main" tabIndex={-1}>{screen}</main>
      {signedIn && <Nav route={route} />}
    </>
  );
}

function Screen({ route, profile, onProfileChanged }: { route: Route; profile: OperatorProfile; onProfileChanged: () => void }) {
  switch (route.name) {
    case 'task': return <TaskDetail id={route.id} profile={profile} />;
    case 'mine': return <MyTasks />;
    case 'earnings': return <Earnings />;
    case 'profile': return <Profile profile={profile} onChanged={onProfileChanged} />;
    default: return <Feed profile={profile} onProfileChanged={onProfileChanged} />;
  }
}

/** Icons drawn inline (24×24, stroke): no icon font to load, nothing for a missing glyph to break. */
const ICONS = {
  feed: 'M12 21s-7-6.2-7-11.5a7 7 0 0 1 14 0C19 14.8 12 21 12 21zm0-9a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z',
  mine: 'M9 11l3 3 8-8M20 12v7a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h9',
  earnings: 'M12 2v20M17 6H9.5a3.5 3.5 0 0 0 0 7h5a3.5 3.5 0 0 1 0 7H6',
  profile: 'M20 21a8 8 0 0 0-16 0M12 13a5 5 0 1 0 0-10 5 5 0 0 0 0 10z',
};

const NAV: { route: Route; label: string; icon: string }[] = [
  { route: { name: 'feed' }, label: 'Tasks', icon: ICONS.feed },
  { route: { name: 'mine' }, label: 'My tasks', icon: ICONS.mine },
  { route: { name: 'earnings' }, label: 'Earnings', icon: ICONS.earnings },
  { route: { name: 'profile' }, label: 'Profile', icon: ICONS.profile },
];

function Nav({ route }: { route: Route }) {
  return (
    <nav class="bottom" aria-label="Main">
      {NAV.map((item) => {
        const current = item.route.name === route.name || (route.name === 'task' && item.route.name === 'feed');
        return (
          <a href={href(item.route)} aria-current={current ? 'page' : undefined}>
            <svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d={item.icon} /></svg>
            {item.label}
          </a>
        );
      })}
    </nav>
  );
}
