// Real components some suites need (Debian's pg_cron for Postgres 15, Debian's Chromium). A missing
// one fails those suites, so a green run always proves them; skipping them takes an explicit
// HUMANOPS_SKIP=pg_cron,chromium, and the global setup prints a loud line when it is used.
import { existsSync } from 'node:fs';

export interface Requirement {
  name: string;
  /** True only when the caller opted out with HUMANOPS_SKIP and the component is missing. */
  skipped: boolean;
  /** Throws, saying how to install it, when the component is missing (call it in beforeAll). */
  assertAvailable(): void;
}

const optedOut = new Set((process.env.HUMANOPS_SKIP ?? '').split(',').map((s) => s.trim()).filter(Boolean));

function requirement(name: string, paths: string[], install: string): Requirement {
  const available = paths.every((path) => existsSync(path));
  return {
    name,
    skipped: !available && optedOut.has(name),
    assertAvailable: () => {
      if (!available) {
        throw new Error(`${name} is missing (${paths.join(', ')}): install it (${install}), or skip these tests on purpose with HUMANOPS_SKIP=${name}`);
      }
    },
  };
}

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const PG15_BIN = '/usr/lib/postgresql/15/bin';

export const needsPgCron = requirement('pg_cron', [`${PG15_BIN}/pg_ctl`, '/usr/lib/postgresql/15/lib/pg_cron.so'], 'apt-get install postgresql-15-cron');
export const needsChromium = requirement('chromium', [CHROMIUM_PATH], 'apt-get install chromium');

/** The loud lines for every requirement the caller chose to skip (printed once per run). */
export const skipWarnings = () =>
  [needsPgCron, needsChromium].filter((r) => r.skipped).map((r) =>
    `!!! HUMANOPS_SKIP=${r.name}: the ${r.name} tests are SKIPPED on purpose — this run proves nothing about ${r.name} !!!`);
