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

/** The `api` edge function's entry, and the local site's (the API plus the operator app; never deployed). */
export const API_ENTRY = join(repoRoot, 'functions/api/index.ts');
export const SITE_ENTRY = join(repoRoot, 'functions/local/index.ts');

/**
 * Starts the API (or the local site: `entry`) on `port` (0 = any free port) with `env` added to this
 * process's environment. It reads the clone and `readable` files; `writableDirs` are the only folders
 * it may write (proof storage). Resolves once it listens, with `{ url, urls, port, pid, stop() }`:
 * `url` is the first listener's /api/v1, `urls` every listener's origin; `onLog` receives its log lines.
 */
export function startApi({ env = {}, port = 0, writableDirs = [], readable = [], entry = API_ENTRY, onLog = () => {} } = {}) {
  const child = spawn(
    denoBinary(),
    [
      'run',
      '--node-modules-dir=manual',
      '--config', join(repoRoot, 'deno.json'),
      '--no-prompt',
      '--allow-net', '--allow-env', '--allow-sys', `--allow-read=${[repoRoot, ...writableDirs, ...readable].join(',')}`,
      ...(writableDirs.length ? [`--allow-write=${writableDirs.join(',')}`] : []),
      entry,
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
      const { hostname, port: actualPort, urls = [`http://${hostname}:${actualPort}`] } = JSON.parse(line);
      resolve({
        url: `${urls[0]}/api/v1`,
        urls,
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
