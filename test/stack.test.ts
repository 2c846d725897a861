// The `npm start` promise, end to end: `node scripts/stack.mjs` as a child process (not through
// npm, so the pid held here is the stack's own) on a private data dir and private ports.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { request as httpsRequest } from 'node:https';
import { lanAddress } from '../scripts/lib/host.mjs';
import { freePort, portIsFree } from '../scripts/lib/ports.mjs';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

const READY_TIMEOUT = 90_000; // the first-ever start copies the Postgres binaries and runs initdb
const STOP_TIMEOUT = 30_000;

interface Running {
  child: ChildProcess;
  pid: number;
  dataDir: string;
  apiPort: number;
  dbPort: number;
  /** Everything the stack printed so far, stdout and stderr interleaved. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const launched: Running[] = [];
const tempDirs: string[] = [];
/** Postgres postmasters and Deno APIs seen during the test, to make sure none outlives it. */
const grandchildren: { pid: number; marker: string }[] = [];

async function makeDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'humanops-stack-test-'));
  await chmod(dir, 0o755); // mkdtemp makes it 0700; the postgres user must get in.
  tempDirs.push(dir);
  return dir;
}

/** `detached` puts the stack in a process group of its own, as a terminal's foreground job is. */
function launch({ dataDir, apiPort, dbPort, detached = false, args = [], extraEnv = {} }: {
  dataDir: string; apiPort: number; dbPort: number; detached?: boolean; args?: string[]; extraEnv?: Record<string, string>;
}): Running {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('HUMANOPS_') || name === 'SUPABASE_DB_URL') delete env[name];
  }
  const child = spawn(process.execPath, [join(repoRoot, 'scripts/stack.mjs'), ...args], {
    cwd: repoRoot,
    // The issuer and the reference page on any free port: their defaults (54323, 54324) are checked
    // free and then bound, a race another stack on a shared machine can win (EADDRINUSE).
    env: {
      ...env, HUMANOPS_DATA_DIR: dataDir, HUMANOPS_PORT: String(apiPort), HUMANOPS_DB_PORT: String(dbPort), HUMANOPS_ISSUER_PORT: '0', HUMANOPS_REFERENCE_PORT: '0',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let text = '';
  child.stdout!.on('data', (chunk) => (text += chunk));
  child.stderr!.on('data', (chunk) => (text += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const running: Running = { child, pid: child.pid!, dataDir, apiPort, dbPort, output: () => text, exited };
  launched.push(running);
  return running;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the match once the output matches `pattern`; rejects if the stack exits first. */
async function waitForOutput(stack: Running, pattern: RegExp, timeout = READY_TIMEOUT): Promise<RegExpMatchArray> {
  let exited: { code: number | null; signal: string | null } | null = null;
  stack.exited.then((e) => (exited = e));
  const deadline = Date.now() + timeout;
  for (;;) {
    const match = stack.output().match(pattern);
    if (match) return match;
    if (exited) throw new Error(`the stack exited (${JSON.stringify(exited)}) before printing ${pattern}:\n${stack.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeout} ms:\n${stack.output()}`);
    await sleep(50);
  }
}

const READY = /HumanOps is ready: (http:\/\/127\.0\.0\.1:(\d+)\/api\/v1)\b.*$/m;

async function startStack(dataDir: string, { detached = false, args = [] as string[] } = {}) {
  // Ports found free can be taken by another process before the stack binds them: then it says
  // so and exits, and it is started again on other ports.
  for (let attempt = 1; ; attempt++) {
    const apiPort = await freePort();
    let dbPort = await freePort();
    while (dbPort === apiPort) dbPort = await freePort();
    const stack = launch({ dataDir, apiPort, dbPort, detached, args });
    try {
      const ready = await waitForOutput(stack, READY);
      return { stack, url: ready[1] };
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE|in use/.test(stack.output())) throw error;
    }
  }
}

async function waitForExit(stack: Running, timeout = STOP_TIMEOUT) {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the stack did not exit within ${timeout} ms:\n${stack.output()}`)), timeout);
  });
  try {
    return await Promise.race([stack.exited, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function call(url: string, method: string, path: string, { key, body }: { key?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers['x-api-key'] = key;
  const response = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: assertions show the text.
  }
  return { status: response.status, body: parsed };
}

// --- processes --------------------------------------------------------------------------------

/** The pids holding the IPv4 socket that listens on `port` (from /proc/net/tcp and each process's fds). */
function listenersOn(port: number): number[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A').map((f) => `socket:[${f[9]}]`);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readdirSync(`/proc/${entry}/fd`).some((fd) => inodes.includes(readlinkSync(`/proc/${entry}/fd/${fd}`)))) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error; // EPERM would mean it exists; we run as its owner or root, so anything else is a surprise
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function parentPid(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces, so parse after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** The postmaster's pid, from the first line of postmaster.pid. */
function postmasterPid(dataDir: string): number {
  const pid = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  expect(Number.isInteger(pid) && pid > 0).toBe(true);
  return pid;
}

/** The Deno server the stack started: a child of the stack running functions/local/index.ts (the API and the app). */
function apiPid(stackPid: number): number {
  const found = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => parentPid(pid) === stackPid && cmdline(pid).includes('functions/local/index.ts'));
  expect(found, `Deno API processes under the stack (pid ${stackPid})`).toHaveLength(1);
  return found[0];
}

/** Every process whose command line mentions `text` (e.g. a data dir). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && cmdline(pid).includes(text));
}

async function waitUntilGone(pid: number, timeout: number) {
  const deadline = Date.now() + timeout;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
}

/** The stack's Postgres postmaster and Deno API, checked to be running and serving. */
async function childrenOf(stack: Running) {
  const postgresPid = postmasterPid(stack.dataDir);
  grandchildren.push({ pid: postgresPid, marker: stack.dataDir });
  const denoPid = apiPid(stack.pid);
  grandchildren.push({ pid: denoPid, marker: 'functions/local/index.ts' });
  expect(isAlive(postgresPid)).toBe(true);
  expect(cmdline(postgresPid)).toContain(join(stack.dataDir, 'postgres'));
  expect(isAlive(denoPid)).toBe(true);
  expect(await portIsFree(stack.apiPort)).toBe(false);
  expect(await portIsFree(stack.dbPort)).toBe(false);
  return { postgresPid, denoPid };
}

/** After the stack exited: neither child exists any more and both ports are free. */
async function expectAllStopped(stack: Running, { postgresPid, denoPid }: { postgresPid: number; denoPid: number }) {
  const state = () => JSON.stringify({ postgres: isAlive(postgresPid), deno: isAlive(denoPid), output: stack.output() });
  expect(isAlive(postgresPid), `postmaster ${postgresPid} outlived the stack: ${state()}`).toBe(false);
  expect(isAlive(denoPid), `Deno API ${denoPid} outlived the stack: ${state()}`).toBe(false);
  expect(() => process.kill(postgresPid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  expect(() => process.kill(denoPid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  expect(processesMentioning(stack.dataDir)).toEqual([]);
  expect(await portIsFree(stack.apiPort)).toBe(true);
  expect(await portIsFree(stack.dbPort)).toBe(true);
}

// --- cleanup: nothing this file started may outlive it -----------------------------------------

async function cleanUp() {
  for (const stack of launched.splice(0)) {
    if (stack.child.exitCode !== null || stack.child.signalCode !== null) continue;
    stack.child.kill('SIGTERM');
    const stopped = await Promise.race([stack.exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!stopped) {
      stack.child.kill('SIGKILL');
      await stack.exited;
    }
  }
  // Only pids recorded here, and only while their command line still shows what they were.
  for (const { pid, marker } of grandchildren.splice(0)) {
    if (!isAlive(pid) || !cmdline(pid).includes(marker)) continue;
    process.kill(pid, 'SIGINT'); // Postgres: fast shutdown; Deno: its shutdown handler
    await waitUntilGone(pid, 10_000);
    if (isAlive(pid) && cmdline(pid).includes(marker)) process.kill(pid, 'SIGKILL');
  }
  for (const dir of tempDirs.splice(0)) {
    for (const pid of processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

afterEach(cleanUp, 60_000);
afterAll(cleanUp, 60_000);

// --- the tests ---------------------------------------------------------------------------------

describe('npm start (scripts/stack.mjs)', () => {
  it('prints the base URL and a ready line, and /health answers ok with the database up', async () => {
    const dataDir = await makeDataDir();
    const { stack, url } = await startStack(dataDir);
    expect(url).toBe(`http://127.0.0.1:${stack.apiPort}/api/v1`);
    expect(stack.output()).toMatch(new RegExp(`^api\\s+http://127\\.0\\.0\\.1:${stack.apiPort}/api/v1$`, 'm'));
    expect(stack.output()).toMatch(new RegExp(`^postgres\\s+postgres://\\S+@127\\.0\\.0\\.1:${stack.dbPort}/postgres$`, 'm'));
    expect(stack.output()).toMatch(new RegExp(`^HumanOps is ready: ${url} \\(mode test\\)`, 'm'));

    const health = await call(url, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', database: 'ok', version });

    // The API reference page, with the document proxied from the API under its own origin.
    const reference = stack.output().match(/^reference\s+(http:\/\/127\.0\.0\.1:\d+\/)/m)?.[1];
    expect(reference).toBeDefined();
    expect(await (await fetch(reference!)).text()).toContain('/assets/swagger-ui-bundle.js');
    expect((await (await fetch(`${reference}api/v1/openapi.json`)).json()).openapi).toBe('3.1.1');

    // The operator app on the API's own origin, and its local sign-in: a token the API verifies.
    const origin = `http://127.0.0.1:${stack.apiPort}`;
    expect(stack.output()).toMatch(new RegExp(`operator app ${origin}/; Ctrl-C stops it$`, 'm'));
    const page = await fetch(`${origin}/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<div id="app">');
    const signIn = await fetch(`${origin}/local/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ana@example.com' }) });
    const { token, operator_id } = await signIn.json();
    const me = await fetch(`${url}/operator/me`, { headers: { authorization: `Bearer ${token}` } });
    expect([me.status, (await me.json()).code]).toEqual([403, 'operator_not_registered']);
    expect(operator_id).toMatch(/^op_[0-9a-f]{20}$/);

    // One server: the process that listens on the printed port is Deno itself, not a Node proxy.
    const listeners = listenersOn(stack.apiPort);
    expect(listeners).toHaveLength(1);
    expect(listeners[0]).not.toBe(stack.pid);
    expect(cmdline(listeners[0])).toMatch(/deno.* run .*functions\/local\/index\.ts/);
  }, 120_000);

  it('--lan serves the app over HTTPS on the LAN address with a certificate kept in the data dir, and says how to trust it on a phone', async () => {
    const address = lanAddress();
    const dataDir = await makeDataDir();
    if (!address) {
      // A machine on no network: --lan says so and starts nothing.
      const stack = launch({ dataDir, apiPort: await freePort(), dbPort: await freePort(), args: ['--lan'] });
      expect((await waitForExit(stack)).code).toBe(1);
      expect(stack.output()).toContain('--lan: this machine has no IPv4 address on a network');
      return;
    }
    const { stack, url } = await startStack(dataDir, { args: ['--lan'] });
    const origin = `https://${address}:${stack.apiPort}`;
    expect(stack.output()).toMatch(new RegExp(`operator app ${origin.replace(/\./g, '\\.')}/ \\(on a phone: trust ${origin.replace(/\./g, '\\.')}/local/ca\\.crt once`, 'm'));
    expect(stack.output()).toMatch(/^phone +open https:.*\/local\/ca\.crt/m);
    const fingerprint = /SHA-256 fingerprint: ([0-9A-F:]{95})/.exec(stack.output())?.[1];
    expect(fingerprint).toBeDefined();
    // This machine's own tools keep plain HTTP on loopback.
    expect(url).toBe(`http://127.0.0.1:${stack.apiPort}/api/v1`);
    expect((await call(url, 'GET', '/health')).status).toBe(200);

    // A client that trusts the certificate authority in the data dir (as the phone will) gets the app and the API.
    const ca = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
    const get = (path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      httpsRequest(`${origin}${path}`, { ca }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject).end();
    });
    expect(JSON.parse((await get('/api/v1/health')).body)).toMatchObject({ status: 'ok' });
    expect((await get('/')).body).toContain('<div id="app">');
    expect((await get('/local/ca.crt')).body).toBe(ca);

    // Kept: a restart on the same data dir serves the same authority, and makes nothing new.
    stack.child.kill('SIGTERM');
    await waitForExit(stack);
    const again = await startStack(dataDir, { args: ['--lan'] });
    expect(again.stack.output()).not.toMatch(/^made /m);
    expect(again.stack.output()).toContain(`SHA-256 fingerprint: ${fingerprint}`);
  }, 240_000);

  it('runs the background work on its own: an overdue task expires with a refund, nobody calling a cron URL', async () => {
    const dataDir = await makeDataDir();
    const { stack, url } = await startStack(dataDir);
    const { body: agent } = await call(url, 'POST', '/agents/register', { body: { name: 'ticker', email: 'ticker@example.com' } });
    await call(url, 'POST', '/agents/deposit/usdc', { key: agent.api_key, body: { tx_hash: `0x${randomBytes(32).toString('hex')}`, amount_usdc: '50.00' } });
    const task = await call(url, 'POST', '/tasks', {
      key: agent.api_key,
      body: {
        title: 'Expires', description: 'Nobody takes it', location: { lat: 1, lng: 2, address: 'Somewhere' }, reward_usd: 10,
        deadline: new Date(Date.now() + 86_400_000).toISOString(), proof_requirements: ['Photo'], task_type: 'PHOTO',
      },
    });
    const sql = postgres(`postgres://postgres:postgres@127.0.0.1:${stack.dbPort}/postgres`, { onnotice: () => {}, max: 1 });
    try {
      await sql`update tasks set deadline = now() - interval '1 second' where id = ${task.body.task_id}`;
    } finally {
      await sql.end();
    }
    let status = 'PENDING';
    for (let waited = 0; waited < 15_000 && status !== 'EXPIRED'; waited += 500) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await call(url, 'GET', `/tasks/${task.body.task_id}`, { key: agent.api_key })).body.status;
    }
    expect(status).toBe('EXPIRED');
    expect((await call(url, 'GET', '/agents/balance', { key: agent.api_key })).body).toEqual({ deposit_balance: 50, escrow_balance: 0, currency: 'USD' });
  }, 120_000);

  it('keeps data across a restart on the same data dir, and does not re-apply migrations', async () => {
    const dataDir = await makeDataDir();
    const first = await startStack(dataDir);
    const migrated = first.stack.output().match(/^migrated\s+\d+$/gm) ?? [];
    expect(migrated.length).toBe(readdirSync(join(repoRoot, 'supabase/migrations')).filter((f) => /^\d+_.+\.sql$/.test(f)).length);

    const registered = await call(first.url, 'POST', '/agents/register', { body: { name: 'restart-agent', email: 'restart@example.com' } });
    expect(registered.status).toBe(201);
    const { agent_id: agentId, api_key: key } = registered.body;
    expect(agentId).toEqual(expect.any(String));
    expect(key).toMatch(/^ho_test_/);
    const deposit = await call(first.url, 'POST', '/agents/deposit/usdc', {
      key,
      body: { tx_hash: `0x${randomBytes(32).toString('hex')}`, amount_usdc: '50.00' },
    });
    expect(deposit.status).toBe(200);
    const before = await call(first.url, 'GET', '/agents/balance', { key });
    expect(before.body).toMatchObject({ deposit_balance: 50 });

    first.stack.child.kill('SIGTERM');
    await waitForExit(first.stack);

    const second = await startStack(dataDir);
    expect(second.stack.output()).not.toMatch(/^migrated/m);
    const after = await call(second.url, 'GET', '/agents/balance', { key });
    expect(after.status).toBe(200);
    expect(after.body).toEqual({ deposit_balance: 50, escrow_balance: 0, currency: 'USD' });
  }, 180_000);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} stops every child: Postgres and the Deno API are gone, both ports are free, exit code 0`, async () => {
      const dataDir = await makeDataDir();
      const { stack } = await startStack(dataDir);
      const pids = await childrenOf(stack);

      process.kill(stack.pid, signal);
      const exit = await waitForExit(stack);

      await expectAllStopped(stack, pids);
      expect(exit, stack.output()).toEqual({ code: 0, signal: null });
      expect(stack.output()).toContain(`${signal}: stopping HumanOps`);
    }, 120_000);
  }

  it('Ctrl-C in a terminal (SIGINT to the whole process group, children included) stops cleanly', async () => {
    const dataDir = await makeDataDir();
    const { stack } = await startStack(dataDir, { detached: true });
    const pids = await childrenOf(stack);

    process.kill(-stack.pid, 'SIGINT'); // the group the stack leads: Postgres and Deno get it too
    const exit = await waitForExit(stack);

    await expectAllStopped(stack, pids);
    expect(exit, stack.output()).toEqual({ code: 0, signal: null });
  }, 120_000);

  // A request whose body never finishes keeps the API from shutting down promptly, so the stack has
  // to wait for (or force) its end, and Postgres may be gone before the stack gets to stop it.
  for (const how of ['SIGTERM to the stack', 'Ctrl-C in a terminal'] as const) {
    it(`stops every child even while a request is still in flight (${how})`, async () => {
      const dataDir = await makeDataDir();
      const group = how === 'Ctrl-C in a terminal';
      const { stack } = await startStack(dataDir, { detached: group });
      const pids = await childrenOf(stack);

      const socket = connect(stack.apiPort, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      socket.write('POST /api/v1/agents/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":');
      try {
        await sleep(300);
        const signalledAt = Date.now();
        if (group) process.kill(-stack.pid, 'SIGINT');
        else process.kill(stack.pid, 'SIGTERM');
        const exit = await waitForExit(stack);
        const took = Date.now() - signalledAt;
        await expectAllStopped(stack, pids);
        expect(exit, stack.output()).toEqual({ code: 0, signal: null });
        // The API gets 5 s to finish before it is killed; Postgres stops in well under a second.
        // Nothing else may hold the exit up (such as waiting on a Postgres that already exited).
        expect(took).toBeLessThan(12_000);
      } finally {
        socket.destroy();
      }
    }, 120_000);
  }

  // Third review (finding 6): a taken Postgres port surfaced as "Cannot read properties of undefined
  // (reading 'message')". Every port is named with what wanted it and the setting that moves it.
  it('refuses to start when the Postgres port is taken, naming the port, what wanted it and the setting to change', async () => {
    const dataDir = await makeDataDir();
    const apiPort = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve, reject) => blocker.once('error', reject).listen(0, '127.0.0.1', resolve));
    const dbPort = (blocker.address() as { port: number }).port;
    try {
      const stack = launch({ dataDir, apiPort, dbPort });
      expect((await waitForExit(stack)).code, stack.output()).toBe(1);
      expect(stack.output()).toContain(`HumanOps failed to start: port ${dbPort} (Postgres) is in use: stop what listens on 127.0.0.1:${dbPort}, or set HUMANOPS_DB_PORT to a free port`);
      expect(stack.output()).not.toMatch(/Cannot read properties/);
      expect(processesMentioning(dataDir)).toEqual([]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);

  it('a Postgres that cannot bind its port says which port, instead of failing with nothing', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve, reject) => blocker.once('error', reject).listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { startPostgres } = await import('../scripts/lib/postgres.mjs');
      const failure = await startPostgres({ dataDir: join(await makeDataDir(), 'postgres'), port, ephemeral: true }).then(() => null, (error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).message).toBe(`Postgres did not start on 127.0.0.1:${port} (is the port in use?)`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);

  // Third review (finding 4): `HUMANOPS_MODE=live npm start` trusted the local issuer, whose key
  // sits in the data dir, so anyone could sign in as anyone against the live API.
  it('refuses live mode on its own local issuer, before starting anything', async () => {
    const dataDir = await makeDataDir();
    const stack = launch({ dataDir, apiPort: await freePort(), dbPort: await freePort(), extraEnv: { HUMANOPS_MODE: 'live', HUMANOPS_ADMIN_KEY: randomBytes(24).toString('hex') } });
    expect((await waitForExit(stack)).code, stack.output()).toBe(1);
    expect(stack.output()).toContain("HumanOps failed to start: live mode trusts only your identity provider, never this stack's local issuer: set CLERK_JWKS_URL");
    expect(existsSync(join(dataDir, 'postgres'))).toBe(false);
    expect(processesMentioning(dataDir)).toEqual([]);
  }, 60_000);

  it('refuses to start when the API port is taken, naming the port, and leaves no Postgres behind', async () => {
    const dataDir = await makeDataDir();
    const apiPort = await freePort();
    let dbPort = await freePort();
    while (dbPort === apiPort) dbPort = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve, reject) => blocker.once('error', reject).listen(apiPort, '127.0.0.1', resolve));
    try {
      const stack = launch({ dataDir, apiPort, dbPort });
      const exit = await waitForExit(stack);
      expect(exit.code, stack.output()).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(stack.output()).toMatch(new RegExp(`port ${apiPort}\\b.*in use`));
      expect(stack.output()).not.toMatch(/HumanOps is ready/);
      expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
      expect(processesMentioning(dataDir)).toEqual([]);
      expect(await portIsFree(dbPort)).toBe(true);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);
});
