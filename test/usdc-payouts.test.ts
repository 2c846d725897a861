// USDC payouts on a local Base (anvil): booked into clearing, signed from the hot wallet with a nonce
// allocated in SQL, stored before broadcast, confirmed, and exactly once through crashes, reverts,
// a dry wallet and an address cool-down. Each payout's USDC is read back from the chain, and the
// operator's alert (Web Push, decrypted from a stand-in push service) when the payout settles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Address, createPublicClient, createTestClient, createWalletClient, encodeAbiParameters, erc20Abi, type Hash, http, keccak256, toHex,
} from 'viem';
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import artifact from '../contracts/TestUSDC.json' with { type: 'json' };
import { ANVIL_MNEMONIC, startAnvil } from './chain/anvil.ts';
import { startRpcProxy } from './chain/rpc-proxy.ts';
import { type BrowserSubscription, startPushService, vapidEnv } from './helpers/push-service.ts';
import { type Agent, type Operator, type Stack, startStack } from './helpers/stack.ts';

const HOT_KEY = generatePrivateKey();
const HOT = privateKeyToAccount(HOT_KEY).address;
const COOLDOWN_SECONDS = 3;
const usdc = (dollars: number) => BigInt(Math.round(dollars * 100)) * 10_000n;

let chain: Awaited<ReturnType<typeof startAnvil>>;
let proxy: Awaited<ReturnType<typeof startRpcProxy>>;
let token: Address;
let stack: Stack;
let agent: Agent;
let reader: ReturnType<typeof createPublicClient>;
let node: ReturnType<typeof createTestClient>;
let funder: ReturnType<typeof createWalletClient>;
let push: Awaited<ReturnType<typeof startPushService>>;

const balanceOf = (address: Address) => reader.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [address] });
/** The TestUSDC balance slot of `address` (mapping at slot 3): set directly to drain or refill the hot wallet. */
const setUsdc = (address: Address, units: bigint) =>
  node.setStorageAt({ address: token, index: keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [address, 3n])), value: toHex(units, { size: 32 }) });
