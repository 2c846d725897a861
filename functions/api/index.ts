/**
 * Entry point of the `api` edge function. Supabase serves it at /functions/v1/api/…, and the
 * request arrives with the path /api/v1/…; the local stack serves it at the same path.
 */
import { loadConfig, processEnv } from '../_shared/config.ts';
import { createDb, surviveDroppedConnections } from '../_shared/db.ts';
import { trustingVerifier, unavailableVerifier } from '../_shared/deposits.ts';
import { log } from '../_shared/log.ts';
import { createOperatorTokenVerifier } from '../_shared/operator-token.ts';
import { createLocalStorage, createSupabaseStorage } from '../_shared/storage.ts';
import { assertDepositXpub, createOnChainVerifier } from '../_shared/usdc.ts';
import { createApp } from './app.ts';

const config = loadConfig(processEnv());
if (config.chain.depositXpub) assertDepositXpub(config.chain.depositXpub);
surviveDroppedConnections();
const db = createDb(config.databaseUrl, config.db);
const { jwksUrl, issuer, authorizedParties, audiences } = config.operatorAuth;
const localStorage = config.storage.backend === 'local' && config.storage.dir && config.storage.signingSecret
  ? createLocalStorage({ dir: config.storage.dir, signingSecret: config.storage.signingSecret })
  : undefined;
const app = createApp({
  config,
  db,
  // A configured chain is read in either mode (test mode with `npm start -- --chain`); test mode
  // without one trusts the claim, live mode without one refuses it.
  usdcVerifier: config.chain.rpcUrl && config.chain.depositXpub
    ? createOnChainVerifier({
      rpcUrl: config.chain.rpcUrl,
      chainId: config.chain.chainId,
      usdcAddress: config.chain.usdcAddress,
      minConfirmations: config.chain.minConfirmations,
    })
    : config.mode === 'test'
    ? trustingVerifier
    : unavailableVerifier,
  verifyOperatorToken: jwksUrl && issuer ? createOperatorTokenVerifier({ jwksUrl, issuer, authorizedParties, audiences }) : undefined,
  storage: config.storage.backend === 'supabase'
    ? createSupabaseStorage({ url: config.storage.url, serviceRoleKey: config.storage.serviceKey })
    : localStorage,
  localStorage,
});

const server = Deno.serve(
  {
    hostname: config.host,
    port: config.port,
    onListen: ({ port, hostname }) => log('info', 'listening', { hostname, port, mode: config.mode }),
  },
  (request, info) => app.fetch(request, { remoteAddr: info.remoteAddr }),
);

// Locally, finish in-flight requests on SIGINT/SIGTERM. On Supabase the edge runtime owns the
// worker and drains it itself; no signal reaches the function there.
if (!config.onSupabase) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    Deno.addSignalListener(signal, async () => {
      // In-flight requests get a moment to finish; a client stuck mid-body does not hold us up.
      await Promise.race([server.shutdown(), new Promise((resolve) => setTimeout(resolve, 2000))]);
      await db.end();
      Deno.exit(0);
    });
  }
}
