// The payout address: proven by a personal_sign over a single-use server challenge, stored EIP-55,
// a change waits out its cool-down, and every refusal is a 400 that changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import type { HDAccount } from 'viem';
import { type Operator, type Stack, startStack } from './helpers/stack.ts';

/** Test mode's deposit key (TEST_DEPOSIT_XPUB) derives from this public mnemonic. */
const TEST_MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const HOT_WALLET_KEY = generatePrivateKey();
const COOLDOWN_SECONDS = 3;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { PAYOUT_PRIVATE_KEY: HOT_WALLET_KEY, PAYOUT_ADDRESS_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS) } });
});
afterAll(() => stack?.stop());

const me = async (operator: Operator) => (await stack.call('GET', '/operator/me', { headers: operator.auth })).body;
const challenge = async (operator: Operator) => {
  const reply = await stack.call('GET', '/operator/payout-address/challenge', { headers: operator.auth });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as { nonce: string; message: string; expires_at: string };
};
const put = (operator: Operator, body: unknown) => stack.call('PUT', '/operator/payout-address', { headers: operator.auth, body });
/** Signs a fresh challenge with `account` and sets `address` (the account's own by default). */
const setAddress = async (operator: Operator, account: PrivateKeyAccount | HDAccount, address: string = account.address) => {
  const { message } = await challenge(operator);
  return put(operator, { address, signature: await account.signMessage({ message }) });
};
const stored = async (operator: Operator) =>
  (await stack.sql`select payout_address, payout_address_usable_at from operators where id = ${operator.id}`)[0];

