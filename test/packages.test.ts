// @humanops/sdk and @humanops/mcp as a user gets them: packed by npm, linted (publint; "are the
// types wrong" in every resolution mode), installed from the tarballs in an empty folder with their
// dependencies from the registry, and smoke-tested there against a real stack: the SDK in Node (ES
// module and CommonJS), Deno and Chromium, the MCP server over stdio started as `npx @humanops/mcp`.
// The same checks are `npm run release` (scripts/release.mjs); CI runs them here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeaders } from '../functions/_shared/webhooks.ts';
import { denoBinary } from '../scripts/lib/api.mjs';
import {
  CHROMIUM, install, lint, LINT_EXCEPTIONS, pack, removeDir, smokeBrowser, smokeDeno, smokeMcp, smokeNodeCjs, smokeNodeEsm, tempDir,
} from '../scripts/lib/packages.mjs';
import { type Stack, startStack } from './helpers/stack.ts';

const root = new URL('..', import.meta.url).pathname;
const vectors = JSON.parse(readFileSync(join(root, 'sdk/test-vectors/e2ee.json'), 'utf8')).vectors;
const chromium = existsSync(CHROMIUM) || process.env.HUMANOPS_REQUIRE_CHROMIUM === '1';

let work: string;
let consumer: string;
let tarballs: { sdk: string; mcp: string };
let stack: Stack;
let origin: string;

const walk = (at: string): string[] =>
  readdirSync(at, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(at, e.name)) : [join(at, e.name)]));
const installed = (name: string) => join(consumer, 'node_modules/@humanops', name);
const filesOf = (name: string) => walk(installed(name)).map((f) => f.slice(installed(name).length + 1)).sort();
const manifest = (name: string) => JSON.parse(readFileSync(join(installed(name), 'package.json'), 'utf8'));
const deno = (...args: string[]) => spawnSync(denoBinary(), args, { cwd: consumer, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } });

beforeAll(async () => {
  // `npm test` builds first; building here would rewrite dist under the other test files' feet.
  if (!existsSync(join(root, 'sdk/dist/cjs/index.js')) || !existsSync(join(root, 'mcp/dist/index.js'))) {
    throw new Error('sdk/dist or mcp/dist is missing: run `npm run build` first');
  }
  work = await tempDir('humanops-packages-');
  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  tarballs = await pack(work);
  await install(tarballs, consumer);
  stack = await startStack();
  origin = stack.url.replace(/\/api\/v1$/, '');
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  if (work) await removeDir(work);
});

