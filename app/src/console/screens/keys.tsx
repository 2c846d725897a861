/**
 * Keys and their spending policies: list, create (the secret shown once, with a copy button),
 * revoke; edit each key's own policy and the account default, showing what a key inherits.
 */
import { useEffect, useState } from 'preact/hooks';
import { usd } from '../../format.ts';
import { useFocusOnMount } from '../../hooks.ts';
import { TASK_TYPE_CODES, typeName } from '../../task-types.ts';
import { call } from '../api.ts';
import { explain, fieldError } from '../messages.ts';
import type { ApiKey, StoredPolicy } from '../types.ts';

const LIMITS = [
  ['approval_threshold_usd', 'Approval threshold', 'Tasks with a larger reward wait for your approval'],
  ['max_reward_usd', 'Largest reward', 'A task with a larger reward is refused'],
  ['daily_limit_usd', 'Daily limit', 'Reward + fee in any 24 hours'],
  ['monthly_limit_usd', 'Monthly limit', 'Reward + fee in a calendar month (UTC)'],
] as const;
type Limit = (typeof LIMITS)[number][0];

/** What a policy says of credential tasks, as the form's choice: '' leaves it to the default. */
type CredentialChoice = '' | 'allow' | 'refuse';
const credentialChoice = (value: boolean | null | undefined): CredentialChoice => (value == null ? '' : value ? 'allow' : 'refuse');
const typesInWords = (types: string[] | null | undefined) => (types == null ? 'any type' : types.map(typeName).join(', '));

export function Keys() {
  const heading = useFocusOnMount<HTMLHeadingElement>('keys');
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [account, setAccount] = useState<StoredPolicy | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => Promise.all([call<{ data: ApiKey[] }>('GET', '/agents/keys'), call<StoredPolicy>('GET', '/agents/policy')])
    .then(([list, policy]) => { setKeys(list.data); setAccount(policy); }, (failure) => setError(explain(failure)));
  useEffect(() => {
    load();
  }, []);
  return (
    <section class="screen" aria-labelledby="keys-title">
      <h1 id="keys-title" tabIndex={-1} ref={heading}>Keys and policies</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {account && <PolicyForm title="Account default" keyId={null} own={account} account={null} onSaved={load} />}
      {keys && (
        <ul class="cards">
          {keys.map((key) => <KeyCard key={key.id} apiKey={key} account={account} onChanged={load} />)}
        </ul>
      )}
      <NewKey onCreated={load} />
    </section>
  );
}

function KeyCard({ apiKey, account, onChanged }: { apiKey: ApiKey; account: StoredPolicy | null; onChanged: () => void }) {
  const [own, setOwn] = useState<StoredPolicy | null>(null);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The form starts from what the key's policy is now: a copy read at an earlier opening would save
  // its stale values over the changes made since.
  const toggle = () => {
    setOwn(null);
    setOpen(!open);
  };
  useEffect(() => {
    if (open) call<StoredPolicy>('GET', `/agents/keys/${apiKey.id}/policy`).then(setOwn, (failure) => setError(explain(failure)));
  }, [open]);
  const revoke = async () => {
    if (!confirm(`Revoke ${apiKey.name ?? apiKey.keyPrefix}? Anything using it stops working at once.`)) return;
    try {
      await call('DELETE', `/agents/keys/${apiKey.id}`);
      onChanged();
    } catch (failure) {
      setError(explain(failure));
    }
  };
  const name = apiKey.name ?? apiKey.keyPrefix;
  return (
    <li class="card">
      <div class="card-top"><span>{name}</span><code>{apiKey.keyPrefix}</code></div>
      <p class="card-meta">
        <span>Scopes: {apiKey.scopes.join(', ')}</span>
        <span>{apiKey.expiresAt ? `Expires ${new Date(apiKey.expiresAt).toLocaleDateString()}` : 'Does not expire'}</span>
        <span>{apiKey.lastUsed ? `Last used ${new Date(apiKey.lastUsed).toLocaleString()}` : 'Never used'}</span>
      </p>
      <p class="card-meta">In effect: {apiKey.policy.approval_threshold_usd === null ? 'no approval threshold' : `approval above ${usd(apiKey.policy.approval_threshold_usd)}`}</p>
      {error && <p class="error" role="alert">{error}</p>}
      <button aria-expanded={open} onClick={toggle} aria-label={`Policy of ${name}`}>Policy</button>
      <button onClick={revoke} aria-label={`Revoke ${name}`}>Revoke</button>
      {open && own && (
        <PolicyForm title={`Policy of ${name}`} keyId={apiKey.id} own={own.source === 'key' ? own : null} account={account}
          onSaved={() => { toggle(); onChanged(); }} />
      )}
    </li>
  );
}

