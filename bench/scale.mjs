#!/usr/bin/env node
// `npm run bench:scale`: do the read paths stay flat as the data grows? Seeds tasks through the
// real functions (api.register_agent, api.credit_deposit, api.create_task: the ledger verifies
// after each stage) up to each size, then times each endpoint with sequential requests beside
// GET /health, prints the growth from the smallest to the largest size, and prints the plan of
// every query behind those endpoints (no scan may grow with the whole table).
//
// One heavy agent owns 6 % of the tasks (60,000 at 10⁶); the rest belong to 100 agents. 70 % are
// physical, spread around 20 cities; 30 % digital. Durable Postgres; the seeding transactions alone
// use synchronous_commit = off (they are setup, not measured). Environment: SCALE_SIZES (default
// 100000,1000000), SCALE_REQUESTS (per endpoint, default 100).
import postgres from 'postgres';
import { call, cleanup, describeMachine, say, send, startDatabase, startServer, state, timeSequential } from './lib.mjs';

const SIZES = (process.env.SCALE_SIZES ?? '100000,1000000').split(',').map(Number);
const REQUESTS = Number(process.env.SCALE_REQUESTS ?? 100);
const HEAVY_SHARE = 0.06;
const OTHER_AGENTS = 100;
const BATCH = 2000;
const CENTRE = { lat: 40.7128, lng: -74.006 };

const base64url = (text) => Buffer.from(text).toString('base64url');

/** Seeds `count` tasks for one agent in batches, each batch one transaction as that agent. */
async function seedTasks(sql, agentId, count) {
  const claims = JSON.stringify({ sub: agentId, role: 'authenticated', humanops_role: 'agent' });
  for (let done = 0; done < count; done += BATCH) {
    const n = Math.min(BATCH, count - done);
    await sql.begin(async (tx) => {
      await tx`set local synchronous_commit = off`;
      await tx`select set_config('request.jwt.claims', ${claims}, true)`;
      await tx`
        with cities (k, lat, lng) as (
          values (0, 40.7128, -74.0060), (1, 51.5074, -0.1278), (2, 48.8566, 2.3522), (3, 35.6762, 139.6503),
                 (4, -33.8688, 151.2093), (5, 37.7749, -122.4194), (6, 52.5200, 13.4050), (7, 19.4326, -99.1332),
                 (8, -23.5505, -46.6333), (9, 28.6139, 77.2090), (10, 1.3521, 103.8198), (11, 55.7558, 37.6173),
                 (12, 41.9028, 12.4964), (13, 30.0444, 31.2357), (14, 6.5244, 3.3792), (15, 43.6532, -79.3832),
                 (16, 34.0522, -118.2437), (17, 41.3874, 2.1686), (18, 31.2304, 121.4737), (19, -34.6037, -58.3816)
        ), draws as (
          select g, random() < 0.7 as physical, floor(random() * 20)::int as k, random() - 0.5 as dy, random() - 0.5 as dx
            from generate_series(1, ${n}) g
        )
        select count(*)
          from draws d
          join cities c on c.k = d.k
          cross join lateral api.create_task(
            'Seeded task ' || d.g, 'A task seeded by bench:scale',
            case when d.physical then 'VERIFICATION' else 'DATA_VALIDATION' end,
            case when d.physical then 'PHYSICAL' else 'DIGITAL' end,
            case when d.physical then 'PHOTO' else 'CONFIRMATION' end,
            case when d.physical then c.lat + d.dy * 0.6 end, case when d.physical then c.lng + d.dx * 0.8 end,
            case when d.physical then 'Somewhere in the city' else 'Remote/Digital' end,
            1000 + (d.g % 5) * 100, now() + interval '30 days', array['A photo']) t`;
    });
    if (state.stopping) return;
  }
}

async function fund(sql, agentId, tasks) {
  // Rewards of $10 to $14 plus a fee of at most $2.52 (18 %), in whole $10,000 deposits.
  const deposits = Math.ceil((tasks * 1700) / 1_000_000);
  await sql`select api.credit_deposit(${agentId}, 'fiat', 1000000, p_payment_method => 'card') from generate_series(1, ${deposits})`;
}

