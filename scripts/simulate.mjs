#!/usr/bin/env node
// npm run simulate -- --seed N --ops M [--clients C] [--checkpoint-every K] [--durable]
//
// Starts a throwaway stack of its own (Postgres, migrations, the local token issuer, a model
// stand-in and the API under Deno), runs the seeded simulation (scripts/lib/simulation.mjs) and
// prints its figures. Exits 1, printing the seed, when any invariant or any actor's books break.
import { randomBytes, randomInt } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { encryptForAgent, generateKeyPair } from '@humanops/sdk';
import { startApi } from './lib/api.mjs';
import { mintOperatorToken, startIssuer } from './lib/issuer.mjs';
import { migrate } from './lib/migrate.mjs';
import { onFreePort } from './lib/ports.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { planDigest, planOperations, runSimulation, simulationEnv, startModelStandIn } from './lib/simulation.mjs';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    ops: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '8' },
    'checkpoint-every': { type: 'string' },
    durable: { type: 'boolean', default: false },
  },
});
const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
const ops = Number(values.ops);
const clients = Number(values.clients);
const checkpointEvery = Number(values['checkpoint-every'] ?? Math.max(500, Math.ceil(ops / 20)));
for (const [name, value] of Object.entries({ seed, ops, clients, checkpointEvery })) {
  if (!Number.isSafeInteger(value) || value < (name === 'seed' ? 0 : 1)) {
    console.error(`--${name} must be a whole number${name === 'seed' ? '' : ' above 0'}`);
    process.exit(2);
  }
}

const plan = planOperations(seed, ops);
console.log(`simulation: seed ${seed}, ${ops} operations (plan ${planDigest(plan)}), ${clients} clients, a checkpoint every ${checkpointEvery}`);

const dir = await mkdtemp(join(tmpdir(), 'humanops-simulation-'));
await chmod(dir, 0o755); // the postgres user must get in
const cleanup = [];
const stopAll = async () => {
  for (const stop of cleanup.reverse()) await stop().catch((error) => console.error(`cleanup: ${error.message}`));
  await rm(dir, { recursive: true, force: true });
};
process.once('SIGINT', () => stopAll().then(() => process.exit(130)));

let result;
try {
  const pg = await onFreePort((port) => startPostgres({ dataDir: join(dir, 'postgres'), port, ephemeral: !values.durable }));
  cleanup.push(() => pg.stop());
  const sql = postgres(pg.url(), { onnotice: () => {}, max: 4 });
  cleanup.push(() => sql.end());
  await migrate(sql);
  const issuer = await startIssuer({ dir: join(dir, 'issuer') });
  cleanup.push(() => issuer.stop());
  const standIn = await startModelStandIn();
  cleanup.push(() => standIn.stop());
  const adminKey = randomBytes(24).toString('hex');
  const workerSecret = randomBytes(24).toString('hex');
  const storageDir = join(dir, 'storage');
  const api = await startApi({
    writableDirs: [dir],
    env: {
      ...simulationEnv(standIn),
      SUPABASE_DB_URL: pg.url(),
      DB_POOL_SIZE: '20',
      HUMANOPS_ADMIN_KEY: adminKey,
      WORKER_SECRET: workerSecret,
      CLERK_JWKS_URL: issuer.jwksUrl,
      CLERK_ISSUER: issuer.issuer,
      CLERK_AUTHORIZED_PARTIES: issuer.authorizedParty,
      HUMANOPS_STORAGE_DIR: storageDir,
      STORAGE_SIGNING_SECRET: randomBytes(32).toString('hex'),
    },
    onLog: (line) => {
      if (line.includes('"msg":"unhandled error"')) console.error(`[api] ${line}`);
    },
  });
  cleanup.push(() => api.stop());

  const tick = async () => {
    const response = await fetch(`${api.url}/internal/tick`, { method: 'POST', headers: { 'x-worker-secret': workerSecret } });
    return { status: response.status, body: await response.json().catch(() => null) };
  };
  result = await runSimulation({
    url: api.url, sql, tick, adminKey, seed, plan, clients, checkpointEvery, encryptForAgent, generateKeyPair,
    operatorAuth: async (sub) => ({ authorization: `Bearer ${await mintOperatorToken({ dir: join(dir, 'issuer'), issuer: issuer.issuer, sub, expiresIn: '12h' })}` }),
    log: (line) => console.log(`  ${line}`),
  });
} finally {
  await stopAll();
}

const { violations, ...figures } = result;
console.log(JSON.stringify({ ...figures, violations: violations.length }, null, 2));
if (violations.length > 0) {
  const kinds = {};
  for (const v of violations) kinds[v.what] = (kinds[v.what] ?? 0) + 1;
  console.error(`\n${violations.length} violation(s) with seed ${seed}:`, kinds, '\nThe first:');
  for (const v of violations.slice(0, 10)) console.error(`- ${v.where}: ${v.what} ${JSON.stringify(v.detail).slice(0, 500)}`);
  console.error(`\nReplay the plan: npm run simulate -- --seed ${seed} --ops ${ops}`);
  process.exit(1);
}
console.log(`\nsimulation passed: seed ${seed}, ${result.ops} operations in ${result.seconds} s, ${result.invariantChecks} invariant checks and ${result.bookChecks} book checks, 0 violations`);
