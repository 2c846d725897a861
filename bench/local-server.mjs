#!/usr/bin/env node
// `npm run bench:local`: does `npm start`'s URL serve the API as fast as the API server itself? It
// runs `npm start` (scripts/stack.mjs, on a private data dir and ports) and, beside it on the same
// Postgres, the `api` edge function alone, then loads both with wrk in turns: GET /health and a 404
// (an unknown route under /api/v1), at 10 connections. Figures are req/s; the ratio is npm start's
// URL to the API server's, best round of each. Needs wrk; CI does not run it.
// Environment: BENCH_SECONDS (per round, default 5), BENCH_ROUNDS (default 3).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, describeMachine, say, startServer, state, wrk } from './lib.mjs';
import { freePort } from '../scripts/lib/ports.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 10;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** `npm start` on its own data dir and ports; resolves with its printed API URL and Postgres URL. */
async function startNpmStart(dir) {
  const env = { ...process.env, HUMANOPS_DATA_DIR: dir, HUMANOPS_TICK_MS: '600000' };
  for (const name of ['HUMANOPS_PORT', 'HUMANOPS_DB_PORT', 'HUMANOPS_ISSUER_PORT', 'HUMANOPS_REFERENCE_PORT']) env[name] = String(await freePort());
  const child = spawn(process.execPath, [join(repoRoot, 'scripts/stack.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; if (output.length > 1 << 20) output = output.slice(-4096); });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const deadline = Date.now() + 180_000;
  while (!/HumanOps is ready/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const apiUrl = /^api +(\S+)/m.exec(output)[1];
  const dbUrl = /^postgres +(\S+)/m.exec(output)[1];
  return { apiUrl, dbUrl, stop: async () => { child.kill('SIGTERM'); if (child.exitCode === null) await once(child, 'exit'); } };
}

async function main() {
  describeMachine();
  say(`settings  ${SECONDS} s per round, ${ROUNDS} rounds in turns, ${CONNECTIONS} connections, wrk`);
  const dir = await mkdtemp(join(tmpdir(), 'humanops-bench-local-'));
  await chmod(dir, 0o755);
  const stack = await startNpmStart(dir);
  try {
    const api = await startServer(stack.dbUrl, { DB_POOL_SIZE: '10' });
    const targets = { 'npm start URL': stack.apiUrl, 'API server': api };
    const paths = { 'GET /health': '/health', '404': '/no-such-route' };
    say(`npm start ${stack.apiUrl}`);
    say(`API       ${api}`);
    const best = {};
    for (let round = 1; round <= ROUNDS && !state.stopping; round++) {
      for (const [what, path] of Object.entries(paths)) {
        for (const [where, url] of Object.entries(targets)) {
          const w = await wrk(`${url}${path}`, { connections: CONNECTIONS, seconds: SECONDS });
          const r = { ...w, rps: w.answersPerSecond };
          say(`round ${round}  ${what.padEnd(12)} ${where.padEnd(14)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  socket errors ${w.socketErrors}`);
          const key = `${what}|${where}`;
          best[key] = Math.max(best[key] ?? 0, r.rps);
        }
      }
    }
    say('');
    for (const what of Object.keys(paths)) {
      const viaStart = best[`${what}|npm start URL`];
      const direct = best[`${what}|API server`];
      say(`${what.padEnd(12)} npm start URL ${viaStart.toFixed(0)} req/s, API server ${direct.toFixed(0)} req/s: ${(100 * viaStart / direct).toFixed(1)} % (best of ${ROUNDS})`);
    }
  } finally {
    await cleanup();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch(async (error) => {
  say(`bench failed: ${error.stack ?? error.message}`);
  await cleanup();
  process.exit(1);
});
