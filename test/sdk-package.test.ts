// @humanops/sdk as npm would ship it (`npm pack`): what it contains, no Node built-ins on its runtime
// path, and in Deno its types check and its code runs with no permissions at all.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeaders } from '../functions/_shared/webhooks.ts';

const root = new URL('..', import.meta.url).pathname;
const DENO = join(root, 'node_modules/deno/deno');
const vectors = JSON.parse(readFileSync(join(root, 'sdk/test-vectors/e2ee.json'), 'utf8')).vectors;

let dir: string;
let pkg: string;
let files: string[];

const walk = (at: string): string[] =>
  readdirSync(at, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(at, e.name)) : [join(at, e.name)]));

/** Runs Deno in the consumer project; `permissions` none unless given. */
const deno = (...args: string[]) => spawnSync(DENO, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } });

beforeAll(() => {
  // A consumer project with the packed tarball installed as a real npm package (not a workspace link).
  dir = mkdtempSync(join(tmpdir(), 'humanops-sdk-'));
  // `npm test` builds first; building here would rewrite dist under the other test files' feet.
  if (!existsSync(join(root, 'sdk/dist/index.js'))) throw new Error('sdk/dist is missing: run `npm run build` first');
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: join(root, 'sdk'), encoding: 'utf8' }).trim().split('\n').pop()!;
  pkg = join(dir, 'node_modules/@humanops/sdk');
  mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['xzf', join(dir, tarball), '-C', pkg, '--strip-components=1']);
  symlinkSync(join(root, 'node_modules/zod'), join(dir, 'node_modules/zod'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { '@humanops/sdk': '0.1.0' } }));
  writeFileSync(join(dir, 'deno.json'), JSON.stringify({ nodeModulesDir: 'manual' }));
  files = walk(pkg).map((f) => f.slice(pkg.length + 1)).sort();
}, 60_000);
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

describe('the packed package', () => {
  it('ships only dist, README and package.json, with ESM exports, types and engines', () => {
    expect(files.every((f) => f.startsWith('dist/') || f === 'README.md' || f === 'package.json')).toBe(true);
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/e2ee.js', 'dist/webhooks.js', 'dist/contract/schemas.js']));
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({
      name: '@humanops/sdk', type: 'module', types: './dist/index.d.ts', engines: { node: '>=20' },
      exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } }, dependencies: { zod: expect.any(String) },
    });
    expect(manifest.private).toBeUndefined();
    expect(readFileSync(join(pkg, 'README.md'), 'utf8')).toContain('client.dispatchCredentialTask(');
  });

  it('imports no Node built-in and touches no Node global at run time', () => {
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(join(pkg, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
      const imported = [...code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
      expect(imported.filter((s) => !s.startsWith('.') && s !== 'zod'), file).toEqual([]);
      expect(code, file).not.toMatch(/\bnode:|\brequire\(|\bprocess\.|\bBuffer\b|__dirname/);
    }
  });
});

describe('in Deno', () => {
  it('the entry type-checks for a consumer, with real types (not any)', () => {
    writeFileSync(join(dir, 'typed.ts'), `
      import { HumanOpsClient, InsufficientBalanceError, type EncryptedCredential, type Task } from '@humanops/sdk';
      const client = new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: 'http://127.0.0.1:54321', maxRetries: 2, timeoutMs: 1000 });
      export const task: Promise<Task> = client.tasks.retrieve('task_1');
      export const pair: Promise<{ task: { task_id: string }; privateKey: string }> = client.dispatchCredentialTask({ title: 't', description: 'd', category: 'API_KEY_PROCUREMENT', reward_usd: 50 });
      export const blob = (b: EncryptedCredential): 'ECDH-P256-AES-256-GCM' => b.algorithm;
      export const status = (e: InsufficientBalanceError): number | undefined => e.status;
      // @ts-expect-error FORM_FILLING is not a credential category
      client.dispatchCredentialTask({ title: 't', description: 'd', category: 'FORM_FILLING', reward_usd: 10 });
      // @ts-expect-error the client has no such resource
      client.payments;
    `);
    const checked = deno('check', 'typed.ts');
    expect(checked.status, checked.stderr).toBe(0);
  });

  it('runs E2EE and webhook verification with no permissions', async () => {
    const secret = 'whsec_c2l4dGVlbiBieXRlIGtleQ==';
    const body = JSON.stringify({ event: 'task.completed', task_id: 'task_1' });
    const now = Math.floor(Date.now() / 1000);
    const headers = await signatureHeaders(body, secret, 'whd_deno', now);
    writeFileSync(join(dir, 'run.ts'), `
      import { decrypt, encryptForAgent, generateKeyPair, verifyWebhook } from '@humanops/sdk';
      const v = ${JSON.stringify(vectors[0])};
      const keys = await generateKeyPair();
      const blob = await encryptForAgent(keys.publicKey, { api_key: 'sk_deno' }, { taskId: 'task_deno' });
      console.log(JSON.stringify({
        vector: await decrypt(v.agent.privateKey, v.encrypted_credential, { taskId: v.taskId }),
        roundTrip: await decrypt(keys.privateKey, blob, { taskId: 'task_deno' }),
        webhook: await verifyWebhook(${JSON.stringify(body)}, ${JSON.stringify(headers)}, ${JSON.stringify(secret)}, { now: ${now} }),
      }));
    `);
    const ran = deno('run', '--no-prompt', 'run.ts');
    expect(ran.status, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout)).toEqual({ vector: vectors[0].credential, roundTrip: { api_key: 'sk_deno' }, webhook: JSON.parse(body) });
  });
});
