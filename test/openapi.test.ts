// The OpenAPI document: it lints clean with Redocly's strict rules, names every route the server
// mounts (and no other), is what GET /openapi.json serves, and describes the live API: every
// response of a run through every operation (successes, errors, webhook deliveries) validates
// against it with a JSON Schema 2020-12 validator.
import { randomBytes } from 'node:crypto';
import { mnemonicToSeedSync } from '@scure/bip39';
import { HDKey } from 'viem/accounts';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Hono } from 'hono';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../functions/api/app.ts';
import { openApiRoutes } from '../functions/api/routes/openapi.ts';
import type { Deps } from '../functions/api/context.ts';
import { loadConfig } from '../functions/_shared/config.ts';
import { VERSION } from '../functions/_shared/version.ts';
import { createLocalStorage } from '../functions/_shared/storage.ts';
import { openApiDocument } from '../sdk/src/contract/openapi.ts';
import { generateKeyPair } from '../sdk/src/e2ee.ts';
import { makeJpeg } from './helpers/images.ts';
import { vapidEnv, vapidKeys } from './helpers/push-service.ts';
import { futureDeadline, operatorToken, type Reply, type Stack, startStack, txHash } from './helpers/stack.ts';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

const doc = openApiDocument({ version: VERSION }) as any;
const ADMIN_KEY = 'admin-key-for-tests-0123456789';
const WORKER_SECRET = randomBytes(24).toString('hex');
/** A deposit xpub from a test mnemonic, so the deposit address route answers. */
const XPUB = HDKey.fromMasterSeed(mnemonicToSeedSync('test test test test test test test test test test test junk')).derive("m/44'/60'/0'/0").publicExtendedKey!;