/** One policy's limits; a key's fields left empty follow the account default, which is shown beside them. */
function PolicyForm({ title, keyId, own, account, onSaved }: {
  title: string; keyId: string | null; own: StoredPolicy | null; account: StoredPolicy | null; onSaved: () => void;
}) {
  const [values, setValues] = useState<Record<Limit, string>>(() =>
    Object.fromEntries(LIMITS.map(([field]) => [field, own?.[field] == null ? '' : String(own[field])])) as Record<Limit, string>);
  // No box ticked means no restriction on types (the API's null).
  const [types, setTypes] = useState<string[]>(() => (own?.allowed_task_types ?? []).filter((type) => TASK_TYPE_CODES.includes(type)));
  const [credentials, setCredentials] = useState<CredentialChoice>(() => credentialChoice(own?.allow_credential_tasks));
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const prefix = keyId ?? 'account';
  const save = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setSaved(false);
    // Not a number goes to the API as typed, whose answer names the field.
    const amount = (text: string) => (text.trim() === '' ? null : Number.isFinite(Number(text)) ? Number(text) : text);
    const body = {
      ...Object.fromEntries(LIMITS.map(([field]) => [field, amount(values[field])])),
      allowed_task_types: types.length === 0 ? null : types,
      allow_credential_tasks: credentials === '' ? null : credentials === 'allow',
    };
    try {
      await call('PUT', keyId ? `/agents/keys/${keyId}/policy` : '/agents/policy', { body });
      setSaved(true);
      onSaved();
    } catch (failure) {
      setError(failure);
    }
  };
  const FIELDS = [...LIMITS.map(([field]) => field), 'allowed_task_types', 'allow_credential_tasks'];
  const general = error && !FIELDS.some((field) => fieldError(error, field)) ? explain(error) : null;
  const typesProblem = fieldError(error, 'allowed_task_types');
  const credentialsProblem = fieldError(error, 'allow_credential_tasks');
  return (
    <form class="panel" onSubmit={save} noValidate aria-label={title}>
      <h2>{title}</h2>
      {keyId && <p class="hint">Empty fields follow the account default. A key’s policy can only narrow it: the lower limit applies.</p>}
      {LIMITS.map(([field, label, hint]) => {
        const id = `${prefix}-${field}`;
        const problem = fieldError(error, field);
        const inherited = account?.[field];
        return (
          <div key={field}>
            <label for={id}>{label} (USD)</label>
            <input id={id} inputMode="decimal" value={values[field]} onInput={(e) => setValues({ ...values, [field]: e.currentTarget.value })}
              placeholder={keyId ? (inherited == null ? 'none' : `inherits ${inherited}`) : 'none'}
              aria-invalid={problem ? true : undefined} aria-describedby={`${id}-hint${problem ? ` ${id}-error` : ''}`} />
            <p id={`${id}-hint`} class="hint">{hint}{keyId && values[field] === '' && `: inherited from the account default (${inherited == null ? 'none' : usd(inherited)})`}</p>
            {problem && <p id={`${id}-error`} class="error" role="alert">{problem}</p>}
          </div>
        );
      })}
      <fieldset aria-describedby={`${prefix}-types-hint${typesProblem ? ` ${prefix}-types-error` : ''}`}>
        <legend>Task types it may post</legend>
        <p id={`${prefix}-types-hint`} class="hint">
          None ticked: any type{keyId && `, within the account default (${typesInWords(account?.allowed_task_types)})`}. Other types are refused.
        </p>
        <div class="checks">
          {TASK_TYPE_CODES.map((type) => (
            <label key={type}>
              <input type="checkbox" checked={types.includes(type)}
                onChange={(e) => setTypes(e.currentTarget.checked ? [...types, type] : types.filter((t) => t !== type))} />
              {typeName(type)}
            </label>
          ))}
        </div>
        {typesProblem && <p id={`${prefix}-types-error`} class="error" role="alert">{typesProblem}</p>}
      </fieldset>
      <label for={`${prefix}-credentials`}>Tasks that return a credential (an account, an API key)</label>
      <select id={`${prefix}-credentials`} value={credentials} onChange={(e) => setCredentials(e.currentTarget.value as CredentialChoice)}
        aria-invalid={credentialsProblem ? true : undefined}
        aria-describedby={`${prefix}-credentials-hint${credentialsProblem ? ` ${prefix}-credentials-error` : ''}`}>
        <option value="">{keyId ? 'As the account default' : 'Allowed (no rule)'}</option>
        <option value="allow">Allowed</option>
        <option value="refuse">Refused</option>
      </select>
      <p id={`${prefix}-credentials-hint`} class="hint">
        {keyId ? `The account default: ${account?.allow_credential_tasks === false ? 'refused' : 'allowed'}. ` : ''}Where the result travels encrypted to the agent only.
      </p>
      {credentialsProblem && <p id={`${prefix}-credentials-error`} class="error" role="alert">{credentialsProblem}</p>}
      {own?.allowed_regions && own.allowed_regions.length > 0 && (
        <p class="hint">Limited to {own.allowed_regions.length} region{own.allowed_regions.length === 1 ? '' : 's'}, set through the API; saving here keeps them.</p>
      )}
      {general && <p class="error" role="alert">{general}</p>}
      {saved && <p class="ok" role="status">Saved.</p>}
      <button class="primary" type="submit">Save {keyId ? 'this key’s policy' : 'the account default'}</button>
    </form>
  );
}

