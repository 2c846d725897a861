// The API against its OpenAPI document, judged by a validator nobody here wrote: Stoplight Prism
// (pinned in package.json) as a validating proxy in front of `npm start`. The README's walk-through
// runs through it as written, then error cases: requests the document allows must draw no
// violation, whatever the server answers; requests the server refuses for their input must be
// flagged by Prism too, so the document is as strict as the server. Prism reports what it finds
// in an `sl-violations` response header, on the request and on the response.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/ports.mjs';
import { apiByHand, cleanEnv, readmeWalkThrough, runBash } from './helpers/walk-throughs.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const PRISM = join(repoRoot, 'node_modules/@stoplight/prism-cli/dist/index.js');

/**
 * Operations Prism cannot judge, by name, each with the reason. Requests to them go to the API
 * directly (and the conformance run in openapi.test.ts validates their answers with Ajv).
 */
const NOT_THROUGH_PRISM: Record<string, string> = {
  'POST /operator/upload': 'Prism 5.16.0 re-encodes the multipart body as text, so the JPEG arrives corrupted',
};

let stack: ChildProcess | undefined;
let prism: ChildProcess | undefined;
let dataDir: string;
let apiPort: number;
let direct: string;
let proxy: string;
let prismLog = '';


async function waitFor(child: ChildProcess, output: () => string, ready: RegExp, what: string, ms: number) {
  const deadline = Date.now() + ms;
  while (!ready.test(output())) {
    if (child.exitCode !== null) throw new Error(`${what} exited:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready in time:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(child: ChildProcess | undefined) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'humanops-prism-'));
  await chmod(dataDir, 0o755); // mkdtemp makes it 0700; Postgres runs as the postgres user under root.
  apiPort = await freePort(0);
  let stackOutput = '';
  stack = spawn(process.execPath, [join(repoRoot, 'scripts/stack.mjs')], {
    cwd: repoRoot,
    env: cleanEnv({
      HUMANOPS_PORT: String(apiPort),
      HUMANOPS_DB_PORT: String(await freePort(0)),
      HUMANOPS_ISSUER_PORT: String(await freePort(0)),
      HUMANOPS_REFERENCE_PORT: String(await freePort(0)),
      HUMANOPS_DATA_DIR: dataDir,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stack.stdout!.on('data', (chunk) => (stackOutput += chunk));
  stack.stderr!.on('data', (chunk) => (stackOutput += chunk));
  await waitFor(stack, () => stackOutput, /HumanOps is ready/, 'npm start', 90_000);
  direct = `http://127.0.0.1:${apiPort}/api/v1`;

  // Prism reads the document the API serves, as any client would.
  const document = join(dataDir, 'openapi.json');
  await writeFile(document, await (await fetch(`${direct}/openapi.json`)).text());
  const prismPort = await freePort(0);
  prism = spawn(process.execPath, [PRISM, 'proxy', document, direct, '--host', '127.0.0.1', '--port', String(prismPort)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prism.stdout!.on('data', (chunk) => (prismLog += chunk));
  prism.stderr!.on('data', (chunk) => (prismLog += chunk));
  await waitFor(prism, () => prismLog, /Prism is listening/, 'Prism', 60_000);
  proxy = `http://127.0.0.1:${prismPort}`;
}, 180_000);

afterAll(async () => {
  await stop(prism);
  await stop(stack);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Violation {
  location: string[];
  severity: string;
  code: string | number;
  message: string;
}

const violationsOf = (headers: Headers): Violation[] => JSON.parse(headers.get('sl-violations') ?? '[]');

describe('Prism, a validating proxy, over the README walk-through and the error cases', () => {
  /**
   * Runs `script` in one bash session with every curl going through Prism (the `API=` line of the
   * walk-through points at it), each leaving its request line and response headers behind, and
   * returns what Prism flagged; the operations Prism cannot judge go straight to the API.
   */
  async function throughPrism(name: string, script: string) {
    const exchanges = join(dataDir, `exchanges-${name}`);
    const bypass = Object.keys(NOT_THROUGH_PRISM).map((operation) => `"$PRISM${operation.split(' ')[1]}"*`).join('|');
    const curl = `
mkdir -p ${exchanges}
PRISM=${proxy}
curl() {
  local args=() exchange
  for arg in "$@"; do
    case "$arg" in
      ${bypass}) args+=("${direct}\${arg#"$PRISM"}") ;;
      *) args+=("$arg") ;;
    esac
  done
  exchange=$(mktemp -p ${exchanges})
  printf '%s\\n' "\${args[*]}" > "$exchange.request"
  command curl -D "$exchange" "\${args[@]}"
}
`;
    const pointed = script.replace(/^API=.*$/m, 'API=$PRISM');
    expect(pointed, 'the walk-through sets API').not.toBe(script);
    const { code, out, err } = await runBash(`${curl}\n${pointed}\necho "WALKED TASK=$TASK"\n`, { HUMANOPS_PORT: String(apiPort), HUMANOPS_DATA_DIR: dataDir });
    expect(code, `stdout:\n${out}\nstderr:\n${err}`).toBe(0);
    expect(out).toMatch(/WALKED TASK=task_/);
    expect(out.split('\n').filter((line) => line.startsWith('{') && line.includes('"code":')), out).toEqual([]);

    const files = readdirSync(exchanges).filter((file) => !file.endsWith('.request'));
    const requestOf = (file: string) => readFileSync(join(exchanges, `${file}.request`), 'utf8').trim();
    const flagged = files.flatMap((file) => {
      const found = /^sl-violations: (.*)$/im.exec(readFileSync(join(exchanges, file), 'utf8'));
      return found ? [`${requestOf(file)}: ${found[1]}`] : [];
    });
    return { flagged, viaPrism: files.filter((file) => requestOf(file).includes(proxy)).length, around: files.filter((file) => !requestOf(file).includes(proxy)).length };
  }

  it('the README walk-through, as written (the operator\'s part as the app does it), draws no violation', async () => {
    const run = await throughPrism('readme', readmeWalkThrough());
    expect(run.flagged).toEqual([]);
    expect(run.viaPrism).toBeGreaterThanOrEqual(6);
    expect(run.around, 'the upload').toBe(1);
  }, 120_000);

  it('the API by hand in docs/agents.md, as written, draws no violation', async () => {
    const run = await throughPrism('by-hand', apiByHand());
    expect(run.flagged).toEqual([]);
    expect(run.viaPrism).toBeGreaterThanOrEqual(25);
    expect(run.around, 'the upload').toBe(1);
  }, 180_000);

  it('error cases: what the document allows draws no violation; what the server refuses for its input, Prism flags too', async () => {
    const json = { 'content-type': 'application/json' };
    const send = (method: string, path: string, { body, headers = {} }: { body?: string | object; headers?: Record<string, string> } = {}) =>
      fetch(`${proxy}${path}`, { method, headers: { ...json, ...headers }, body: typeof body === 'string' || body === undefined ? body : JSON.stringify(body) });
    const key = ((await (await send('POST', '/agents/register', { body: { name: 'prism', email: 'prism@example.com' } })).json()) as { api_key: string }).api_key;
    const agent = { 'x-api-key': key };
    const reader = ((await (await send('POST', '/agents/keys', { headers: agent, body: { scopes: ['read'] } })).json()) as { api_key: string }).api_key;
    const stranger = { authorization: 'Bearer not-a-token' };
    const unregistered = { 'x-operator-id': 'op_never_registered' };
    const deadline = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const task = { title: 'Photo of a sign', description: 'The sign at the corner', reward_usd: 25, deadline, proof_requirements: ['A clear photo'], task_type: 'PHOTO', location: { lat: 40.7, lng: -74, address: '1 Main St' } };
    const digital = { title: 'Review', description: 'Read and judge', reward_usd: 20, deadline, proof_requirements: ['Assessment'], task_type: 'CONTENT_REVIEW' };

    // Allowed by the document; the server refuses them for who asks, or for the state of things.
    const allowed: [string, () => Promise<Response>, number][] = [
      ['a read key posting a task', () => send('POST', '/tasks', { headers: { 'x-api-key': reader }, body: digital }), 403],
      ['no money for the task', () => send('POST', '/tasks', { headers: agent, body: digital }), 402],
      ['a task that does not exist', () => send('GET', '/tasks/task_missing', { headers: agent }), 404],
      ['cancelling one that does not exist', () => send('POST', '/tasks/task_missing/cancel', { headers: agent }), 404],
      ['an operator token that is not one', () => send('GET', '/operator/tasks', { headers: stranger }), 401],
      ['an operator that never registered', () => send('GET', '/operator/tasks/task_missing', { headers: unregistered }), 403],
      ['starting as one', () => send('POST', '/operator/tasks/task_missing/start', { headers: unregistered }), 403],
      ['a NUL character in a string', () => send('POST', '/agents/keys', { headers: agent, body: { name: 'a\u0000b' } }), 400],
      ['a reward with three decimals (the document says two in words)', () => send('POST', '/tasks', { headers: agent, body: { ...task, reward_usd: 10.005 } }), 400],
      ['an unknown query parameter (said in words)', () => send('GET', '/tasks?colour=red', { headers: agent }), 400],
      ['a deadline in the past (said in words)', () => send('POST', '/tasks', { headers: agent, body: { ...task, deadline: '2020-01-01T00:00:00Z' } }), 400],
      ['a signed proof URL that is not', () => send('GET', '/storage/proofs/op_x~task_x~a.jpg?expires=1&signature=00'), 403],
    ];
    // Refused by the server for their input (or a missing credential); the document must refuse them as well.
    const refused: [string, () => Promise<Response>, number][] = [
      ['no API key', () => send('GET', '/agents/balance'), 401],
      ['a reward of 9.99', () => send('POST', '/tasks', { headers: agent, body: { ...task, reward_usd: 9.99 } }), 400],
      ['a reward of 10,000.01', () => send('POST', '/tasks', { headers: agent, body: { ...task, reward_usd: 10_000.01 } }), 400],
      ['a reward past its category\'s cap', () => send('POST', '/tasks', { headers: agent, body: { ...digital, reward_usd: 30 } }), 400],
      ['a reward string with three decimals', () => send('POST', '/tasks', { headers: agent, body: { ...task, reward_usd: '10.005' } }), 400],
      ['a physical task without a location', () => send('POST', '/tasks', { headers: agent, body: { ...task, location: undefined } }), 400],
      ['a physical task without an address', () => send('POST', '/tasks', { headers: agent, body: { ...task, location: { lat: 40.7, lng: -74 } } }), 400],
      ['a credential task without a public key', () => send('POST', '/tasks', { headers: agent, body: { ...digital, task_type: 'ACCOUNT_CREATION', proof_type: 'ARTIFACT' } }), 400],
      ['a public key on a task that takes none', () => send('POST', '/tasks', { headers: agent, body: { ...digital, agent_public_key: 'BAAA' } }), 400],
      ['a callback secret without a callback URL', () => send('POST', '/tasks', { headers: agent, body: { ...digital, callback_secret: 's'.repeat(20) } }), 400],
      ['an unknown field', () => send('POST', '/tasks', { headers: agent, body: { ...digital, colour: 'red' } }), 400],
      ['a USDC deposit of 4.99', () => send('POST', '/agents/deposit/usdc', { headers: agent, body: { tx_hash: `0x${'ab'.repeat(32)}`, amount_usdc: 4.99 } }), 400],
      ['limit 0', () => send('GET', '/tasks?limit=0', { headers: agent }), 400],
      ['limit 101', () => send('GET', '/tasks?limit=101', { headers: agent }), 400],
      ['limit 2.5', () => send('GET', '/tasks?limit=2.5', { headers: agent }), 400],
      ['offset -1', () => send('GET', '/tasks?offset=-1', { headers: agent }), 400],
      ['lat 91', () => send('GET', '/operators/search?lat=91&lng=0', { headers: agent }), 400],
      ['radius_km 1e6', () => send('GET', '/operators/search?lat=1&lng=0&radius_km=1000000', { headers: agent }), 400],
      ['min_rating 0', () => send('GET', '/operators/search?lat=1&lng=0&min_rating=0', { headers: agent }), 400],
      ['a negative monthly limit', () => send('PUT', '/agents/policy', { headers: agent, body: { monthly_limit_usd: -1 } }), 400],
      ['a JSON body past 64 KB', () => send('POST', '/agents/keys', { headers: agent, body: { name: 'x'.repeat(70_000) } }), 413],
      ['a body sent as text/plain', () => send('POST', '/agents/keys', { headers: { ...agent, 'content-type': 'text/plain' }, body: '{"name":"x"}' }), 415],
      ['a body sent form-encoded', () => send('POST', '/agents/keys', { headers: { ...agent, 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x' }), 415],
    ];

    const problems: string[] = [];
    for (const [name, request, status] of [...allowed, ...refused]) {
      const reply = await request();
      const violations = violationsOf(reply.headers);
      const onRequest = violations.filter((v) => v.location[0] === 'request');
      const onResponse = violations.filter((v) => v.location[0] !== 'request');
      if (reply.status !== status) problems.push(`${name}: answered ${reply.status}, expected ${status}: ${(await reply.text()).slice(0, 200)}`);
      if (onResponse.length) problems.push(`${name}: the response violates the document: ${JSON.stringify(onResponse)}`);
      const expectRefusal = refused.some(([other]) => other === name);
      if (expectRefusal && !onRequest.length) problems.push(`${name}: the server refuses it, the document allows it`);
      if (!expectRefusal && onRequest.length) problems.push(`${name}: the document refuses it: ${JSON.stringify(onRequest)}`);
    }
    expect(problems).toEqual([]);
  }, 120_000);
});
