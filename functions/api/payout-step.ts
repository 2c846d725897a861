/**
 * The worker's payouts: confirms or fails what was sent, then sends what is queued, as ERC-20
 * transfers from the hot wallet.
 *
 * Never twice: each payout is signed with a nonce allocated in SQL, and the signed transaction is
 * stored (status `broadcast`) in the same transaction that allocates the nonce, before anything is
 * sent. What is sent afterwards, now or by any later tick after a crash, is only ever that stored
 * transaction; one nonce can land once. A payout is completed after BASE_MIN_CONFIRMATIONS, failed
 * (money back to available) when its transaction reverted or another took its nonce.
 *
 * Never half-sent: a payout is signed only when the wallet holds its USDC and the gas, counting
 * what is already sent but not yet mined; otherwise it stays queued and the wallet is noted dry
 * (GET /health, and one log line when it runs dry).
 */
import type { Tx } from '../_shared/db.ts';
import { log } from '../_shared/log.ts';
import { type PayoutChain, TRANSFER_GAS, UNITS_PER_CENT } from '../_shared/payout-chain.ts';
import type { Deps } from './context.ts';
import type { Tick, WorkStep } from './worker.ts';

/** Most payouts sent in one tick: the rest wait for the next. */
const SENDS_PER_TICK = 20;

interface InFlight {
  id: string;
  amount_cents: string;
  wallet: string;
  nonce: string;
  signed_tx: `0x${string}`;
  tx_hash: `0x${string}`;
}

interface Claimed {
  id: string;
  operator_id: string;
  amount_cents: string;
  address: `0x${string}`;
  nonce: string;
}

class WalletDry extends Error {}

const settle = (deps: Deps, id: string, outcome: 'completed' | 'failed', failure: string | null = null) =>
  deps.db.asService((tx) => tx`select api.settle_payout(${id}, ${outcome}, ${failure})`);

/** Settles or resends the broadcast payouts; returns how many settled and what is still unmined. */
async function reconcile(deps: Deps, chain: PayoutChain): Promise<{ settled: number; unminedUnits: bigint; unmined: number }> {
  const inFlight = await deps.db.asService((tx) => tx<InFlight[]>`select * from api.payouts_in_flight(100)`);
  let settled = 0;
  let unminedUnits = 0n;
  let unmined = 0;
  for (const payout of inFlight) {
    if (payout.wallet !== chain.address) continue; // another wallet's (a rotated key): not ours to send
    const receipt = await chain.receipt(payout.tx_hash);
    if (receipt) {
      if (receipt.reverted) {
        await settle(deps, payout.id, 'failed', 'The transfer reverted on chain; the amount is back in your available balance');
        log('warn', 'payout reverted', { payout_id: payout.id, tx_hash: payout.tx_hash });
        settled++;
      } else if (receipt.confirmations >= chain.minConfirmations) {
        await settle(deps, payout.id, 'completed');
        settled++;
      }
      continue;
    }
    // Not mined: send the stored transaction again (a node that already has it just says so).
    if ((await chain.send(payout.signed_tx)) === 'nonce_used') {
      // Mined a moment ago, or replaced by another transaction with its nonce: only the receipt tells.
      if (await chain.receipt(payout.tx_hash)) continue;
      await settle(deps, payout.id, 'failed', 'The transfer was dropped (its nonce was used by another transaction); the amount is back in your available balance');
      log('warn', 'payout dropped', { payout_id: payout.id, tx_hash: payout.tx_hash, nonce: payout.nonce });
      settled++;
      continue;
    }
    unminedUnits += BigInt(payout.amount_cents) * UNITS_PER_CENT;
    unmined++;
  }
  return { settled, unminedUnits, unmined };
}

/** Signs and stores the next queued payout in one transaction (nothing when none is due, or the wallet is short). */
async function signNext(
  tx: Tx, chain: PayoutChain,
  room: { usdc: bigint; eth: bigint; chainNonce: number; fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } },
): Promise<(Claimed & { signed_tx: `0x${string}`; tx_hash: `0x${string}` }) | null> {
  const [payout] = await tx<Claimed[]>`select * from api.claim_payout_to_send(${chain.address}, ${room.chainNonce})`;
  if (!payout) return null;
  const units = BigInt(payout.amount_cents) * UNITS_PER_CENT;
  const gas = TRANSFER_GAS * room.fees.maxFeePerGas;
  if (room.usdc < units) throw new WalletDry(`the hot wallet holds ${formatUnits(room.usdc, 6)} USDC spare, the next payout needs ${formatUnits(units, 6)}`);
  if (room.eth < gas) throw new WalletDry(`the hot wallet holds ${formatUnits(room.eth, 18)} ETH spare, the next payout's gas may cost ${formatUnits(gas, 18)}`);
  const { signedTx, txHash } = await chain.signTransfer({
    to: payout.address, amountCents: Number(payout.amount_cents), nonce: Number(payout.nonce), ...room.fees,
  });
  await tx`select api.record_signed_payout(${payout.id}, ${chain.address}, ${payout.nonce}, ${payout.address}, ${signedTx}, ${txHash})`;
  return { ...payout, signed_tx: signedTx, tx_hash: txHash };
}

function formatUnits(value: bigint, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const fraction = (value % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return fraction ? `${value / scale}.${fraction}` : `${value / scale}`;
}

export const payouts: WorkStep = {
  name: 'payouts',
  run: async (deps: Deps, tick: Tick) => {
    const chain = deps.payoutChain;
    if (!chain) return 0;
    const { settled, unminedUnits, unmined } = await reconcile(deps, chain);
    let sent = 0;
    const [{ due }] = await deps.db.asService((tx) => tx<{ due: boolean }[]>`
      select exists (select from public.payouts p where p.status = 'queued' and p.method = 'usdc') as due`);
    if (!due) return settled;

    const funds = await chain.funds();
    const fees = await chain.fees();
    const room = {
      usdc: funds.usdc - unminedUnits,
      eth: funds.eth - TRANSFER_GAS * fees.maxFeePerGas * BigInt(unmined),
      chainNonce: funds.nonce,
      fees,
    };
    let dry: string | null = null;
    while (sent < SENDS_PER_TICK && Date.now() < tick.deadline) {
      let signed;
      try {
        signed = await deps.db.asService((tx) => signNext(tx, chain, room));
      } catch (error) {
        if (!(error instanceof WalletDry)) throw error;
        dry = error.message;
        break;
      }
      if (!signed) break;
      // Stored and committed: from here on, this exact transaction is the payout.
      await chain.send(signed.signed_tx);
      room.usdc -= BigInt(signed.amount_cents) * UNITS_PER_CENT;
      room.eth -= TRANSFER_GAS * fees.maxFeePerGas;
      sent++;
    }
    const [{ ran_dry }] = await deps.db.asService((tx) => tx<{ ran_dry: boolean }[]>`
      select api.note_payout_wallet(${chain.address}, ${dry}) as ran_dry`);
    if (ran_dry) log('warn', 'payout hot wallet is dry: payouts wait queued', { wallet: chain.address, reason: dry });
    return settled + sent;
  },
};