function NewKey({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['agent']);
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const body = { ...(name ? { name } : {}), scopes, ...(expires ? { expires_at: new Date(expires).toISOString() } : {}) };
      const created = await call<{ api_key: string }>('POST', '/agents/keys', { body });
      setSecret(created.api_key);
      setName('');
      onCreated();
    } catch (failure) {
      setError(failure);
    }
  };
  const toggle = (scope: string) => setScopes(scopes.includes(scope) ? scopes.filter((s) => s !== scope) : [...scopes, scope]);
  const general = error && !['name', 'scopes', 'expires_at'].some((f) => fieldError(error, f)) ? explain(error) : null;
  return (
    <form class="panel" onSubmit={create} noValidate aria-labelledby="new-key-title">
      <h2 id="new-key-title">New key</h2>
      {secret && (
        <div class="secret" role="status">
          <label for="new-secret">The new key, shown only now</label>
          <input id="new-secret" readOnly value={secret} />
          <button type="button" onClick={() => navigator.clipboard.writeText(secret).then(() => setCopied(true))}>{copied ? 'Copied' : 'Copy'}</button>
          <button type="button" onClick={() => { setSecret(null); setCopied(false); }}>Done, hide it</button>
        </div>
      )}
      <label for="key-name">Name</label>
      <input id="key-name" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-describedby={fieldError(error, 'name') ? 'key-name-error' : undefined} />
      {fieldError(error, 'name') && <p id="key-name-error" class="error" role="alert">{fieldError(error, 'name')}</p>}
      <fieldset>
        <legend>Scopes</legend>
        {['agent', 'owner', 'read'].map((scope) => (
          <label class="inline" key={scope}><input type="checkbox" checked={scopes.includes(scope)} onChange={() => toggle(scope)} /> {scope}</label>
        ))}
        {fieldError(error, 'scopes') && <p class="error" role="alert">{fieldError(error, 'scopes')}</p>}
      </fieldset>
      <label for="key-expires">Expires (optional)</label>
      <input id="key-expires" type="datetime-local" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
      {fieldError(error, 'expires_at') && <p class="error" role="alert">{fieldError(error, 'expires_at')}</p>}
      {general && <p class="error" role="alert">{general}</p>}
      <button class="primary" type="submit">Create key</button>
    </form>
  );
}
