#!/usr/bin/env node
// `npm run contract:portman`: Portman's contract tests, generated from the OpenAPI document the API
// serves, run with newman against `npm start` on private ports. A check by hand, not part of
// `npm test` (Portman and newman weigh ~300 packages; npx fetches the pinned versions on first use):
// Prism, in test/contract-prism.test.ts, is the third-party check the suite runs.
//
// Every operation gets one request with Portman's checks (a 2xx status, the documented content
// type, a JSON body, the response schema, X-Request-Id). Portman fills bodies and ids from the
// schemas' examples, which cannot know which task is in which state, so the stack is seeded first
// and each operation is pointed at a resource in the state it needs, with a valid body. Operations
// the tools cannot exercise are left out by name, with the reason (EXCLUDED).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib/ports.mjs';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const TOOLS = ['@apideck/portman@1.33.0', 'tslib@2.9.1', 'newman@6.2.2'];

/** Operations left out, by operationId, and why. */
const EXCLUDED = {
  uploadProof: 'multipart with a binary file: the generated request has no file to send (Prism mangles the same upload)',
};

const dir = mkdtempSync(join(tmpdir(), 'humanops-portman-'));
chmodSync(dir, 0o755); // Postgres runs as the postgres user under root.
const port = await freePort(0);
const api = `http://127.0.0.1:${port}/api/v1`;
const adminKey = randomBytes(24).toString('hex');
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(HUMANOPS_|ANTHROPIC_|SUPABASE_)/.test(name))),
  HUMANOPS_PORT: String(port),
  HUMANOPS_DB_PORT: String(await freePort(0)),
  HUMANOPS_ISSUER_PORT: String(await freePort(0)),
  HUMANOPS_REFERENCE_PORT: String(await freePort(0)),
  HUMANOPS_DATA_DIR: join(dir, 'data'),
  HUMANOPS_ADMIN_KEY: adminKey,
};

const receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
receiver.listen(0, '127.0.0.1');
await once(receiver, 'listening');
const callback = `http://127.0.0.1:${receiver.address().port}/hook`;

