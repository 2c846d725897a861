/** Push alerts in the profile: turn them on or off in this browser, and choose what they are about. */
import type { PushSettings as Settings } from '@humanops/sdk/operator';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { explain } from '../messages.ts';
import { type PushState, pushState, turnOffPush, turnOnPush } from '../push.ts';

const STATE_WORDS: Record<PushState, string> = {
  unsupported: 'This browser cannot show alerts. On a phone, add the app to the home screen first.',
  unavailable: 'Alerts are not set up on this server.',
  denied: 'Alerts are blocked for this site. Allow notifications in the browser settings to turn them on.',
  off: 'Alerts are off on this device.',
  on: 'Alerts are on for this device.',
};

export function PushSettings() {
  const [state, setState] = useState<PushState | null>(null);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    pushState().then(setState).catch(() => setState('unsupported'));
    api.push.settings().then(setSettings).catch(() => {});
  }, []);

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(explain(failure));
    } finally {
      setBusy(false);
    }
  };
  const save = (change: Parameters<typeof api.push.setPreferences>[0]) => run(async () => setSettings(await api.push.setPreferences(change)));
  const preferences = settings?.preferences;

  return (
    <section aria-labelledby="alerts-title">
      <h2 id="alerts-title">Alerts</h2>
      {state && <p role="status">{STATE_WORDS[state]}</p>}
      {state === 'off' && <button disabled={busy} onClick={() => run(async () => setState(await turnOnPush()))}>Turn on alerts</button>}
      {state === 'on' && <button disabled={busy} onClick={() => run(async () => { await turnOffPush(); setState('off'); })}>Turn off alerts</button>}
      {preferences && (
        <fieldset>
          <legend>Alert me about</legend>
          <label class="check"><input type="checkbox" checked={preferences.new_tasks} onChange={(e) => save({ new_tasks: e.currentTarget.checked })} /> New tasks near my area</label>
          <label for="alert-radius">Within (km) <span class="muted">(empty: my travel radius)</span></label>
          <input id="alert-radius" type="number" min={1} max={200} inputMode="numeric" value={preferences.radius_km ?? ''}
            onChange={(e) => save({ radius_km: e.currentTarget.value === '' ? null : Number(e.currentTarget.value) })} />
          <label for="alert-reward">Paying at least (USD)</label>
          <input id="alert-reward" type="number" min={0} step="any" inputMode="decimal" value={preferences.min_reward_usd}
            onChange={(e) => save({ min_reward_usd: Number(e.currentTarget.value) })} />
          <label class="check"><input type="checkbox" checked={preferences.outcomes} onChange={(e) => save({ outcomes: e.currentTarget.checked })} /> How my submitted proof was judged, and when a payout arrives</label>
          <label class="check"><input type="checkbox" checked={preferences.messages} onChange={(e) => save({ messages: e.currentTarget.checked })} /> Answers from requesters</label>
        </fieldset>
      )}
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