/** `/tasks/{id}` → a matcher of concrete paths. */
const templates = Object.keys(doc.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`),
}));
const templateOf = (path: string) => {
  const plain = path.split('?')[0];
  // The most specific template wins: fewer parameters first.
  return templates.filter((t) => t.pattern.test(plain)).sort((a, b) => a.template.split('{').length - b.template.split('{').length)[0]?.template;
};

describe('the document', () => {
  it('lints clean with Redocly (recommended-strict)', async () => {
    // /health and /openapi.json have no client errors to document, so the rule asking every
    // operation for a 4XX answer is off; every other rule is an error.
    const config = await createConfig({ extends: ['recommended-strict'], rules: { 'operation-4xx-response': 'off' } });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: '/openapi.json', config });
    expect(problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
  });

  it('documents every route the server mounts, and only those', () => {
    const config = loadConfig({ HUMANOPS_MODE: 'test', SUPABASE_DB_URL: 'postgres://unused@127.0.0.1:1/unused' });
    // Only the route table is read: no request is served, so no database is needed.
    const app = createApp({
      config,
      db: {} as Deps['db'],
      usdcVerifier: {} as Deps['usdcVerifier'],
      localStorage: createLocalStorage({ dir: '/nonexistent', signingSecret: 'x'.repeat(32) }),
    });
    // Proof URLs of the older, slashed shape are still served until they expire, but no client
    // should build one: `/storage/proofs/{file}` is the documented shape of the same file.
    const legacy = new Set(['get /storage/proofs/*']);
    const mounted = new Set(app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/^\/api\/v1/, '').replace(/:(\w+)/g, '{$1}')}`)
      .filter((r) => !legacy.has(r)));
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m} ${path}`)));
    expect([...mounted].filter((r) => !documented.has(r)), 'mounted but not documented').toEqual([]);
    expect([...documented].filter((r) => !mounted.has(r)), 'documented but not mounted').toEqual([]);
  });

  it('names the base URL it was reached at as its server, and on Supabase the public one with /functions/v1', async () => {
    // Mounted as the API mounts it: under /api/v1.
    const served = async (routes: ReturnType<typeof openApiRoutes>, url: string) =>
      ((await (await new Hono().basePath('/api/v1').route('/', routes).request(url)).json()) as any).servers;
    expect(await served(openApiRoutes(), 'http://api.example.test:8080/api/v1/openapi.json')).toEqual([{ url: 'http://api.example.test:8080/api/v1', description: 'This server' }]);
    const hosted = loadConfig({
      SB_REGION: 'eu-west-1', HUMANOPS_MODE: 'test', STORAGE_BACKEND: 'local', SUPABASE_DB_URL: 'postgres://u@h/db', DB_POOLER_URL: 'postgres://u@h:6543/db',
      SUPABASE_URL: 'https://abcd.supabase.co',
    });
    expect(hosted.apiBaseUrl).toBe('https://abcd.supabase.co/functions/v1/api/v1');
    // The edge runtime hands the function /api/v1/… on its own host; the document still names the public URL.
    expect(await served(openApiRoutes(hosted.apiBaseUrl), 'http://localhost:9999/api/v1/openapi.json')).toEqual([{ url: 'https://abcd.supabase.co/functions/v1/api/v1', description: 'This server' }]);
    expect(loadConfig({ SUPABASE_DB_URL: 'postgres://u@h/db' }).apiBaseUrl).toBeUndefined();
  });

  it('every operation names its security, and error answers use the one error shape', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops as Record<string, any>)) {
        expect(op.security, `${method} ${path}`).toBeDefined();
        for (const [status, answer] of Object.entries(op.responses as Record<string, any>)) {
          if (Number(status) >= 400 && status !== '503') expect(answer.$ref, `${method} ${path} ${status}`).toMatch(/^#\/components\/responses\/Error/);
        }
      }
    }
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(['ApiKey', 'OperatorBearer', 'AdminKey']));
    expect(Object.keys(doc.webhooks)).toContain('task.completed');
  });
});

// ---------------------------------------------------------------------------------------------
// Conformance: real responses from real flows.

interface Seen {
  method: string;
  path: string;
  status: number;
  body: unknown;
  contentType: string;
  requestId: string | null;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(doc, 'openapi.json');
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** The schema the document gives for `status` of `method path`, or null when it documents none. */
function responseSchema(method: string, template: string, status: number) {
  const op = doc.paths[template]?.[method.toLowerCase()];
  if (!op) return null;
  const answer = op.responses[String(status)];
  if (!answer) return null;
  if (answer.$ref) return `openapi.json${answer.$ref}/content/application~1json/schema`;
  const type = Object.keys(answer.content)[0];
  return `openapi.json#/${pointer('paths', template, method.toLowerCase(), 'responses', String(status), 'content', type, 'schema')}`;
}

let stack: Stack;
let receiver: { url: string; received: { body: any; headers: IncomingHttpHeaders }[]; server: Server };
const seen: Seen[] = [];

async function call(method: string, path: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const reply = await stack.call(method, path, options);
  seen.push({ method, path, status: reply.status, body: reply.body, contentType: reply.headers.get('content-type') ?? '', requestId: reply.headers.get('x-request-id') });
  return reply;
}

beforeAll(async () => {
  const received: { body: any; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, received, server };
  stack = await startStack({ env: { HUMANOPS_ADMIN_KEY: ADMIN_KEY, WORKER_SECRET, EARNINGS_HOLD_SECONDS: '0', DEPOSIT_XPUB: XPUB, ...vapidEnv() } });
});
afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((r) => (receiver ? receiver.server.close(() => r()) : r()));
});

