/** The money at a glance: deposit and escrow, spend against the limits, the fee tier, open tasks, spend per day. */
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import { usd } from '../../format.ts';
import { useFocusOnMount } from '../../hooks.ts';
import { call } from '../api.ts';
import { explain, STATUS_WORDS } from '../messages.ts';
import type { Balance, KeyUsage, Spend, TaskPage } from '../types.ts';

const SpendChart = lazy(() => import('../spend-chart.tsx'));

/** Statuses of tasks that are not finished: money in escrow. */
const OPEN = ['PENDING_APPROVAL', 'PENDING', 'ACCEPTED', 'IN_PROGRESS', 'SUBMITTED', 'VERIFIED', 'MANUAL_REVIEW', 'DISPUTED'];

interface Figures {
  balance: Balance;
  usage: KeyUsage[];
  spend: Spend;
  open: [string, number][];
}

export function Overview() {
  const heading = useFocusOnMount<HTMLHeadingElement>('overview');
  const [figures, setFigures] = useState<Figures | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    Promise.all([
      call<Balance>('GET', '/agents/balance'),
      call<{ data: KeyUsage[] }>('GET', '/agents/usage'),
      call<Spend>('GET', '/agents/spend?days=30'),
      Promise.all(OPEN.map((status) => call<TaskPage>('GET', `/tasks?status=${status}&limit=1`).then((page) => [status, page.pagination.total] as [string, number]))),
    ]).then(([balance, usage, spend, open]) => setFigures({ balance, usage: usage.data, spend, open }), (failure) => setError(explain(failure)));
  }, []);

  return (
    <section class="screen" aria-labelledby="overview-title">
      <h1 id="overview-title" tabIndex={-1} ref={heading}>Overview</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {!figures ? !error && <p class="muted" role="status">Loading…</p> : (
        <>
          <dl class="balances" aria-label="Balances">
            <div><dt>Deposit</dt><dd data-testid="deposit-balance">{usd(figures.balance.deposit_balance)}</dd></div>
            <div><dt>In escrow</dt><dd data-testid="escrow-balance">{usd(figures.balance.escrow_balance)}</dd></div>
            <div><dt>Fee rate</dt><dd>{figures.spend.fee_tier.rate_pct}%</dd></div>
          </dl>
          <p class="hint">
            {figures.spend.fee_tier.next_rate_pct === null
              ? `You are in the lowest fee tier (${usd(figures.spend.fee_tier.settled_30d_usd)} settled in the last 30 days).`
              : `${usd(figures.spend.fee_tier.settled_30d_usd)} settled in the last 30 days; ${usd(figures.spend.fee_tier.to_next_tier_usd ?? 0)} more brings the fee down to ${figures.spend.fee_tier.next_rate_pct}%.`}
          </p>

          <h2>Spend against the limits</h2>
          <table class="table">
            <caption class="visually-hidden">Each key’s spend today and this month against its limits</caption>
            <thead><tr><th scope="col">Key</th><th scope="col">Last 24 hours</th><th scope="col">This month</th></tr></thead>
            <tbody>
              {figures.usage.map((u) => (
                <tr key={u.key_id}>
                  <th scope="row">{u.name ?? u.key_prefix}</th>
                  <td>{usd(u.day.spent_usd)}{u.day.limit_usd !== null && ` of ${usd(u.day.limit_usd)}`}</td>
                  <td>{usd(u.month.spent_usd)}{u.month.limit_usd !== null && ` of ${usd(u.month.limit_usd)}`}</td>
                </tr>
              ))}
            </tbody>
          </table>

          <h2>Open tasks</h2>
          <ul class="plain status-counts">
            {figures.open.filter(([, n]) => n > 0).map(([status, n]) => (
              <li key={status}><a href="#/tasks" onClick={() => sessionStorage.setItem('humanops.console.filter', status)}>{STATUS_WORDS[status] ?? status}</a>: {n}</li>
            ))}
            {figures.open.every(([, n]) => n === 0) && <li>None: nothing is in progress.</li>}
          </ul>

          <h2>Spend per day</h2>
          <Suspense fallback={<p class="muted">Loading the chart…</p>}>
            <SpendChart days={figures.spend.days} />
          </Suspense>
        </>
      )}
    </section>
  );
}
