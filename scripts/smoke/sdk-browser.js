// Smoke test of the installed @humanops/sdk in a browser page (ES modules through an import map);
// the API is reached through the page's own origin.
import { decrypt, encryptForAgent, generateKeyPair, HumanOpsClient, NotFoundError, Page, VERSION } from '@humanops/sdk';
import { HumanOpsOperatorClient } from '@humanops/sdk/operator';

export async function smoke() {
  const registered = await (await fetch('/api/v1/agents/register', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'smoke-browser', email: 'browser@example.com' }),
  })).json();
  const client = new HumanOpsClient({ apiKey: registered.api_key, baseUrl: '' });
  const hash = `0x${Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
  await client.deposits.usdc({ tx_hash: hash, amount_usdc: '100.00' });
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
  return {
    format: 'browser', version: VERSION, status: created.response.status, requestId: created.requestId, listed: listed.length,
    page: (await client.tasks.list()) instanceof Page, notFound, e2ee: secret.ok === 1, operator: typeof HumanOpsOperatorClient,
  };
}
