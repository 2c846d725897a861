// Test mode as the API outline describes it: payouts right after completion, a deposit address to
// try (marked test-only), quiet idle ticks, and real deposits on the local chain of `--chain`.
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPayoutKey, sendTestUsdc, startLocalChain, testUsdcBalance } from '../scripts/lib/chain.mjs';
import { freePort } from '../scripts/lib/ports.mjs';
import { makeJpeg } from './helpers/images.ts';
import { type Agent, type Stack, startStack, txHash } from './helpers/stack.ts';

const TEST_MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

let stack: Stack;
let agent: Agent;
beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent('tester');
  await stack.deposit(agent, 500);
});
afterAll(() => stack?.stop());

describe('test mode', () => {
  it('pays out right after the task completes: no hold on earnings', async () => {
    const operator = await stack.registerOperator();
    const taskId = (await stack.createTask(agent)).body.task_id as string;
    await stack.call('POST', `/operator/tasks/${taskId}/accept`, { headers: operator.auth });
    const photo = await stack.upload(operator, taskId, makeJpeg());
    await stack.call('POST', `/operator/tasks/${taskId}/submit`, { headers: operator.auth, body: { photos: [photo.body.path] } });
    expect((await stack.call('POST', `/tasks/${taskId}/verify`, { key: agent.key, body: { decision: 'APPROVE' } })).body.status).toBe('COMPLETED');
    // No tick in between: the operator's own requests release what is due.
    const earnings = await stack.call('GET', '/operator/earnings', { headers: operator.auth });
    expect(earnings.body).toMatchObject({ pending_balance: 0, available_balance: 25 });
    const payout = await stack.call('POST', '/operator/payout', { headers: operator.auth, body: { amount_usd: 25 } });
    expect(payout.status, JSON.stringify(payout.body)).toBe(200);
    expect(payout.body).toMatchObject({ status: 'completed', amount_usd: 25 });
  });

  it('gives each agent a deposit address from the public test key, marked test-only', async () => {
    const reply = await stack.call('GET', '/agents/deposit/address', { key: agent.key });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const [{ deposit_index }] = await stack.sql`select deposit_index from agents where id = ${agent.id}`;
    expect(reply.body).toMatchObject({
      address: mnemonicToAccount(TEST_MNEMONIC, { addressIndex: deposit_index }).address,
      chain: 'base',
      test_only: true,
      warning: expect.stringContaining('never send real funds'),
    });
    const other = await stack.registerAgent('other');
    expect((await stack.call('GET', '/agents/deposit/address', { key: other.key })).body.address).not.toBe(reply.body.address);
  });

  it('logs a tick only when it did something', async () => {
    await stack.tick(); // settle anything left from the tests above
    const ticks = () => stack.logs.filter((line) => line.includes('"route":"/api/v1/internal/tick"')).length;
    const before = ticks();
    await stack.tick();
    await stack.tick();
    expect(ticks()).toBe(before);
    const taskId = (await stack.createTask(agent)).body.task_id as string;
    await stack.sql`update tasks set deadline = now() - interval '1 second' where id = ${taskId}`;
    await stack.tick();
    await new Promise((r) => setTimeout(r, 200)); // the log line follows the response
    expect(ticks()).toBe(before + 1);
  });
});

describe('test mode with the local chain (npm start -- --chain)', () => {
  let chain: Awaited<ReturnType<typeof startLocalChain>>;
  let onChain: Stack;
  beforeAll(async () => {
    chain = await startLocalChain({ port: await freePort(0), payoutAddress: privateKeyToAccount(localPayoutKey()).address });
    onChain = await startStack({
      env: {
        // What `npm start -- --chain` gives the API: the chain, test mode's own deposit key, the funded payout wallet.
        BASE_RPC_URL: chain.rpcUrl, BASE_CHAIN_ID: '8453', USDC_CONTRACT_ADDRESS: chain.usdcAddress, BASE_MIN_CONFIRMATIONS: '1',
        PAYOUT_PRIVATE_KEY: localPayoutKey(),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await onChain?.stop();
    await chain?.stop();
  });

  it('credits a real transfer to the agent\'s address, and no made-up hash', async () => {
    const newcomer = await onChain.registerAgent('chained');
    const { address, test_only } = (await onChain.call('GET', '/agents/deposit/address', { key: newcomer.key })).body;
    expect(test_only).toBe(true);
    const made_up = await onChain.call('POST', '/agents/deposit/usdc', { key: newcomer.key, body: { tx_hash: txHash(), amount_usdc: '100.00' } });
    expect(made_up.status).toBe(404);
    const tx = await sendTestUsdc({ rpcUrl: chain.rpcUrl, usdcAddress: chain.usdcAddress, to: address, usd: '100' });
    const credited = await onChain.call('POST', '/agents/deposit/usdc', { key: newcomer.key, body: { tx_hash: tx, amount_usdc: '100.00' } });
    expect(credited.status, JSON.stringify(credited.body)).toBe(200);
    expect((await onChain.call('GET', '/agents/balance', { key: newcomer.key })).body.deposit_balance).toBe(100);
  });

  it('pays an operator from the funded payout wallet: the USDC arrives at its address', async () => {
    const agent = await onChain.registerAgent('payer');
    const { address } = (await onChain.call('GET', '/agents/deposit/address', { key: agent.key })).body;
    const tx = await sendTestUsdc({ rpcUrl: chain.rpcUrl, usdcAddress: chain.usdcAddress, to: address, usd: '100' });
    expect((await onChain.call('POST', '/agents/deposit/usdc', { key: agent.key, body: { tx_hash: tx, amount_usdc: '100.00' } })).status).toBe(200);
    const operator = await onChain.registerOperator();
    const task = (await onChain.createTask(agent, { task_type: 'CONTENT_REVIEW', reward_usd: 20, location: undefined, proof_requirements: ['Written assessment'] })).body.task_id;
    await onChain.call('POST', `/operator/tasks/${task}/accept`, { headers: operator.auth });
    await onChain.call('POST', `/operator/tasks/${task}/submit`, { headers: operator.auth, body: { confirmation_text: 'Reviewed' } });
    expect((await onChain.call('POST', `/tasks/${task}/verify`, { key: agent.key, body: { decision: 'APPROVE' } })).status).toBe(200);
    const wallet = privateKeyToAccount(generatePrivateKey());
    const { message } = (await onChain.call('GET', '/operator/payout-address/challenge', { headers: operator.auth })).body;
    await onChain.call('PUT', '/operator/payout-address', { headers: operator.auth, body: { address: wallet.address, signature: await wallet.signMessage({ message }) } });
    const payout = await onChain.call('POST', '/operator/payout', { headers: operator.auth, body: { amount_usd: 20 } });
    expect(payout.body).toMatchObject({ status: 'queued', method: 'usdc', address: wallet.address });
    await onChain.tick(); // signed and sent: mined at once, 1 confirmation
    await onChain.tick();
    const status = await onChain.call('GET', `/operator/payout/status/${payout.body.payout_id}`, { headers: operator.auth });
    expect(status.body).toMatchObject({ status: 'completed', tx_hash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect(await testUsdcBalance({ rpcUrl: chain.rpcUrl, usdcAddress: chain.usdcAddress, address: wallet.address })).toBe('20.00');
  });
});
