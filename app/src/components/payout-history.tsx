/** The operator's payouts, newest first, each with its transaction on the block explorer. */
import type { Payout } from '@humanops/sdk/operator';
import { usd } from '../format.ts';

const STATUS: Record<Payout['status'], string> = {
  queued: 'Queued: sent within a minute or so',
  broadcast: 'Sent, waiting for confirmations',
  completed: 'Paid',
  failed: 'Failed: the amount is back in your available balance',
};

export function PayoutHistory({ payouts }: { payouts: Payout[] }) {
  return (
    <section aria-labelledby="payout-history-title">
      <h2 id="payout-history-title">Payouts</h2>
      {payouts.length === 0 ? <p class="muted">No payouts yet.</p> : (
        <ul class="cards" data-testid="payouts">
          {payouts.map((payout) => (
            <li key={payout.payout_id} class="card static">
              <span class="card-top"><span class="title">{STATUS[payout.status]}</span><span class="reward">{usd(payout.amount_usd)}</span></span>
              <span class="card-meta">
                {new Date(payout.created_at).toLocaleDateString()}
                {payout.address && <> · to <code>{payout.address.slice(0, 6)}…{payout.address.slice(-4)}</code></>}
                {payout.explorer_url && <> · <a href={payout.explorer_url} target="_blank" rel="noopener noreferrer">View transaction</a></>}
              </span>
              {payout.failure && <span class="card-meta">{payout.failure}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
