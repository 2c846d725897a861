/** Deposits: the agent's own USDC address on Base (with a QR code) and the credits so far. */
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import { usd } from '../../format.ts';
import { useFocusOnMount } from '../../hooks.ts';
import { call } from '../api.ts';
import { explain } from '../messages.ts';
import type { Deposit } from '../types.ts';

const QrCode = lazy(() => import('../qr-code.tsx'));

export function Deposits() {
  const heading = useFocusOnMount<HTMLHeadingElement>('deposits');
  const [address, setAddress] = useState<{ address: string; chain?: string; token?: string } | null>(null);
  const [addressError, setAddressError] = useState<string | null>(null);
  const [credits, setCredits] = useState<Deposit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call<{ address: string; chain?: string; token?: string }>('GET', '/agents/deposit/address').then(setAddress, (failure) => setAddressError(explain(failure)));
    call<{ data: Deposit[] }>('GET', '/agents/deposits').then(({ data }) => setCredits(data), (failure) => setError(explain(failure)));
  }, []);
  return (
    <section class="screen" aria-labelledby="deposits-title">
      <h1 id="deposits-title" tabIndex={-1} ref={heading}>Deposits</h1>
      <h2>Your deposit address</h2>
      {addressError && <p class="notice">{addressError}</p>}
      {address && (
        <div class="deposit-address">
          <Suspense fallback={<p class="muted">Drawing the QR code…</p>}><QrCode text={address.address} label={`QR code of the deposit address ${address.address}`} /></Suspense>
          <p>Send USDC on Base to <code class="text">{address.address}</code>. It is credited once the transfer is confirmed.</p>
        </div>
      )}
      <h2>Credits</h2>
      {error && <p class="error" role="alert">{error}</p>}
      {credits && (credits.length === 0 ? <p>No deposits yet.</p> : (
        <table class="table">
          <thead><tr><th scope="col">When</th><th scope="col">Amount</th><th scope="col">How</th><th scope="col">Status</th></tr></thead>
          <tbody>
            {credits.map((d) => (
              <tr key={d.deposit_id}>
                <td>{new Date(d.created_at).toLocaleString()}</td>
                <td>{usd(d.amount_usd)}</td>
                <td>{d.method === 'usdc' ? <>USDC <code title={d.tx_hash ?? ''}>{d.tx_hash?.slice(0, 10)}…</code></> : (d.payment_method ?? 'fiat')}</td>
                <td>{d.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
