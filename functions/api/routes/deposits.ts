/** Funding an agent's account: USDC on Base (verified, then credited once) and test-mode fiat. */
import { Hono } from 'hono';
import { ApiError, forbidden, notFound, toApiError } from '../../_shared/errors.ts';
import { depositAddress } from '../../_shared/usdc.ts';
import { asServiceWithin, type Tx } from '../../_shared/db.ts';
import type { UsdcTransfer } from '../../_shared/deposits.ts';
import { centsToUsd } from '../../_shared/money.ts';
import { DepositStatusSchema, FiatDepositSchema, UsdcDepositSchema } from '../../_shared/schemas.ts';
import type { Agent, AppEnv, Deps } from '../context.ts';
import { readJson, validate } from '../http.ts';
import { requireAgent } from '../middleware/agent-auth.ts';
import { idempotent } from '../middleware/idempotency.ts';

interface Credited {
  id: string;
  amount_cents: string;
  status: string;
}

/**
 * Credits a verified transfer. When the transaction holds several equal transfers to the agent, the
 * first one not credited yet is: each earlier candidate is tried in a savepoint, so its 409 (also
 * from a concurrent request that just took it) leaves the transaction usable for the next one.
 */
async function creditUsdc(tx: Tx, agentId: string, transfer: UsdcTransfer): Promise<Credited> {
  const credit = (q: Tx, logIndex: number) => q<Credited[]>`
    select id, amount_cents, status from api.credit_deposit(
      ${agentId}, 'usdc', ${transfer.amountCents}, ${transfer.chain}, ${transfer.txHash}, ${logIndex})`;
  const candidates = [transfer.logIndex, ...(transfer.otherLogIndexes ?? [])];
  for (const logIndex of candidates.slice(0, -1)) {
    try {
      const [deposit] = await tx.savepoint((sp) => credit(sp, logIndex));
      return deposit;
    } catch (error) {
      if (toApiError(error)?.code !== 'deposit_already_credited') throw error;
    }
  }
  const [deposit] = await credit(tx, candidates[candidates.length - 1]);
  return deposit;
}

export function depositRoutes(deps: Deps) {
  const { config, db, usdcVerifier } = deps;
  const app = new Hono<AppEnv>();
  app.use('/agents/deposit/*', requireAgent(deps));

  /** The agent's own deposit address, or null when no DEPOSIT_XPUB is configured. */
  const addressOf = async (caller: Agent): Promise<string | null> => {
    if (!config.chain.depositXpub) return null;
    const [agent] = await db.asAgent(caller, (tx) => tx<{ deposit_index: number }[]>`select deposit_index from public.agents where id = ${caller.id}`);
    return depositAddress(config.chain.depositXpub, agent.deposit_index);
  };

  app.get('/agents/deposit/address', async (c) => {
    const address = await addressOf(c.get('agent'));
    if (!address) {
      throw new ApiError(503, 'deposit_addresses_unavailable', 'Deposit addresses are not configured on this server (DEPOSIT_XPUB)');
    }
    // Remembered once shown, so that no operator can make it a payout address.
    await db.asService((tx) => tx`select api.record_deposit_address(${c.get('agent').id}, ${address})`);
    return c.json({
      address,
      chain: 'base',
      chain_id: config.chain.chainId,
      token: { symbol: 'USDC', address: config.chain.usdcAddress, decimals: 6 },
      min_confirmations: config.chain.minConfirmations,
      minimum_usd: 5,
      maximum_usd: 10_000,
      ...(config.chain.testDepositKey
        ? {
          test_only: true,
          warning: 'Test mode: this address derives from a public test key that anyone can spend from; never send real funds to it',
        }
        : {}),
    });
  });

  app.post('/agents/deposit/usdc', async (c) => {
    const raw = await readJson(c);
    const input = await validate(UsdcDepositSchema, raw);
    const agentId = c.get('agent').id;
    const transfer = await usdcVerifier.verify({ agentId, txHash: input.tx_hash, amountCents: input.amount_usdc, address: await addressOf(c.get('agent')) });
    const outcome = await db.asAgent(c.get('agent'), (tx) =>
      idempotent(c, tx, raw, async () => {
        // Crediting vouches for money that arrived from outside: only service_role may do it.
        const deposit = await asServiceWithin(tx, () => creditUsdc(tx, agentId, transfer));
        return {
          status: 200,
          body: {
            transaction_id: deposit.id,
            amount_usd: centsToUsd(deposit.amount_cents),
            status: deposit.status,
            chain: transfer.chain,
            message: config.mode === 'test' ? 'USDC deposit confirmed (test mode)' : 'USDC deposit confirmed',
          },
        };
      }));
    return c.json(outcome.body as object, outcome.status as 200);
  });

  app.post('/agents/deposit', async (c) => {
    const raw = await readJson(c);
    const input = await validate(FiatDepositSchema, raw);
    if (config.mode !== 'test') {
      throw forbidden('test_mode_only', 'Fiat deposits are coming soon; fund your account with USDC on Base');
    }
    const agentId = c.get('agent').id;
    const outcome = await db.asAgent(c.get('agent'), (tx) =>
      idempotent(c, tx, raw, async () => {
        const [deposit] = await asServiceWithin(tx, () => tx<Credited[]>`
          select id, amount_cents, status from api.credit_deposit(
            ${agentId}, 'fiat', ${input.amount_usd}, p_payment_method => ${input.payment_method})`);
        return {
          status: 200,
          body: { transaction_id: deposit.id, amount_usd: centsToUsd(deposit.amount_cents), status: deposit.status, message: 'Funds added (test mode)' },
        };
      }));
    return c.json(outcome.body as object, outcome.status as 200);
  });

  app.post('/agents/deposit/status', async (c) => {
    const input = await validate(DepositStatusSchema, await readJson(c));
    const [deposit] = await db.asAgent(c.get('agent'), (tx) => tx<Credited[]>`
      select id, amount_cents, status from public.deposits where id = ${input.payment_id} and method = 'fiat'`);
    if (!deposit) throw notFound('payment_not_found', 'No fiat payment with this id');
    return c.json({ payment_id: deposit.id, status: deposit.status, amount_usd: centsToUsd(deposit.amount_cents) });
  });

  return app;
}
