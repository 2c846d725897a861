#!/usr/bin/env node
// `npm start`: the whole local platform, no Docker. Postgres 17 (from npm) with the migrations
// applied, a local stand-in for Clerk (operators' token issuer and its JWKS), proof storage in the
// data dir, one Deno server (functions/local: the `api` edge function's app at `/api/v1` and,
// beside it on the same origin, the operator app's built files and the local sign-in), and a ticker
// for scheduled upkeep. Data survives restarts; Ctrl-C (SIGINT) or SIGTERM stops every child this
// process started.
//
// Environment: HUMANOPS_PORT (API, default 54321), HUMANOPS_DB_PORT (Postgres, default 54322 or a
// free one), HUMANOPS_ISSUER_PORT (JWKS, default 54323 or a free one), HUMANOPS_REFERENCE_PORT (the
// API reference page, default 54324 or a free one), HUMANOPS_DATA_DIR (default
// .humanops/ in the clone, or a folder under the OS temp dir when the postgres user cannot reach the
// clone), HUMANOPS_MODE (test), HUMANOPS_CHAIN_PORT (the local chain, default 8545 or a free one),
// HUMANOPS_HOST (the address to serve on: beyond loopback, over HTTPS), and everything the API reads.
//
// `npm start -- --chain` also runs a local chain (anvil, chain id 8453) with a test USDC token, and
// the API confirms deposits on it (see `npm run usdc`). `npm start -- --lan` serves the app to a
// phone on the local network: HUMANOPS_HOST is this machine's LAN address, over HTTPS with a
// certificate made at first start (scripts/lib/certificate.mjs), and plain HTTP stays on 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { SITE_ENTRY, startApi } from './lib/api.mjs';
import { APP_DIST, buildSteps } from './lib/build.mjs';
import { localCertificate } from './lib/certificate.mjs';
import { LOCAL_CHAIN_ID, localPayoutKey, startLocalChain } from './lib/chain.mjs';
import { privateKeyToAccount } from 'viem/accounts';
import { servingHost } from './lib/host.mjs';
import { defaultDataDir, issuerKeyFile, startIssuer } from './lib/issuer.mjs';
import { keptVapidKeys } from './lib/vapid.mjs';
import { migrate } from './lib/migrate.mjs';
import { freePort, portIsFree } from './lib/ports.mjs';
import { postgresBlockedAt, startPostgres } from './lib/postgres.mjs';
import { startReference } from './lib/reference.mjs';
import { forgetRunningStack, recordRunningStack } from './lib/running.mjs';

const say = (line) => process.stdout.write(`${line}\n`);

/** A secret made on first start and kept (0600) in the data dir. */
function keptSecret(file) {
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

const children = [];
let stopping = false;

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children.reverse()) {
    try {
      await child.stop();
    } catch (error) {
      say(`while stopping ${child.name}: ${error.message}`);
    }
  }
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    say(`\n${signal}: stopping HumanOps`);
    stopAll(0);
  });
}

/**
 * A fresh clone has no builds: the first `npm start` makes them (the SDK, the MCP server and the
 * operator app), one step at a time with what it is doing and how long it took, so `npm ci && npm
 * start` is all a newcomer runs. Later starts serve what is built; `npm run build` rebuilds.
 */
