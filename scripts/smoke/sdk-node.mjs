// Smoke test of the installed @humanops/sdk as an ES module (Node): a real agent's first minutes.
import { randomBytes } from 'node:crypto';
import { decrypt, encryptForAgent, generateKeyPair, HumanOpsClient, NotFoundError, Page, VERSION } from '@humanops/sdk';
import { HumanOpsOperatorClient } from '@humanops/sdk/operator';

const api = process.env.HUMANOPS_API_URL;
const registered = await (await fetch(`${api}/api/v1/agents/register`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'smoke-esm', email: 'esm@example.com' }),
})).json();
const client = new HumanOpsClient({ apiKey: registered.api_key }); // the API from HUMANOPS_API_URL
await client.deposits.usdc({ tx_hash: `0x${randomBytes(32).toString('hex')}`, amount_usdc: '100.00' });
const created = await client.dispatchDigitalTask({ category: 'CONTENT_REVIEW', title: 'Review a listing', description: 'Read it, judge it', reward_usd: 10 }).withResponse();
await client.dispatchDigitalTask({ category: 'CONTENT_REVIEW', title: 'Review another', description: 'Read it, judge it', reward_usd: 10 });
const listed = [];
for await (const task of client.tasks.list({ limit: 1 })) listed.push(task.task_id);
let notFound = false;
try {
  await client.tasks.retrieve('task_missing');
} catch (error) {
  notFound = error instanceof NotFoundError && error.status === 404;
}
const keys = await generateKeyPair();
const secret = await decrypt(keys.privateKey, await encryptForAgent(keys.publicKey, { ok: 1 }, { taskId: 't' }), { taskId: 't' });
console.log(JSON.stringify({
  format: 'esm', version: VERSION, status: created.response.status, requestId: created.requestId, listed: listed.length,
  page: (await client.tasks.list()) instanceof Page, notFound, e2ee: secret.ok === 1, operator: typeof HumanOpsOperatorClient,
}));