/** The plan lines that name a scan, for `query` run as `role` with `claims` (nested statements too). */
async function plans(dbUrl, claims, role, query) {
  const notices = [];
  const sql = postgres(dbUrl, { max: 1, onnotice: (n) => notices.push(n.message) });
  try {
    await sql.begin(async (tx) => {
      await tx`load 'auto_explain'`;
      await tx`select set_config('auto_explain.log_min_duration', '0', true), set_config('auto_explain.log_nested_statements', 'on', true),
                      set_config('auto_explain.log_level', 'notice', true), set_config('client_min_messages', 'notice', true)`;
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('role', ${claims.role ?? role}, true)`;
      await tx.unsafe(query);
    });
  } finally {
    await sql.end();
  }
  return notices.flatMap((n) => n.split('\n')).filter((l) => /Scan|Limit|Sort|Append/.test(l) && !/Function Scan|Result/.test(l))
    .map((l) => l.replace(/\(cost=.*$/, '').trimEnd());
}

async function main() {
  describeMachine();
  say(`settings  sizes ${SIZES.join(', ')}; ${REQUESTS} sequential requests per endpoint after 10 unmeasured; durable Postgres`);
  const db = await startDatabase();
  const url = await startServer(db.url, { RATE_LIMIT_ENABLED: 'false' });
  // The database's own pool (stopped with it, on a signal too); two connections seed at once.
  const { sql } = db;
  const agent = async (name) => {
    const reply = await call(`${url}/agents/register`, { method: 'POST', body: JSON.stringify({ name, email: `${name}@example.com` }) }, 201);
    return { id: reply.agent_id, key: reply.api_key };
  };
  const heavy = await agent('heavy');
  const others = [];
  for (let i = 0; i < OTHER_AGENTS; i++) others.push(await agent(`agent-${i}`));
  const operator = { 'x-operator-id': 'op_bench' };
  await call(`${url}/operator/register`, {
    method: 'POST', headers: operator,
    body: JSON.stringify({ name: 'Bench Operator', email: 'op@example.com', location: { city: 'New York', country: 'US', lat: CENTRE.lat, lng: CENTRE.lng } }),
  }, 201);

  const results = [];
  let seeded = 0;
  for (const size of SIZES) {
    const started = performance.now();
    const heavyShare = Math.round((size - seeded) * HEAVY_SHARE);
    const perOther = Math.floor((size - seeded - heavyShare) / OTHER_AGENTS);
    await fund(sql, heavy.id, heavyShare);
    await seedTasks(sql, heavy.id, heavyShare);
    // Two connections seed at once, an agent each.
    const queue = others.map((o, i) => ({ ...o, n: perOther + (i === 0 ? size - seeded - heavyShare - perOther * OTHER_AGENTS : 0) }));
    await Promise.all([0, 1].map(async () => {
      for (let next = queue.shift(); next && !state.stopping; next = queue.shift()) {
        await fund(sql, next.id, next.n);
        await seedTasks(sql, next.id, next.n);
      }
    }));
    if (state.stopping) return;
    seeded = size;
    await sql`vacuum analyze public.tasks`;
    await sql`vacuum analyze public.ledger_accounts`;
    await sql`vacuum analyze public.ledger_postings`;
    const [{ tasks, heavyTasks }] = await sql`select count(*)::int as tasks, count(*) filter (where agent_id = ${heavy.id})::int as "heavyTasks" from public.tasks`;
    // The full check proves the seeding and is timed (once more below: it takes seconds at 10⁶).
    const v0 = performance.now();
    const [{ problems }] = await sql`select count(*)::int as problems from api.verify_ledger()`;
    const verify = [performance.now() - v0];
    say();
    say(`${tasks.toLocaleString('en-US')} tasks (heavy agent: ${heavyTasks.toLocaleString('en-US')}), seeded in ${((performance.now() - started) / 1000).toFixed(0)} s; ledger ${problems === 0 ? 'verifies' : `${problems} PROBLEMS`}`);

    // A cursor deep in the heavy agent's list, built as the API builds one.
    const depth = Math.floor(heavyTasks * 0.8);
    const [deep] = await sql`select created_at::text as created_at, id from public.tasks where agent_id = ${heavy.id}
                              order by created_at desc, id offset ${depth} limit 1`;
    const cursor = base64url(JSON.stringify({ list: 'tasks', created_at: deep.created_at, id: deep.id }));
    const endpoints = [
      ['GET /health', () => send(`${url}/health`)],
      ['GET /operator/tasks 10 km', () => send(`${url}/operator/tasks?lat=${CENTRE.lat}&lng=${CENTRE.lng}&radius_km=10`, { headers: operator })],
      ['GET /operator/tasks (no place)', () => send(`${url}/operator/tasks`, { headers: operator })],
      ['GET /tasks heavy, first page', () => send(`${url}/tasks`, { headers: { 'x-api-key': heavy.key } })],
      [`GET /tasks heavy, cursor at ${depth}`, () => send(`${url}/tasks?cursor=${cursor}`, { headers: { 'x-api-key': heavy.key } })],
      [`GET /tasks heavy, offset ${depth}`, () => send(`${url}/tasks?offset=${depth}`, { headers: { 'x-api-key': heavy.key } })],
      ['GET /agents/balance heavy', () => send(`${url}/agents/balance`, { headers: { 'x-api-key': heavy.key } })],
    ];
    const timings = {};
    for (const [name, request] of endpoints) timings[name.replace(/ at \d+| \d+$/, '')] = await timeSequential(request, 200, { count: REQUESTS });
    const v1 = performance.now();
    await sql`select count(*) from api.verify_ledger()`;
    verify.push(performance.now() - v1);
    verify.sort((a, b) => a - b);
    timings['api.verify_ledger() (SQL)'] = { p50: verify[0], p99: verify[1] }; // the faster and the slower of two
    // The incremental check: catch up once, then time it over what 100 posts since then wrote.
    await sql`select count(*) from api.verify_ledger_incremental()`;
    const post = JSON.stringify({
      title: 'Check a sign', description: 'Photo of the sign', task_type: 'VERIFICATION', reward_usd: 10,
      location: { lat: CENTRE.lat, lng: CENTRE.lng, address: 'Main St' }, deadline: new Date(Date.now() + 86_400_000).toISOString(),
      proof_requirements: ['Photo'],
    });
    await sql`select api.credit_deposit(${heavy.id}, 'fiat', 1000000, p_payment_method => 'card')`;
    for (let i = 0; i < 100; i++) await call(`${url}/tasks`, { method: 'POST', headers: { 'x-api-key': heavy.key }, body: post }, 201);
    const t0 = performance.now();
    const [{ found }] = await sql`select count(*)::int as found from api.verify_ledger_incremental()`;
    const incrementalMs = performance.now() - t0;
    timings['incremental check, 100 posts (SQL)'] = { p50: incrementalMs, p99: incrementalMs };
    if (found) say(`incremental check found ${found} PROBLEMS`);
    results.push({ size, timings });

    const health = timings['GET /health'];
    say(`${'endpoint'.padEnd(34)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'p50/health'.padStart(11)}`);
    for (const [name, t] of Object.entries(timings)) {
      say(`${name.padEnd(34)} ${t.p50.toFixed(2).padStart(8)} ${t.p99.toFixed(2).padStart(8)} ${(t.p50 / health.p50).toFixed(1).padStart(10)}×`);
    }
    if (state.stopping) return;
  }

  if (results.length > 1) {
    const first = results[0];
    const last = results.at(-1);
    say();
    say(`growth from ${first.size.toLocaleString('en-US')} to ${last.size.toLocaleString('en-US')} tasks (p50 at the largest ÷ p50 at the smallest; 1.0 is flat)`);
    for (const name of Object.keys(last.timings)) {
      say(`${name.padEnd(34)} ${(last.timings[name].p50 / first.timings[name].p50).toFixed(2).padStart(6)}×`);
    }
  }

  targets(results);

  say();
  say('plans (auto_explain of every statement behind each endpoint, scan lines only):');
  const agentClaims = { sub: heavy.id, role: 'authenticated', humanops_role: 'agent' };
  const operatorClaims = { sub: 'op_bench', role: 'authenticated' };
  const [{ created, id }] = await sql`select created_at::text as created, id from public.tasks where agent_id = ${heavy.id}
                                       order by created_at desc, id offset (select count(*) / 2 from public.tasks where agent_id = ${heavy.id}) limit 1`;
  const queries = [
    ['open tasks within 10 km', operatorClaims, `select * from api.browse_open_tasks(${CENTRE.lat}, ${CENTRE.lng}, 10, null, null, null, 21)`],
    ['open tasks, no place, after a cursor', operatorClaims, `select * from api.browse_open_tasks(null, null, null, null, null, null, 21, 0, 'recent', null, '${created}', '${id}')`],
    ['open-task count (capped)', operatorClaims, `select api.count_open_tasks(${CENTRE.lat}, ${CENTRE.lng}, 10, null, null, null, 101)`],
    ['agent tasks, first page', agentClaims, 'select * from api.agent_tasks(null, null, null, 21, 0)'],
    ['agent tasks after a cursor', agentClaims, `select * from api.agent_tasks(null, '${created}', '${id}', 21, 0)`],
    ['agent task count (capped)', agentClaims, 'select api.count_agent_tasks(null, 1001)'],
    ['balance', agentClaims, 'select * from api.agent_balance()'],
    ['incremental ledger check', { role: 'service_role' }, 'select * from api.verify_ledger_incremental()'],
  ];
  let grows = 0;
  for (const [name, claims, query] of queries) {
    const lines = await plans(db.url, claims, 'authenticated', query);
    const seq = lines.filter((l) => /Seq Scan on (tasks|ledger_)/.test(l));
    grows += seq.length;
    say(`- ${name}: ${seq.length ? 'SEQUENTIAL SCAN' : 'no scan of a whole table'}`);
    for (const l of lines) say(`    ${l.trim()}`);
  }
  say();
  say(grows ? `${grows} plan(s) scan a whole table` : 'no plan scans a whole table');
}

/**
 * The targets at the largest size, each with what this run measured and met or missed; "flat" is
 * the p50 at the largest size within 1.5× the p50 at the smallest.
 */
function targets(results) {
  const first = results[0];
  const last = results.at(-1);
  const at = last.size.toLocaleString('en-US');
  const growth = (name) => last.timings[name].p50 / first.timings[name].p50;
  const read = (what, name, limitMs) => {
    const p50 = last.timings[name].p50;
    const flat = results.length < 2 || growth(name) <= 1.5;
    return [what, `≤ ${limitMs} ms p50${results.length > 1 ? ', flat' : ''}`,
      `${p50.toFixed(2)} ms${results.length > 1 ? `, ${growth(name).toFixed(2)}× the smallest size` : ''}`, p50 <= limitMs && flat];
  };
  const full = last.timings['api.verify_ledger() (SQL)'].p50;
  const incremental = last.timings['incremental check, 100 posts (SQL)'].p50;
  const rows = [
    [`full api.verify_ledger() at ${at} tasks`, '≤ 2 s', `${(full / 1000).toFixed(2)} s`, full <= 2000],
    ['incremental check after 100 posts', '≤ 10 ms', `${incremental.toFixed(2)} ms`, incremental <= 10],
    read('GET /operator/tasks within 10 km', 'GET /operator/tasks 10 km', 10),
    read('GET /tasks, heavy agent, first page', 'GET /tasks heavy, first page', 5),
    read('GET /tasks, heavy agent, by cursor', 'GET /tasks heavy, cursor', 5),
    read('GET /agents/balance, heavy agent', 'GET /agents/balance heavy', 3),
  ];
  say();
  say(`targets at ${at} tasks`);
  say(`${'what'.padEnd(44)} ${'target'.padEnd(20)} ${'measured'.padEnd(36)} result`);
  for (const [what, target, value, met] of rows) say(`${what.padEnd(44)} ${target.padEnd(20)} ${value.padEnd(36)} ${met ? 'met' : 'missed'}`);
}

try {
  await main();
  await cleanup();
} catch (error) {
  if (!state.stopping) say(`bench:scale failed: ${error.stack ?? error.message}`);
  await cleanup();
  process.exit(1);
}