const stack = spawn(process.execPath, [join(repoRoot, 'scripts/stack.mjs')], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
stack.stdout.on('data', (c) => (output += c));
stack.stderr.on('data', (c) => (output += c));
let code = 1;
try {
  const deadline = Date.now() + 120_000;
  while (!/HumanOps is ready/.test(output)) {
    if (stack.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  code = await run();
} finally {
  stack.kill('SIGTERM');
  if (stack.exitCode === null) await once(stack, 'exit');
  receiver.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);

async function call(method, path, { headers = {}, body } = {}) {
  const response = await fetch(`${api}${path}`, {
    method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`seeding: ${method} ${path} answered ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** A session token for `sub` from the stack's own issuer. */
function token(sub) {
  return spawnSync(process.execPath, [join(repoRoot, 'scripts/token.mjs'), sub, '--expires', '1h'], { env, encoding: 'utf8' }).stdout.trim();
}

async function run() {
  const workerSecret = readFileSync(join(env.HUMANOPS_DATA_DIR, 'worker-secret'), 'utf8').trim();
  const tick = () => call('POST', '/internal/tick', { headers: { 'x-worker-secret': workerSecret } });

  // An agent with money, a spare key to revoke, and a bot key whose tasks above $20 wait for approval.
  const { api_key: key } = await call('POST', '/agents/register', { body: { name: 'portman', email: 'portman@example.com' } });
  const agent = { 'x-api-key': key };
  await call('POST', '/agents/deposit/usdc', { headers: agent, body: { tx_hash: `0x${randomBytes(32).toString('hex')}`, amount_usdc: 5000 } });
  const spare = await call('POST', '/agents/keys', { headers: agent, body: { name: 'spare' } });
  const bot = await call('POST', '/agents/keys', { headers: agent, body: { name: 'bot', scopes: ['agent'] } });
  await call('PUT', `/agents/keys/${bot.id}/policy`, { headers: agent, body: { approval_threshold_usd: 20 } });
  const fiat = await call('POST', '/agents/deposit', { headers: agent, body: { amount_usd: 50, payment_method: 'card' } });

  const deadline = new Date(Date.now() + 3 * 86_400_000).toISOString();
  const physical = { title: 'Photo of a sign', description: 'The sign at the corner', reward_usd: 25, deadline, proof_requirements: ['A clear photo'], task_type: 'PHOTO', location: { lat: 40.7128, lng: -74.006, address: '1 Main St, NY' } };
  const digital = { title: 'Review a listing', description: 'Read it and judge', reward_usd: 20, deadline, proof_requirements: ['Assessment'], task_type: 'CONTENT_REVIEW' };
  const post = async (task, headers = agent) => (await call('POST', '/tasks', { headers, body: task })).task_id;
  const simulate = (id, body) => call('POST', `/sandbox/tasks/${id}/simulate`, { headers: agent, body });

  const watched = await post({ ...digital, callback_url: callback });
  await simulate(watched, { action: 'accept' });
  await tick();
  const [delivery] = (await call('GET', `/tasks/${watched}/webhooks`, { headers: agent })).data;
  const toCancel = await post(digital);
  const toVerify = await post(digital);
  await simulate(toVerify, { action: 'accept' });
  await simulate(toVerify, { action: 'submit', verdict: { decision: 'MANUAL_REVIEW', confidence: 50 } });
  const toRate = await post(digital);
  await simulate(toRate, { action: 'accept' });
  await simulate(toRate, { action: 'submit', verdict: { decision: 'APPROVE', confidence: 95 } });
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rawKey = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(rawKey.x, 'base64url'), Buffer.from(rawKey.y, 'base64url')]).toString('base64');
  const credential = await post({ ...digital, task_type: 'API_KEY_PROCUREMENT', reward_usd: 50, agent_public_key: point });
  await simulate(credential, { action: 'accept' });
  await simulate(credential, { action: 'submit', verdict: { decision: 'APPROVE', confidence: 95 } });
  const toSimulate = await post(digital);
  const disputed = await post(digital);
  await simulate(disputed, { action: 'accept' });
  await simulate(disputed, { action: 'submit', verdict: { decision: 'REJECT', confidence: 10 } });
  const toApprove = await post(physical, { 'x-api-key': bot.api_key });
  const toDecline = await post(physical, { 'x-api-key': bot.api_key });

  // An operator: one open task to look at, one to accept, one held to start, one to submit, and
  // earnings from a completed one, with a payout; a fresh identity registers during the run.
  const operatorId = 'op_portman';
  const operator = { authorization: `Bearer ${token(operatorId)}` };
  await call('POST', '/operator/register', { headers: operator, body: { name: 'Port Man', email: 'op@example.com', location: { city: 'New York', country: 'US', lat: 40.7128, lng: -74.006 } } });
  const open = await post(physical);
  const toAccept = await post(physical);
  const toStart = await post(physical);
  await call('POST', `/operator/tasks/${toStart}/accept`, { headers: operator });
  const form = new FormData();
  form.set('task_id', toStart);
  form.set('file', new Blob([readFileSync(join(repoRoot, 'docs/sign.jpg'))], { type: 'image/jpeg' }), 'sign.jpg');
  const uploaded = await (await fetch(`${api}/operator/upload`, { method: 'POST', headers: operator, body: form })).json();
  const proof = new URL(uploaded.url);
  const toSubmit = await post(digital);
  await call('POST', `/operator/tasks/${toSubmit}/accept`, { headers: operator });
  const paid = await post(digital);
  await call('POST', `/operator/tasks/${paid}/accept`, { headers: operator });
  await call('POST', `/operator/tasks/${paid}/submit`, { headers: operator, body: { confirmation_text: 'Reviewed' } });
  await call('POST', `/tasks/${paid}/verify`, { headers: agent, body: { decision: 'APPROVE' } });
  await tick();
  const payout = await call('POST', '/operator/payout', { headers: operator, body: { amount_usd: 10 } });

  const path = (name, value) => [{ key: name, value }];
  const body = (value) => [{ key: '.', value, overwrite: true }];
  // Portman rewrites the whole apikey block, so the header's name goes with the value.
  const apiKey = (header, value) => ({ apiKey: { key: header, value, in: 'header' } });
  const bearer = (value) => ({ bearer: { token: value } });
  const overwrites = [
    // Credentials, by the security each operation names.
    ...['*::/agents*', '*::/tasks*', '*::/webhooks*', '*::/sandbox*', '*::/operators/*'].map((openApiOperation) => ({ openApiOperation, overwriteRequestSecurity: apiKey('X-API-Key', key) })),
    ...['*::/operator/*'].map((openApiOperation) => ({ openApiOperation, overwriteRequestSecurity: bearer(operator.authorization.slice(7)) })),
    ...['*::/admin/*'].map((openApiOperation) => ({ openApiOperation, overwriteRequestSecurity: apiKey('X-Admin-Key', adminKey) })),
    { openApiOperationId: 'tick', overwriteRequestSecurity: apiKey('X-Worker-Secret', workerSecret) },
    { openApiOperationId: 'registerAgent', overwriteRequestSecurity: { remove: true }, overwriteRequestBody: body({ name: 'second', email: 'second@example.com' }) },
    { openApiOperationId: 'registerOperator', overwriteRequestSecurity: bearer(token('op_portman_new')), overwriteRequestBody: body({ name: 'New Comer', email: 'new@example.com', location: { city: 'Paris', country: 'FR' } }) },
    // Bodies that hold together, and resources in the state each operation needs.
    { openApiOperationId: 'createApiKey', overwriteRequestBody: body({ name: 'from portman' }) },
    { openApiOperationId: 'revokeApiKey', overwriteRequestPathVariables: path('id', spare.id) },
    { openApiOperationId: 'setAccountPolicy', overwriteRequestBody: body({ daily_limit_usd: 500 }) },
    ...['getKeyPolicy', 'setKeyPolicy', 'clearKeyPolicy'].map((id) => ({ openApiOperationId: id, overwriteRequestPathVariables: path('id', bot.id) })),
    { openApiOperationId: 'setKeyPolicy', overwriteRequestBody: body({ approval_threshold_usd: 20 }) },
    { openApiOperationId: 'depositUsdc', overwriteRequestBody: body({ tx_hash: `0x${randomBytes(32).toString('hex')}`, amount_usdc: '50.00' }) },
    { openApiOperationId: 'depositFiat', overwriteRequestBody: body({ amount_usd: 50, payment_method: 'card' }) },
    { openApiOperationId: 'getDepositStatus', overwriteRequestBody: body({ payment_id: fiat.transaction_id }) },
    { openApiOperationId: 'createTask', overwriteRequestBody: body(digital) },
    ...['getTask', 'listTaskWebhooks'].map((id) => ({ openApiOperationId: id, overwriteRequestPathVariables: path('id', watched) })),
    { openApiOperationId: 'cancelTask', overwriteRequestPathVariables: path('id', toCancel) },
    { openApiOperationId: 'verifyTask', overwriteRequestPathVariables: path('id', toVerify), overwriteRequestBody: body({ decision: 'APPROVE' }) },
    { openApiOperationId: 'approveTask', overwriteRequestPathVariables: path('id', toApprove) },
    { openApiOperationId: 'declineTask', overwriteRequestPathVariables: path('id', toDecline) },
    { openApiOperationId: 'rateTask', overwriteRequestPathVariables: path('id', toRate), overwriteRequestBody: body({ rating: 5 }) },
    ...['retrieveCredential', 'getCredential'].map((id) => ({ openApiOperationId: id, overwriteRequestPathVariables: path('id', credential) })),
    { openApiOperationId: 'resendWebhook', overwriteRequestPathVariables: path('id', delivery.delivery_id) },
    { openApiOperationId: 'simulateTask', overwriteRequestPathVariables: path('id', toSimulate), overwriteRequestBody: body({ action: 'accept' }) },
    { openApiOperationId: 'getOperatorTask', overwriteRequestPathVariables: path('id', open) },
    { openApiOperationId: 'acceptTask', overwriteRequestPathVariables: path('id', toAccept) },
    { openApiOperationId: 'startTask', overwriteRequestPathVariables: path('id', toStart) },
    { openApiOperationId: 'submitProof', overwriteRequestPathVariables: path('id', toSubmit), overwriteRequestBody: body({ confirmation_text: 'Reviewed, all fine' }) },
    { openApiOperationId: 'requestPayout', overwriteRequestBody: body({ amount_usd: 10 }) },
    { openApiOperationId: 'getPayoutStatus', overwriteRequestPathVariables: path('id', payout.payout_id) },
    { openApiOperationId: 'decideKyc', overwriteRequestPathVariables: path('id', operatorId), overwriteRequestBody: body({ status: 'VERIFIED' }) },
    { openApiOperationId: 'resolveDispute', overwriteRequestPathVariables: path('id', disputed), overwriteRequestBody: body({ resolution: 'refund' }) },
    {
      openApiOperationId: 'getProofFile',
      overwriteRequestPathVariables: path('file', proof.pathname.split('/').pop()),
      overwriteRequestQueryParams: [{ key: 'expires', value: proof.searchParams.get('expires') }, { key: 'signature', value: proof.searchParams.get('signature') }],
    },
  ];
  const contract = (check) => ({ openApiOperation: '*::/*', [check]: { enabled: true } });
  const config = {
    version: 1.0,
    tests: {
      contractTests: [contract('statusSuccess'), contract('contentType'), contract('jsonBody'), contract('schemaValidation')],
      contentTests: [{ openApiOperation: '*::/*', responseHeaderTests: [{ key: 'X-Request-Id' }] }],
    },
    overwrites,
  };
  writeFileSync(join(dir, 'portman-config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'filter.json'), JSON.stringify({ operationIds: Object.keys(EXCLUDED) }));
  writeFileSync(join(dir, 'openapi.json'), await (await fetch(`${api}/openapi.json`)).text());

  const report = join(dir, 'newman.json');
  for (const [operation, why] of Object.entries(EXCLUDED)) process.stdout.write(`left out: ${operation}: ${why}\n`);
  const portman = spawn('npx', ['--yes', ...TOOLS.flatMap((t) => ['-p', t]), 'portman',
    '-l', join(dir, 'openapi.json'), '-b', api, '-c', join(dir, 'portman-config.json'), '--filterFile', join(dir, 'filter.json'),
    '-o', join(dir, 'collection.json'), '--runNewman', '--newmanRunOptions', JSON.stringify({ abortOnFailure: false, reporters: ['cli', 'json'], reporter: { json: { export: report } } })],
    { cwd: dir, stdio: 'inherit' });
  const [exit] = await once(portman, 'exit');
  if (exit !== 0) return exit ?? 1;
  // Portman exits 0 whatever the assertions found; newman's report says.
  const { run: { stats, failures } } = JSON.parse(readFileSync(report, 'utf8'));
  process.stdout.write(`\nportman: ${stats.requests.total} requests, ${stats.assertions.total} assertions, ${failures.length} failed\n`);
  return failures.length === 0 ? 0 : 1;
}
