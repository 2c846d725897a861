/** Payouts: booking one, its status, and the history, each with its transaction on Base. */
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { ApiError, notFound } from '../../_shared/errors.ts';
import { asServiceWithin } from '../../_shared/db.ts';
import { centsToUsd } from '../../_shared/money.ts';
import { ID_PATTERN, PayoutSchema, PayoutsQuery } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, readJson, validate } from '../http.ts';
import { idempotent } from '../middleware/idempotency.ts';
import { decodeCursor, encodeCursor, pagination, TIMESTAMP_KEY, TOTAL_CAP } from '../pagination.ts';

interface PayoutRow {
  id: string;
  status: string;
  amount_cents: string;
  method: string;
  address: string | null;
  tx_hash: string | null;
  failure: string | null;
  created_at: Date;
  completed_at: Date | null;
}

const PAYOUT_COLUMNS = 'id, status, amount_cents, method, address, tx_hash, failure, created_at, completed_at';

/** Where a page of payouts ended: the last row's sort key. */
const PayoutsKey = z.object({ created_at: z.string().regex(TIMESTAMP_KEY), id: z.string().regex(ID_PATTERN) });

const notRegistered = () => new ApiError(403, 'operator_not_registered', 'Register as an operator first (POST /operator/register)');

export function mountPayoutRoutes(app: Hono<AppEnv>, deps: Deps, releaseDueInTestMode: (c: Context<AppEnv>) => Promise<void>) {
  const { config, db } = deps;
  const operatorId = (c: Context<AppEnv>) => c.get('operator').id;
  const payoutBody = (row: PayoutRow) => ({
    payout_id: row.id,
    status: row.status,
    amount_usd: centsToUsd(row.amount_cents),
    method: row.method,
    address: row.address,
    tx_hash: row.tx_hash,
    explorer_url: row.tx_hash ? `${config.chain.explorerUrl}/tx/${row.tx_hash}` : null,
    failure: row.failure,
    created_at: iso(row.created_at),
    completed_at: iso(row.completed_at),
  });

  /** What a live server lacks to pay out on chain, in its settings' names. */
  const missingForPayouts = () =>
    [!config.payouts.privateKey && 'PAYOUT_PRIVATE_KEY (the payout hot wallet)', !config.chain.rpcUrl && 'BASE_RPC_URL'].filter(Boolean).join(' and ');

  /**
   * On chain (a payout wallet and an RPC): booked `queued` into clearing, sent by the worker. Test
   * mode without a chain: completed at once. Live mode without a chain: 503, after KYC.
   */
  app.post('/operator/payout', async (c) => {
    const raw = await readJson(c);
    const input = await validate(PayoutSchema, raw);
    const id = operatorId(c);
    const onChain = deps.payoutChain !== undefined;
    if (!onChain && config.mode !== 'test') {
      // What the operator can act on comes first: KYC, then what the server lacks.
      const [operator] = await db.asOperator(id, (tx) => tx<{ kyc_status: string }[]>`select kyc_status from public.operators where id = ${id}`);
      if (!operator) throw notRegistered();
      if (operator.kyc_status !== 'VERIFIED') {
        throw new ApiError(403, 'kyc_required', `KYC verification required (status: ${operator.kyc_status})`, { kyc_status: operator.kyc_status });
      }
      throw new ApiError(503, 'payouts_unavailable',
        `Payouts are not available on this server yet: it is not configured with ${missingForPayouts()}. Your earnings stay safe in your available balance`,
        undefined, { 'Retry-After': '86400' });
    }
    await releaseDueInTestMode(c);
    const outcome = await db.asOperator(id, (tx) =>
      idempotent(c, tx, raw, async () => {
        // The daily cap is the server's setting: only service_role books a payout, for this operator.
        const [payout] = await asServiceWithin(tx, () => tx<PayoutRow[]>`
          select ${tx.unsafe(PAYOUT_COLUMNS)} from api.request_payout(
            ${id}, ${input.amount_usd}, ${onChain ? 'usdc' : 'test'}, ${input.payoneer_payee_id ?? null}, ${config.payouts.dailyCapCents})`);
        let message = 'Payout completed (test mode)';
        if (onChain) {
          const [{ usable_at }] = await tx<{ usable_at: Date }[]>`select payout_address_usable_at as usable_at from public.operators where id = ${id}`;
          message = usable_at.getTime() > Date.now()
            ? `Payout queued: it is sent to ${payout.address} once that address's cool-down ends (${iso(usable_at)})`
            : `Payout queued: it is sent to ${payout.address} in USDC on Base within a minute or so`;
        }
        return { status: 200, body: { ...payoutBody(payout), message } };
      }));
    return c.json(outcome.body as object, outcome.status as 200);
  });

  app.get('/operator/payout/status/:id', async (c) => {
    const payoutId = c.req.param('id');
    const id = operatorId(c);
    const [payout] = ID_PATTERN.test(payoutId)
      ? await db.asOperator(id, (tx) => tx<PayoutRow[]>`select ${tx.unsafe(PAYOUT_COLUMNS)} from public.payouts where id = ${payoutId}`)
      : [];
    if (!payout) {
      const [registered] = await db.asOperator(id, (tx) => tx`select from public.operators where id = ${id}`);
      if (!registered) throw notRegistered();
      throw notFound('payout_not_found', 'No payout with this id');
    }
    return c.json(payoutBody(payout));
  });

  /** The operator's payouts, newest first, by offset or cursor; the total counted up to TOTAL_CAP. */
  app.get('/operator/payouts', async (c) => {
    const query = await validate(PayoutsQuery, c.req.query());
    const after = query.cursor === undefined ? null : decodeCursor('payouts', PayoutsKey, query.cursor);
    const id = operatorId(c);
    const { rows, counted } = await db.asOperator(id, async (tx) => {
      const [registered] = await tx`select from public.operators where id = ${id}`;
      if (!registered) throw notRegistered();
      // The sort key is what payouts_by_operator indexes. The key goes in as text: a timestamptz
      // parameter would pass through postgres.js's Date, which keeps milliseconds only and so
      // skips rows a few microseconds apart.
      const keyset = after
        ? tx`and created_at <= ${after.created_at}::text::timestamptz and (created_at < ${after.created_at}::text::timestamptz or id < ${after.id})`
        : tx``;
      const [rows, [{ count }]] = await Promise.all([
        tx<(PayoutRow & { created_key: string })[]>`
          select ${tx.unsafe(PAYOUT_COLUMNS)}, created_at::text as created_key from public.payouts
           where operator_id = ${id} ${keyset}
           order by created_at desc, id desc
           limit ${query.limit + 1} offset ${query.offset}`,
        tx<{ count: string }[]>`select count(*) from (select from public.payouts where operator_id = ${id} limit ${TOTAL_CAP + 1}) capped`,
      ]);
      return { rows, counted: Number(count) };
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const next = rows.length > query.limit && last ? encodeCursor('payouts', { created_at: last.created_key, id: last.id }) : null;
    return c.json({ data: page.map(payoutBody), pagination: pagination(query, counted, TOTAL_CAP, next) });
  });
}
