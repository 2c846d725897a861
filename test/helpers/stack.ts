// A private HumanOps for one test file: a fresh database cloned from the migrated template and
// the real `api` edge function under Deno, driven over HTTP.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { inject } from 'vitest';
import { SITE_ENTRY, startApi } from '../../scripts/lib/api.mjs';
import { mintOperatorToken } from '../../scripts/lib/issuer.mjs';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  raw?: string;
  key?: string;
  headers?: Record<string, string>;
}

export interface Agent {
  id: string;
  key: string;
}

export interface Operator {
  id: string;
  /** Headers that authenticate as this operator (a Bearer token from the test issuer). */
  auth: Record<string, string>;
}

/** A session token for `sub` from the issuer every test stack trusts. */
export const operatorToken = (sub: string, options: Record<string, unknown> = {}): Promise<string> =>
  mintOperatorToken({ dir: inject('issuerDir'), issuer: inject('issuer'), sub, ...options });

export interface Stack {
  url: string;
  /** The API process (Deno), e.g. to read its memory use from /proc. */
  pid: number;
  /** The local proof storage folder (HUMANOPS_STORAGE_DIR). */
  storageDir: string;
  /** Superuser connection to this stack's database, for assertions and setup. */
  sql: postgres.Sql;
  /** The URL the API connects with. */
  databaseUrl: string;
  call<T = any>(method: string, path: string, options?: CallOptions): Promise<Reply<T>>;
  registerAgent(name?: string): Promise<Agent>;
  deposit(agent: Agent, usd: number): Promise<void>;
  createTask(agent: Agent, overrides?: Record<string, unknown>, headers?: Record<string, string>): Promise<Reply>;
  /** Uploads a proof file for a task as `operator` (multipart, as the operator app does). */
  upload(operator: Operator, taskId: string, bytes: Uint8Array, options?: { type?: string; name?: string }): Promise<Reply>;
  /** Runs one round of background work now (what the ticker does every few seconds). */
  tick(): Promise<Record<string, number | string>>;
  /** Registers an operator (verified at once in test mode) with a fresh identity. */
  registerOperator(overrides?: Record<string, unknown>): Promise<Operator>;
  logs: string[];
  /** SIGKILLs the API process: a crash, with whatever it had in flight lost. */
  killApi(): Promise<void>;
  /** Starts a new API process on the same database (after killApi); `url` then points at it. */
  restartApi(): Promise<void>;
  /** Starts another API process on the same database, with settings changed (an empty value removes one). */
  startInstance(env?: Record<string, string>): Promise<Instance>;
  /**
   * `npm start`'s one server (functions/local: this API plus the operator app and the local sign-in)
   * on the same database and storage, as a second process; stopped with the stack.
   */
  startSite(options: SiteOptions): Promise<{ origin: string; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export interface SiteOptions {
  /** The local issuer's private key: enables the local sign-in. */
  signInKey?: string;
  /** PEM files: serve HTTPS, and the CA at /local/ca.crt. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

/** Another API process beside the stack's own (see startInstance). */
export interface Instance {
  url: string;
  pid: number;
  logs: string[];
  tick(): Promise<Record<string, number | string>>;
  stop(): Promise<void>;
}

const withoutEmpty = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));

export const futureDeadline = (days = 7) => new Date(Date.now() + days * 86_400_000).toISOString();

/** The reference's "Post a task" body, with a deadline in the future. */
export const physicalTask = (overrides: Record<string, unknown> = {}) => ({
  title: 'Verify storefront signage',
  description: 'Take a photo of the signage at 123 Main St',
  location: { lat: 40.7128, lng: -74.006, address: '123 Main St, NY' },
  reward_usd: 25,
  deadline: futureDeadline(),
  proof_requirements: ['Photo of storefront sign', 'GPS-stamped image'],
  task_type: 'VERIFICATION',
  ...overrides,
});

export const txHash = () => `0x${randomBytes(32).toString('hex')}`;

export async function startStack({ env = {} }: { env?: Record<string, string> } = {}): Promise<Stack> {
  const port = inject('postgresPort');
  const base = `postgres://postgres:postgres@127.0.0.1:${port}`;
  const database = `test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(`${base}/postgres`, { onnotice: () => {}, max: 1 });
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.unsafe(`create database ${database} template ${inject('templateDatabase')}`);
      break;
    } catch (error) {
      if (attempt > 20 || !String((error as Error).message).includes('being accessed')) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const sql = postgres(`${base}/${database}`, { onnotice: () => {}, max: 20 });
  const logs: string[] = [];
  const storageDir = await mkdtemp(join(tmpdir(), 'humanops-storage-'));
  const workerSecret = randomBytes(24).toString('hex');
  // One secret for every process of the stack: a URL one signs, another serves.
  const signingSecret = randomBytes(32).toString('hex');
  const launch = (
    overrides: Record<string, string> = {},
    onLog = (line: string) => void logs.push(line),
    { entry, readable = [] }: { entry?: string; readable?: string[] } = {},
  ) => startApi({
    entry,
    readable,
    writableDirs: [storageDir],
    // An empty value leaves a setting out (its default applies).
    env: withoutEmpty({
      SUPABASE_DB_URL: `${base}/${database}`,
      // Configured as on Supabase: the pooled URL is required there; here it is the same database.
      ...(env.SB_REGION ? { DB_POOLER_URL: `${base}/${database}` } : {}),
      HUMANOPS_MODE: 'test',
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_UPLOADS_PER_MINUTE: '1000000',
      DB_POOL_SIZE: '20',
      CLERK_JWKS_URL: inject('issuerJwksUrl'),
      CLERK_ISSUER: inject('issuer'),
      CLERK_AUTHORIZED_PARTIES: inject('issuerAuthorizedParty'),
      HUMANOPS_STORAGE_DIR: storageDir,
      STORAGE_SIGNING_SECRET: signingSecret,
      WORKER_SECRET: workerSecret,
      ...env,
      ...overrides,
    }),
    onLog: (line: string) => {
      onLog(line);
      // A 500 is always a bug: show why next to the failing test.
      if (line.includes('"msg":"unhandled error"')) process.stderr.write(`[api] ${line}\n`);
    },
  });
  let api = await launch();
  const tickAt = async (url: string) => {
    const response = await fetch(`${url}/internal/tick`, { method: 'POST', headers: { 'x-worker-secret': workerSecret } });
    const body = await response.json();
    if (response.status !== 200) throw new Error(`tick failed: ${JSON.stringify(body)}`);
    return body.ran;
  };

  const call = async (method: string, path: string, options: CallOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (options.key) headers['x-api-key'] = options.key;
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const response = await fetch(`${api.url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: tests assert on the text.
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };

  const registerAgent = async (name = 'test-agent'): Promise<Agent> => {
    const reply = await call('POST', '/agents/register', { body: { name, email: `${name}@example.com` } });
    if (reply.status !== 201) throw new Error(`register failed: ${JSON.stringify(reply.body)}`);
    return { id: reply.body.agent_id, key: reply.body.api_key };
  };

  const deposit = async (agent: Agent, usd: number) => {
    for (let left = usd; left > 0; left -= 10_000) {
      const amount = Math.min(left, 10_000);
      const reply = await call('POST', '/agents/deposit/usdc', { key: agent.key, body: { tx_hash: txHash(), amount_usdc: amount.toFixed(2) } });
      if (reply.status !== 200) throw new Error(`deposit failed: ${JSON.stringify(reply.body)}`);
    }
  };

  const createTask = (agent: Agent, overrides: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    call('POST', '/tasks', { key: agent.key, body: physicalTask(overrides), headers });

  const registerOperator = async (overrides: Record<string, unknown> = {}): Promise<Operator> => {
    const id = `op_${randomBytes(8).toString('hex')}`;
    const auth = { authorization: `Bearer ${await operatorToken(id)}` };
    const body = {
      name: 'Jane Doe',
      email: 'jane@example.com',
      phone: '+1234567890',
      location: { city: 'New York', country: 'US', lat: 40.7128, lng: -74.006 },
      skills: [],
      ...overrides,
    };
    const reply = await call('POST', '/operator/register', { body, headers: auth });
    if (reply.status !== 201) throw new Error(`operator register failed: ${JSON.stringify(reply.body)}`);
    return { id, auth };
  };

  const upload = async (operator: Operator, taskId: string, bytes: Uint8Array, options: { type?: string; name?: string } = {}) => {
    const form = new FormData();
    form.set('task_id', taskId);
    form.set('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: options.type ?? 'image/jpeg' }), options.name ?? 'proof.jpg');
    const response = await fetch(`${api.url}/operator/upload`, { method: 'POST', headers: operator.auth, body: form });
    return { status: response.status, body: await response.json(), headers: response.headers };
  };

  const tick = () => tickAt(api.url);

  const sites: { stop(): Promise<void> }[] = [];
  const startSite = async ({ signInKey, tls }: SiteOptions) => {
    const site = await launch({
      ...(signInKey ? { HUMANOPS_SIGN_IN_KEY: signInKey } : {}),
      ...(tls ? { HUMANOPS_TLS_CERT: tls.certFile, HUMANOPS_TLS_KEY: tls.keyFile, HUMANOPS_TLS_CA: tls.caFile } : {}),
    }, undefined, { entry: SITE_ENTRY, readable: [...(signInKey ? [signInKey] : []), ...(tls ? [tls.certFile, tls.keyFile, tls.caFile] : [])] });
    sites.push(site);
    return { origin: site.urls[0], stop: () => site.stop() };
  };

  return {
    startSite,
    get url() {
      return api.url;
    },
    killApi: async () => {
      process.kill(api.pid, 'SIGKILL');
      await api.exited;
    },
    restartApi: async () => {
      api = await launch();
    },
    startInstance: async (overrides: Record<string, string> = {}) => {
      const lines: string[] = [];
      const instance = await launch(overrides, (line) => void lines.push(line));
      return { url: instance.url, pid: instance.pid, logs: lines, tick: () => tickAt(instance.url), stop: () => instance.stop() };
    },
    pid: api.pid,
    databaseUrl: `${base}/${database}`,
    storageDir,
    tick,
    upload,
    registerOperator,
    sql,
    call,
    registerAgent,
    deposit,
    createTask,
    logs,
    stop: async () => {
      for (const site of sites) await site.stop();
      await api.stop();
      // Whatever a test file did through the API, the books must still add up when it ends.
      const problems = await sql`select problem, subject from api.verify_ledger()`;
      await sql.end();
      await admin.unsafe(`drop database if exists ${database} with (force)`);
      await admin.end();
      await rm(storageDir, { recursive: true, force: true });
      if (problems.length > 0) throw new Error(`the ledger's invariants do not hold: ${JSON.stringify(problems)}`);
    },
  };
}
