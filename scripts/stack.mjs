#!/usr/bin/env node
// `npm start`: the whole local platform, no Docker. Postgres 17 (from npm) with the migrations
// applied, a local stand-in for Clerk (operators' token issuer and its JWKS), proof storage in the
// data dir, the `api` edge function under Deno, the operator app on the API's own origin (the
// built app/dist at `/`, the API at `/api/v1`), and a ticker for scheduled upkeep. Data survives
// restarts; Ctrl-C (SIGINT) or SIGTERM stops every child this process started.
//
// Environment: HUMANOPS_PORT (API, default 54321), HUMANOPS_DB_PORT (Postgres, default 54322 or a
// free one), HUMANOPS_ISSUER_PORT (JWKS, default 54323 or a free one), HUMANOPS_REFERENCE_PORT (the
// API reference page, default 54324 or a free one), HUMANOPS_DATA_DIR (default
// .humanops/ in the clone, or a folder under the OS temp dir when the postgres user cannot reach the
// clone), HUMANOPS_MODE (test), HUMANOPS_CHAIN_PORT (the local chain, default 8545 or a free one),
// and everything the API reads.
//
// `npm start -- --chain` also runs a local chain (anvil, chain id 8453) with a test USDC token, and
// the API confirms deposits on it (see `npm run usdc`).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { startApi } from './lib/api.mjs';
import { APP_DIST, startAppServer } from './lib/app-server.mjs';
import { LOCAL_CHAIN_ID, startLocalChain } from './lib/chain.mjs';
import { defaultDataDir, startIssuer } from './lib/issuer.mjs';
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
 * operator app, about 15 s), so `npm ci && npm start` is all a newcomer runs. Later starts serve
 * what is built; `npm run build` rebuilds after a change.
 */
function buildIfMissing() {
  if (existsSync(join(APP_DIST, 'index.html'))) return;
  say('building   the SDK, the MCP server and the operator app (first start only; `npm run build` rebuilds)');
  const build = spawnSync('npm', ['run', '-s', 'build'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (build.status !== 0) {
    process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`);
    throw new Error(`npm run build failed (${build.error?.message ?? `exit ${build.status}`}); its output is above`);
  }
}

try {
  const { values: flags } = parseArgs({ options: { chain: { type: 'boolean', default: false } } });
  const mode = process.env.HUMANOPS_MODE ?? 'test';
  if (flags.chain && mode !== 'test') throw new Error('--chain runs a throwaway test chain: it is for test mode only');
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
  const apiPort = Number(process.env.HUMANOPS_PORT ?? 54321);
  if (!(await portIsFree(apiPort))) throw new Error(`port ${apiPort} is in use (set HUMANOPS_PORT to use another)`);
  const dbPort = process.env.HUMANOPS_DB_PORT ? Number(process.env.HUMANOPS_DB_PORT) : await freePort(54322);

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
    port: process.env.HUMANOPS_ISSUER_PORT ? Number(process.env.HUMANOPS_ISSUER_PORT) : await freePort(54323),
  });
  children.push({ name: 'issuer', stop: () => issuer.stop() });

  let chain;
  if (flags.chain) {
    chain = await startLocalChain({ port: process.env.HUMANOPS_CHAIN_PORT ? Number(process.env.HUMANOPS_CHAIN_PORT) : await freePort(8545) });
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
    }
    : {};

  const storageDir = join(dir, 'storage');
  const workerSecret = keptSecret(join(dir, 'worker-secret'));
  mkdirSync(storageDir, { recursive: true });
  // Deno listens on a private port; the front door on HUMANOPS_PORT serves the app and proxies the API.
  const api = await startApi({
    port: 0,
    writableDirs: [storageDir],
    env: {
      SUPABASE_DB_URL: dbUrl,
      HUMANOPS_MODE: process.env.HUMANOPS_MODE ?? 'test',
      CLERK_JWKS_URL: process.env.CLERK_JWKS_URL ?? issuer.jwksUrl,
      CLERK_ISSUER: process.env.CLERK_ISSUER ?? issuer.issuer,
      CLERK_AUTHORIZED_PARTIES: process.env.CLERK_AUTHORIZED_PARTIES ?? issuer.authorizedParty,
      HUMANOPS_STORAGE_DIR: storageDir,
      STORAGE_SIGNING_SECRET: keptSecret(join(dir, 'storage-signing-secret')),
      WORKER_SECRET: workerSecret,
      // Admin routes answer only when an admin key is set; locally that is the developer's choice.
      ...(process.env.HUMANOPS_ADMIN_KEY ? { HUMANOPS_ADMIN_KEY: process.env.HUMANOPS_ADMIN_KEY } : {}),
      ...chainEnv,
    },
    onLog: (line) => say(line),
  });
  children.push({ name: 'api', stop: () => api.stop() });
  // The app's local sign-in exists only while the API trusts this stack's own issuer.
  const localIssuer = !process.env.CLERK_JWKS_URL;
  const front = await startAppServer({
    apiOrigin: new URL(api.url).origin,
    port: apiPort,
    signIn: localIssuer ? (sub) => issuer.mint(sub, { expiresIn: '8h' }) : undefined,
  });
  children.push({ name: 'app', stop: () => front.stop() });
  const apiUrl = `${front.url}/api/v1`;
  api.exited.then(({ code }) => {
    if (!stopping) {
      say(`the API exited (code ${code}); stopping`);
      stopAll(1);
    }
  });

  const reference = await startReference({
    port: process.env.HUMANOPS_REFERENCE_PORT ? Number(process.env.HUMANOPS_REFERENCE_PORT) : await freePort(54324),
    apiUrl,
  });
  children.push({ name: 'reference', stop: () => reference.stop() });

  // The same background work pg_cron + pg_net drive on Supabase: one tick every few seconds.
  let ticking = false;
  const ticker = setInterval(async () => {
    if (ticking) return;
    ticking = true;
    try {
      const response = await fetch(`${api.url}/internal/tick`, { method: 'POST', headers: { 'x-worker-secret': workerSecret } });
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
  say(`app        ${front.url}/ (the operator app)`);
  say(`reference  ${reference.url} (the OpenAPI document: ${apiUrl}/openapi.json)`);
  if (chain) say(`chain      ${chain.rpcUrl} (chain id ${LOCAL_CHAIN_ID}, test USDC ${chain.usdcAddress}; send with npm run -s usdc -- <address> <amount>)`);
  const guardian = process.env.ANTHROPIC_API_KEY
    ? `the Guardian's model is on (${process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-4-5'})`
    : "the Guardian's model is off without ANTHROPIC_API_KEY: rule checks only, nothing is approved automatically (the agent approves, or the sandbox)";
  say(`HumanOps is ready: ${apiUrl} (mode ${mode}); ${guardian}; operator app ${front.url}/; Ctrl-C stops it`);
} catch (error) {
  say(`HumanOps failed to start: ${error.message}`);
  await stopAll(1);
}
