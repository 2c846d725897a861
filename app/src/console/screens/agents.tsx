/** The person's agents: link one with a code from its owner, pick which one to act for, and see and unlink its owners. */
import { useEffect, useState } from 'preact/hooks';
import { useFocusOnMount } from '../../hooks.ts';
import { currentAgent, call } from '../api.ts';
import { explain, fieldError } from '../messages.ts';
import type { OwnedAgent } from '../types.ts';

export function Agents({ agents, current, onLinked, onPick }: {
  agents: OwnedAgent[]; current: string | null; onLinked: () => void; onPick: (id: string) => void;
}) {
  const heading = useFocusOnMount<HTMLHeadingElement>('agents');
  return (
    <section class="screen" aria-labelledby="agents-title">
      <h1 id="agents-title" tabIndex={-1} ref={heading}>Your agents</h1>
      {agents.length === 0
        ? <p>You own no agent yet. Ask for a link code: an owner key makes one with <code>POST /agents/owners/link-code</code>.</p>
        : (
          <ul class="cards">
            {agents.map((agent) => (
              <li class="card row" key={agent.agent_id}>
                <p><strong>{agent.name}</strong> <span class="muted">{agent.mode === 'test' ? 'test mode' : 'live'}</span></p>
                {agent.agent_id === current
                  ? <p class="ok">Acting for this agent</p>
                  : <button onClick={() => { onPick(agent.agent_id); location.hash = '#/'; }}>Open {agent.name}</button>}
              </li>
            ))}
          </ul>
        )}
      <LinkForm onLinked={(id) => { onPick(id); onLinked(); location.hash = '#/'; }} />
      {current && agents.length > 0 && <Owners key={current} />}
    </section>
  );
}

function LinkForm({ onLinked }: { onLinked: (agentId: string) => void }) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const linked = await call<OwnedAgent>('POST', '/owner/link', { body: { code }, personal: true });
      setCode('');
      onLinked(linked.agent_id);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const problem = error ? fieldError(error, 'code') ?? explain(error) : null;
  return (
    <form onSubmit={submit} noValidate class="panel">
      <h2>Link an agent</h2>
      <label for="link-code">Link code</label>
      <input id="link-code" autocomplete="off" spellcheck={false} value={code} onInput={(e) => setCode(e.currentTarget.value)}
        aria-invalid={problem ? true : undefined} aria-describedby={problem ? 'link-code-error' : 'link-code-hint'} />
      <p id="link-code-hint" class="hint">One-time, from an owner of the agent; it expires 15 minutes after it was made.</p>
      {problem && <p id="link-code-error" class="error" role="alert">{problem}</p>}
      <button class="primary" type="submit" disabled={busy}>{busy ? 'Linking…' : 'Link'}</button>
    </form>
  );
}

function Owners() {
  const [owners, setOwners] = useState<{ owner_id: string; linked_at: string }[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => call<{ data: { owner_id: string; linked_at: string }[] }>('GET', '/agents/owners')
    .then(({ data }) => setOwners(data), (failure) => setError(explain(failure)));
  useEffect(() => {
    load();
  }, []);
  const unlink = async (ownerId: string) => {
    if (!confirm('Unlink this owner? Their console loses this agent at once.')) return;
    try {
      await call('DELETE', `/agents/owners/${encodeURIComponent(ownerId)}`);
      load();
    } catch (failure) {
      setError(explain(failure));
    }
  };
  return (
    <section aria-labelledby="owners-title">
      <h2 id="owners-title">Owners of this agent</h2>
      {error && <p class="error" role="alert">{error}</p>}
      {owners && (
        <ul class="plain">
          {owners.map((o) => (
            <li key={o.owner_id} class="row">
              <p>{o.owner_id} <span class="muted">since {new Date(o.linked_at).toLocaleDateString()}</span></p>
              <button onClick={() => unlink(o.owner_id)} aria-label={`Unlink ${o.owner_id}`}>Unlink</button>
            </li>
          ))}
        </ul>
      )}
      {currentAgent() && <p class="hint">An owner key or any owner here can make a link code for another person.</p>}
    </section>
  );
}
