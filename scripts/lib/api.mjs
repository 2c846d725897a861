// Serves the `api` edge function with Deno from the npm package `deno`, offline: npm imports are
// resolved from the project's node_modules (`--node-modules-dir=manual`, import map in deno.json).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
export const repoRoot = new URL('../../', import.meta.url).pathname;

/** The deno executable: the one the package's postinstall placed, else the platform package's. */
export function denoBinary() {
  const installed = join(dirname(require.resolve('deno/package.json')), 'deno');
  if (existsSync(installed)) return installed;
  const platform = `@deno/${process.platform}-${process.arch}${process.platform === 'linux' ? '-glibc' : ''}`;
  return join(dirname(require.resolve(`${platform}/package.json`)), 'deno');
}

/**
 * Starts the API on `port` (0 = any free port) with `env` added to this process's environment.
 * `writableDirs` are the only folders it may write (proof storage). Resolves once it listens,
 * with `{ url, port, pid, stop() }`; `onLog` receives its log lines.
 */
export function startApi({ env = {}, port = 0, writableDirs = [], onLog = () => {} } = {}) {
  const child = spawn(
    denoBinary(),
    [
      'run',
      '--node-modules-dir=manual',
      '--config', join(repoRoot, 'deno.json'),
      '--no-prompt',
      '--allow-net', '--allow-env', '--allow-sys', `--allow-read=${[repoRoot, ...writableDirs].join(',')}`,
      ...(writableDirs.length ? [`--allow-write=${writableDirs.join(',')}`] : []),
      join(repoRoot, 'functions/api/index.ts'),
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', ...env, HUMANOPS_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      onLog(String(chunk).trimEnd());
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      onLog(line);
      if (!line.includes('"msg":"listening"')) return;
      const { hostname, port: actualPort } = JSON.parse(line);
      resolve({
        url: `http://${hostname}:${actualPort}/api/v1`,
        port: actualPort,
        pid: child.pid,
        exited,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        },
      });
    });
    exited.then(({ code, signal }) => reject(new Error(`the API exited before listening (code ${code}, signal ${signal}): ${stderr.slice(-2000)}`)));
  });
}
