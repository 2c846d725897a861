// The release checks for @humanops/sdk and @humanops/mcp, shared by `npm run release` and the test
// suite: pack both as npm would publish them, lint the tarballs (publint, "are the types wrong"),
// install them in an empty folder as a user would (dependencies from the registry), and run each
// smoke test there against a live API: Node as ES module and as CommonJS, Deno, Chromium, and the
// MCP server over stdio.
import { execFile, spawn } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { denoBinary, repoRoot } from './api.mjs';
import { proxy } from './reference.mjs';

const run = promisify(execFile);
export const PACKAGES = ['sdk', 'mcp'];

/**
 * attw problem kinds accepted per package. The MCP server is ES modules only, on purpose: it is a
 * command (`npx @humanops/mcp`) and its library entry is for ESM hosts, so require() of it is not offered.
 */
export const LINT_EXCEPTIONS = { sdk: [], mcp: ['CJSResolvesToESM'] };
const SMOKE = join(repoRoot, 'scripts/smoke');
export const CHROMIUM = '/usr/bin/chromium';

/** Packs each workspace (already built) into `dir`; returns `{ sdk, mcp }` tarball paths. */
export async function pack(dir) {
  const tarballs = {};
  for (const name of PACKAGES) {
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: join(repoRoot, name) });
    tarballs[name] = join(dir, stdout.trim().split('\n').pop());
  }
  return tarballs;
}

/**
 * What publint (warnings count, suggestions too: strict) and "are the types wrong" (every
 * resolution mode: node10, node16 as CJS and ESM, bundler) find wrong with a tarball, as lines.
 * `ignore` names attw problem kinds to accept, each with a reason in the caller.
 */
export async function lint(tarball, { ignore = [] } = {}) {
  const bytes = await readFile(tarball);
  const problems = [];
  const linted = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, level: 'suggestion', strict: true });
  for (const message of linted.messages) problems.push(`publint ${message.type}: ${formatMessage(message, linted.pkg)}`);
  const checked = await checkPackage(createPackageFromTarballData(new Uint8Array(bytes)));
  if (checked.types === false) problems.push('attw: the package has no types');
  for (const problem of checked.problems ?? []) {
    if (!ignore.includes(problem.kind)) problems.push(`attw ${problem.kind}: ${JSON.stringify(problem)}`);
  }
  return problems;
}

/** An empty folder with both tarballs installed by npm, as from the registry; returns its path. */
export async function install(tarballs, dir) {
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'humanops-consumer', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...Object.values(tarballs)], { cwd: dir });
  await writeFile(join(dir, 'deno.json'), JSON.stringify({ nodeModulesDir: 'manual' }));
  await cp(SMOKE, join(dir, 'smoke'), { recursive: true });
  return dir;
}

/** Runs a command in the consumer folder; resolves with the JSON line it printed last (or null with `json: false`). */
function runJson(command, args, { cwd, env, timeoutMs = 60_000, json = true }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${err}${out}`));
      if (!json) return resolve(null);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        reject(new Error(`${command} ${args.join(' ')} printed no JSON:\n${out}\n${err}`));
      }
    });
  });
}

/** `apiOrigin`: the API's origin, e.g. http://127.0.0.1:54321. */
export const smokeNodeEsm = (dir, apiOrigin) => runJson(process.execPath, ['smoke/sdk-node.mjs'], { cwd: dir, env: { HUMANOPS_API_URL: apiOrigin } });
export const smokeNodeCjs = (dir, apiOrigin) => runJson(process.execPath, ['smoke/sdk-node.cjs'], { cwd: dir, env: { HUMANOPS_API_URL: apiOrigin } });
export const smokeMcp = (dir, apiOrigin) => runJson(process.execPath, ['smoke/mcp-stdio.mjs'], { cwd: dir, env: { HUMANOPS_API_URL: apiOrigin, HUMANOPS_KEY_DIR: join(dir, 'keys') } });

/** Deno type-checks the smoke script against the installed types, then runs it (network and env only). */
export async function smokeDeno(dir, apiOrigin) {
  const env = { HUMANOPS_API_URL: apiOrigin, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
  await runJson(denoBinary(), ['check', 'smoke/sdk-deno.ts'], { cwd: dir, env, json: false });
  const host = new URL(apiOrigin).host;
  return runJson(denoBinary(), ['run', '--no-prompt', `--allow-net=${host}`, '--allow-env=HUMANOPS_API_URL,HUMANOPS_API_KEY,HUMANOPS_LOG', 'smoke/sdk-deno.ts'], { cwd: dir, env });
}

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.html': 'text/html' };

/**
 * Serves the consumer folder to a browser (the installed packages as ES modules, zod included,
 * mapped by an import map) and proxies /api/v1 to the API, then runs the smoke test in Chromium.
 */
export async function smokeBrowser(dir, apiOrigin) {
  const zodEntry = JSON.parse(await readFile(join(dir, 'node_modules/zod/package.json'), 'utf8')).exports['.'].import;
  const sdkManifest = JSON.parse(await readFile(join(dir, 'node_modules/@humanops/sdk/package.json'), 'utf8'));
  const entry = (subpath) => `/node_modules/@humanops/sdk/${sdkManifest.exports[subpath].import.default.replace(/^\.\//, '')}`;
  const page = `<!doctype html><meta charset="utf-8"><title>smoke</title>
<script type="importmap">${JSON.stringify({ imports: {
    '@humanops/sdk': entry('.'), '@humanops/sdk/operator': entry('./operator'), zod: `/node_modules/zod/${zodEntry.replace(/^\.\//, '')}`,
  } })}</script>`;
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    if (path.startsWith('/api/v1/')) return proxy(req, res, `${apiOrigin}${req.url}`).catch(() => res.destroy());
    if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir) || !existsSync(file) || !(path.startsWith('/node_modules/') || path.startsWith('/smoke/'))) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const tab = await browser.newPage();
    const errors = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    await tab.goto(origin);
    // A string, so the test runner never rewrites the browser's own import().
    const result = await tab.evaluate(`import(${JSON.stringify(`${origin}/smoke/sdk-browser.js`)}).then((m) => m.smoke())`);
    return { ...result, errors };
  } finally {
    await browser.close();
    await new Promise((r) => server.close(r));
  }
}

/** A folder the `postgres` user (and anyone) can enter, for a throwaway stack's data. */
export async function tempDir(prefix) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

export async function removeDir(dir) {
  await rm(dir, { recursive: true, force: true });
}
