#!/usr/bin/env node
// `npm run bench`: how fast the API posts tasks, in one run, every figure beside GET /health on
// the same server at the same number of connections:
//   1. POST /tasks as one agent and as many agents (keys in turn), at 1, 10 and 32 connections
//      (wrk): req/s, p50, p99, errors, and each as a ratio to health;
//   2. the rate limiter's cost: many agents at 10 connections against a server with the limiter on
//      and one with it off (same database), alternated, best of each;
//   3. api.create_task in SQL (pgbench: begin, role + claims, call, commit; 1,000 funded agents),
//      beside a lean double-entry transfer on the same cluster as the baseline.
// Ends with the targets table: each target's measured ratio and whether it is met.
// Durable Postgres (fsync and synchronous_commit on). Needs wrk and Debian's pgbench; CI does not
// run it. Environment: BENCH_SECONDS (per row, default 5), BENCH_CONNECTIONS (default 1,10,32),
// BENCH_AGENTS (default 50), BENCH_PARTS (default http,limiter,sql: which of the three to run).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  call, cleanup, clusterCpuMs, describeMachine, pgbench, postWithKeys, say, startDatabase, startServer, state, wrk,
} from './lib.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,10,32').split(',').map(Number);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 50);
const SQL_AGENTS = 1000;
const PARTS = new Set((process.env.BENCH_PARTS ?? 'http,limiter,sql').split(','));

const TASK = JSON.stringify({
  title: 'Verify storefront signage',
  description: 'Take a photo of the signage at 123 Main St',
  location: { lat: 40.7128, lng: -74.006, address: '123 Main St, NY' },
  reward_usd: 10,
  deadline: new Date(Date.now() + 7 * 86_400_000).toISOString(),
  proof_requirements: ['Photo of storefront sign'],
  task_type: 'VERIFICATION',
});

async function registerFunded(url, name, usd) {
  const { api_key: key } = await call(`${url}/agents/register`, {
    method: 'POST', body: JSON.stringify({ name, email: `${name}@example.com` }),
  }, 201);
  for (let left = usd; left > 0; left -= 10_000) {
    await call(`${url}/agents/deposit/usdc`, {
      method: 'POST', headers: { 'x-api-key': key },
      body: JSON.stringify({ tx_hash: `0x${randomBytes(32).toString('hex')}`, amount_usdc: Math.min(left, 10_000).toFixed(2) }),
    }, 200);
  }
  return key;
}

const ms = (v) => v.toFixed(2).padStart(8);
const pct = (v) => `${(100 * v).toFixed(1)}%`.padStart(7);

function row(label, connections, r, health) {
  const cells = [
    label.padEnd(14), String(connections).padStart(5), r.rps.toFixed(0).padStart(7), ms(r.p50), ms(r.p99),
    pct(r.errorRatio),
  ];
  if (health) cells.push(pct(r.rps / health.rps), `${(r.p50 / health.p50).toFixed(1)}×`.padStart(7), `${(r.p99 / health.p99).toFixed(1)}×`.padStart(7));
  say(cells.join(' '));
}