describe('the live API answers as documented', () => {
  it('serves the document at GET /openapi.json', async () => {
    const reply = await call('GET', '/openapi.json');
    expect(reply.status).toBe(200);
    // As generated, with `servers` naming the base URL this request reached.
    expect(reply.body).toEqual({ ...JSON.parse(JSON.stringify(doc)), servers: [{ url: stack.url, description: 'This server' }] });
    expect(doc.servers).toEqual([{ url: '/api/v1', description: 'This server' }]);
  });

  it('through every operation, in success and in failure', async () => {
    const worker = { 'x-worker-secret': WORKER_SECRET };
    const admin = { 'x-admin-key': ADMIN_KEY };
    await call('GET', '/health');

    // An agent: keys, money in, balances.
    const registered = await call('POST', '/agents/register', { body: { name: 'conformance', email: 'c@example.com' } });
    const key = registered.body.api_key as string;
    await call('POST', '/agents/register', { body: { name: '' } });
    const extra = await call('POST', '/agents/keys', { key, body: { name: 'extra' } });
    await call('POST', '/agents/keys', { key, body: { name: '' } });
    await call('GET', '/agents/keys', { key });
    await call('GET', '/agents/keys');
    await call('DELETE', `/agents/keys/${extra.body.id}`, { key });
    await call('DELETE', '/agents/keys/key_missing', { key });
    await call('GET', '/agents/balance', { key });
    await call('GET', '/agents/balance', { key: 'ho_test_notakeyatallnotakeyatall' });
    await call('GET', '/agents/deposit/address', { key });
    await call('GET', '/agents/deposit/address');
    const hash = txHash();
    await call('POST', '/agents/deposit/usdc', { key, body: { tx_hash: hash, amount_usdc: '500.00' } });
    await call('POST', '/agents/deposit/usdc', { key, body: { tx_hash: hash, amount_usdc: '500.00' } });
    const fiat = await call('POST', '/agents/deposit', { key, body: { amount_usd: 50, payment_method: 'card' } });
    await call('POST', '/agents/deposit', { key, body: { amount_usd: 1, payment_method: 'card' } });
    await call('POST', '/agents/deposit/status', { key, body: { payment_id: fiat.body.transaction_id } });
    await call('POST', '/agents/deposit/status', { key, body: { payment_id: 'dep_missing' } });

    // Tasks from the agent's side.
    const physical = {
      title: 'Verify storefront signage', description: 'Photo of the sign at 123 Main St', location: { lat: 40.7128, lng: -74.006, address: '123 Main St, NY' },
      reward_usd: 25, deadline: futureDeadline(), proof_requirements: ['Photo of storefront sign'], task_type: 'VERIFICATION',
      callback_url: receiver.url, callback_secret: 'conformance-secret-0123',
    };
    const task = (await call('POST', '/tasks', { key, body: physical, headers: { 'idempotency-key': 'conf-1' } })).body.task_id;
    await call('POST', '/tasks', { key, body: { ...physical, reward_usd: 1 } });
    await call('POST', '/tasks', { key, body: { ...physical, reward_usd: 1000 } });
    await call('GET', '/tasks?limit=5', { key });
    await call('GET', '/tasks?limit=500', { key });
    await call('GET', `/tasks/${task}`, { key });
    await call('GET', '/tasks/task_missing', { key });
    await call('GET', '/operators/search?lat=40.71&lng=-74.0&radius_km=25', { key });
    await call('GET', '/operators/search?lat=40.71', { key });
    await call('GET', '/tasks/task_missing/webhooks', { key });

    // An operator works the physical task.
    const operatorId = `op_${randomBytes(8).toString('hex')}`;
    const operator = { id: operatorId, auth: { authorization: `Bearer ${await operatorToken(operatorId)}` } };
    const profile = { name: 'Jane', email: 'jane@example.com', location: { city: 'New York', country: 'US', lat: 40.7128, lng: -74.006 } };
    await call('POST', '/operator/register', { headers: operator.auth, body: profile });
    await call('POST', '/operator/register', { headers: operator.auth, body: profile });
    await call('GET', '/operator/earnings');
    await call('GET', '/operator/me', { headers: operator.auth });
    // Push alerts: settings, preferences, a subscription added and removed.
    await call('GET', '/operator/push', { headers: operator.auth });
    await call('GET', '/operator/push');
    await call('PUT', '/operator/push/preferences', { headers: operator.auth, body: { radius_km: 25, min_reward_usd: 10 } });
    await call('PUT', '/operator/push/preferences', { headers: operator.auth, body: { radius_km: -1 } });
    const endpoint = 'https://push.example.test/push/conformance';
    await call('POST', '/operator/push-subscriptions', { headers: operator.auth, body: { endpoint, expirationTime: null, keys: { p256dh: vapidKeys().publicKey, auth: 'AAAAAAAAAAAAAAAAAAAAAA' } } });
    await call('POST', '/operator/push-subscriptions', { headers: operator.auth, body: { endpoint: 'http://insecure.example.test/', keys: { p256dh: 'x', auth: 'y' } } });
    await call('DELETE', `/operator/push-subscriptions?endpoint=${encodeURIComponent(endpoint)}`, { headers: operator.auth });
    await call('DELETE', '/operator/push-subscriptions', { headers: operator.auth });
    await call('GET', '/operator/me', { headers: { authorization: `Bearer ${await operatorToken('op_unregistered')}` } });
    await call('PATCH', '/operator/me', { headers: operator.auth, body: { phone: '+1 212 555 0100', travel_radius_km: 30 } });
    await call('PATCH', '/operator/me', { headers: operator.auth, body: { name: '', travel_radius_km: 0 } });
    await call('GET', '/operator/my-tasks?status=NOPE', { headers: operator.auth });
    await call('GET', '/operator/tasks/task_missing', { headers: operator.auth });
    await call('POST', '/operator/tasks/task_missing/start', { headers: operator.auth });
    await call('GET', '/operator/tasks?lat=40.7128&lng=-74.006&radius_km=10', { headers: operator.auth });
    await call('GET', '/operator/tasks', { headers: { authorization: 'Bearer not-a-token' } });
    await call('GET', `/operator/tasks/${task}`, { headers: operator.auth });
    // A question before accepting, answered in public; then the thread as each side reads it.
    const question = await call('POST', `/operator/tasks/${task}/messages`, { headers: operator.auth, body: { text: 'Which door?' } });
    await call('POST', `/operator/tasks/${task}/messages`, { headers: operator.auth, body: { text: '' } });
    await call('POST', `/tasks/${task}/messages`, { key, body: { text: 'The front one.', reply_to: question.body.message_id, visibility: 'public' } });
    await call('POST', `/tasks/${task}/messages`, { key, body: { text: 'To nobody' } });
    await call('GET', `/tasks/${task}/messages`, { key });
    await call('GET', '/tasks/task_missing/messages', { key });
    await call('GET', `/operator/tasks/${task}/messages`, { headers: operator.auth });
    await call('GET', '/operator/tasks/task_missing/messages', { headers: operator.auth });
    await call('POST', `/operator/tasks/${task}/accept`, { headers: operator.auth });
    await call('POST', `/operator/tasks/${task}/accept`, { headers: operator.auth });
    await call('POST', `/operator/tasks/${task}/start`, { headers: operator.auth });
    const upload = await stack.upload(operator, task, makeJpeg());
    seen.push({ method: 'POST', path: '/operator/upload', status: upload.status, body: upload.body, contentType: upload.headers.get('content-type') ?? '', requestId: upload.headers.get('x-request-id') });
    const noFile = new FormData();
    noFile.set('task_id', task);
    const refused = await fetch(`${stack.url}/operator/upload`, { method: 'POST', headers: operator.auth, body: noFile });
    seen.push({ method: 'POST', path: '/operator/upload', status: refused.status, body: await refused.json(), contentType: refused.headers.get('content-type') ?? '', requestId: refused.headers.get('x-request-id') });
    const file = await fetch(upload.body.url);
    seen.push({ method: 'GET', path: new URL(upload.body.url).pathname.replace(/^\/api\/v1/, ''), status: file.status, body: null, contentType: file.headers.get('content-type') ?? '', requestId: file.headers.get('x-request-id') });
    await call('GET', '/storage/proofs/op_x~task_x~nothing.jpg?expires=1&signature=00');
    await call('POST', `/operator/tasks/${task}/submit`, { headers: operator.auth, body: { photos: [] } });
    await call('POST', `/operator/tasks/${task}/submit`, { headers: operator.auth, body: { photos: [upload.body.path], notes: 'Sign confirmed' } });
    await call('POST', '/internal/tick', { headers: worker });
    await call('GET', '/operator/my-tasks', { headers: operator.auth });
    await call('GET', `/operator/tasks/${task}`, { headers: operator.auth });
    await call('POST', '/internal/tick');
    await call('GET', `/tasks/${task}`, { key });
    await call('GET', `/tasks/${task}/webhooks`, { key });

    // Review: the Guardian (rules only here) leaves it to the agent, who approves; then a rating.
    const reviewed = (await stack.call('GET', `/tasks/${task}`, { key })).body;
    expect(reviewed.status).toBe('MANUAL_REVIEW');
    await call('POST', `/tasks/${task}/verify`, { key, body: { decision: 'MAYBE' } });
    await call('POST', `/tasks/${task}/verify`, { key, body: { decision: 'APPROVE' } });
    await call('POST', `/tasks/${task}/rate`, { key, body: { rating: 5, comment: 'Quick and clear' } });
    await call('POST', `/tasks/${task}/rate`, { key, body: { rating: 5 } });
    await call('POST', '/internal/tick', { headers: worker });
    await call('GET', '/operator/earnings', { headers: operator.auth });
    const payout = await call('POST', '/operator/payout', { headers: operator.auth, body: { amount_usd: 10 } });
    await call('POST', '/operator/payout', { headers: operator.auth, body: { amount_usd: 10_000 } });
    await call('GET', `/operator/payout/status/${payout.body.payout_id}`, { headers: operator.auth });
    await call('GET', '/operator/payout/status/payout_missing', { headers: operator.auth });
    await call('GET', '/operator/payouts?limit=5', { headers: operator.auth });
    await call('GET', '/operator/payouts?cursor=nope!', { headers: operator.auth });
    const wallet = privateKeyToAccount(generatePrivateKey());
    const challenge = await call('GET', '/operator/payout-address/challenge', { headers: operator.auth });
    await call('GET', '/operator/payout-address/challenge', { headers: { authorization: `Bearer ${await operatorToken('op_unregistered')}` } });
    await call('PUT', '/operator/payout-address', { headers: operator.auth, body: { address: wallet.address, signature: await wallet.signMessage({ message: challenge.body.message }) } });
    await call('PUT', '/operator/payout-address', { headers: operator.auth, body: { address: '0x12', signature: '0x' } });
    const deliveries = (await call('GET', `/tasks/${task}/webhooks`, { key })).body.data;
    await call('POST', `/webhooks/${deliveries[0].delivery_id}/resend`, { key });
    await call('POST', '/webhooks/whd_missing/resend', { key });

    // The sandbox: a cancelled task, an expired one, a disputed one settled by the admin.
    const digital = { title: 'Review a listing', description: 'Read it and judge', reward_usd: 20, deadline: futureDeadline(), proof_requirements: ['Assessment'], task_type: 'CONTENT_REVIEW' };
    const cancelled = (await call('POST', '/tasks', { key, body: digital })).body.task_id;
    await call('POST', `/tasks/${cancelled}/cancel`, { key });
    await call('POST', `/tasks/${cancelled}/cancel`, { key });
    const expiring = (await call('POST', '/tasks', { key, body: digital })).body.task_id;
    await call('POST', `/sandbox/tasks/${expiring}/simulate`, { key, body: { action: 'expire' } });
    await call('POST', `/sandbox/tasks/${expiring}/simulate`, { key, body: { action: 'dance' } });
    const disputed = (await call('POST', '/tasks', { key, body: digital })).body.task_id;
    await call('POST', `/sandbox/tasks/${disputed}/simulate`, { key, body: { action: 'accept' } });
    await call('POST', `/sandbox/tasks/${disputed}/simulate`, { key, body: { action: 'submit', verdict: { decision: 'REJECT', confidence: 10 } } });
    await call('POST', `/admin/tasks/${disputed}/resolve`, { headers: admin, body: { resolution: 'split', operator_usd: 5, note: 'Half done' } });
    await call('POST', `/admin/tasks/${disputed}/resolve`, { body: { resolution: 'refund' } });
    await call('POST', `/admin/operators/${operator.id}/kyc`, { headers: admin, body: { status: 'VERIFIED' } });
    await call('POST', '/admin/operators/op_nobody/kyc', { headers: admin, body: { status: 'VERIFIED' } });

    // The operator's side of a review: a task handed back; another rejected with a reason,
    // resubmitted, rejected again and appealed, the appeal read by the admin.
    const handedBack = (await call('POST', '/tasks', { key, body: physical })).body.task_id;
    await call('POST', `/operator/tasks/${handedBack}/accept`, { headers: operator.auth });
    await stack.upload(operator, handedBack, makeJpeg());
    await call('POST', `/operator/tasks/${handedBack}/release`, { headers: operator.auth });
    await call('POST', `/operator/tasks/${handedBack}/release`, { headers: operator.auth });
    const rejected = (await call('POST', '/tasks', { key, body: physical })).body.task_id;
    await call('POST', `/operator/tasks/${rejected}/accept`, { headers: operator.auth });
    const first = await stack.upload(operator, rejected, makeJpeg({ scene: 11 }));
    await call('POST', `/operator/tasks/${rejected}/submit`, { headers: operator.auth, body: { photos: [first.body.path] } });
    await call('POST', '/internal/tick', { headers: worker });
    await call('POST', `/tasks/${rejected}/verify`, { key, body: { decision: 'REJECT' } });
    await call('POST', `/tasks/${rejected}/verify`, { key, body: { decision: 'REJECT', reason: 'The sign is not in the photo.' } });
    await call('POST', `/operator/tasks/${rejected}/appeal`, { headers: operator.auth, body: { note: 'It is there.' } });
    const second = await stack.upload(operator, rejected, makeJpeg({ scene: 12 }));
    await call('POST', `/operator/tasks/${rejected}/resubmit`, { headers: operator.auth, body: { photos: [second.body.path], notes: 'Closer' } });
    await call('POST', '/internal/tick', { headers: worker });
    await call('POST', `/tasks/${rejected}/verify`, { key, body: { decision: 'REJECT', reason: 'Still not there.' } });
    await call('POST', `/operator/tasks/${rejected}/resubmit`, { headers: operator.auth, body: { photos: [second.body.path], notes: 'Again' } });
    await call('POST', `/operator/tasks/${rejected}/appeal`, { headers: operator.auth, body: { note: 'It is there, top left.' } });
    await call('GET', `/operator/tasks/${rejected}`, { headers: operator.auth });
    await call('GET', `/tasks/${rejected}`, { key });
    await call('GET', '/admin/appeals', { headers: admin });
    await call('GET', '/admin/appeals');

    // Who the operator works for: the requester rated once the task ended; the agent's own record.
    await call('POST', `/operator/tasks/${task}/rate`, { headers: operator.auth, body: { rating: 5, comment: 'Clear and quick to pay' } });
    await call('POST', `/operator/tasks/${task}/rate`, { headers: operator.auth, body: { rating: 5 } });
    await call('GET', '/agents/me', { key });
    await call('GET', '/agents/me');

    // A Tier 2 credential task, delivered by the sandbox, retrieved as ciphertext.
    const keys = await generateKeyPair();
    const credential = (await call('POST', '/tasks', {
      key, body: { ...digital, task_type: 'API_KEY_PROCUREMENT', reward_usd: 50, agent_public_key: keys.publicKey },
    })).body.task_id;
    await call('POST', `/tasks/${credential}/retrieve-credential`, { key });
    await call('POST', `/sandbox/tasks/${credential}/simulate`, { key, body: { action: 'accept' } });
    await call('POST', `/sandbox/tasks/${credential}/simulate`, { key, body: { action: 'submit', verdict: { decision: 'APPROVE', confidence: 95 } } });
    await call('POST', `/tasks/${credential}/retrieve-credential`, { key });
    await call('GET', `/tasks/${credential}/retrieve-credential`, { key });
    await call('GET', `/tasks/${task}/retrieve-credential`, { key });
    await call('POST', `/tasks/${task}/retrieve-credential`, { key });

    // Owner controls: a bot key under a policy, refused by a rule, a task held for approval and the owner's answers.
    const bot = (await call('POST', '/agents/keys', { key, body: { name: 'bot', scopes: ['agent'] } })).body;
    await call('POST', '/agents/keys', { key: bot.api_key, body: { scopes: ['owner'] } });
    await call('GET', '/agents/policy', { key });
    await call('GET', '/agents/policy');
    await call('PUT', '/agents/policy', { key, body: { monthly_limit_usd: 5000, allowed_regions: [{ country: 'US' }, { lat: 48.85, lng: 2.35, radius_km: 30 }] } });
    await call('PUT', '/agents/policy', { key, body: { monthly_limit_usd: -1 } });
    await call('PUT', `/agents/keys/${bot.id}/policy`, { key, body: { max_reward_usd: 100, allowed_task_types: ['PHYSICAL'], approval_threshold_usd: 20, allow_credential_tasks: false } });
    await call('PUT', `/agents/keys/${bot.id}/policy`, { key: bot.api_key, body: { max_reward_usd: null } });
    await call('GET', `/agents/keys/${bot.id}/policy`, { key: bot.api_key });
    await call('GET', '/agents/keys/key_missing/policy', { key });
    await call('POST', '/tasks', { key: bot.api_key, body: { ...physical, reward_usd: 150 } });
    const held = (await call('POST', '/tasks', { key: bot.api_key, body: physical })).body.task_id;
    await call('GET', '/tasks?status=PENDING_APPROVAL', { key });
    await call('POST', `/tasks/${held}/approve`, { key: bot.api_key });
    await call('POST', `/tasks/${held}/approve`, { key });
    await call('POST', `/tasks/${held}/decline`, { key });
    const declined = (await call('POST', '/tasks', { key: bot.api_key, body: physical })).body.task_id;
    await call('POST', `/tasks/${declined}/decline`, { key });
    await call('GET', '/agents/usage', { key });
    await call('GET', '/agents/usage');
    await call('DELETE', `/agents/keys/${bot.id}/policy`, { key });
    await call('DELETE', `/agents/keys/${bot.id}/policy`, { key: bot.api_key });
    await call('PUT', '/agents/policy', { key, body: { monthly_limit_usd: null, allowed_regions: null } });

    // What the owner's console reads.
    await call('GET', '/agents/approvals', { key });
    await call('GET', '/agents/approvals');
    await call('GET', '/agents/spend?days=7', { key });
    await call('GET', '/agents/spend?days=0', { key });
    await call('GET', '/agents/deposits', { key });
    await call('GET', '/agents/deposits');
    await call('GET', '/agents/webhooks', { key });
    await call('GET', '/agents/webhooks');
    await call('GET', `/tasks/${held}/events`, { key });
    await call('GET', '/tasks/task_missing/events', { key });

    // Owners: a link code, redeemed by a signed-in person, whose session then acts for the agent.
    const code = (await call('POST', '/agents/owners/link-code', { key })).body.code;
    await call('POST', '/agents/owners/link-code', { key: bot.api_key });
    const person = { authorization: `Bearer ${await operatorToken('user_conformance_owner')}` };
    await call('POST', '/owner/link', { headers: person, body: { code } });
    await call('POST', '/owner/link', { headers: person, body: { code } });
    await call('POST', '/owner/link', { headers: person, body: {} });
    await call('GET', '/owner/agents', { headers: person });
    await call('GET', '/owner/push', { headers: person });
    await call('GET', '/owner/push');
    await call('POST', '/owner/push-subscriptions', { headers: person, body: { endpoint: `${endpoint}-owner`, expirationTime: null, keys: { p256dh: vapidKeys().publicKey, auth: 'AAAAAAAAAAAAAAAAAAAAAA' } } });
    await call('POST', '/owner/push-subscriptions', { headers: person, body: { endpoint: 'http://insecure.example.test/', keys: { p256dh: 'x', auth: 'y' } } });
    await call('DELETE', `/owner/push-subscriptions?endpoint=${encodeURIComponent(`${endpoint}-owner`)}`, { headers: person });
    await call('DELETE', '/owner/push-subscriptions', { headers: person });
    await call('GET', '/owner/agents');
    await call('GET', '/agents/owners', { headers: { ...person, 'x-agent-id': registered.body.agent_id } });
    await call('GET', '/agents/owners', { key: bot.api_key });
    await call('DELETE', '/agents/owners/user_nobody', { key });
    await call('DELETE', '/agents/owners/user_conformance_owner', { key });

    // Not enough money is a 402.
    const poor = (await call('POST', '/agents/register', { body: { name: 'poor', email: 'p@example.com' } })).body.api_key;
    await call('POST', '/tasks', { key: poor, body: physical });

    // The webhook deliveries of the physical task's events.
    await call('POST', '/internal/tick', { headers: worker });
    expect(receiver.received.length).toBeGreaterThan(0);
    expect(receiver.received.map((d) => d.body.event)).toContain('task.message');

    // Every answer validates against what the document says for its route and status.
    const failures: string[] = [];
    for (const s of seen) {
      const template = templateOf(s.path);
      const where = `${s.method} ${s.path} → ${s.status}`;
      if (!template) {
        failures.push(`${where}: no documented path`);
        continue;
      }
      if (!s.requestId) failures.push(`${where}: no X-Request-Id`);
      const schema = responseSchema(s.method, template, s.status);
      if (!schema) {
        failures.push(`${where}: status not documented for ${template}`);
        continue;
      }
      if (!s.contentType.startsWith('application/json')) {
        const documented = Object.keys(doc.paths[template][s.method.toLowerCase()].responses[String(s.status)]?.content ?? {});
        if (!documented.includes(s.contentType.split(';')[0])) failures.push(`${where}: ${s.contentType}, documented ${documented.join(', ')}`);
        continue;
      }
      const validate = ajv.getSchema(schema) ?? ajv.compile({ $ref: schema });
      if (!validate(s.body)) failures.push(`${where}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(s.body).slice(0, 300)}`);
    }
    for (const delivery of receiver.received) {
      const payload = delivery.body.event === 'task.message' ? 'TaskMessageWebhookPayload' : 'WebhookPayload';
      const validate = ajv.compile({ $ref: `openapi.json#/components/schemas/${payload}` });
      if (!validate(delivery.body)) failures.push(`webhook ${delivery.body.event}: ${ajv.errorsText(validate.errors)}`);
      for (const header of ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-humanops-signature']) {
        if (!delivery.headers[header]) failures.push(`webhook ${delivery.body.event}: no ${header} header`);
      }
    }
    expect(failures).toEqual([]);

    // And the run went through every documented operation, both ways where both exist.
    const reached = new Set(seen.map((s) => `${s.method.toLowerCase()} ${templateOf(s.path)} ${s.status < 400 ? 'ok' : 'error'}`));
    const missing = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops as Record<string, any>).flatMap(([method, op]) => [
      ...(reached.has(`${method} ${path} ok`) ? [] : [`${method} ${path} (success)`]),
      ...(Object.keys(op.responses).some((s) => Number(s) >= 400 && s !== '429' && s !== '503') && !reached.has(`${method} ${path} error`) ? [`${method} ${path} (an error)`] : []),
    ]));
    expect(missing).toEqual([]);
  });
});
