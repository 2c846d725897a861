/**
 * A Tier 2 credential: named fields that this page encrypts with the task's agent public key before
 * anything is sent. The plaintext never leaves the page; HumanOps stores only ciphertext.
 */
import type { OperatorTask } from '@humanops/sdk/operator';
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { explain } from '../messages.ts';

const FIELDS: Record<string, string[]> = {
  ACCOUNT_CREATION: ['username', 'password', 'dashboard_url'],
  API_KEY_PROCUREMENT: ['api_key', 'dashboard_url'],
  PHONE_VERIFICATION: ['phone_number', 'verification_code'],
  SUBSCRIPTION_SETUP: ['username', 'password', 'dashboard_url'],
};
const SECRET = /password|key|secret|code|token/;

/** Each field's label: what it is, in words (a field the operator added reads as they typed it). */
const LABELS: Record<string, string> = {
  username: 'Username or email you signed up with',
  password: 'Password',
  dashboard_url: 'Address of the account page (URL)',
  api_key: 'API key',
  phone_number: 'Phone number',
  verification_code: 'Verification code',
};
const labelOf = (name: string) => {
  const words = name.replace(/_/g, ' ');
  return LABELS[name] ?? `${words.charAt(0).toUpperCase()}${words.slice(1)}`;
};

/** `resubmit`: the operator's one second chance on a task not accepted (encrypted afresh, sent once). */
export function CredentialForm({ task, onSubmitted, resubmit = false }: { task: OperatorTask; onSubmitted: () => void; resubmit?: boolean }) {
  const [fields, setFields] = useState(() => (FIELDS[task.task_type] ?? ['username', 'password']).map((name) => ({ name, value: '' })));
  const [extra, setExtra] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const credential = Object.fromEntries(fields.filter((f) => f.value.trim()).map((f) => [f.name, f.value.trim()]));
    if (Object.keys(credential).length === 0) return setError('Fill in at least one field.');
    setBusy(true);
    setError(null);
    try {
      await (resubmit ? api.tasks.resubmitCredential(task, credential) : api.tasks.submitCredential(task, credential));
      onSubmitted();
    } catch (failure) {
      setError(explain(failure));
      setBusy(false);
    }
  };

  const edit = (index: number, value: string) => setFields(fields.map((f, i) => (i === index ? { ...f, value } : f)));

  const addField = () => {
    const name = extra.trim().toLowerCase().replace(/[^a-z0-9_]+/g, '_');
    if (name && !fields.some((f) => f.name === name)) setFields([...fields, { name, value: '' }]);
    setExtra('');
  };

  return (
    <form class="proof" onSubmit={submit} aria-labelledby="credential-title" autocomplete="off">
      <h2 id="credential-title">{resubmit ? 'Hand over the credential again' : 'Hand over the credential'}</h2>
      <p class="muted">What you type here is encrypted on this device for the requester alone. HumanOps cannot read it.</p>
      {fields.map((field, index) => (
        <div key={field.name}>
          <label for={`cred-${field.name}`}>{labelOf(field.name)}</label>
          {SECRET.test(field.name)
            ? <SecretInput id={`cred-${field.name}`} label={labelOf(field.name)} value={field.value} onInput={(value) => edit(index, value)} />
            : <input id={`cred-${field.name}`} type="text" autocomplete="off" spellcheck={false} value={field.value} onInput={(e) => edit(index, e.currentTarget.value)} />}
        </div>
      ))}
      <label for="cred-extra">Anything else to hand over? <span class="muted">(name of the field)</span></label>
      <div class="row">
        <input id="cred-extra" value={extra} onInput={(e) => setExtra(e.currentTarget.value)} />
        <button type="button" onClick={addField}>Add field</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <button class="primary wide" type="submit" disabled={busy}>{busy ? 'Encrypting and sending…' : resubmit ? 'Encrypt and send again' : 'Encrypt and submit'}</button>
    </form>
  );
}

/** A secret field, hidden while typed, with a button to show it (to check it before sending). */
function SecretInput({ id, label, value, onInput }: { id: string; label: string; value: string; onInput: (value: string) => void }) {
  const [shown, setShown] = useState(false);
  return (
    <div class="secret">
      {shown
        ? <input id={id} type="text" autocomplete="off" spellcheck={false} value={value} onInput={(e) => onInput(e.currentTarget.value)} />
        : <input id={id} type="password" autocomplete="off" value={value} onInput={(e) => onInput(e.currentTarget.value)} />}
      <button type="button" aria-controls={id} aria-label={`${shown ? 'Hide' : 'Show'} ${label.toLowerCase()}`} onClick={() => setShown(!shown)}>
        {shown ? 'Hide' : 'Show'}
      </button>
    </div>
  );
}
