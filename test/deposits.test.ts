import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Stack, startStack, txHash } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent('depositor');
});
afterAll(() => stack?.stop());

const balance = async (a: Agent) => (await stack.call('GET', '/agents/balance', { key: a.key })).body;

describe('POST /agents/deposit/usdc (test mode)', () => {
  it('credits at once, as the reference shows', async () => {
    const hash = txHash();
    const reply = await stack.call('POST', '/agents/deposit/usdc', { key: agent.key, body: { tx_hash: hash, amount_usdc: '100.00' } });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      transaction_id: expect.stringMatching(/^txn_/),
      amount_usd: 100,
      status: 'confirmed',
      chain: 'base',
      message: 'USDC deposit confirmed (test mode)',
    });
    expect(await balance(agent)).toEqual({ deposit_balance: 100, escrow_balance: 0, currency: 'USD' });
    const [row] = await stack.sql`select chain, tx_hash, log_index, amount_cents from deposits where id = ${reply.body.transaction_id}`;
    expect(row).toEqual({ chain: 'base', tx_hash: hash, log_index: 0, amount_cents: '10000' });
  });

  it('never credits the same transaction twice, whoever sends it and however it is spelled', async () => {
    const other = await stack.registerAgent('copycat');
    const hash = txHash();
    const before = await balance(agent);
    expect((await stack.call('POST', '/agents/deposit/usdc', { key: agent.key, body: { tx_hash: hash, amount_usdc: 20 } })).status).toBe(200);
    const again = await stack.call('POST', '/agents/deposit/usdc', { key: agent.key, body: { tx_hash: hash.toUpperCase().replace('0X', '0x'), amount_usdc: 20 } });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ error: 'This transaction has already been credited', code: 'deposit_already_credited' });
    const stolen = await stack.call('POST', '/agents/deposit/usdc', { key: other.key, body: { tx_hash: hash, amount_usdc: 20 } });
    expect(stolen.status).toBe(409);
    expect((await balance(agent)).deposit_balance).toBe(before.deposit_balance + 20);
    expect((await balance(other)).deposit_balance).toBe(0);
  });

  it('credits a hash once when it is sent 10 times at once', async () => {
    const racer = await stack.registerAgent('racer');
    const hash = txHash();
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => stack.call('POST', '/agents/deposit/usdc', { key: racer.key, body: { tx_hash: hash, amount_usdc: '10.00' } })),
    );
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(9);
    expect((await balance(racer)).deposit_balance).toBe(10);
  });

  it.each([
    [{ amount_usdc: '100.00' }, 'tx_hash: is required'],
    [{ tx_hash: '0xabc', amount_usdc: '100.00' }, 'tx_hash: must be a 0x-prefixed 32-byte hex transaction hash'],
    [{ tx_hash: 'ab'.repeat(32), amount_usdc: '100.00' }, 'tx_hash: must be a 0x-prefixed 32-byte hex transaction hash'],
    [{ tx_hash: `0x${'zz'.repeat(32)}`, amount_usdc: '100.00' }, 'tx_hash: must be a 0x-prefixed 32-byte hex transaction hash'],
    [{ tx_hash: 'HASH' }, 'amount_usdc: is required'],
    [{ tx_hash: 'HASH', amount_usdc: '4.99' }, 'amount_usdc: must be at least $5.00'],
    [{ tx_hash: 'HASH', amount_usdc: 10000.01 }, 'amount_usdc: must be at most $10,000.00'],
    [{ tx_hash: 'HASH', amount_usdc: '10.001' }, 'amount_usdc: must be a USD amount with at most 2 decimal places'],
    [{ tx_hash: 'HASH', amount_usdc: '-10' }, 'amount_usdc: must be a USD amount with at most 2 decimal places'],
    [{ tx_hash: 'HASH', amount_usdc: '1e3' }, 'amount_usdc: must be a USD amount with at most 2 decimal places'],
    [{ tx_hash: 'HASH', amount_usdc: true }, 'amount_usdc: must be a USD amount, e.g. 25 or "25.50"'],
    [{ tx_hash: 'HASH', amount_usdc: '10', chain: 'base' }, 'chain: is not a known field'],
  ])('refuses %j with a 400 and credits nothing', async (body, error) => {
    const payload = { ...body, ...(body.tx_hash === 'HASH' ? { tx_hash: txHash() } : {}) };
    const before = await balance(agent);
    const reply = await stack.call('POST', '/agents/deposit/usdc', { key: agent.key, body: payload });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error, code: 'validation_error' });
    expect(await balance(agent)).toEqual(before);
  });

  it('accepts the limits exactly: $5 and $10,000', async () => {
    const edge = await stack.registerAgent('edges');
    expect((await stack.call('POST', '/agents/deposit/usdc', { key: edge.key, body: { tx_hash: txHash(), amount_usdc: '5' } })).status).toBe(200);
    expect((await stack.call('POST', '/agents/deposit/usdc', { key: edge.key, body: { tx_hash: txHash(), amount_usdc: 10000 } })).status).toBe(200);
    expect((await balance(edge)).deposit_balance).toBe(10005);
  });

  it('needs an API key', async () => {
    const reply = await stack.call('POST', '/agents/deposit/usdc', { body: { tx_hash: txHash(), amount_usdc: '10' } });
    expect(reply.status).toBe(401);
  });
});

describe('POST /agents/deposit (fiat, test mode)', () => {
  it('adds funds at once and reports the payment status', async () => {
    const payer = await stack.registerAgent('payer');
    const reply = await stack.call('POST', '/agents/deposit', { key: payer.key, body: { amount_usd: 100, payment_method: 'card', return_url: 'https://example.com/done' } });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ transaction_id: expect.stringMatching(/^txn_/), amount_usd: 100, status: 'completed', message: 'Funds added (test mode)' });
    expect((await balance(payer)).deposit_balance).toBe(100);

    const status = await stack.call('POST', '/agents/deposit/status', { key: payer.key, body: { payment_id: reply.body.transaction_id } });
    expect(status.status).toBe(200);
    expect(status.body).toEqual({ payment_id: reply.body.transaction_id, status: 'completed', amount_usd: 100 });

    const foreign = await stack.call('POST', '/agents/deposit/status', { key: agent.key, body: { payment_id: reply.body.transaction_id } });
    expect(foreign.status).toBe(404);
  });

  it.each([
    [{ amount_usd: 100 }, 'payment_method: is required'],
    [{ amount_usd: 100, payment_method: 'paypal' }, 'payment_method: must be "card" or "bank_transfer"'],
    [{ amount_usd: 4, payment_method: 'card' }, 'amount_usd: must be at least $5.00'],
    [{ amount_usd: 100, payment_method: 'card', return_url: 'javascript:alert(1)' }, 'return_url: must be an http(s) URL'],
  ])('refuses %j', async (body, error) => {
    const reply = await stack.call('POST', '/agents/deposit', { key: agent.key, body });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe(error);
  });
});
