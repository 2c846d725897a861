/**
 * Where payouts go: the operator proves control of a Base address by signing the server's challenge,
 * with the browser's wallet (EIP-1193 personal_sign) where there is one, or with any wallet and the
 * signature pasted here.
 */
import type { OperatorProfile, PayoutAddressChallenge } from '@humanops/sdk/operator';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { explain } from '../messages.ts';

interface Eip1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}
const injectedWallet = (): Eip1193 | undefined => (globalThis as { ethereum?: Eip1193 }).ethereum;

/** personal_sign takes the message as hex of its UTF-8 bytes. */
const utf8Hex = (text: string) => `0x${[...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;

type Current = Pick<OperatorProfile, 'payout_address' | 'payout_address_cooldown_ends_at'>;

export function PayoutAddress() {
  const [current, setCurrent] = useState<Current | null>(null);
  const [address, setAddress] = useState('');
  const [challenge, setChallenge] = useState<PayoutAddressChallenge | null>(null);
  const [signature, setSignature] = useState('');
  const [note, setNote] = useState<{ ok: boolean; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const wallet = injectedWallet();

  useEffect(() => {
    api.account.retrieve().then((me) => setCurrent(me), () => {});
  }, []);

  const save = async (signed: string, forAddress: string) => {
    const saved = await api.account.setPayoutAddress({ address: forAddress.trim(), signature: signed.trim() });
    setCurrent(saved);
    setChallenge(null);
    setSignature('');
    setNote({ ok: true, message: saved.payout_address_cooldown_ends_at
      ? `Saved. Payouts go to the new address from ${new Date(saved.payout_address_cooldown_ends_at).toLocaleString()} (a changed address waits 48 hours, for your safety).`
      : 'Saved. Your payouts go to this address.' });
  };

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setNote(null);
    try {
      await work();
    } catch (failure) {
      setNote({ ok: false, message: explain(failure) });
    } finally {
      setBusy(false);
    }
  };

  const signWithWallet = () => run(async () => {
    const [account] = (await wallet!.request({ method: 'eth_requestAccounts' })) as string[];
    setAddress(account);
    const fresh = await api.account.payoutAddressChallenge();
    const signed = (await wallet!.request({ method: 'personal_sign', params: [utf8Hex(fresh.message), account] })) as string;
    await save(signed, account);
  });

  const getMessage = () => run(async () => setChallenge(await api.account.payoutAddressChallenge()));
  const submitPasted = (event: Event) => {
    event.preventDefault();
    return run(() => save(signature, address));
  };

  return (
    <section aria-labelledby="payout-address-title">
      <h2 id="payout-address-title">Payout address</h2>
      {current && (
        <p data-testid="payout-address">
          {current.payout_address ? <>Payouts go to <code>{current.payout_address}</code> (USDC on Base).</> : 'No payout address yet: set one to be paid.'}
          {current.payout_address_cooldown_ends_at && <> It takes effect on {new Date(current.payout_address_cooldown_ends_at).toLocaleString()}.</>}
        </p>
      )}
      {wallet && (
        <p><button type="button" disabled={busy} onClick={signWithWallet}>Use my browser wallet</button> <span class="muted">It asks your wallet to sign a message; nothing is sent and it costs nothing.</span></p>
      )}
      <form onSubmit={submitPasted} noValidate>
        <p class="muted">{wallet ? 'Or sign with another wallet:' : 'Sign with any Ethereum wallet:'}</p>
        <label for="payout-address-input">1. Your Base address</label>
        <input id="payout-address-input" autocomplete="off" spellcheck={false} placeholder="0x…" value={address} onInput={(e) => setAddress(e.currentTarget.value)} />
        <p>2. <button type="button" disabled={busy} onClick={getMessage}>Get the message to sign</button></p>
        {challenge && (
          <>
            <label for="payout-challenge">Sign exactly this text with that address ("Sign message", personal_sign); valid 10 minutes</label>
            <textarea id="payout-challenge" readOnly rows={8} value={challenge.message} />
          </>
        )}
        <label for="payout-signature">3. Paste the signature</label>
        <input id="payout-signature" autocomplete="off" spellcheck={false} placeholder="0x… (132 characters)" value={signature} onInput={(e) => setSignature(e.currentTarget.value)} />
        {note && <p class={note.ok ? 'ok' : 'error'} role={note.ok ? 'status' : 'alert'}>{note.message}</p>}
        <button class="primary" type="submit" disabled={busy || !address || !signature}>Save payout address</button>
      </form>
    </section>
  );
}