async function main() {
  describeMachine();
  say(`settings  ${SECONDS} s per row, wrk, durable Postgres (fsync on, synchronous_commit on), API pool 20`);
  const db = await startDatabase();
  const limited = await startServer(db.url, { RATE_LIMIT_PER_MINUTE: '1000000000' });
  const unlimited = await startServer(db.url, { RATE_LIMIT_ENABLED: 'false' });

  // Funding: a generous bound of what the rows can spend ($12 a task), deposited before timing.
  const perAgentUsd = Math.ceil((2_500 * SECONDS * CONNECTIONS.length * 12 * 3) / AGENTS / 10_000) * 10_000;
  const overHttp = PARTS.has('http') || PARTS.has('limiter');
  const soloKey = overHttp && await registerFunded(limited, 'bench-solo', Math.min(300_000, 700 * SECONDS * CONNECTIONS.length * 12 * 2));
  const keys = [];
  for (let i = 0; overHttp && i < AGENTS; i++) keys.push(await registerFunded(limited, `bench-${i}`, perAgentUsd));
  if (state.stopping) return;

  const measured = {};
  if (PARTS.has('http')) {
    say();
    say('POST /tasks (wrk; ratios are to GET /health at the same connections)');
    say(`${'route'.padEnd(14)} ${'conns'.padStart(5)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)} ${'rate'.padStart(7)} ${'p50'.padStart(7)} ${'p99'.padStart(7)}`);
    for (const connections of CONNECTIONS) {
      const health = await wrk(`${unlimited}/health`, { connections, seconds: SECONDS });
      row('health', connections, health);
      const one = await wrk(`${unlimited}/tasks`, { connections, seconds: SECONDS, lua: postWithKeys([soloKey], TASK) });
      row('one agent', connections, one, health);
      const many = await wrk(`${unlimited}/tasks`, { connections, seconds: SECONDS, lua: postWithKeys(keys, TASK) });
      row(`${AGENTS} agents`, connections, many, health);
      if (connections === 10) Object.assign(measured, { health, one, many });
      if (state.stopping) return;
    }
  }

  if (PARTS.has('limiter')) {
    say();
    say(`rate limiter (${AGENTS} agents, 10 connections, limiter on vs off, alternated twice, best of each)`);
    const on = [];
    const off = [];
    for (let i = 0; i < 2; i++) {
      off.push(await wrk(`${unlimited}/tasks`, { connections: 10, seconds: SECONDS, lua: postWithKeys(keys, TASK) }));
      on.push(await wrk(`${limited}/tasks`, { connections: 10, seconds: SECONDS, lua: postWithKeys(keys, TASK) }));
    }
    const best = (runs) => runs.reduce((a, b) => (b.rps > a.rps ? b : a));
    const bestOn = best(on);
    const bestOff = best(off);
    say(`off ${bestOff.rps.toFixed(0)} req/s (p99 ${bestOff.p99.toFixed(2)} ms), on ${bestOn.rps.toFixed(0)} req/s (p99 ${bestOn.p99.toFixed(2)} ms): ` +
      `the limiter costs ${(100 * (1 - bestOn.rps / bestOff.rps)).toFixed(1)} % of throughput`);
  }

  if (PARTS.has('sql')) {
    say();
    say(`api.create_task in SQL (pgbench -c 10 -T ${SECONDS * 2}, ${SQL_AGENTS} funded agents) beside a lean transfer`);
    await db.sql`create table bench_agents (n integer primary key, claims text not null)`;
    await db.sql`
      with a as (
        select g, (api.register_agent('sql-' || g, 'sql' || g || '@example.com', null, 'test',
                                      encode(sha256(('bench-key-' || g)::bytea), 'hex'), 'ho_test_x')).agent_id as id
          from generate_series(1, ${SQL_AGENTS}) g
      )
      insert into bench_agents select g, json_build_object('sub', id, 'role', 'authenticated', 'humanops_role', 'agent')::text from a`;
    await db.sql`select api.credit_deposit(a.id, 'fiat', 1000000, p_payment_method => 'card')
                   from (select claims::json->>'sub' as id from bench_agents, generate_series(1, 4)) a`;
    const createTask = `
  \\set n random(1, ${SQL_AGENTS})
  begin;
  select set_config('request.jwt.claims', (select claims from bench_agents where n = :n), true), set_config('role', 'authenticated', true);
  select * from api.create_task('Verify storefront signage', 'Take a photo of the signage at 123 Main St', 'VERIFICATION', 'PHYSICAL', 'PHOTO',
    40.7128, -74.006, '123 Main St, NY', 1000, now() + interval '7 days', array['Photo of storefront sign']);
  commit;
  `;
    // The baseline: the least a double-entry transfer can write (two balance updates, one entry, two
    // postings), between random pairs of 1,000 accounts, in tables of its own on the same cluster.
    await db.sql`create table bench_accounts (id integer primary key, balance bigint not null check (balance >= 0))`;
    await db.sql`create table bench_entries (id bigint generated always as identity primary key, created_at timestamptz not null default now())`;
    await db.sql`create table bench_postings (id bigint generated always as identity primary key,
      entry_id bigint not null references bench_entries (id), account_id integer not null references bench_accounts (id), amount bigint not null)`;
    await db.sql`insert into bench_accounts select g, 1000000000 from generate_series(1, 1000) g`;
    const transfer = `
  \\set a random(1, 1000)
  \\set b random(1, 1000)
  begin;
  with e as (insert into bench_entries default values returning id),
       d as (update bench_accounts set balance = balance - 1200 where id = :a returning id),
       c as (update bench_accounts set balance = balance + 1200 where id = :b returning id)
  insert into bench_postings (entry_id, account_id, amount)
  select e.id, d.id, -1200 from e, d union all select e.id, c.id, 1200 from e, c;
  commit;
  `;
    // With the Postgres CPU each transaction cost: the rates move with the machine's other work
    // (the transfer mostly waits for its commit to reach the disk), the CPU per transaction less.
    const timed = async (script) => {
      const before = clusterCpuMs(join(db.dir, 'postgres'));
      const result = await pgbench(db.port, script, { clients: 10, seconds: SECONDS * 2 });
      return { ...result, cpuMs: (clusterCpuMs(join(db.dir, 'postgres')) - before) / result.transactions };
    };
    const base = await timed(transfer);
    const sqlTasks = await timed(createTask);
    say(`lean transfer   ${base.tps.toFixed(0).padStart(6)} tps, ${base.cpuMs.toFixed(2)} ms of Postgres CPU each`);
    say(`api.create_task ${sqlTasks.tps.toFixed(0).padStart(6)} tps (${(sqlTasks.tps / base.tps).toFixed(2)}× the transfer), ` +
      `${sqlTasks.cpuMs.toFixed(2)} ms of Postgres CPU each (${(sqlTasks.cpuMs / base.cpuMs).toFixed(1)}× the transfer's), ${sqlTasks.failed} failed`);
    Object.assign(measured, { transfer: base, sqlTasks });
  }
  const [{ problems }] = await db.sql`select count(*)::int as problems from api.verify_ledger()`;
  say();
  say(`ledger    ${problems === 0 ? 'verifies' : `${problems} PROBLEMS`} after the run (api.verify_ledger())`);
  targets(measured);
}