function buildIfMissing() {
  if (existsSync(join(APP_DIST, 'index.html'))) return;
  say('building   the SDK, the MCP server and the operator app (first start only; `npm run build` rebuilds)');
  const started = Date.now();
  for (const [i, step] of buildSteps.entries()) {
    const stepStarted = Date.now();
    process.stdout.write(`building   ${i + 1}/${buildSteps.length} ${step.name} … `);
    const build = spawnSync('npm', step.args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    if (build.status !== 0) {
      say('failed');
      process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`);
      throw new Error(`building ${step.name} failed (${build.error?.message ?? `exit ${build.status}`}); its output is above`);
    }
    say(`${((Date.now() - stepStarted) / 1000).toFixed(1)} s`);
  }
  say(`built      in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * The port `variable` names, refused at once (naming the port, what wanted it and how to move it)
 * when something already listens there. Unset, `preferred` if it is free, else any free port; with
 * `fixed`, `preferred` or nothing (the app's address is the one people open).
 */
async function chosenPort(variable, what, preferred, { fixed = false } = {}) {
  const named = process.env[variable];
  if (named === undefined && !fixed) return freePort(preferred);
  const port = Number(named ?? preferred);
  if (!(await portIsFree(port))) {
    throw new Error(`port ${port} (${what}) is in use: stop what listens on 127.0.0.1:${port}, or set ${variable} to a free port` +
      (fixed ? '' : ' (unset, a free one is picked)'));
  }
  return port;
}

try {
  const { values: flags } = parseArgs({ options: { chain: { type: 'boolean', default: false }, lan: { type: 'boolean', default: false } } });
  const mode = process.env.HUMANOPS_MODE ?? 'test';
  if (flags.chain && mode !== 'test') throw new Error('--chain runs a throwaway test chain: it is for test mode only');
  // The local issuer's key sits in the data dir: anyone who can read it can be any operator.
  if (mode === 'live' && (!process.env.CLERK_JWKS_URL || !process.env.CLERK_ISSUER)) {
    throw new Error('live mode trusts only your identity provider, never this stack\'s local issuer: set CLERK_JWKS_URL, CLERK_ISSUER ' +
      'and CLERK_AUTHORIZED_PARTIES to your Clerk instance\'s (or run in test mode)');
  }
  const host = servingHost({ lan: flags.lan, env: process.env });
  buildIfMissing();
  const dir = defaultDataDir();
  // Postgres runs as the postgres user when we are root: it must be able to reach the data dir.
  const blocked = process.env.HUMANOPS_DATA_DIR && postgresBlockedAt(dir);
  if (blocked) {
    throw new Error(`HUMANOPS_DATA_DIR=${dir}: Postgres runs as the postgres user (we are root), and it cannot enter ${blocked}. ` +
      `Choose a data dir it can reach (e.g. under ${process.env.TMPDIR ?? '/tmp'}), run \`chmod o+x ${blocked}\`, or leave HUMANOPS_DATA_DIR unset ` +
      '(the default then moves to the temp dir by itself).');
  }
  mkdirSync(dir, { recursive: true });
  const apiPort = await chosenPort('HUMANOPS_PORT', 'the API and the operator app', 54321, { fixed: true });
  const dbPort = await chosenPort('HUMANOPS_DB_PORT', 'Postgres', 54322);

  say(`data dir   ${dir}`);
  const pg = await startPostgres({ dataDir: join(dir, 'postgres'), port: dbPort });
  children.push({ name: 'postgres', stop: () => pg.stop() });

  const dbUrl = pg.url('postgres');
  const sql = postgres(dbUrl, { onnotice: () => {}, max: 1 });
  try {
    for (const version of await migrate(sql)) say(`migrated   ${version}`);
  } finally {
    await sql.end({ timeout: 2 });
  }

  const issuer = await startIssuer({
    dir,
    port: await chosenPort('HUMANOPS_ISSUER_PORT', "the local issuer's JWKS", 54323),
  });
  children.push({ name: 'issuer', stop: () => issuer.stop() });

  let chain;
  // The payout hot wallet on the local chain: PAYOUT_PRIVATE_KEY if set, else a public test key.
  const payoutKey = process.env.PAYOUT_PRIVATE_KEY ?? localPayoutKey();
  if (flags.chain) {
    chain = await startLocalChain({
      port: await chosenPort('HUMANOPS_CHAIN_PORT', 'the local chain', 8545),
      payoutAddress: privateKeyToAccount(payoutKey).address,
    });
    children.push({ name: 'chain', stop: () => chain.stop() });
  }
  // With the local chain, deposits are confirmed on it: real transfers to the agents' addresses
  // (test mode's own deposit key unless DEPOSIT_XPUB says otherwise).
  const chainEnv = chain
    ? {
      BASE_RPC_URL: chain.rpcUrl,
      BASE_CHAIN_ID: String(LOCAL_CHAIN_ID),
      USDC_CONTRACT_ADDRESS: chain.usdcAddress,
      BASE_MIN_CONFIRMATIONS: process.env.BASE_MIN_CONFIRMATIONS ?? '1',
      PAYOUT_PRIVATE_KEY: payoutKey,
    }
    : {};

  const storageDir = join(dir, 'storage');
  const workerSecret = keptSecret(join(dir, 'worker-secret'));
  const vapid = keptVapidKeys(dir);
  if (vapid.made) say(`made       a VAPID key pair for Web Push (in ${vapid.file})`);
  mkdirSync(storageDir, { recursive: true });
  // Beyond loopback the app needs a secure context (location, camera, service worker): HTTPS.
  const tls = host.loopback ? undefined : await localCertificate(dir, [host.address, '127.0.0.1', 'localhost']);
  for (const what of tls?.made ?? []) say(`made       a ${what} (in ${join(dir, 'tls')})`);
  // The app's local sign-in exists only while the API trusts this stack's own issuer, and never in live mode.
  const localSignIn = !process.env.CLERK_JWKS_URL && mode !== 'live';
  const api = await startApi({
    entry: SITE_ENTRY,
    port: apiPort,
    writableDirs: [storageDir],
    readable: [...(localSignIn ? [issuerKeyFile(dir)] : []), ...(tls ? [tls.caFile, tls.certFile, tls.keyFile] : [])],
    env: {
      HUMANOPS_HOST: host.address,
      ...(localSignIn ? { HUMANOPS_SIGN_IN_KEY: issuerKeyFile(dir) } : {}),
      ...(tls ? { HUMANOPS_TLS_CERT: tls.certFile, HUMANOPS_TLS_KEY: tls.keyFile, HUMANOPS_TLS_CA: tls.caFile } : {}),
      SUPABASE_DB_URL: dbUrl,
      HUMANOPS_MODE: process.env.HUMANOPS_MODE ?? 'test',
      CLERK_JWKS_URL: process.env.CLERK_JWKS_URL ?? issuer.jwksUrl,
      CLERK_ISSUER: process.env.CLERK_ISSUER ?? issuer.issuer,
      CLERK_AUTHORIZED_PARTIES: process.env.CLERK_AUTHORIZED_PARTIES ?? issuer.authorizedParty,
      HUMANOPS_STORAGE_DIR: storageDir,
      STORAGE_SIGNING_SECRET: keptSecret(join(dir, 'storage-signing-secret')),
      WORKER_SECRET: workerSecret,
      ...vapid.env,
      // Admin routes answer only when an admin key is set; locally that is the developer's choice.
      ...(process.env.HUMANOPS_ADMIN_KEY ? { HUMANOPS_ADMIN_KEY: process.env.HUMANOPS_ADMIN_KEY } : {}),
      ...chainEnv,
    },
    onLog: (line) => say(line),
  });
  children.push({ name: 'api', stop: () => api.stop() });
  // This machine's own tools (the ticker, the reference page, the walk-through) use plain HTTP on loopback.
  const localOrigin = api.urls.find((url) => url.startsWith('http://')) ?? api.urls[0];
  const appOrigin = api.urls[0];
  const apiUrl = `${localOrigin}/api/v1`;
  api.exited.then(({ code }) => {
    if (!stopping) {
      say(`the API exited (code ${code}); stopping`);
      stopAll(1);
    }
  });

  const reference = await startReference({
    port: await chosenPort('HUMANOPS_REFERENCE_PORT', 'the API reference page', 54324),
    apiUrl,
  });
  children.push({ name: 'reference', stop: () => reference.stop() });

  // The same background work pg_cron + pg_net drive on Supabase: one tick every few seconds.
  let ticking = false;
  const ticker = setInterval(async () => {
    if (ticking) return;
    ticking = true;
    try {
      const response = await fetch(`${apiUrl}/internal/tick`, { method: 'POST', headers: { 'x-worker-secret': workerSecret } });
      if (!response.ok) say(`tick failed: ${response.status} ${await response.text()}`);
    } catch (error) {
      say(`tick failed: ${error.message}`);
    } finally {
      ticking = false;
    }
  }, Number(process.env.HUMANOPS_TICK_MS ?? 2000));
  children.push({ name: 'ticker', stop: () => clearInterval(ticker) });

  recordRunningStack(apiPort, { dataDir: dir, apiUrl, jwksUrl: issuer.jwksUrl, chain: chain && { rpcUrl: chain.rpcUrl, usdcAddress: chain.usdcAddress } });
  children.push({ name: 'running-stack record', stop: () => forgetRunningStack(apiPort) });

  say(`postgres   ${dbUrl}`);
  say(`issuer     ${issuer.jwksUrl} (operator tokens: npm run -s token -- <operator id>)`);
  say(`api        ${apiUrl}`);
  say(`app        ${appOrigin}/ (the operator app${localSignIn ? '; sign in with any email' : ''})`);
  say(`console    ${appOrigin}/console/ (the owner's console: link an agent with a code from POST /agents/owners/link-code)`);
  if (tls) {
    say(`phone      open ${appOrigin}/ on a phone on this network. Trust this machine's certificate once: open ${appOrigin}/local/ca.crt,`);
    say('           accept the warning and install it (iOS: Settings → General → VPN & Device Management → install, then About →');
    say('           Certificate Trust Settings → turn it on; Android: Settings → Security → Encryption & credentials → Install a');
    say(`           certificate → CA certificate). Its SHA-256 fingerprint: ${tls.caFingerprint}`);
  }
  say(`reference  ${reference.url} (the OpenAPI document: ${apiUrl}/openapi.json)`);
  if (chain) say(`chain      ${chain.rpcUrl} (chain id ${LOCAL_CHAIN_ID}, test USDC ${chain.usdcAddress}; send with npm run -s usdc -- <address> <amount>, read with npm run -s usdc -- balance <address>; payouts from ${privateKeyToAccount(payoutKey).address})`);
  const guardian = process.env.ANTHROPIC_API_KEY
    ? `the Guardian's model is on (${process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-4-5'})`
    : "the Guardian's model is off without ANTHROPIC_API_KEY: rule checks only, nothing is approved automatically (the agent approves, or the sandbox)";
  const phone = tls ? ` (on a phone: trust ${appOrigin}/local/ca.crt once, see "phone" above)` : '';
  say(`HumanOps is ready: ${apiUrl} (mode ${mode}); ${guardian}; operator app ${appOrigin}/${phone}; Ctrl-C stops it`);
} catch (error) {
  say(`HumanOps failed to start: ${error?.message ?? String(error)}`);
  await stopAll(1);
}
