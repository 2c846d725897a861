// The hosted path, proven without a Supabase account: what a new user does with the pinned CLI,
// against local stand-ins.
// 1. `supabase db push --db-url …` applies every migration to a database set up like a hosted
//    project's (non-superuser owner, Supabase's roles, `auth.jwt()`, classic default grants,
//    Storage, Vault and pg_net stand-ins; see fixtures/hosted-supabase.sql).
// 2. `supabase functions deploy api --use-api` uploads the function to a stand-in of the
//    Management API; we keep the multipart upload.
// 3. The uploaded files alone, in an empty folder without node_modules, type-check and run under
//    Deno (npm packages come from the registry, as on Supabase) with the hosted settings: SB_REGION
//    set, a stated mode, the pooler defaults, Supabase Storage through a stand-in, the new secret
//    keys. There: /health, a task's round trip, and the worker call that pg_cron makes with its
//    secret from Vault.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { denoBinary, repoRoot } from '../scripts/lib/api.mjs';
import { mintOperatorToken } from '../scripts/lib/issuer.mjs';
import { listMigrations } from '../scripts/lib/migrate.mjs';
import { createHostedDatabase, type HostedDatabase } from './helpers/hosted-database.ts';
import { makeJpeg } from './helpers/images.ts';
import { INTENDED_PRIVILEGES, privileges } from './helpers/privileges.ts';
import { startStorageStandIn } from './helpers/storage-stand-in.ts';

const SUPABASE = join(repoRoot, 'node_modules/.bin/supabase');
const PROJECT_REF = 'abcdefghijklmnopqrst';
const ACCESS_TOKEN = `sbp_${'0'.repeat(40)}`;
const SECRET_KEY = `sb_secret_${randomBytes(16).toString('hex')}`;

/** The CLI writes supabase/.temp into the project it runs in, so it runs on a copy of the repository. */
function copyProject(to: string) {
  const skip = new Set(['node_modules', '.git', 'dist', '.humanops', '.temp']);
  cpSync(repoRoot, to, { recursive: true, filter: (source) => !skip.has(source.split('/').pop()!) });
}

/** Runs the pinned CLI (asynchronously: the Management API stand-in answers from this process). */
function cli(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const child = spawn(SUPABASE, args, {
    cwd,
    env: { ...process.env, HOME: cwd, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`supabase ${args.join(' ')} failed (${code}): ${output}`));
    });
  });
}

/** A stand-in of the Management API that keeps the function's deploy upload. */
async function startManagementApi() {
  const uploads: { url: string; form: FormData }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const path = (req.url ?? '').split('?')[0];
      res.setHeader('content-type', 'application/json');
      if (req.headers.authorization !== `Bearer ${ACCESS_TOKEN}`) return res.writeHead(401).end('{"message":"Unauthorized"}');
      if (req.method === 'POST' && path === `/v1/projects/${PROJECT_REF}/functions/deploy`) {
        const body = Buffer.concat(chunks);
        const form = await new Response(body, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
        uploads.push({ url: req.url ?? '', form });
        const now = Date.now();
        return res.writeHead(201).end(JSON.stringify({ id: 'fn_1', slug: 'api', name: 'api', status: 'ACTIVE', version: 1, created_at: now, updated_at: now }));
      }
      if (req.method === 'GET' && path === `/v1/projects/${PROJECT_REF}/functions`) return res.end('[]');
      if (req.method === 'GET' && path === `/v1/projects/${PROJECT_REF}`) {
        return res.end(JSON.stringify({ id: PROJECT_REF, ref: PROJECT_REF, name: 'humanops', region: 'local', status: 'ACTIVE_HEALTHY' }));
      }
      res.writeHead(404).end('{"message":"not found"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, uploads, close: () => new Promise((r) => server.close(r)) };
}

interface Served {
  url: string;
  stop(): Promise<void>;
  output(): string;
}

/**
 * This process's environment without anything the function reads (so only what a test states
 * reaches it), with Deno's cache in `denoDir`. The rest stays: reaching the registry may need the
 * machine's proxy and certificate settings.
 */
function denoEnv(home: string, denoDir: string, env: Record<string, string> = {}) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(HUMANOPS_|SUPABASE_|SB_|DENO_|DB_|CLERK_|STORAGE_|WORKER_|CORS_)/.test(name)),
  );
  return { ...inherited, HOME: home, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', ...env };
}

