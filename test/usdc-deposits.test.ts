// Real USDC deposits on a local chain: per-agent addresses, confirmation with viem, exact crediting.
import { mnemonicToSeedSync } from '@scure/bip39';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HDKey, mnemonicToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import { assertDepositXpub, createOnChainVerifier, depositAddress } from '../functions/_shared/usdc.ts';
import { startAnvil } from './chain/anvil.ts';
import { type Fault, startFaultyRpc } from './chain/faulty-rpc.ts';
import { type Agent, type Stack, startStack } from './helpers/stack.ts';

const ADMIN_KEY = 'admin-key-for-tests-0123456789';
/** The platform's deposit key: account 0 of a test mnemonic, as an xpub (no private key on the server). */
const PLATFORM_MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const XPUB = HDKey.fromMasterSeed(mnemonicToSeedSync(PLATFORM_MNEMONIC)).derive("m/44'/60'/0'/0").publicExtendedKey;
const usdc = (dollars: number) => BigInt(Math.round(dollars * 100)) * 10_000n;

describe('deposit address derivation', () => {
  it('gives child i of the xpub: the same address a wallet holding the mnemonic sees at index i', () => {
    for (const index of [0, 1, 7, 2 ** 31 - 1]) {
      expect(depositAddress(XPUB, index)).toBe(mnemonicToAccount(PLATFORM_MNEMONIC, { addressIndex: index }).address);
    }
    expect(depositAddress(XPUB, 3)).toBe(depositAddress(XPUB, 3));
    expect(depositAddress(XPUB, 3)).not.toBe(depositAddress(XPUB, 4));
  });

  it('reads a testnet tpub as well, and refuses at startup a key whose checksum is wrong', () => {
    const tpub = HDKey.fromMasterSeed(mnemonicToSeedSync(PLATFORM_MNEMONIC), { private: 0x04358394, public: 0x043587cf })
      .derive("m/44'/60'/0'/0").publicExtendedKey;
    expect(tpub.startsWith('tpub')).toBe(true);
    expect(depositAddress(tpub, 5)).toBe(mnemonicToAccount(PLATFORM_MNEMONIC, { addressIndex: 5 }).address);
    expect(() => assertDepositXpub(XPUB)).not.toThrow();
    const corrupt = XPUB.slice(0, -1) + (XPUB.endsWith('a') ? 'b' : 'a');
    expect(() => assertDepositXpub(corrupt)).toThrow(/DEPOSIT_XPUB: Invalid checksum/);
  });
});