const mint = async (to: Address, units: bigint) => {
  const hash = await funder.writeContract({ address: token, abi: artifact.abi, functionName: 'mint', args: [to, units], chain: null, account: funder.account! });
  await reader.waitForTransactionReceipt({ hash });
};
const waitFor = async <T>(probe: () => Promise<T | undefined | null | false>, what: string, ms = 15_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
/** Subscribes the operator to alerts, as the app does once it is allowed to. */
async function subscribe(operator: Operator) {
  const subscription = push.subscription();
  expect((await stack.call('POST', '/operator/push-subscriptions', { headers: operator.auth, body: { ...subscription, expirationTime: null } })).status).toBe(201);
  return subscription;
}
/** What the push service received for the subscription, decrypted as the browser would. */
const alertsTo = (subscription: BrowserSubscription) =>
  push.received.filter((p) => subscription.endpoint.endsWith(`/push/${p.id}`)).map((p) => JSON.parse(subscription.decrypt(p.body)));
const payoutRow = async (id: string) => (await stack.sql`select * from payouts where id = ${id}`)[0];
const clearingMatchesInFlight = async () => {
  const [{ clearing, in_flight }] = await stack.sql`
    select (select balance from ledger_accounts where kind = 'payout_clearing')::bigint as clearing,
           (select coalesce(sum(amount_cents), 0) from payouts where status in ('queued', 'broadcast'))::bigint as in_flight`;
  expect(clearing).toBe(in_flight);
};

/** An operator with `usd` available from completed digital tasks, and a payout address of its own. */
async function paidOperator(usd: number, wallet: PrivateKeyAccount = privateKeyToAccount(generatePrivateKey())) {
  const operator = await stack.registerOperator();
  // Digital tasks pay $10 to $25 each: `usd` in equal whole-cent parts.
  const parts = Math.ceil(usd / 25);
  for (let part = 0; part < parts; part++) {
    const cents = Math.floor((usd * 100) / parts) + (part < (usd * 100) % parts ? 1 : 0);
    const body = { task_type: 'CONTENT_REVIEW', reward_usd: cents / 100, location: undefined, proof_requirements: ['Written assessment'] };
    const created = await stack.createTask(agent, body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const task = created.body.task_id;
    expect((await stack.call('POST', `/operator/tasks/${task}/accept`, { headers: operator.auth })).status).toBe(200);
    expect((await stack.call('POST', `/operator/tasks/${task}/submit`, { headers: operator.auth, body: { confirmation_text: 'Reviewed' } })).status).toBe(200);
    expect((await stack.call('POST', `/tasks/${task}/verify`, { key: agent.key, body: { decision: 'APPROVE' } })).status).toBe(200);
  }
  await setAddress(operator, wallet);
  return { ...operator, wallet };
}
async function setAddress(operator: Operator, wallet: PrivateKeyAccount) {
  const { message } = (await stack.call('GET', '/operator/payout-address/challenge', { headers: operator.auth })).body;
  const reply = await stack.call('PUT', '/operator/payout-address', { headers: operator.auth, body: { address: wallet.address, signature: await wallet.signMessage({ message }) } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}
const requestPayout = (operator: Operator, amount: number, headers: Record<string, string> = {}) =>
  stack.call('POST', '/operator/payout', { headers: { ...operator.auth, ...headers }, body: { amount_usd: amount } });
const available = async (operator: Operator) => (await stack.call('GET', '/operator/earnings', { headers: operator.auth })).body.available_balance;
/** Ticks until the payout is settled (mining a block between ticks for its confirmations). */
async function settle(id: string) {
  return waitFor(async () => {
    await stack.tick();
    const row = await payoutRow(id);
    if (row.status === 'completed' || row.status === 'failed') return row;
    await chain.mine(1);
    return undefined;
  }, `payout ${id} to settle`);
}

beforeAll(async () => {
  chain = await startAnvil();
  token = await chain.deploy('USDC');
  proxy = await startRpcProxy(chain.rpcUrl);
  const local = { id: 8453, name: 'base-local', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [chain.rpcUrl] } } } as const;
  reader = createPublicClient({ chain: local, transport: http(chain.rpcUrl) });
  node = createTestClient({ chain: local, mode: 'anvil', transport: http(chain.rpcUrl) });
  funder = createWalletClient({ chain: local, account: mnemonicToAccount(ANVIL_MNEMONIC), transport: http(chain.rpcUrl) });
  await node.setBalance({ address: HOT, value: 10n ** 18n });
  await mint(HOT, usdc(5_000));
  push = await startPushService();
  stack = await startStack({
    env: {
      ...vapidEnv(), DENO_CERT: push.caFile,
      BASE_RPC_URL: proxy.url, USDC_CONTRACT_ADDRESS: token, BASE_MIN_CONFIRMATIONS: '2', PAYOUT_PRIVATE_KEY: HOT_KEY,
      PAYOUT_ADDRESS_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS), PAYOUT_DAILY_CAP_USD: '200', BASE_EXPLORER_URL: 'https://sepolia.basescan.org/',
    },
  });
  agent = await stack.registerAgent('payer');
  // The agent's deposit, credited from a real transfer to its deposit address.
  const address = (await stack.call('GET', '/agents/deposit/address', { key: agent.key })).body.address;
  const hash = await chain.transfer(token, address, usdc(9_000));
  await chain.mine(2);
  expect((await stack.call('POST', '/agents/deposit/usdc', { key: agent.key, body: { tx_hash: hash, amount_usdc: '9000' } })).status).toBe(200);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await proxy?.stop();
  await chain?.stop();
  await push?.stop();
});

describe('USDC payouts on a local Base', () => {
  it('sends a payout from the hot wallet: the address receives exactly the amount, once confirmed, with the transaction in the history', async () => {
    const operator = await paidOperator(40);
    const alerts = await subscribe(operator);
    const before = { operator: await balanceOf(operator.wallet.address), hot: await balanceOf(HOT) };
    const reply = await requestPayout(operator, 25.5);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toMatchObject({ status: 'queued', amount_usd: 25.5, method: 'usdc', address: operator.wallet.address, tx_hash: null, explorer_url: null });
    expect(reply.body.message).toMatch(/^Payout queued/);
    expect(await available(operator)).toBe(14.5);
    await clearingMatchesInFlight();

    await stack.tick();
    const sent = await payoutRow(reply.body.payout_id);
    expect(sent.status).toBe('broadcast');
    expect(sent.tx_hash).toBe(keccak256(sent.signed_tx));
    expect(await balanceOf(operator.wallet.address)).toBe(before.operator + usdc(25.5)); // mined, 1 of 2 confirmations
    await stack.tick();
    expect((await payoutRow(reply.body.payout_id)).status).toBe('broadcast');
    await clearingMatchesInFlight();

    await chain.mine(1);
    await stack.tick();
    const status = await stack.call('GET', `/operator/payout/status/${reply.body.payout_id}`, { headers: operator.auth });
    expect(status.body).toEqual({
      payout_id: reply.body.payout_id, status: 'completed', amount_usd: 25.5, method: 'usdc', address: operator.wallet.address,
      tx_hash: sent.tx_hash, explorer_url: `https://sepolia.basescan.org/tx/${sent.tx_hash}`, failure: null,
      created_at: reply.body.created_at, completed_at: expect.any(String),
    });
    expect(await balanceOf(operator.wallet.address)).toBe(before.operator + usdc(25.5));
    expect(await balanceOf(HOT)).toBe(before.hot - usdc(25.5));
    const receipt = await reader.getTransactionReceipt({ hash: sent.tx_hash as Hash });
    expect(receipt.from.toLowerCase()).toBe(HOT.toLowerCase());
    const history = await stack.call('GET', '/operator/payouts', { headers: operator.auth });
    expect(history.body.data).toEqual([status.body]);
    await clearingMatchesInFlight();

    // Booking and broadcasting alert nobody; the confirmed payout does, once.
    const short = `${operator.wallet.address.slice(0, 6)}…${operator.wallet.address.slice(-4)}`;
    await stack.tick();
    await stack.tick();
    expect(alertsTo(alerts).filter((a) => a.payout_id)).toEqual([
      { title: 'Your payout arrived', body: `$25.50 sent to ${short}`, url: '/#/earnings', payout_id: reply.body.payout_id },
    ]);
  });

  it('pays a request retried with the same Idempotency-Key once', async () => {
    const operator = await paidOperator(30);
    const before = await balanceOf(operator.wallet.address);
    const first = await requestPayout(operator, 20, { 'idempotency-key': 'payout-once' });
    const again = await requestPayout(operator, 20, { 'idempotency-key': 'payout-once' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    await settle(first.body.payout_id);
    await stack.tick();
    expect(await balanceOf(operator.wallet.address)).toBe(before + usdc(20));
    expect(await stack.sql`select count(*)::int as n from payouts where operator_id = ${operator.id}`).toEqual([{ n: 1 }]);
  });

  it('books 20 concurrent requests within the available balance and signs each with its own nonce, even with two workers', async () => {
    const operator = await paidOperator(150);
    const before = await balanceOf(operator.wallet.address);
    const replies = await Promise.all(Array.from({ length: 20 }, () => requestPayout(operator, 10)));
    expect(replies.map((r) => r.status).sort()).toEqual([...Array(15).fill(200), ...Array(5).fill(402)]);
    expect(await available(operator)).toBe(0);
    const second = await stack.startInstance();
    try {
      await Promise.all([stack.tick(), second.tick(), stack.tick()]);
    } finally {
      await second.stop();
    }
    // Each new transfer mines a block, so the first ones may be confirmed already.
    const rows = await stack.sql`select nonce, tx_hash from payouts where operator_id = ${operator.id} and status in ('broadcast', 'completed')`;
    expect(rows).toHaveLength(15);
    expect(new Set(rows.map((r) => r.nonce)).size).toBe(15);
    for (const { payout_id } of replies.filter((r) => r.status === 200).map((r) => r.body)) await settle(payout_id);
    expect(await balanceOf(operator.wallet.address)).toBe(before + usdc(150));
    const [{ n }] = await stack.sql`select count(*)::int as n from payouts where operator_id = ${operator.id} and status = 'completed'`;
    expect(n).toBe(15);

    // The history pages by cursor as by offset: newest first, each payout once.
    const pages = async (by: 'cursor' | 'offset') => {
      const ids: string[] = [];
      let next: string | null = null;
      for (let page = 0; page < 4; page++) {
        const query = by === 'offset' ? `offset=${page * 4}` : next ? `cursor=${next}` : '';
        const reply = await stack.call('GET', `/operator/payouts?limit=4&${query}`, { headers: operator.auth });
        expect(reply.body.pagination, `${by} page ${page}: ${JSON.stringify(reply.body)}`).toMatchObject({ limit: 4, total: 15, total_exact: true, has_more: page < 3 });
        ids.push(...reply.body.data.map((p: { payout_id: string }) => p.payout_id));
        next = reply.body.pagination.next_cursor;
      }
      return ids;
    };
    const byCursor = await pages('cursor');
    expect(byCursor).toEqual(await pages('offset'));
    expect(new Set(byCursor).size).toBe(15);
    const created = await stack.sql`select id from payouts where operator_id = ${operator.id} order by created_at desc, id desc`;
    expect(byCursor).toEqual(created.map((r) => r.id));
  });

  it('is killed (SIGKILL) between signing and broadcast: the stored transaction is sent after the restart, once', async () => {
    const operator = await paidOperator(20);
    const before = { operator: await balanceOf(operator.wallet.address), nonce: await reader.getTransactionCount({ address: HOT }) };
    const { body } = await requestPayout(operator, 20);
    proxy.setMode('hold');
    const tick = stack.tick().catch(() => 'killed');
    const signed = await waitFor(async () => proxy.holding() > 0 && (await payoutRow(body.payout_id)), 'the signed payout');
    expect(signed.status).toBe('broadcast');
    await stack.killApi();
    expect(await tick).toBe('killed');
    proxy.drop();
    proxy.setMode('pass');
    expect(await reader.getTransactionCount({ address: HOT })).toBe(before.nonce); // nothing reached the chain
    await stack.restartApi();
    const settled = await settle(body.payout_id);
    expect(settled).toMatchObject({ status: 'completed', tx_hash: signed.tx_hash, signed_tx: signed.signed_tx });
    expect(await balanceOf(operator.wallet.address)).toBe(before.operator + usdc(20));
    expect(await reader.getTransactionCount({ address: HOT })).toBe(before.nonce + 1);
  });

  it('is killed (SIGKILL) right after broadcast: the restart confirms the transaction the chain has, and sends no other', async () => {
    const operator = await paidOperator(20);
    const before = { operator: await balanceOf(operator.wallet.address), nonce: await reader.getTransactionCount({ address: HOT }) };
    const { body } = await requestPayout(operator, 20);
    proxy.setMode('swallow');
    const tick = stack.tick().catch(() => 'killed');
    await waitFor(async () => (await reader.getTransactionCount({ address: HOT })) > before.nonce, 'the transfer on chain');
    await stack.killApi();
    expect(await tick).toBe('killed');
    proxy.setMode('pass');
    await stack.restartApi();
    const settled = await settle(body.payout_id);
    expect(settled.status).toBe('completed');
    expect(await balanceOf(operator.wallet.address)).toBe(before.operator + usdc(20));
    expect(await reader.getTransactionCount({ address: HOT })).toBe(before.nonce + 1);
  });

  it('fails a transfer that reverted and returns its amount to the available balance', async () => {
    const operator = await paidOperator(30);
    const alerts = await subscribe(operator);
    const before = await balanceOf(operator.wallet.address);
    const { body } = await requestPayout(operator, 30);
    expect(await available(operator)).toBe(0);
    proxy.setMode('hold');
    const tick = stack.tick();
    await waitFor(async () => proxy.holding() > 0, 'the signed payout');
    const funds = await balanceOf(HOT);
    await setUsdc(HOT, 0n); // the wallet is emptied after signing: the transfer reverts when mined
    proxy.setMode('pass');
    await proxy.release();
    await tick;
    const settled = await settle(body.payout_id);
    await setUsdc(HOT, funds);
    expect(settled.status).toBe('failed');
    expect(settled.failure).toMatch(/reverted/);
    expect((await reader.getTransactionReceipt({ hash: settled.tx_hash })).status).toBe('reverted');
    expect(await balanceOf(operator.wallet.address)).toBe(before);
    expect(await available(operator)).toBe(30);
    const status = await stack.call('GET', `/operator/payout/status/${body.payout_id}`, { headers: operator.auth });
    expect(status.body).toMatchObject({ status: 'failed', failure: expect.stringMatching(/back in your available balance/) });
    await clearingMatchesInFlight();
    await stack.tick();
    expect(alertsTo(alerts).filter((a) => a.payout_id)).toEqual([
      { title: 'Your payout did not go through', body: '$30.00 is back in your available balance', url: '/#/earnings', payout_id: body.payout_id },
    ]);
  });

  it('keeps payouts queued while the hot wallet is dry, says so in /health, and sends them once it is funded', async () => {
    const operator = await paidOperator(15);
    const funds = await balanceOf(HOT);
    await setUsdc(HOT, usdc(10));
    const { body } = await requestPayout(operator, 15);
    await stack.tick();
    await stack.tick();
    expect((await payoutRow(body.payout_id)).status).toBe('queued');
    const health = await stack.call('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.payouts).toMatchObject({ hot_wallet: 'dry', queued: 1, reason: expect.stringMatching(/10 USDC spare, the next payout needs 15/) });
    expect(stack.logs.filter((line) => line.includes('payout hot wallet is dry'))).toHaveLength(1);
    expect(stack.logs.join('\n')).not.toContain(HOT_KEY.slice(2));

    await setUsdc(HOT, funds);
    expect((await settle(body.payout_id)).status).toBe('completed');
    expect((await stack.call('GET', '/health')).body.payouts).toEqual({ hot_wallet: 'ok', queued: 0 });
  });

  it('waits out the cool-down of a changed address, then pays the new address only', async () => {
    const first = privateKeyToAccount(generatePrivateKey());
    const second = privateKeyToAccount(generatePrivateKey());
    const operator = await paidOperator(12, first);
    const changed = await setAddress(operator, second);
    const { body } = await requestPayout(operator, 12);
    expect(body.address).toBe(second.address);
    expect(body.message).toContain(changed.payout_address_cooldown_ends_at);
    await stack.tick();
    expect((await payoutRow(body.payout_id)).status).toBe('queued');
    await new Promise((r) => setTimeout(r, Date.parse(changed.payout_address_cooldown_ends_at) - Date.now() + 100));
    expect((await settle(body.payout_id)).status).toBe('completed');
    expect(await balanceOf(second.address)).toBe(usdc(12));
    expect(await balanceOf(first.address)).toBe(0n);
  });

  it('needs a payout address, and keeps to the daily cap', async () => {
    const operator = await stack.registerOperator();
    const none = await requestPayout(operator, 10);
    expect(none.status).toBe(409);
    expect(none.body.code).toBe('payout_address_required');
    const rich = await paidOperator(225);
    expect((await requestPayout(rich, 180)).status).toBe(200);
    const over = await requestPayout(rich, 30);
    expect(over.status).toBe(403);
    expect(over.body).toMatchObject({ code: 'daily_payout_cap_reached', details: { cap_usd: 200, paid_out_24h_usd: 180 } });
    expect(await available(rich)).toBe(45);
    expect((await requestPayout(rich, 20)).status).toBe(200);
  });
});