describe('the tarballs', () => {
  it('pass publint (suggestions included) and "are the types wrong" in every resolution mode', async () => {
    expect(await lint(tarballs.sdk, { ignore: LINT_EXCEPTIONS.sdk })).toEqual([]);
    expect(await lint(tarballs.mcp, { ignore: LINT_EXCEPTIONS.mcp })).toEqual([]);
    expect(LINT_EXCEPTIONS.sdk).toEqual([]); // the SDK gets no exception at all
  });

  it('ship the builds, types for ESM and CommonJS, the README, CHANGELOG and LICENSE, and nothing else', () => {
    const sdk = filesOf('sdk');
    expect(sdk.every((f) => /^(dist\/|operator\/package\.json$|test-vectors\/|README\.md$|CHANGELOG\.md$|LICENSE$|package\.json$)/.test(f)), sdk.join('\n')).toBe(true);
    expect(sdk).toEqual(expect.arrayContaining([
      'dist/index.js', 'dist/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json', 'dist/operator.js',
      'dist/cjs/operator.js', 'test-vectors/e2ee.json', 'README.md', 'CHANGELOG.md', 'LICENSE',
    ]));
    const mcp = filesOf('mcp');
    expect(mcp.every((f) => /^(dist\/|README\.md$|CHANGELOG\.md$|LICENSE$|package\.json$)/.test(f)), mcp.join('\n')).toBe(true);
    expect(mcp).toEqual(expect.arrayContaining(['dist/index.js', 'README.md', 'CHANGELOG.md', 'LICENSE']));
    expect(readFileSync(join(installed('sdk'), 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('carry the metadata a registry page needs, semver ranges for dependencies, and public access for the scope', () => {
    for (const name of ['sdk', 'mcp']) {
      const m = manifest(name);
      expect(m).toMatchObject({
        name: `@humanops/${name}`, license: 'MIT', engines: { node: '>=20' }, publishConfig: { access: 'public' },
        repository: { type: 'git', url: expect.stringMatching(/^git\+https:/), directory: name }, homepage: expect.any(String), bugs: expect.any(String),
      });
      expect(m.keywords.length).toBeGreaterThan(3);
      expect(m.private).toBeUndefined();
      for (const [dependency, range] of Object.entries(m.dependencies as Record<string, string>)) expect(range, dependency).toMatch(/^\^\d+\.\d+\.\d+$/);
    }
    expect(manifest('mcp').bin).toEqual({ 'humanops-mcp': 'dist/index.js' });
    expect(readFileSync(join(installed('mcp'), 'dist/index.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('READMEs link nothing outside the package, and every file they cite is shipped', () => {
    for (const name of ['sdk', 'mcp']) {
      const readme = readFileSync(join(installed(name), 'README.md'), 'utf8');
      expect(readme, name).not.toMatch(/\]\((?!https?:\/\/|#)[^)]*\)/); // only absolute links
      for (const [, cited] of readme.matchAll(/`((?:test-vectors|dist)\/[\w./-]+)`/g)) expect(existsSync(join(installed(name), cited)), cited).toBe(true);
    }
    expect(readFileSync(join(installed('sdk'), 'README.md'), 'utf8')).toContain('client.dispatchCredentialTask(');
  });

  it('the ES module build imports no Node built-in and touches no Node global, so it runs in browsers and Deno', () => {
    for (const file of filesOf('sdk').filter((f) => f.endsWith('.js') && !f.startsWith('dist/cjs/'))) {
      const code = readFileSync(join(installed('sdk'), file), 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
      const imported = [...code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
      expect(imported.filter((s) => !s.startsWith('.') && s !== 'zod'), file).toEqual([]);
      // Environment variables are read through a guarded globalThis lookup, never a bare `process.`.
      expect(code, file).not.toMatch(/\bnode:|\brequire\(|(?<![.?])\bprocess\.|\bBuffer\b|__dirname/);
    }
  });
});

describe('installed from the tarballs', () => {
  const expectSmoke = (result: Record<string, unknown>, format: string) => {
    expect(result).toMatchObject({ format, version: manifest('sdk').version, status: 201, requestId: expect.stringMatching(/^req_/), listed: 2, page: true, notFound: true, e2ee: true, operator: 'function' });
  };

  it('the SDK works from Node as an ES module', async () => {
    expectSmoke(await smokeNodeEsm(consumer, origin), 'esm');
  });

  it('the SDK works from Node through require() (CommonJS)', async () => {
    expectSmoke(await smokeNodeCjs(consumer, origin), 'cjs');
  });

  it('the SDK type-checks and works in Deno, with network and environment access only', async () => {
    expectSmoke(await smokeDeno(consumer, origin), 'deno');
  });

  it.runIf(chromium)('the SDK works in Chromium as ES modules, through the page\'s origin', async () => {
    if (!existsSync(CHROMIUM)) throw new Error('HUMANOPS_REQUIRE_CHROMIUM=1 but /usr/bin/chromium is missing');
    const result = await smokeBrowser(consumer, origin);
    expectSmoke(result, 'browser');
    expect(result.errors).toEqual([]);
  });

  it('the MCP server starts with `npx @humanops/mcp` and answers initialize, tools/list and a call over stdio', async () => {
    const result = await smokeMcp(consumer, origin);
    expect(result.server).toEqual({ name: 'humanops', version: manifest('mcp').version });
    expect(result.tools).toEqual(expect.arrayContaining(['post_task', 'get_balance', 'wait_for_task', 'dispatch_credential_task']));
    expect(result.balance).toEqual({ deposit_balance: 0, escrow_balance: 0, currency: 'USD' });
    expect(result.isError).toBe(false);
  });

  it('the SDK\'s entry type-checks for a consumer with real types (not any), in Deno', () => {
    writeFileSync(join(consumer, 'typed.ts'), `
      import { HumanOpsClient, InsufficientBalanceError, Page, type EncryptedCredential, type Task, type TaskSummary } from '@humanops/sdk';
      const client = new HumanOpsClient({ apiKey: 'ho_test_x', baseUrl: 'http://127.0.0.1:54321', maxRetries: 2, timeoutMs: 1000 });
      export const task: Promise<Task> = client.tasks.retrieve('task_1', { timeoutMs: 5, headers: { 'x-a': 'b' } });
      export const raw: Promise<{ data: Task; response: Response; requestId: string | null }> = client.tasks.retrieve('task_1').withResponse();
      export const page: Promise<Page<TaskSummary>> = client.tasks.list({ status: 'PENDING' });
      export async function all(): Promise<string[]> { const ids: string[] = []; for await (const t of client.tasks.list()) ids.push(t.task_id); return ids; }
      export const pair: Promise<{ task: { task_id: string }; privateKey: string }> = client.dispatchCredentialTask({ title: 't', description: 'd', category: 'API_KEY_PROCUREMENT', reward_usd: 50 });
      export const blob = (b: EncryptedCredential): 'ECDH-P256-AES-256-GCM' => b.algorithm;
      export const status = (e: InsufficientBalanceError): number | undefined => e.status;
      // @ts-expect-error FORM_FILLING is not a credential category
      client.dispatchCredentialTask({ title: 't', description: 'd', category: 'FORM_FILLING', reward_usd: 10 });
      // @ts-expect-error the client has no such resource
      client.payments;
      // @ts-expect-error not a task status
      client.tasks.list({ status: 'DONE' });
    `);
    const checked = deno('check', 'typed.ts');
    expect(checked.status, checked.stderr).toBe(0);
  });

  it('E2EE and webhook verification run in Deno with no permissions at all', async () => {
    const secret = 'whsec_c2l4dGVlbiBieXRlIGtleQ==';
    const body = JSON.stringify({ event: 'task.completed', task_id: 'task_1' });
    const now = Math.floor(Date.now() / 1000);
    const headers = await signatureHeaders(body, secret, 'whd_deno', now);
    writeFileSync(join(consumer, 'run.ts'), `
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

describe('the MCP README', () => {
  const readme = () => readFileSync(join(installed('mcp'), 'README.md'), 'utf8');

  it('gives Claude Desktop and Cursor configs in their mcpServers format, starting this package with npx', () => {
    const blocks = [...readme().matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]));
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const config of blocks) {
      expect(Object.keys(config)).toEqual(['mcpServers']);
      const server = config.mcpServers.humanops;
      expect(server).toMatchObject({ command: 'npx', args: ['-y', manifest('mcp').name], env: { HUMANOPS_API_KEY: expect.stringMatching(/^ho_live_/) } });
      expect(Object.keys(server.env).every((name) => name.startsWith('HUMANOPS_'))).toBe(true);
    }
  });

  it('gives the Claude Code command, and says in which order to publish', () => {
    expect(readme()).toContain(`claude mcp add --transport stdio humanops --env HUMANOPS_API_KEY=ho_live_EXAMPLE_KEY -- npx -y ${manifest('mcp').name}`);
    // The server needs the SDK: releasing both goes SDK first (scripts/release.mjs does).
    expect(readFileSync(join(root, 'CONTRIBUTING.md'), 'utf8')).toMatch(/publish(es|ed)? .*@humanops\/sdk.* first/i);
  });
});
