// `npm test` on a fresh machine: scripts/provision.mjs installs Debian's chromium and
// postgresql-15-cron when they are missing and it may (root, apt-get), and otherwise stops before
// anything runs with the one command to run. These components are installed on the machines that
// run this suite, so a missing one is simulated: HUMANOPS_REQUIREMENTS_ROOT points the detection at
// an empty folder, and a stand-in apt-get on PATH records what it is asked and "installs" by making
// the package's files under that folder.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { provisionPlan } from '../scripts/lib/provision.mjs';
import { REQUIREMENTS } from '../scripts/lib/requirements.mjs';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const [chromium, pgCron] = REQUIREMENTS;
const work = mkdtempSync(join(tmpdir(), 'humanops-provision-'));
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));
// The unprivileged user runs a copy of the scripts: the checkout itself may sit in a directory only
// its owner can enter (a clone into `mktemp -d`, which is 0700).
const scripts = join(work, 'scripts');
cpSync(join(repoRoot, 'scripts'), scripts, { recursive: true });

let n = 0;
/** An empty root, and a PATH whose apt-get logs its arguments and installs under that root (or fails). */
function machine({ apt = 'works' as 'works' | 'fails' | 'absent' } = {}) {
  const dir = join(work, String(++n));
  const root = join(dir, 'root');
  const bin = join(dir, 'bin');
  const log = join(dir, 'apt.log');
  spawnSync('mkdir', ['-p', root, bin]);
  chmodSync(dir, 0o777);
  for (const tool of ['sh', 'mkdir', 'touch', 'dirname']) symlinkSync(`/bin/${tool}`, join(bin, tool));
  if (apt !== 'absent') {
    const files = Object.fromEntries(REQUIREMENTS.map((r) => [r.debianPackage, r.files.map((f) => join(root, f)).join(' ')]));
    writeFileSync(join(bin, 'apt-get'), `#!/bin/sh
echo "$DEBIAN_FRONTEND apt-get $*" >> ${log}
${apt === 'fails' ? 'exit 100' : ''}
for p in "$@"; do
  case "$p" in
${Object.entries(files).map(([p, f]) => `    ${p}) for f in ${f}; do mkdir -p "$(dirname "$f")"; touch "$f"; done ;;`).join('\n')}
  esac
done
`, { mode: 0o755 });
  }
  const run = (env: Record<string, string> = {}, user?: string) => {
    const command = [process.execPath, join(user ? scripts : join(repoRoot, 'scripts'), 'provision.mjs')];
    const result = user ? spawnSync('runuser', ['-u', user, '--', 'env', `PATH=${bin}`, `HUMANOPS_REQUIREMENTS_ROOT=${root}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...command], { encoding: 'utf8' })
      : spawnSync(command[0], command.slice(1), { encoding: 'utf8', env: { PATH: bin, HUMANOPS_REQUIREMENTS_ROOT: root, ...env } });
    return { code: result.status, out: `${result.stdout}${result.stderr}`, apt: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
  };
  return { root, run };
}

describe('what npm test decides about missing components', () => {
  it('runs when nothing is missing; installs as root with apt-get; else stops with the one command, and how to skip on purpose', () => {
    expect(provisionPlan({ missing: [], isRoot: false, hasApt: false })).toEqual({ action: 'run' });
    expect(provisionPlan({ missing: [chromium, pgCron], isRoot: true, hasApt: true })).toEqual({
      action: 'install',
      packages: ['chromium', 'postgresql-15-cron'],
      commands: [['apt-get', ['update', '-qq']], ['apt-get', ['install', '-y', '-qq', 'chromium', 'postgresql-15-cron']]],
    });
    expect(provisionPlan({ missing: [pgCron], isRoot: false, hasApt: true })).toEqual({
      action: 'stop', command: 'sudo apt-get update && sudo apt-get install -y postgresql-15-cron', skip: 'HUMANOPS_SKIP=pg_cron npm test',
    });
    expect(provisionPlan({ missing: [chromium], isRoot: true, hasApt: false })).toEqual({ action: 'stop', command: null, skip: 'HUMANOPS_SKIP=chromium npm test' });
  });

  it('is npm test\'s first step, and .ci/run calls npm test and installs nothing itself', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    expect(pkg.scripts.test).toMatch(/^node scripts\/provision\.mjs && /);
    const ci = readFileSync(join(repoRoot, '.ci/run'), 'utf8');
    expect(ci.split('\n').filter((line) => !line.startsWith('#') && line.includes('apt-get'))).toEqual([]);
    expect(ci.trim().split('\n').at(-1)).toBe('npm test');
  });
});

describe.runIf(process.getuid?.() === 0)('scripts/provision.mjs on a machine without Chromium and pg_cron', () => {
  it('as root with apt-get: installs both as .ci/run did (update, then a quiet non-interactive install), then lets the run go on', () => {
    const { root, run } = machine();
    const { code, out, apt } = run();
    expect(code, out).toBe(0);
    expect(apt).toEqual(['noninteractive apt-get update -qq', 'noninteractive apt-get install -y -qq chromium postgresql-15-cron']);
    expect(out).toContain('npm test needs chromium and postgresql-15-cron from Debian; installing');
    expect(REQUIREMENTS.flatMap((r) => r.files).every((f) => existsSync(join(root, f)))).toBe(true);
    // Installed now: the next run asks for nothing.
    expect(run().apt).toHaveLength(2);
  });

  it('stops with a failure when apt-get fails, and runs nothing', () => {
    const { code, out } = machine({ apt: 'fails' }).run();
    expect(code).toBe(1);
    expect(out).toContain('`apt-get update -qq` failed (exit 100); nothing was run.');
  });

  it('not root: stops before running anything and prints the one command, without calling apt-get', () => {
    const { code, out, apt } = machine().run({}, 'nobody');
    expect(code).toBe(1);
    expect(apt).toEqual([]);
    expect(out).toContain('cannot install them here (not root). Nothing was run.');
    expect(out).toContain('    sudo apt-get update && sudo apt-get install -y chromium postgresql-15-cron\n');
    expect(out).toContain('Or leave those suites out on purpose: HUMANOPS_SKIP=chromium,pg_cron npm test');
  });

  it('no apt-get: stops and says what to install', () => {
    const { code, out } = machine({ apt: 'absent' }).run();
    expect(code).toBe(1);
    expect(out).toContain('cannot install them here (no apt-get)');
  });

  it('HUMANOPS_SKIP leaves a component out on purpose: nothing is installed for it', () => {
    const { code, apt } = machine().run({ HUMANOPS_SKIP: 'chromium' });
    expect(code).toBe(0);
    expect(apt).toEqual(['noninteractive apt-get update -qq', 'noninteractive apt-get install -y -qq postgresql-15-cron']);
    expect(machine().run({ HUMANOPS_SKIP: 'chromium,pg_cron' })).toMatchObject({ code: 0, apt: [] });
  });
});
