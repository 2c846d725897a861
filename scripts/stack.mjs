#!/usr/bin/env node
// `npm start`: the whole local platform, no Docker. Postgres 17 (from npm) with the migrations
// applied, the `api` edge function under Deno, and a ticker for scheduled upkeep. Data survives
// restarts; Ctrl-C (SIGINT) or SIGTERM stops every child this process started.
//
// Environment: HUMANOPS_PORT (API, default 54321), HUMANOPS_DB_PORT (Postgres, default 54322 or a
// free one), HUMANOPS_DATA_DIR (default .humanops/ in the clone, or a folder under the OS temp dir
// when the postgres user cannot reach the clone), HUMANOPS_MODE (test), and everything the API reads.
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import { repoRoot, startApi } from './lib/api.mjs';
import { migrate } from './lib/migrate.mjs';
import { freePort, portIsFree } from './lib/ports.mjs';
import { postgresCanReach, startPostgres } from './lib/postgres.mjs';

const say = (line) => process.stdout.write(`${line}\n`);

function dataDir() {
  if (process.env.HUMANOPS_DATA_DIR) return resolve(process.env.HUMANOPS_DATA_DIR);
  const inClone = join(repoRoot, '.humanops');
  if (postgresCanReach(inClone)) return inClone;
  const id = createHash('sha256').update(realpathSync(repoRoot)).digest('hex').slice(0, 12);
  return join(tmpdir(), `humanops-data-${id}`);
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

try {
  const dir = dataDir();
  mkdirSync(dir, { recursive: true });
  const apiPort = Number(process.env.HUMANOPS_PORT ?? 54321);
  if (!(await portIsFree(apiPort))) throw new Error(`port ${apiPort} is in use (set HUMANOPS_PORT to use another)`);
  const dbPort = process.env.HUMANOPS_DB_PORT ? Number(process.env.HUMANOPS_DB_PORT) : await freePort(54322);

  say(`data dir   ${dir}`);
  const pg = await startPostgres({ dataDir: join(dir, 'postgres'), port: dbPort });
  children.push({ name: 'postgres', stop: () => pg.stop() });

  const dbUrl = pg.url('postgres');
  const sql = postgres(dbUrl, { onnotice: () => {}, max: 2 });
  children.push({ name: 'database client', stop: () => sql.end({ timeout: 2 }) });
  for (const version of await migrate(sql)) say(`migrated   ${version}`);

  const api = await startApi({
    port: apiPort,
    env: { SUPABASE_DB_URL: dbUrl, HUMANOPS_MODE: process.env.HUMANOPS_MODE ?? 'test' },
    onLog: (line) => say(line),
  });
  children.push({ name: 'api', stop: () => api.stop() });
  api.exited.then(({ code }) => {
    if (!stopping) {
      say(`the API exited (code ${code}); stopping`);
      stopAll(1);
    }
  });

  const ticker = setInterval(() => {
    sql`select api.run_maintenance()`.catch((error) => say(`maintenance failed: ${error.message}`));
  }, 60_000);
  children.push({ name: 'ticker', stop: () => clearInterval(ticker) });

  say(`postgres   ${dbUrl}`);
  say(`api        ${api.url}`);
  say(`HumanOps is ready: ${api.url} (mode ${process.env.HUMANOPS_MODE ?? 'test'}); Ctrl-C stops it`);
} catch (error) {
  say(`HumanOps failed to start: ${error.message}`);
  await stopAll(1);
}
