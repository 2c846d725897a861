// Real components some suites need (Debian's pg_cron for Postgres 15, Debian's Chromium; see
// scripts/lib/requirements.mjs, which `npm test` provisions first). A missing one fails those suites,
// so a green run always proves them; skipping them takes an explicit HUMANOPS_SKIP=pg_cron,chromium,
// and the global setup prints a loud line when it is used.
import { CHROMIUM_PATH, PG15_BIN, REQUIREMENTS, isInstalled, optedOut } from '../../scripts/lib/requirements.mjs';

export { CHROMIUM_PATH, PG15_BIN };

export interface Requirement {
  name: string;
  /** True only when the caller opted out with HUMANOPS_SKIP and the component is missing. */
  skipped: boolean;
  /** Throws, saying how to install it, when the component is missing (call it in beforeAll). */
  assertAvailable(): void;
}

function requirement(name: string): Requirement {
  const spec = REQUIREMENTS.find((r) => r.name === name)!;
  const available = isInstalled(spec);
  return {
    name,
    skipped: !available && optedOut().has(name),
    assertAvailable: () => {
      if (!available) {
        throw new Error(`${name} is missing (${spec.files.join(', ')}): install it (apt-get install ${spec.debianPackage}), or skip these tests on purpose with HUMANOPS_SKIP=${name}`);
      }
    },
  };
}

export const needsPgCron = requirement('pg_cron');
export const needsChromium = requirement('chromium');

/** The loud lines for every requirement the caller chose to skip (printed once per run). */
export const skipWarnings = () =>
  [needsPgCron, needsChromium].filter((r) => r.skipped).map((r) =>
    `!!! HUMANOPS_SKIP=${r.name}: the ${r.name} tests are SKIPPED on purpose — this run proves nothing about ${r.name} !!!`);
