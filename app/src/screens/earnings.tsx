/** What the operator has earned: pending (the dispute hold), available, in total; and payouts. */
import { MIN_PAYOUT_USD, type Payout } from '@humanops/sdk/operator';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { LoadFailed } from '../components/load-failed.tsx';
import { PayoutAddress } from '../components/payout-address.tsx';
import { PayoutHistory } from '../components/payout-history.tsx';
import { usd } from '../format.ts';
import { useFocusOnMount } from '../hooks.ts';
import { explain } from '../messages.ts';

type Summary = Awaited<ReturnType<typeof api.earnings.retrieve>>;

/** What happens to pay for a completed task, in this server's mode. */
function holdText(seconds: number): string {
  if (seconds === 0) return 'Pay for a completed task is available at once (test mode).';
  const days = Math.round(seconds / 86_400);
  return `Pay for a completed task is held for ${days === 1 ? '1 day' : `${days} days`} in case of a dispute, then becomes available.`;
}

const PAYOUT_TEXT: Record<Summary['payout_method'], string> = {
  usdc: 'Payouts are sent as USDC on Base to your payout address.',
  test: 'Test mode: a payout completes at once and no money moves.',
  unavailable: 'Payouts are not available on this server yet; your earnings stay safe in your available balance.',
};

export function Earnings() {
  const heading = useFocusOnMount<HTMLHeadingElement>('earnings');
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [amount, setAmount] = useState('');
  const [payout, setPayout] = useState<{ ok: boolean; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [payouts, setPayouts] = useState<Payout[]>([]);

  const load = () => Promise.all([api.earnings.retrieve(), api.earnings.payouts({ limit: 20 })]).then(([s, page]) => {
    setSummary(s);
    setPayouts(page.data);
    setError(null);
  }, (failure) => setError(explain(failure)));
  useEffect(() => {
    load();
  }, []);

  const withdraw = async (event: Event) => {
    event.preventDefault();
    const value = Number(amount);
    if (!Number.isFinite(value) || value < MIN_PAYOUT_USD) return setPayout({ ok: false, message: `The smallest payout is ${usd(MIN_PAYOUT_USD)}.` });
    if (summary && value > summary.available_balance) return setPayout({ ok: false, message: `You have ${usd(summary.available_balance)} available to withdraw.` });
    setBusy(true);
    try {
      const done = await api.earnings.requestPayout({ amount_usd: value });
      setPayout({ ok: true, message: done.status === 'completed' ? `${usd(done.amount_usd)} paid out (test mode).` : done.message });
      setAmount('');
      await load();
    } catch (failure) {
      setPayout({ ok: false, message: explain(failure) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="screen" aria-labelledby="earnings-title">
      <h1 id="earnings-title" tabIndex={-1} ref={heading}>Earnings</h1>
      {error && <LoadFailed message={error} onRetry={load} />}
      {summary && (
        <>
          <dl class="balances">
            <div><dt>Pending</dt><dd data-testid="pending">{usd(summary.pending_balance)}</dd></div>
            <div><dt>Available</dt><dd data-testid="available">{usd(summary.available_balance)}</dd></div>
            <div><dt>Total earned</dt><dd data-testid="total">{usd(summary.total_earned)}</dd></div>
          </dl>
          <p class="muted" data-testid="hold">{holdText(summary.earnings_hold_seconds)} {PAYOUT_TEXT[summary.payout_method]}</p>
          {summary.payout_method === 'usdc' && <PayoutAddress />}
          <form onSubmit={withdraw} noValidate>
            <h2>Withdraw</h2>
            <label for="payout">Amount in USD <span class="muted">(at least {usd(MIN_PAYOUT_USD)})</span></label>
            <input id="payout" type="number" inputMode="decimal" min={MIN_PAYOUT_USD} step="0.01" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
            {payout && <p class={payout.ok ? 'ok' : 'error'} role={payout.ok ? 'status' : 'alert'}>{payout.message}</p>}
            <button class="primary" type="submit" disabled={busy}>{busy ? 'Requesting…' : 'Request payout'}</button>
          </form>
          <PayoutHistory payouts={payouts} />
          <h2>Recently completed</h2>
          {summary.recent_tasks.length === 0 ? <p class="muted">Nothing yet.</p> : (
            <ul class="cards">
              {summary.recent_tasks.map((task) => (
                <li key={task.task_id} class="card static">
                  <span class="card-top"><span class="title">{task.title}</span><span class="reward">{usd(task.reward_usd)}</span></span>
                  {task.completed_at && <span class="card-meta">{new Date(task.completed_at).toLocaleDateString()}</span>}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
