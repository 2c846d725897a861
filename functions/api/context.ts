/** What the app is built from, and what each request carries through Hono's context. */
import type { Config } from '../_shared/config.ts';
import type { AgentKey, Db } from '../_shared/db.ts';
import type { UsdcDepositVerifier } from '../_shared/deposits.ts';
import type { PayoutChain } from '../_shared/payout-chain.ts';
import type { createLocalStorage, ProofStorage } from '../_shared/storage.ts';

export interface Deps {
  config: Config;
  db: Db;
  usdcVerifier: UsdcDepositVerifier;
  /** Verifies an operator's session token; absent when no identity provider is configured. */
  verifyOperatorToken?: (token: string) => Promise<{ sub: string }>;
  /** Proof files; absent when no storage is configured (uploads then answer 503). */
  storage?: ProofStorage;
  /** The platform's payout hot wallet (PAYOUT_PRIVATE_KEY): its address, never its key. */
  hotWallet?: { address: `0x${string}` };
  /** USDC payouts on chain: with PAYOUT_PRIVATE_KEY and BASE_RPC_URL; without, live payouts answer 503. */
  payoutChain?: PayoutChain;
  /** The same storage when it is the local folder, whose signed URLs this app serves. */
  localStorage?: ReturnType<typeof createLocalStorage>;
}

export type Agent = AgentKey;

export interface AppEnv {
  Bindings: { remoteAddr?: { hostname?: string } };
  Variables: {
    requestId: string;
    agent: Agent;
    /** The agent behind the request's API key, once looked up (its scopes not yet checked for the route). */
    keyOwner?: Agent;
    operator: { id: string };
    /** The signed-in person on their own routes (/owner/*). */
    owner: { id: string };
    /** Leave this request out of the log. */
    quiet?: boolean;
  };
}
