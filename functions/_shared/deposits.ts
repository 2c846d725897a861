/**
 * The seam between the deposit endpoint and the chain. A verifier turns "agent X says tx T moved
 * $N to its deposit address" into the transfer that actually happened, or refuses. In test mode
 * the claim is trusted (the reference's test-mode behaviour); live mode needs an on-chain verifier.
 */
import { ApiError } from './errors.ts';

/** One USDC transfer to an agent's deposit address, as found on chain. */
export interface UsdcTransfer {
  chain: 'base';
  txHash: string;
  logIndex: number;
  /**
   * Further Transfer logs of the same transaction with the same amount to the same address, in
   * order: credited instead of `logIndex` when that one is already credited.
   */
  otherLogIndexes?: number[];
  amountCents: number;
}

export interface UsdcDepositVerifier {
  /** `address`: the agent's deposit address, when deposit addresses are configured. */
  verify(claim: { agentId: string; txHash: string; amountCents: number; address: string | null }): Promise<UsdcTransfer>;
}

/** Test mode: the transfer is taken as claimed (log index 0), so the same hash credits once. */
export const trustingVerifier: UsdcDepositVerifier = {
  verify: async ({ txHash, amountCents }) => ({ chain: 'base', txHash, logIndex: 0, amountCents }),
};

/** Live mode until on-chain confirmation is configured: nothing is credited. */
export const unavailableVerifier: UsdcDepositVerifier = {
  verify: () =>
    Promise.reject(
      new ApiError(503, 'chain_verification_unavailable', 'On-chain deposit confirmation is not available yet; try again later', undefined, {
        'Retry-After': '60',
      }),
    ),
};
