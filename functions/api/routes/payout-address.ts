/** The operator's payout address: a challenge to sign, then the address set with its signature. */
import type { Context, Hono } from 'hono';
import { ApiError, badRequest } from '../../_shared/errors.ts';
import { challengeMessage, payoutAddressOf, signedBy } from '../../_shared/payout-address.ts';
import { PayoutAddressSchema } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, readJson, validate } from '../http.ts';
import { asServiceWithin } from '../../_shared/db.ts';

/** The address and, while a changed one waits, when payouts may go to it. */
export function payoutAddressFields(row: { payout_address: string | null; payout_address_usable_at: Date | null }) {
  const waiting = row.payout_address_usable_at !== null && row.payout_address_usable_at.getTime() > Date.now();
  return { payout_address: row.payout_address, payout_address_cooldown_ends_at: waiting ? iso(row.payout_address_usable_at) : null };
}

export function mountPayoutAddressRoutes(app: Hono<AppEnv>, deps: Deps) {
  const { config, db } = deps;
  const operatorId = (c: Context<AppEnv>) => c.get('operator').id;

  app.get('/operator/payout-address/challenge', async (c) => {
    const id = operatorId(c);
    const [challenge] = await db.asOperator(id, (tx) => tx<{ nonce: string; expires_at: Date }[]>`
      select nonce, expires_at from api.issue_payout_address_challenge()`);
    const expiresAt = iso(challenge.expires_at)!;
    return c.json({ nonce: challenge.nonce, message: challengeMessage(id, challenge.nonce, expiresAt), expires_at: expiresAt });
  });

  /**
   * Sets the payout address: the signature must be the address's own over the live challenge. Every
   * refusal is a 400 that changes nothing (the challenge is spent only by success).
   */
  app.put('/operator/payout-address', async (c) => {
    const input = await validate(PayoutAddressSchema, await readJson(c));
    const address = payoutAddressOf(input.address, { hotWallet: deps.hotWallet?.address, token: config.chain.usdcAddress });
    const id = operatorId(c);
    const row = await db.asOperator(id, async (tx) => {
      const [registered] = await tx`select from public.operators where id = ${id}`;
      if (!registered) throw new ApiError(403, 'operator_not_registered', 'Register as an operator first (POST /operator/register)');
      const [challenge] = await tx<{ nonce: string; expires_at: Date }[]>`
        select nonce, expires_at from public.payout_address_challenges where operator_id = ${id} and expires_at > now()`;
      if (!challenge) {
        throw badRequest('challenge_expired', 'No live challenge: it was used, replaced or has expired; sign a new one (GET /operator/payout-address/challenge)');
      }
      const message = challengeMessage(id, challenge.nonce, iso(challenge.expires_at)!);
      if (!(await signedBy(address, message, input.signature as `0x${string}`))) {
        throw badRequest('signature_invalid', "signature: is not this address's personal_sign signature of the current challenge message");
      }
      const [updated] = await asServiceWithin(tx, () => tx<{ payout_address: string; payout_address_usable_at: Date }[]>`
        select payout_address, payout_address_usable_at
          from api.set_payout_address(${id}, ${challenge.nonce}, ${address}, ${config.payouts.addressCooldownSeconds})`);
      return updated;
    });
    return c.json(payoutAddressFields(row));
  });
}
