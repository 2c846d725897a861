// What some suites need from the machine beyond npm: Debian's Chromium (the operator app, E2EE
// interop, the packages' browser smoke test, the API reference page) and pg_cron for Debian's
// Postgres 15 (the scheduled path, for real). `npm test` provisions them first (scripts/provision.mjs);
// the suites check them again and fail, never skip, unless HUMANOPS_SKIP names them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the files are looked for: `/` on a real machine. HUMANOPS_REQUIREMENTS_ROOT moves the
 * search, so the provisioning's tests can make a present component look missing.
 */
export const requirementsRoot = (env = process.env) => env.HUMANOPS_REQUIREMENTS_ROOT ?? '/';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const PG15_BIN = '/usr/lib/postgresql/15/bin';

/** Each requirement: the files that prove it is installed, and the Debian package that installs them. */
export const REQUIREMENTS = [
  { name: 'chromium', files: [CHROMIUM_PATH], debianPackage: 'chromium' },
  { name: 'pg_cron', files: [`${PG15_BIN}/pg_ctl`, '/usr/lib/postgresql/15/lib/pg_cron.so'], debianPackage: 'postgresql-15-cron' },
];

/** The names HUMANOPS_SKIP opts out of. */
export const optedOut = (env = process.env) => new Set((env.HUMANOPS_SKIP ?? '').split(',').map((s) => s.trim()).filter(Boolean));

/** Whether every file of `requirement` is there (under the requirements root). */
export const isInstalled = (requirement, env = process.env) => requirement.files.every((file) => existsSync(join(requirementsRoot(env), file)));