describe('payout address', () => {
  it('sets the address its signature proves, EIP-55 checksummed, usable at once the first time', async () => {
    const operator = await stack.registerOperator();
    expect(await me(operator)).toMatchObject({ payout_address: null, payout_address_cooldown_ends_at: null });
    const wallet = privateKeyToAccount(generatePrivateKey());
    const { nonce, message, expires_at } = await challenge(operator);
    expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(message).toContain(`Operator: ${operator.id}`);
    expect(message).toContain(`Nonce: ${nonce}`);
    expect(Date.parse(expires_at) - Date.now()).toBeGreaterThan(9 * 60_000);

    const reply = await put(operator, { address: wallet.address.toLowerCase(), signature: await wallet.signMessage({ message }) });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toEqual({ payout_address: wallet.address, payout_address_cooldown_ends_at: null });
    expect(await me(operator)).toMatchObject({ payout_address: wallet.address, payout_address_cooldown_ends_at: null });
  });

  it('spends the challenge: the same signature again is a 400 challenge_expired, and so is an expired challenge', async () => {
    const operator = await stack.registerOperator();
    const wallet = privateKeyToAccount(generatePrivateKey());
    const { message } = await challenge(operator);
    const body = { address: wallet.address, signature: await wallet.signMessage({ message }) };
    expect((await put(operator, body)).status).toBe(200);
    const again = await put(operator, body);
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('challenge_expired');

    const other = privateKeyToAccount(generatePrivateKey());
    const late = await challenge(operator);
    await stack.sql`update payout_address_challenges set expires_at = now() - interval '1 second' where operator_id = ${operator.id}`;
    const expired = await put(operator, { address: other.address, signature: await other.signMessage({ message: late.message }) });
    expect(expired.status).toBe(400);
    expect(expired.body.code).toBe('challenge_expired');
    expect((await stored(operator)).payout_address).toBe(wallet.address);
  });

  it('refuses with a 400 that changes nothing: not an address, a bad checksum, another key, a replaced challenge, zero, the hot wallet, a deposit address', async () => {
    const operator = await stack.registerOperator();
    const mine = privateKeyToAccount(generatePrivateKey());
    expect((await setAddress(operator, mine)).status).toBe(200);
    const before = await stored(operator);

    const agent = await stack.registerAgent('depositor');
    const deposit = await stack.call('GET', '/agents/deposit/address', { key: agent.key });
    const [{ deposit_index }] = await stack.sql`select deposit_index from agents where id = ${agent.id}`;
    const depositKey = mnemonicToAccount(TEST_MNEMONIC, { addressIndex: deposit_index });
    expect(depositKey.address).toBe(deposit.body.address);
    const stranger = privateKeyToAccount(generatePrivateKey());
    const badChecksum = stranger.address.slice(0, 2) + [...stranger.address.slice(2)]
      .map((ch) => (/[a-f]/.test(ch) ? ch.toUpperCase() : /[A-F]/.test(ch) ? ch.toLowerCase() : ch)).join('');

    const cases: [string, () => Promise<{ status: number; body: any }>, string][] = [
      ['not an address', async () => put(operator, { address: '0x1234', signature: `0x${'ab'.repeat(65)}` }), 'validation_error'],
      ['a bad checksum', async () => {
        const { message } = await challenge(operator);
        return put(operator, { address: badChecksum, signature: await stranger.signMessage({ message }) });
      }, 'invalid_address'],
      ["another key's signature", async () => {
        const { message } = await challenge(operator);
        return put(operator, { address: stranger.address, signature: await mine.signMessage({ message }) });
      }, 'signature_invalid'],
      ['a replaced challenge', async () => {
        const { message } = await challenge(operator);
        await challenge(operator);
        return put(operator, { address: stranger.address, signature: await stranger.signMessage({ message }) });
      }, 'signature_invalid'],
      ['the zero address', async () => put(operator, { address: `0x${'0'.repeat(40)}`, signature: `0x${'ab'.repeat(65)}` }), 'zero_address_refused'],
      ["the platform's hot wallet", () => setAddress(operator, privateKeyToAccount(HOT_WALLET_KEY)), 'platform_address_refused'],
      ['a deposit address', () => setAddress(operator, depositKey), 'deposit_address_refused'],
    ];
    for (const [name, attempt, code] of cases) {
      const reply = await attempt();
      expect(reply.status, name).toBe(400);
      expect(reply.body.code, name).toBe(code);
      expect(await stored(operator), name).toEqual(before);
    }
    // A refusal after the signature was checked spends nothing: the live challenge still works.
    const { message } = await challenge(operator);
    expect((await put(operator, { address: depositKey.address, signature: await depositKey.signMessage({ message }) })).body.code)
      .toBe('deposit_address_refused');
    expect((await put(operator, { address: stranger.address, signature: await stranger.signMessage({ message }) })).status).toBe(200);
  });

  it('starts a cool-down when the address changes, shown in /operator/me until it ends; the same address again changes nothing', async () => {
    const operator = await stack.registerOperator();
    const first = privateKeyToAccount(generatePrivateKey());
    const second = privateKeyToAccount(generatePrivateKey());
    expect((await setAddress(operator, first)).status).toBe(200);
    const changed = await setAddress(operator, second);
    expect(changed.status).toBe(200);
    const ends = Date.parse(changed.body.payout_address_cooldown_ends_at);
    expect(ends - Date.now()).toBeGreaterThan(1000);
    expect(ends - Date.now()).toBeLessThanOrEqual(COOLDOWN_SECONDS * 1000);
    expect(await me(operator)).toMatchObject({ payout_address: second.address, payout_address_cooldown_ends_at: changed.body.payout_address_cooldown_ends_at });
    const same = await setAddress(operator, second);
    expect(same.body.payout_address_cooldown_ends_at).toBe(changed.body.payout_address_cooldown_ends_at);
    await new Promise((r) => setTimeout(r, ends - Date.now() + 100));
    expect(await me(operator)).toMatchObject({ payout_address: second.address, payout_address_cooldown_ends_at: null });
  });

  it('answers 403 operator_not_registered before registration', async () => {
    const stranger = { authorization: 'Bearer x' };
    expect((await stack.call('GET', '/operator/payout-address/challenge', { headers: stranger })).status).toBe(401);
    const { operatorToken } = await import('./helpers/stack.ts');
    const auth = { authorization: `Bearer ${await operatorToken('op_unregistered_payout')}` };
    const reply = await stack.call('GET', '/operator/payout-address/challenge', { headers: auth });
    expect(reply.status).toBe(403);
    expect(reply.body.code).toBe('operator_not_registered');
  });
});
