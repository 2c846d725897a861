// Smoke test of the installed @humanops/sdk in Deno (npm package from node_modules, type-checked).
import { decrypt, encryptForAgent, generateKeyPair, HumanOpsClient, NotFoundError, Page, type Task, VERSION } from '@humanops/sdk';
import { HumanOpsOperatorClient } from '@humanops/sdk/operator';

const api = Deno.env.get('HUMANOPS_API_URL')!;
const registered = await (await fetch(`${api}/api/v1/agents/register`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'smoke-deno', email: 'deno@example.com' }),
})).json();
const client = new HumanOpsClient({ apiKey: registered.api_key });
const hash = `0x${Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
await client.deposits.usdc({ tx_hash: hash, amount_usdc: '100.00' });
const created = await client.dispatchDigitalTask({ category: 'CONTENT_REVIEW', title: 'Review a listing', description: 'Read it, judge it', reward_usd: 10 }).withResponse();
await client.dispatchDigitalTask({ category: 'CONTENT_REVIEW', title: 'Review another', description: 'Read it, judge it', reward_usd: 10 });
const listed: string[] = [];
for await (const task of client.tasks.list({ limit: 1 })) listed.push(task.task_id);
const task: Task = await client.tasks.retrieve(created.data.task_id);
let notFound = false;
try {
  await client.tasks.retrieve('task_missing');
} catch (error) {
  notFound = error instanceof NotFoundError && error.status === 404;
}
const keys = await generateKeyPair();
const secret = await decrypt<{ ok: number }>(keys.privateKey, await encryptForAgent(keys.publicKey, { ok: 1 }, { taskId: 't' }), { taskId: 't' });
console.log(JSON.stringify({
  format: 'deno', version: VERSION, status: created.response.status, requestId: created.requestId, listed: listed.length,
  page: (await client.tasks.list()) instanceof Page, notFound, e2ee: secret.ok === 1 && task.status === 'PENDING', operator: typeof HumanOpsOperatorClient,
}));