describe('USDC deposits on a local Base (anvil, chain id 8453)', () => {
  let chain: Awaited<ReturnType<typeof startAnvil>>;
  let token: Address;
  let otherToken: Address;
  let stack: Stack;
  let alice: Agent & { address: Address };
  let bob: Agent & { address: Address };

  const register = async (name: string) => {
    const reply = await stack.call('POST', '/agents/register', { body: { name, email: `${name}@example.com` }, headers: { 'x-admin-key': ADMIN_KEY } });
    const agent = { id: reply.body.agent_id, key: reply.body.api_key };
    const address = await stack.call('GET', '/agents/deposit/address', { key: agent.key });
    return { ...agent, address: address.body.address as Address };
  };
  const claim = (agent: Agent, txHash: string, amount: string) =>
    stack.call('POST', '/agents/deposit/usdc', { key: agent.key, body: { tx_hash: txHash, amount_usdc: amount } });
  const balanceOf = async (agent: Agent) => (await stack.call('GET', '/agents/balance', { key: agent.key })).body.deposit_balance;

  beforeAll(async () => {
    chain = await startAnvil();
    token = await chain.deploy('USDC');
    otherToken = await chain.deploy('FAKE');
    stack = await startStack({
      env: {
        HUMANOPS_MODE: 'live', HUMANOPS_ADMIN_KEY: ADMIN_KEY, CLERK_JWKS_URL: 'http://127.0.0.1:9/jwks', CLERK_ISSUER: 'http://issuer.test',
        BASE_RPC_URL: chain.rpcUrl, USDC_CONTRACT_ADDRESS: token, BASE_MIN_CONFIRMATIONS: '3', DEPOSIT_XPUB: XPUB,
      },
    });
    alice = await register('alice');
    bob = await register('bob');
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await chain?.stop();
  });

  it("shows each agent its own address, the token and the confirmations needed", async () => {
    const reply = await stack.call('GET', '/agents/deposit/address', { key: alice.key });
    expect(reply.body).toEqual({
      address: alice.address, chain: 'base', chain_id: 8453, token: { symbol: 'USDC', address: token, decimals: 6 },
      min_confirmations: 3, minimum_usd: 5, maximum_usd: 10000,
    });
    const [row] = await stack.sql`select deposit_index from agents where id = ${alice.id}`;
    expect(alice.address).toBe(mnemonicToAccount(PLATFORM_MNEMONIC, { addressIndex: row.deposit_index }).address);
    expect(bob.address).not.toBe(alice.address);
  });

  it('waits for confirmations, then credits exactly what arrived, once', async () => {
    const hash = await chain.transfer(token, alice.address, usdc(125.5));
    const early = await claim(alice, hash, '125.50');
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'insufficient_confirmations', details: { confirmations: 1, required: 3 } });
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await balanceOf(alice)).toBe(0);

    await chain.mine(2);
    const credited = await claim(alice, hash, '125.50');
    expect(credited.status).toBe(200);
    expect(credited.body).toEqual({ transaction_id: expect.stringMatching(/^txn_/), amount_usd: 125.5, status: 'confirmed', chain: 'base', message: 'USDC deposit confirmed' });
    expect(await balanceOf(alice)).toBe(125.5);
    expect((await claim(alice, hash, '125.50')).status).toBe(409);
    expect(await balanceOf(alice)).toBe(125.5);
  });

  it('credits a hash sent 10 times at once by two agents once, to the agent it was sent to', async () => {
    const hash = await chain.transfer(token, bob.address, usdc(40));
    await chain.mine(3);
    const before = { alice: await balanceOf(alice), bob: await balanceOf(bob) };
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => claim(i % 2 ? alice : bob, hash, '40')));
    const fromBob = replies.filter((_, i) => i % 2 === 0).map((r) => r.status).sort();
    const fromAlice = replies.filter((_, i) => i % 2 === 1).map((r) => r.body.code);
    expect(fromBob).toEqual([200, 409, 409, 409, 409]);
    expect(fromAlice).toEqual(Array(5).fill('no_usdc_transfer'));
    expect(await balanceOf(bob)).toBe(before.bob + 40);
    expect(await balanceOf(alice)).toBe(before.alice);
  });

  it.each([
    ['a reverted transaction', 400, 'transaction_reverted'],
    ['another token', 400, 'no_usdc_transfer'],
    ["another agent's address", 400, 'no_usdc_transfer'],
    ['a different amount', 400, 'amount_mismatch'],
    ['a sub-cent amount', 400, 'sub_cent_amount'],
    ['an unknown hash', 404, 'transaction_not_found'],
  ])('refuses %s and credits nobody', async (name, status, code) => {
    let hash: string;
    let amount = '20.00';
    if (name === 'a reverted transaction') hash = await chain.transfer(token, alice.address, usdc(10 ** 12), { gas: 100_000n });
    else if (name === 'another token') hash = await chain.transfer(otherToken, alice.address, usdc(20));
    else if (name === "another agent's address") hash = await chain.transfer(token, bob.address, usdc(20));
    else if (name === 'a different amount') hash = await chain.transfer(token, alice.address, usdc(19.99));
    else if (name === 'a sub-cent amount') {
      hash = await chain.transfer(token, alice.address, usdc(20) + 1n);
      amount = '20.00';
    } else hash = `0x${'ab'.repeat(32)}`;
    await chain.mine(3);
    const before = { alice: await balanceOf(alice), bob: await balanceOf(bob) };
    const reply = await claim(alice, hash, amount);
    expect(reply.status, JSON.stringify(reply.body)).toBe(status);
    expect(reply.body.code).toBe(code);
    expect({ alice: await balanceOf(alice), bob: await balanceOf(bob) }).toEqual(before);
  });

  it('with several transfers in one transaction, credits the one with the claimed amount', async () => {
    const hash = await chain.transferMany(token, [bob.address, alice.address, alice.address], [usdc(7), usdc(8), usdc(9)]);
    await chain.mine(3);
    const before = await balanceOf(alice);
    expect((await claim(alice, hash, '9')).status).toBe(200);
    expect((await claim(alice, hash, '8')).status).toBe(200);
    expect((await claim(alice, hash, '8')).status).toBe(409);
    expect(await balanceOf(alice)).toBe(before + 17);
    const logs = await stack.sql`select log_index from deposits where tx_hash = ${hash.toLowerCase()} order by log_index`;
    expect(logs.map((l) => l.log_index)).toEqual([1, 2]);
  });

  it('credits two equal transfers in one transaction one claim each, and a third claim not at all', async () => {
    const hash = await chain.transferMany(token, [alice.address, alice.address], [usdc(6), usdc(6)]);
    await chain.mine(3);
    const before = await balanceOf(alice);
    const replies = await Promise.all([claim(alice, hash, '6'), claim(alice, hash, '6')]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    const third = await claim(alice, hash, '6');
    expect(third.status).toBe(409);
    expect(third.body.code).toBe('deposit_already_credited');
    expect(await balanceOf(alice)).toBe(before + 12);
    const logs = await stack.sql`select log_index from deposits where tx_hash = ${hash.toLowerCase()} order by log_index`;
    expect(logs.map((l) => l.log_index)).toEqual([0, 1]);
  });

  it('refuses to confirm anything from an RPC that serves another chain', async () => {
    const verifier = createOnChainVerifier({ rpcUrl: chain.rpcUrl, chainId: 84532, usdcAddress: token, minConfirmations: 3 });
    const hash = await chain.transfer(token, alice.address, usdc(10));
    await chain.mine(3);
    await expect(verifier.verify({ agentId: alice.id, txHash: hash, amountCents: 1000, address: alice.address }))
      .rejects.toMatchObject({ status: 503, code: 'chain_mismatch', headers: { 'Retry-After': '60' } });
  });

  it.each<[Fault]>([['http-502'], ['hang'], ['method-not-found']])('answers an RPC failure (%s) with a 503, never an answer about the hash', async (fault) => {
    const rpc = await startFaultyRpc(fault);
    try {
      const verifier = createOnChainVerifier({ rpcUrl: rpc.url, chainId: 8453, usdcAddress: token, minConfirmations: 3, timeoutMs: 300, retryCount: 1 });
      // A hanging RPC is given up on (timeoutMs): without that, this test would run into its own timeout.
      await expect(verifier.verify({ agentId: alice.id, txHash: `0x${'ef'.repeat(32)}`, amountCents: 1000, address: alice.address }))
        .rejects.toMatchObject({ status: 503, code: 'rpc_unavailable', headers: { 'Retry-After': '10' } });
      if (fault !== 'method-not-found') expect(rpc.requests()).toBe(2); // one retry
    } finally {
      await rpc.stop();
    }
  }, 20_000);

  it('answers 503 with a retry hint when the RPC is down, and credits nothing', async () => {
    const down = await startStack({
      env: {
        HUMANOPS_MODE: 'live', HUMANOPS_ADMIN_KEY: ADMIN_KEY, CLERK_JWKS_URL: 'http://127.0.0.1:9/jwks', CLERK_ISSUER: 'http://issuer.test',
        BASE_RPC_URL: 'http://127.0.0.1:9', USDC_CONTRACT_ADDRESS: token, BASE_MIN_CONFIRMATIONS: '3', DEPOSIT_XPUB: XPUB,
      },
    });
    try {
      const reg = await down.call('POST', '/agents/register', { body: { name: 'offline', email: 'o@example.com' }, headers: { 'x-admin-key': ADMIN_KEY } });
      const reply = await down.call('POST', '/agents/deposit/usdc', { key: reg.body.api_key, body: { tx_hash: `0x${'cd'.repeat(32)}`, amount_usdc: '10' } });
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe('rpc_unavailable');
      expect(reply.headers.get('retry-after')).toBe('10');
      expect(await down.sql`select count(*)::int as n from deposits`).toEqual([{ n: 0 }]);
    } finally {
      await down.stop();
    }
  });

  it('without DEPOSIT_XPUB shows no address and confirms nothing (503 each), even with an RPC', async () => {
    const unconfigured = await startStack({
      env: {
        HUMANOPS_MODE: 'live', HUMANOPS_ADMIN_KEY: ADMIN_KEY, CLERK_JWKS_URL: 'http://127.0.0.1:9/jwks', CLERK_ISSUER: 'http://issuer.test',
        BASE_RPC_URL: chain.rpcUrl, USDC_CONTRACT_ADDRESS: token, BASE_MIN_CONFIRMATIONS: '3',
      },
    });
    try {
      const reg = await unconfigured.call('POST', '/agents/register', { body: { name: 'noxpub', email: 'n@example.com' }, headers: { 'x-admin-key': ADMIN_KEY } });
      const address = await unconfigured.call('GET', '/agents/deposit/address', { key: reg.body.api_key });
      expect(address.status).toBe(503);
      expect(address.body.code).toBe('deposit_addresses_unavailable');
      // A confirmed transfer on the chain the server reads: still nothing to credit it against.
      const hash = await chain.transfer(token, alice.address, usdc(10));
      await chain.mine(3);
      const reply = await unconfigured.call('POST', '/agents/deposit/usdc', { key: reg.body.api_key, body: { tx_hash: hash, amount_usdc: '10' } });
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe('chain_verification_unavailable');
      expect(await unconfigured.sql`select count(*)::int as n from deposits`).toEqual([{ n: 0 }]);
    } finally {
      await unconfigured.stop();
    }
  });
});
