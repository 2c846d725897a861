/**
 * The API built from its configuration, and served with Deno. The `api` edge function's entry
 * (index.ts) serves it alone; the local site (functions/local/) serves it beside the operator app.
 */
import type { Config } from '../_shared/config.ts';
import { createDb, type Db, surviveDroppedConnections } from '../_shared/db.ts';
import { trustingVerifier, unavailableVerifier } from '../_shared/deposits.ts';
import { log } from '../_shared/log.ts';
import { createOperatorTokenVerifier } from '../_shared/operator-token.ts';
import { createLocalStorage, createSupabaseStorage } from '../_shared/storage.ts';
import { assertDepositXpub, createOnChainVerifier } from '../_shared/usdc.ts';
import { privateKeyToAccount } from 'viem/accounts';
import { createPayoutChain } from '../_shared/payout-chain.ts';
import { createApp } from './app.ts';

export type Handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response | Promise<Response>;

/** The API's Hono app and its database pool, from `config`. */
export function buildApi(config: Config) {
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
    hotWallet: config.payouts.privateKey ? { address: privateKeyToAccount(config.payouts.privateKey).address } : undefined,
    payoutChain: config.payouts.privateKey && config.chain.rpcUrl
      ? createPayoutChain({
        rpcUrl: config.chain.rpcUrl,
        chainId: config.chain.chainId,
        usdcAddress: config.chain.usdcAddress,
        privateKey: config.payouts.privateKey,
        minConfirmations: config.chain.minConfirmations,
      })
      : undefined,
  });
  return { app, db };
}

/** A listener: where, and with which certificate (PEM) when it speaks TLS. */
export interface Listener {
  hostname: string;
  port: number;
  tls?: { cert: string; key: string };
}

/**
 * Serves `handler` on each listener and logs `listening` once all listen. The first listener's port
 * may be 0 (any free port); the others then take the same port on their own address.
 */
export function serve(config: Config, db: Db, handler: Handler, listeners: Listener[] = [{ hostname: config.host, port: config.port }]) {
  const [first, ...rest] = listeners;
  const servers: Deno.HttpServer[] = [];
  const scheme = (listener: Listener) => (listener.tls ? 'https' : 'http');
  servers.push(Deno.serve({
    hostname: first.hostname,
    port: first.port,
    ...(first.tls ?? {}),
    onListen: ({ hostname, port }) => {
      for (const listener of rest) {
        servers.push(Deno.serve({ hostname: listener.hostname, port, ...(listener.tls ?? {}), onListen: () => {} }, handler as Deno.ServeHandler));
      }
      const urls = listeners.length > 1 || first.tls ? { urls: listeners.map((l) => `${scheme(l)}://${l.hostname}:${port}`) } : {};
      log('info', 'listening', { hostname, port, mode: config.mode, ...urls });
    },
  }, handler as Deno.ServeHandler));

  // Locally, finish in-flight requests on SIGINT/SIGTERM. On Supabase the edge runtime owns the
  // worker and drains it itself; no signal reaches the function there.
  if (config.onSupabase) return;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    Deno.addSignalListener(signal, async () => {
      // In-flight requests get a moment to finish; a client stuck mid-body does not hold us up.
      await Promise.race([Promise.all(servers.map((s) => s.shutdown())), new Promise((resolve) => setTimeout(resolve, 2000))]);
      await db.end();
      Deno.exit(0);
    });
  }
}
