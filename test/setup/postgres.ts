// One throwaway Postgres cluster for the whole run, with a migrated template database (each test
// file clones its own database from it, see test/helpers/stack.ts), and one local token issuer.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startIssuer } from '../../scripts/lib/issuer.mjs';
import { migrate } from '../../scripts/lib/migrate.mjs';
import { onFreePort } from '../../scripts/lib/ports.mjs';
import { startPostgres } from '../../scripts/lib/postgres.mjs';
import { skipWarnings } from '../helpers/requirements.ts';

export const TEMPLATE_DATABASE = 'humanops_template';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresPort: number;
    templateDatabase: string;
    /** The local issuer all test stacks trust: its key lives in `issuerDir`. */
    issuerDir: string;
    issuerJwksUrl: string;
    issuer: string;
    issuerAuthorizedParty: string;
  }
}

export default async function setup(project: TestProject) {
  const warnings = skipWarnings();
  for (const line of warnings) process.stderr.write(`\n${line}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'humanops-test-'));
  await chmod(dir, 0o755); // mkdtemp makes it 0700; the postgres user must get in.
  const pg = await onFreePort((port: number) => startPostgres({ dataDir: join(dir, 'postgres'), port, ephemeral: true }));
  const admin = postgres(pg.url(), { onnotice: () => {}, max: 1 });
  await admin.unsafe(`create database ${TEMPLATE_DATABASE}`);
  const template = postgres(pg.url(TEMPLATE_DATABASE), { onnotice: () => {}, max: 1 });
  await migrate(template);
  await template.end();
  await admin.end();

  const issuer = await startIssuer({ dir });

  project.provide('postgresPort', pg.port);
  project.provide('templateDatabase', TEMPLATE_DATABASE);
  project.provide('issuerDir', dir);
  project.provide('issuerJwksUrl', issuer.jwksUrl);
  project.provide('issuer', issuer.issuer);
  project.provide('issuerAuthorizedParty', issuer.authorizedParty);

  return async () => {
    // Said again at the end, where a reader of the run's output looks for the verdict.
    for (const line of warnings) process.stderr.write(`\n${line}\n`);
    await issuer.stop();
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
