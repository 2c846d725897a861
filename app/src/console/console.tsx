/** The owner's console: who is signed in, which of their agents they act for, and the screen the route names. */
import { useEffect, useState } from 'preact/hooks';
import { SignIn } from '../screens/sign-in.tsx';
import { currentIdentity, onSessionChange, restoreSession, signOut } from '../session.ts';
import { ApiProblem, call, chooseAgent, currentAgent } from './api.ts';
import { onNewApprovals, resetApprovals, usePendingApprovals } from './live.ts';
import { explain } from './messages.ts';
import { turnOffAlerts } from './push.ts';
import { href, type Route, useRoute } from './router.ts';
import { Agents } from './screens/agents.tsx';
import { Approvals } from './screens/approvals.tsx';
import { Deposits } from './screens/deposits.tsx';
import { Keys } from './screens/keys.tsx';
import { Overview } from './screens/overview.tsx';
import { TaskPage } from './screens/task.tsx';
import { Tasks } from './screens/tasks.tsx';
import { Webhooks } from './screens/webhooks.tsx';
import type { OwnedAgent } from './types.ts';

const INTRO = 'See what your agents spend, approve the tasks that wait for you, and set their limits.';

export function Console() {
  const [restored, setRestored] = useState(false);
  const [identity, setIdentity] = useState(currentIdentity());
  const [agents, setAgents] = useState<OwnedAgent[] | null>(null);
  const [agentId, setAgentId] = useState(currentAgent());
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();

  useEffect(() => {
    restoreSession().catch((error: Error) => setNotice(error.message)).finally(() => {
      setIdentity(currentIdentity());
      setRestored(true);
    });
    return onSessionChange(() => setIdentity(currentIdentity()));
  }, []);

  const loadAgents = async () => {
    try {
      const { data } = await call<{ data: OwnedAgent[] }>('GET', '/owner/agents', { personal: true });
      setAgents(data);
      const chosen = data.find((a) => a.agent_id === currentAgent()) ?? data[0];
      pick(chosen?.agent_id ?? null);
    } catch (error) {
      if (error instanceof ApiProblem && error.status === 401) {
        setNotice(explain(error));
        await signOut();
      } else setNotice(explain(error));
    }
  };

  const pick = (id: string | null) => {
    if (id !== currentAgent()) resetApprovals();
    chooseAgent(id);
    setAgentId(id);
  };

  useEffect(() => {
    if (identity) loadAgents();
    else setAgents(null);
  }, [identity]);

  let screen;
  if (!restored) screen = <p class="muted" role="status">Loading…</p>;
  else if (!identity) screen = <SignIn notice={notice} intro={INTRO} />;
  else if (agents === null) screen = <p class="muted" role="status">{notice ?? 'Loading your agents…'}</p>;
  else if (!agentId || route.name === 'agents') screen = <Agents agents={agents} current={agentId} onLinked={loadAgents} onPick={pick} />;
  else screen = <Screen key={agentId} route={route} />;

  const agent = agents?.find((a) => a.agent_id === agentId);
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="#/">HumanOps console</a>
        {identity && (
          <span class="who">
            {agent && <a class="agent-name" href="#/agents" title="Your agents">{agent.name}{agent.mode === 'test' ? ' (test)' : ''}</a>}
            <button class="link on-brand" onClick={() => turnOffAlerts().finally(signOut)}>Sign out</button>
          </span>
        )}
      </header>
      {identity && agent && <Nav route={route} />}
      <main id="main" tabIndex={-1} class="console">{screen}</main>
      {identity && agent && <Alerts hidden={route.name === 'approvals'} />}
    </>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.name) {
    case 'approvals': return <Approvals />;
    case 'tasks': return <Tasks />;
    case 'task': return <TaskPage id={route.id} />;
    case 'keys': return <Keys />;
    case 'deposits': return <Deposits />;
    case 'webhooks': return <Webhooks />;
    default: return <Overview />;
  }
}

const NAV: { route: Route; label: string }[] = [
  { route: { name: 'overview' }, label: 'Overview' },
  { route: { name: 'approvals' }, label: 'Approvals' },
  { route: { name: 'tasks' }, label: 'Tasks' },
  { route: { name: 'keys' }, label: 'Keys' },
  { route: { name: 'deposits' }, label: 'Deposits' },
  { route: { name: 'webhooks' }, label: 'Webhooks' },
];

function Nav({ route }: { route: Route }) {
  const pending = usePendingApprovals();
  return (
    <nav class="console-nav" aria-label="Console">
      {NAV.map((item) => {
        const current = item.route.name === route.name || (route.name === 'task' && item.route.name === 'tasks');
        return (
          <a href={href(item.route)} aria-current={current ? 'page' : undefined}>
            {item.label}
            {item.route.name === 'approvals' && pending && pending.length > 0 && (
              <span class="count" aria-label={`${pending.length} waiting`}>{pending.length}</span>
            )}
          </a>
        );
      })}
    </nav>
  );
}

/** How long the note of a new approval stays on screen, where it covers the bottom of the page. */
const ALERT_MS = 10_000;

/**
 * Says so, politely, when a new task starts waiting for approval, wherever the owner is in the
 * console; not on the approvals screen itself, whose list shows it (and whose buttons a note
 * would cover on a phone).
 */
function Alerts({ hidden }: { hidden: boolean }) {
  const [message, setMessage] = useState('');
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    onNewApprovals((fresh) => {
      setMessage(fresh.length === 1
        ? `New task waiting for your approval: ${fresh[0].title}`
        : `${fresh.length} new tasks waiting for your approval`);
      clearTimeout(timer);
      timer = setTimeout(() => setMessage(''), ALERT_MS);
    });
    return () => {
      clearTimeout(timer);
      onNewApprovals(() => {});
    };
  }, []);
  const pending = usePendingApprovals();
  useEffect(() => {
    if (hidden || pending?.length === 0) setMessage('');
  }, [hidden, pending]);
  return (
    <p class={message && !hidden ? 'toast' : 'visually-hidden'} role="status" aria-live="polite">
      {message && <><a href="#/approvals">{message}</a> <button class="link" onClick={() => setMessage('')}>Dismiss</button></>}
    </p>
  );
}