/** The issue's targets for posting, each with what this run measured and met or missed. */
function targets({ health, one, many, transfer, sqlTasks }) {
  const rows = [];
  if (many) {
    rows.push([`POST /tasks, ${AGENTS} agents, 10 connections`, '≥ 20 % of GET /health, p99 ≤ 25 ms, 0 errors',
      `${(100 * many.rps / health.rps).toFixed(1)} %, p99 ${many.p99.toFixed(1)} ms, ${many.errors} errors`,
      many.rps / health.rps >= 0.2 && many.p99 <= 25 && many.errors === 0]);
    rows.push(['POST /tasks, one agent, 10 connections', `≥ 0.8× the ${AGENTS}-agent rate`,
      `${(one.rps / many.rps).toFixed(2)}×`, one.rps / many.rps >= 0.8]);
  }
  if (sqlTasks) {
    rows.push(['api.create_task in pgbench, 10 clients', '≥ 0.5× the lean transfer',
      `${(sqlTasks.tps / transfer.tps).toFixed(2)}× (CPU ${(transfer.cpuMs / sqlTasks.cpuMs).toFixed(2)}×)`,
      sqlTasks.tps / transfer.tps >= 0.5 && sqlTasks.failed === 0]);
  }
  say();
  say('targets (ratios within this run)');
  say(`${'what'.padEnd(42)} ${'target'.padEnd(46)} ${'measured'.padEnd(34)} result`);
  for (const [what, target, value, met] of rows) say(`${what.padEnd(42)} ${target.padEnd(46)} ${value.padEnd(34)} ${met ? 'met' : 'missed'}`);
}

try {
  await main();
  await cleanup();
} catch (error) {
  if (!state.stopping) say(`bench failed: ${error.stack ?? error.message}`);
  await cleanup();
  process.exit(1);
}
