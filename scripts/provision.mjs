#!/usr/bin/env node
// `npm test`'s first step: the components some suites need from the machine (Debian's Chromium and
// pg_cron for Postgres 15; scripts/lib/requirements.mjs). Missing ones are installed with apt-get when
// we are root on a machine that has it, as .ci/run does; otherwise nothing runs, and this says the
// one command to run. HUMANOPS_SKIP=<name>,… leaves a component out on purpose (the run then says
// loudly what it did not prove).
import { spawnSync } from 'node:child_process';
import { provisionPlan } from './lib/provision.mjs';
import { REQUIREMENTS, isInstalled, optedOut } from './lib/requirements.mjs';

const say = (line) => process.stdout.write(`${line}\n`);
const skipped = optedOut();
const missingNow = () => REQUIREMENTS.filter((r) => !skipped.has(r.name) && !isInstalled(r));
const missing = missingNow();
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
const plan = provisionPlan({ missing, isRoot: process.getuid?.() === 0, hasApt });

if (plan.action === 'install') {
  say(`npm test needs ${missing.map((r) => r.debianPackage).join(' and ')} from Debian; installing (apt-get, as root) …`);
  const started = Date.now();
  for (const [command, args] of plan.commands) {
    const run = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (run.status !== 0) {
      say(`\`${command} ${args.join(' ')}\` failed (${run.error?.message ?? `exit ${run.status}`}); nothing was run.`);
      process.exit(1);
    }
  }
  const still = missingNow();
  if (still.length > 0) {
    say(`installed, but still missing: ${still.flatMap((r) => r.files).join(', ')}; nothing was run.`);
    process.exit(1);
  }
  say(`installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} else if (plan.action === 'stop') {
  const what = missing.map((r) => `${r.name} (${r.files.join(', ')})`).join(' and ');
  say(`npm test needs ${what}, and cannot install ${missing.length > 1 ? 'them' : 'it'} here (${plan.command ? 'not root' : 'no apt-get'}). Nothing was run.`);
  if (plan.command) say(`Run:\n\n    ${plan.command}\n`);
  else say(`Install Debian's ${missing.map((r) => r.debianPackage).join(' and ')} (or the same files from your system's packages).`);
  say(`Or leave ${missing.length > 1 ? 'those suites' : 'that suite'} out on purpose: ${plan.skip}`);
  process.exit(1);
}