/** Runs the uploaded function with Deno from `dir`, with `env` as its configuration. */
function serveUploaded(dir: string, denoDir: string, env: Record<string, string>): Promise<Served> {
  const child = spawn(denoBinary(), ['run', '--no-prompt', '--allow-net', '--allow-env', '--allow-sys', `--allow-read=${dir}`, 'functions/api/index.ts'], {
    cwd: dir,
    env: denoEnv(dir, denoDir, { HUMANOPS_PORT: '0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      if (!line.includes('"msg":"listening"')) return;
      const { port } = JSON.parse(line);
      resolve({
        url: `http://127.0.0.1:${port}/api/v1`,
        output: () => output,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        },
      });
    });
    exited.then((code) => reject(Object.assign(new Error(`the function exited (code ${code}) before listening:\n${output.slice(-3000)}`), { code, output })));
  });
}

describe('hosted Supabase, end to end with the pinned CLI', () => {
  let work: string;
  let project: string;
  let uploaded: string;
  let denoDir: string;
  let hosted: HostedDatabase;
  let management: Awaited<ReturnType<typeof startManagementApi>>;
  const storage = startStorageStandIn(SECRET_KEY);
  let storageUrl: string;
  let metadata: Record<string, unknown>;
  let files: string[];
  let api: Served | undefined;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'humanops-hosted-'));
    project = join(work, 'project');
    uploaded = join(work, 'uploaded');
    denoDir = join(work, 'deno');
    copyProject(project);
    hosted = await createHostedDatabase(inject('postgresPort'));
    management = await startManagementApi();
    await new Promise<void>((resolve) => storage.server.listen(0, '127.0.0.1', resolve));
    storageUrl = `http://127.0.0.1:${(storage.server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
    await management?.close();
    await new Promise((r) => storage.server.close(r));
    await hosted?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('`supabase db push --db-url` applies every migration as the non-superuser owner', async () => {
    const output = await cli(project, ['db', 'push', '--db-url', `${hosted.ownerUrl}?sslmode=disable`, '--yes']);
    expect(output).not.toMatch(/error/i);
    const applied = await hosted.sql`select version from supabase_migrations.schema_migrations order by version`;
    expect(applied.map((r) => r.version)).toEqual((await listMigrations()).map((m: { version: string }) => m.version));
    // A second push has nothing to do.
    expect(await cli(project, ['db', 'push', '--db-url', `${hosted.ownerUrl}?sslmode=disable`, '--yes'])).toMatch(/up to date/i);
  }, 120_000);

  it('leaves exactly the intended privileges, despite the classic default grants', async () => {
    expect((await privileges(hosted.sql)).filter((line) => !line.startsWith('schema public:'))).toEqual(INTENDED_PRIVILEGES);
  });

  it('creates the private proofs bucket, a policy that lets an operator read only its own files, and the worker secret in Vault', async () => {
    expect(await hosted.sql`select id, public, file_size_limit::int as limit, allowed_mime_types from storage.buckets`).toEqual([
      { id: 'proofs', public: false, limit: 10 * 1024 * 1024, allowed_mime_types: ['image/jpeg', 'image/png', 'image/webp', 'image/heic'] },
    ]);
    expect(await hosted.sql`select policyname, cmd, roles::text[] as roles from pg_policies where schemaname = 'storage'`).toEqual([
      { policyname: 'an operator reads its own proof files', cmd: 'SELECT', roles: ['authenticated'] },
    ]);
    // The policy lets an operator (a Clerk token's sub, under `authenticated`) read its own files only.
    await hosted.sql`insert into storage.objects (bucket_id, name) values ('proofs', 'op_a/task_1/a.jpg'), ('proofs', 'op_b/task_2/b.jpg')`;
    const visible = await hosted.sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: 'op_a', role: 'authenticated' })}, true), set_config('role', 'authenticated', true)`;
      return tx`select name from storage.objects`;
    });
    expect(visible).toEqual([{ name: 'op_a/task_1/a.jpg' }]);
    await hosted.sql`delete from storage.objects`;
    const [secret] = await hosted.sql`select decrypted_secret from vault.decrypted_secrets where name = 'humanops_worker_secret'`;
    expect(secret.decrypted_secret).toMatch(/^[0-9a-f]{64}$/);
  });

  it('`supabase functions deploy api --use-api` uploads the function and what it imports, with no node_modules', async () => {
    writeFileSync(join(work, 'profile.yaml'), `name: stand-in\napi_url: ${management.url}\ndashboard_url: ${management.url}\nproject_host: 127.0.0.1\n`);
    await cli(project, ['functions', 'deploy', 'api', '--use-api', '--project-ref', PROJECT_REF, '--profile', join(work, 'profile.yaml')], {
      SUPABASE_ACCESS_TOKEN: ACCESS_TOKEN,
    });
    expect(management.uploads).toHaveLength(1);
    const [{ url, form }] = management.uploads;
    expect(url).toContain('slug=api');
    metadata = JSON.parse(String(form.get('metadata')));
    expect(metadata).toMatchObject({ name: 'api', entrypoint_path: 'functions/api/index.ts', import_map_path: 'deno.json', verify_jwt: false });
    files = [];
    for (const [field, value] of form) {
      if (field !== 'file' || typeof value === 'string') continue;
      files.push(value.name);
    }
    expect(files).toContain('functions/api/index.ts');
    // npm start's local server (the app's files, the local sign-in) is never deployed.
    expect(files.filter((f) => f.startsWith('functions/local/'))).toEqual([]);
    expect(files).toContain('deno.json');
    // The Guardian's text reader reads its engine and model from the bundle (static_files).
    expect(files).toEqual(expect.arrayContaining(['functions/_shared/guardian/ocr/tesseract-core.wasm', 'functions/_shared/guardian/ocr/eng.traineddata.gz']));
    expect(files.filter((f) => f.includes('node_modules') || f.startsWith('test/') || f.startsWith('supabase/'))).toEqual([]);
    // The deployed configuration resolves npm packages itself: no "nodeModulesDir" there.
    const denoJson = JSON.parse(readFileSync(join(repoRoot, 'deno.json'), 'utf8'));
    expect(denoJson.nodeModulesDir).toBeUndefined();
  }, 120_000);

  it('the uploaded files alone type-check under Deno in an empty folder', async () => {
    mkdirSync(uploaded);
    const [{ form }] = management.uploads;
    for (const [field, value] of form) {
      if (field !== 'file' || typeof value === 'string') continue;
      const target = join(uploaded, value.name);
      expect(relative(uploaded, target).startsWith('..')).toBe(false);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, Buffer.from(await value.arrayBuffer()));
    }
    expect(existsSync(join(uploaded, 'node_modules'))).toBe(false);
    const checked = spawnSync(denoBinary(), ['check', 'functions/api/index.ts'], {
      cwd: uploaded,
      encoding: 'utf8',
      timeout: 180_000,
      env: denoEnv(uploaded, denoDir),
    });
    expect(checked.status, checked.stderr).toBe(0);
    expect(existsSync(join(uploaded, 'node_modules'))).toBe(false);
  }, 200_000);

  const hostedEnv = () => ({
    SB_REGION: 'local-ci',
    SUPABASE_DB_URL: hosted.ownerUrl,
    DB_POOLER_URL: hosted.ownerUrl,
    SUPABASE_URL: storageUrl,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: SECRET_KEY }),
    CLERK_JWKS_URL: inject('issuerJwksUrl'),
    CLERK_ISSUER: inject('issuer'),
    CLERK_AUTHORIZED_PARTIES: inject('issuerAuthorizedParty'),
    RATE_LIMIT_PER_MINUTE: '1000',
  });

  it('refuses to start on Supabase without a stated mode, saying so', async () => {
    const refused = await serveUploaded(uploaded, denoDir, hostedEnv()).then(
      async (served) => {
        await served.stop();
        return null;
      },
      (error: { output: string }) => error,
    );
    expect(refused?.output).toMatch(/HUMANOPS_MODE must be set on Supabase/);
  }, 60_000);

  it('serves /health and a task round trip with the hosted settings, and the Vault-held worker call', async () => {
    const [{ decrypted_secret: workerSecret }] = await hosted.sql`select decrypted_secret from vault.decrypted_secrets where name = 'humanops_worker_secret'`;
    api = await serveUploaded(uploaded, denoDir, { ...hostedEnv(), HUMANOPS_MODE: 'test', WORKER_SECRET: workerSecret });
    const call = async (method: string, path: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
      if (options.key) headers['x-api-key'] = options.key;
      const response = await fetch(`${api!.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
      return { status: response.status, body: await response.json() };
    };

    expect(await call('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok', database: 'ok' } });

    // The hosted pool: no prepared statements (a transaction pooler cannot keep them), ≤ 2 connections.
    const sessions = await hosted.sql`select count(*)::int as n from pg_stat_activity where datname = ${hosted.name} and application_name = 'humanops-api'`;
    expect(sessions[0].n).toBeLessThanOrEqual(2);

    const registered = await call('POST', '/agents/register', { body: { name: 'hosted', email: 'hosted@example.com' } });
    expect(registered.status).toBe(201);
    const key = registered.body.api_key;
    expect((await call('POST', '/agents/deposit/usdc', { key, body: { tx_hash: `0x${randomBytes(32).toString('hex')}`, amount_usdc: '100.00' } })).status).toBe(200);
    const created = await call('POST', '/tasks', {
      key,
      body: {
        title: 'Verify storefront signage',
        description: 'Take a photo of the signage at 123 Main St',
        location: { lat: 40.7128, lng: -74.006, address: '123 Main St, NY' },
        reward_usd: 25,
        deadline: new Date(Date.now() + 86_400_000).toISOString(),
        proof_requirements: ['Photo of storefront sign'],
        task_type: 'VERIFICATION',
      },
    });
    expect(created.status).toBe(201);
    const taskId = created.body.task_id;

    const operatorId = `op_${randomBytes(6).toString('hex')}`;
    const bearer = { authorization: `Bearer ${await mintOperatorToken({ dir: inject('issuerDir'), issuer: inject('issuer'), sub: operatorId })}` };
    const operator = await call('POST', '/operator/register', {
      headers: bearer,
      body: { name: 'Jane Doe', email: 'jane@example.com', phone: '+1234567890', location: { city: 'New York', country: 'US', lat: 40.7128, lng: -74.006 }, skills: [] },
    });
    expect(operator.status).toBe(201);
    expect((await call('POST', `/operator/tasks/${taskId}/accept`, { headers: bearer })).status).toBe(200);
    expect((await call('POST', `/operator/tasks/${taskId}/start`, { headers: bearer })).status).toBe(200);

    // The proof goes to Supabase Storage (the stand-in), with the new secret key.
    const form = new FormData();
    form.set('task_id', taskId);
    form.set('file', new Blob([makeJpeg({ lat: 40.7131, lng: -74.0063, takenAt: new Date() }) as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'proof.jpg');
    const upload = await fetch(`${api.url}/operator/upload`, { method: 'POST', headers: bearer, body: form });
    const uploadedProof = await upload.json();
    expect(upload.status, JSON.stringify(uploadedProof)).toBe(201);
    expect(uploadedProof.url).toContain(`${storageUrl}/storage/v1/object/sign/proofs/${operatorId}/${taskId}/`);
    expect([...storage.objects.keys()]).toEqual([`proofs/${uploadedProof.path}`]);

    const submitted = await call('POST', `/operator/tasks/${taskId}/submit`, { headers: bearer, body: { photos: [uploadedProof.url], notes: 'Sign confirmed' } });
    expect(submitted.status).toBe(200);

    // pg_cron's worker call: the URL and secret come from Vault, pg_net (the stand-in) queues the
    // request, and we send it as pg_net would. Until the URL is stored, the call does nothing.
    const owner = postgres(hosted.ownerUrl, { onnotice: () => {}, max: 1 });
    try {
      expect(await owner`select private.call_worker() as request`).toEqual([{ request: null }]);
      await owner`select vault.create_secret(${`${api.url}/internal/tick`}, 'humanops_worker_url')`;
      const [{ request }] = await owner`select private.call_worker() as request`;
      const [queued] = await hosted.sql`select url, headers, timeout_milliseconds from net.http_request_queue where id = ${request}`;
      expect(queued.timeout_milliseconds).toBeGreaterThan(60_000);
      const tick = await fetch(queued.url, { method: 'POST', headers: queued.headers, body: '{}' });
      expect(tick.status).toBe(200);
      expect((await tick.json()).ran).toMatchObject({ guardian_jobs: 1 });
    } finally {
      await owner.end();
    }
    // The Guardian read the proof back from Storage; without a model it never approves on its
    // own, so the task waits for the agent. Every check passed: the words in the photo were read,
    // by the engine and model the deployed bundle carries.
    const detail = await call('GET', `/tasks/${taskId}`, { key });
    expect(detail.body.status).toBe('MANUAL_REVIEW');
    expect(detail.body.guardian_result.checks.every((c: { passed: boolean }) => c.passed)).toBe(true);
    const verified = await call('POST', `/tasks/${taskId}/verify`, { key, body: { decision: 'APPROVE' } });
    expect(verified.status).toBe(200);
    expect((await call('GET', `/tasks/${taskId}`, { key })).body.status).toBe('COMPLETED');
    expect(await hosted.sql`select problem from api.verify_ledger()`).toEqual([]);
    expect(api.output()).not.toContain('"msg":"unhandled error"');
  }, 120_000);
});
