// The walk-throughs, as written, against `npm start` (scripts/stack.mjs on a private data dir and
// private ports): the README's short one (an agent posts, an operator does it in the app, the agent
// approves), with the operator's taps done through the API as the app does them, and the whole API
// by hand in docs/agents.md, from a new agent to a COMPLETED, rated task whose operator is paid out.
// Each runs its bash blocks, read from the file itself, in one bash session.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/ports.mjs';
import { AGENTS_GUIDE, API_BY_HAND, apiByHand, bashBlocks, cleanEnv, README, README_WALK_THROUGH, readmeWalkThrough, runBash } from './helpers/walk-throughs.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));


/** The API's answers in a run's output that were refusals (they carry a "code"). */
const refusals = (out: string) => out.split('\n').filter((line) => line.startsWith('{') && line.includes('"code":'));

let stack: ChildProcess | undefined;
let output = '';
let dataDir: string;
let apiPort: number;
const walkEnv = () => ({ HUMANOPS_PORT: String(apiPort), HUMANOPS_DATA_DIR: dataDir });


beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'humanops-readme-'));
  await chmod(dataDir, 0o755); // mkdtemp makes it 0700; Postgres runs as the postgres user under root.
  apiPort = await freePort(0);
  const ports = {
    HUMANOPS_PORT: String(apiPort),
    HUMANOPS_DB_PORT: String(await freePort(0)),
    HUMANOPS_ISSUER_PORT: String(await freePort(0)),
    HUMANOPS_REFERENCE_PORT: String(await freePort(0)),
  };
  stack = spawn(process.execPath, [join(repoRoot, 'scripts/stack.mjs')], {
    cwd: repoRoot,
    env: cleanEnv({ ...ports, HUMANOPS_DATA_DIR: dataDir }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stack.stdout!.on('data', (chunk) => (output += chunk));
  stack.stderr!.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 90_000;
  while (!/HumanOps is ready/.test(output)) {
    if (stack.exitCode !== null) throw new Error(`npm start exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`npm start was not ready in time:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 120_000);

afterAll(async () => {
  if (stack && stack.exitCode === null) {
    stack.kill('SIGTERM');
    await once(stack, 'exit');
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the walk-throughs', () => {
  it('the documentation stands alone: every relative link of every Markdown file resolves inside the repository', () => {
    const markdown = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'dist' ? []
        : entry.isDirectory() ? markdown(join(dir, entry.name))
        : entry.name.endsWith('.md') ? [join(dir, entry.name)] : []);
    const files = markdown(repoRoot);
    expect(files.map((f) => relative(repoRoot, f))).toEqual(expect.arrayContaining(['README.md', 'CONTRIBUTING.md', 'docs/api.md', 'docs/design.md', 'docs/agents.md']));
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g), ...text.matchAll(/<img [^>]*src="([^"]+)"/g)].map((m) => m[1]);
      for (const target of targets) {
        if (/^(https?:|mailto:|#)/.test(target)) continue;
        const resolved = resolve(dirname(file), target.split('#')[0]);
        if (relative(repoRoot, resolved).startsWith('..') || !existsSync(resolved)) broken.push(`${relative(repoRoot, file)}: ${target}`);
      }
      if (/\.\.\/shared\//.test(text)) broken.push(`${relative(repoRoot, file)}: mentions the team notes folder outside the repository`);
    }
    expect(broken).toEqual([]);
  });

  it('the README fits on a page, and its walk-through is the agent\'s two blocks around the operator\'s part', () => {
    expect(README.split('\n').length).toBeLessThanOrEqual(300);
    const blocks = bashBlocks(README, README_WALK_THROUGH);
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toContain('$API/tasks');
    expect(blocks[1]).toContain('/verify');
  });

  it('finds the API by hand in docs/agents.md: several bash blocks, the agent\'s and the operator\'s', () => {
    const blocks = bashBlocks(AGENTS_GUIDE, API_BY_HAND);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(blocks.join('\n')).toContain('npm run -s token');
  });

  it('the ready line says the Guardian\'s model is off without ANTHROPIC_API_KEY', () => {
    expect(output).toMatch(/HumanOps is ready: http:\/\/127\.0\.0\.1:\d+\/api\/v1/);
    expect(output).toMatch(/^HumanOps is ready: .*the Guardian's model is off without ANTHROPIC_API_KEY: rule checks only, nothing is approved automatically/m);
  });

  it('the README\'s walk-through runs as written: the task is COMPLETED and the operator\'s $25 is available', async () => {
    const { code, out, err } = await runBash(`${readmeWalkThrough()}echo "WALKED KEY=$KEY TASK=$TASK"\n`, walkEnv());
    expect(code, `stdout:\n${out}\nstderr:\n${err}`).toBe(0);
    expect(refusals(out), out).toEqual([]);

    const [, key, task] = out.match(/WALKED KEY=(\S+) TASK=(\S+)/)!;
    const api = `http://127.0.0.1:${apiPort}/api/v1`;
    const detail = await (await fetch(`${api}/tasks/${task}`, { headers: { 'x-api-key': key } })).json();
    expect(detail).toMatchObject({ status: 'COMPLETED', operator: { id: 'op_readme' } });
    expect(out).toContain('{"deposit_balance":70.5,"escrow_balance":0,"currency":"USD"}');
    const earnings = await (await fetch(`${api}/operator/earnings`, { headers: { 'x-operator-id': 'op_readme' } })).json();
    expect(earnings).toMatchObject({ available_balance: 25 });
  }, 120_000);

  it('the API by hand runs as written, from a new agent to a COMPLETED, rated task and a payout', async () => {
    const { code, out, err } = await runBash(`${apiByHand()}echo "WALKED KEY=$KEY TASK=$TASK"\n`, walkEnv());
    expect(code, `stdout:\n${out}\nstderr:\n${err}`).toBe(0);
    expect(refusals(out), out).toEqual([]);

    const [, key, task] = out.match(/WALKED KEY=(\S+) TASK=(\S+)/)!;
    const api = `http://127.0.0.1:${apiPort}/api/v1`;
    const detail = await (await fetch(`${api}/tasks/${task}`, { headers: { 'x-api-key': key } })).json();
    expect(detail).toMatchObject({ status: 'COMPLETED', operator: { id: 'op_jane', name: 'Jane D.', rating: 5 } });
    expect(detail.verified_at).toEqual(expect.any(String));
    expect(out).toContain('"status":"completed","amount_usd":25');
    expect(out).toContain('"refunded_usd":12');
    expect(out).toMatch(/"test_only":true/);
  }, 120_000);
});

describe('npm start and npm run token, for a newcomer', () => {
  const token = (env: Record<string, string>) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'scripts/token.mjs'), 'op_token_check'], { cwd: repoRoot, env: cleanEnv(env) });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
  const accepted = async (jwt: string) =>
    (await fetch(`http://127.0.0.1:${apiPort}/api/v1/operator/earnings`, { headers: { authorization: `Bearer ${jwt.trim()}` } })).status !== 401;

  it('npm run token signs with the running stack\'s issuer without being told its data dir', async () => {
    const plain = await token({ HUMANOPS_PORT: String(apiPort) });
    expect(plain.code, plain.err).toBe(0);
    expect(await accepted(plain.out)).toBe(true);
    const elsewhere = await mkdtemp(join(tmpdir(), 'humanops-other-'));
    try {
      const told = await token({ HUMANOPS_PORT: String(apiPort), HUMANOPS_DATA_DIR: elsewhere });
      expect(told.err).toContain(`the stack on port ${apiPort} runs with ${dataDir}`);
      expect(await accepted(told.out)).toBe(true);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it.runIf(process.getuid?.() === 0)('an explicit HUMANOPS_DATA_DIR the postgres user cannot reach stops npm start with what to do', async () => {
    const closed = await mkdtemp(join(tmpdir(), 'humanops-closed-')); // 0700
    try {
      const child = spawn(process.execPath, [join(repoRoot, 'scripts/stack.mjs')], {
        cwd: repoRoot,
        env: cleanEnv({ HUMANOPS_DATA_DIR: join(closed, 'data'), HUMANOPS_PORT: String(await freePort(0)) }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout!.on('data', (c) => (text += c));
      child.stderr!.on('data', (c) => (text += c));
      const [code] = await once(child, 'exit');
      expect(code).toBe(1);
      expect(text).toContain(`cannot enter ${closed}`);
      expect(text).toContain(`chmod o+x ${closed}`);
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  });
});
