/** After a first accepted task: an offer to turn on alerts for new tasks nearby (once per browser; the permission prompt comes only from the tap). */
import { useState } from 'preact/hooks';
import { explain } from '../messages.ts';
import { markPushOffered, shouldOfferPush, turnOnPush } from '../push.ts';

export function PushOffer() {
  const [shown, setShown] = useState(shouldOfferPush);
  const [result, setResult] = useState<string | null>(null);
  if (!shown && !result) return null;
  const answer = async (yes: boolean) => {
    markPushOffered();
    setShown(false);
    if (!yes) return;
    try {
      const state = await turnOnPush();
      setResult(state === 'on' ? 'Alerts are on. You can change them in your profile.' : 'Alerts were not turned on. You can try again in your profile.');
    } catch (failure) {
      setResult(explain(failure));
    }
  };
  if (result) return <p class="notice" role="status">{result}</p>;
  return (
    <aside class="notice" aria-labelledby="push-offer-title">
      <h2 id="push-offer-title">Hear about the next task</h2>
      <p>Get an alert when a new task is posted near you, and when the requester answers.</p>
      <button class="primary" onClick={() => answer(true)}>Turn on alerts</button>
      <button onClick={() => answer(false)}>Not now</button>
    </aside>
  );
}
