// The operator app pays out on chain, as a person does it: Debian's Chromium (playwright-core)
// against a stack with the local chain of `npm start -- --chain`. The operator sets a payout address
// by pasting a signature made elsewhere, and once with the browser's own wallet (an EIP-1193
// provider in the page that signs with a test key), asks for a payout, and sees it paid with a
// link to its transaction; the USDC is read back from the chain.
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { hexToString } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPayoutKey, sendTestUsdc, startLocalChain, testUsdcBalance } from '../scripts/lib/chain.mjs';
import { freePort } from '../scripts/lib/ports.mjs';
import { localOperatorId, type OperatorApp, startOperatorApp } from './helpers/app.ts';
import { CHROMIUM_PATH, needsChromium } from './helpers/requirements.ts';
import { type Agent, type Stack, operatorToken, startStack } from './helpers/stack.ts';

describe('the operator app pays out USDC on the local chain', () => {
  let chain: Awaited<ReturnType<typeof startLocalChain>>;
  let stack: Stack;
  let app: OperatorApp;
  let browser: Browser;
  let agent: Agent;

  beforeAll(async () => {
    needsChromium.assertAvailable();
    chain = await startLocalChain({ port: await freePort(0), payoutAddress: privateKeyToAccount(localPayoutKey()).address });
    stack = await startStack({
      env: {
        BASE_RPC_URL: chain.rpcUrl, BASE_CHAIN_ID: '8453', USDC_CONTRACT_ADDRESS: chain.usdcAddress, BASE_MIN_CONFIRMATIONS: '1',
        PAYOUT_PRIVATE_KEY: localPayoutKey(), BASE_EXPLORER_URL: 'https://explorer.example.test',
      },
    });
    app = await startOperatorApp(stack);
    agent = await stack.registerAgent('app-payer');
    const { address } = (await stack.call('GET', '/agents/deposit/address', { key: agent.key })).body;
    const tx = await sendTestUsdc({ rpcUrl: chain.rpcUrl, usdcAddress: chain.usdcAddress, to: address, usd: '500' });
    expect((await stack.call('POST', '/agents/deposit/usdc', { key: agent.key, body: { tx_hash: tx, amount_usdc: '500' } })).status).toBe(200);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await stack?.stop();
    await chain?.stop();
  });

  /** A registered operator who earned $20, signed in on the Earnings screen. */
  async function earnedOperator(page: Page) {
    const email = `op-${randomBytes(4).toString('hex')}@example.com`;
    const operatorId = localOperatorId(email);
    const auth = { authorization: `Bearer ${await operatorToken(operatorId)}` };
    await stack.call('POST', '/operator/register', { headers: auth, body: { name: 'Sam Lee', email, location: { city: 'New York', country: 'US' }, skills: [] } });
    const task = (await stack.createTask(agent, { task_type: 'CONTENT_REVIEW', reward_usd: 20, location: undefined, proof_requirements: ['Written assessment'] })).body.task_id;
    await stack.call('POST', `/operator/tasks/${task}/accept`, { headers: auth });
    await stack.call('POST', `/operator/tasks/${task}/submit`, { headers: auth, body: { confirmation_text: 'Reviewed' } });
    expect((await stack.call('POST', `/tasks/${task}/verify`, { key: agent.key, body: { decision: 'APPROVE' } })).status).toBe(200);
    await page.goto(app.url);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
    await page.goto(`${app.url}/#/earnings`);
    await page.getByRole('heading', { name: 'Earnings', level: 1 }).waitFor();
  }

  /** Asks for the whole $20, lets the worker send and confirm it, and checks what the app and the chain show. */
  async function payOut(page: Page, to: string) {
    await page.getByLabel(/Amount in USD/).fill('20');
    await page.getByRole('button', { name: 'Request payout' }).click();
    await page.getByText(/^Payout queued: it is sent to/).waitFor();
    await stack.tick();
    await stack.tick();
    await page.reload();
    const paid = page.getByTestId('payouts').locator('li', { hasText: 'Paid' });
    await paid.waitFor();
    const [{ tx_hash }] = await stack.sql`select tx_hash from payouts where address = ${to}`;
    expect(await paid.getByRole('link', { name: 'View transaction' }).getAttribute('href')).toBe(`https://explorer.example.test/tx/${tx_hash}`);
    expect(await testUsdcBalance({ rpcUrl: chain.rpcUrl, usdcAddress: chain.usdcAddress, address: to })).toBe('20.00');
  }

  it('sets the payout address with a signature pasted in, then pays out and links the transaction', async () => {
    const page = await (await browser.newContext()).newPage();
    await earnedOperator(page);
    expect(await page.getByTestId('hold').textContent()).toBe('Pay for a completed task is available at once (test mode). Payouts are sent as USDC on Base to your payout address.');
    await page.getByText('No payout address yet: set one to be paid.').waitFor();
    expect(await page.getByRole('button', { name: 'Use my browser wallet' }).count()).toBe(0);

    const wallet = privateKeyToAccount(generatePrivateKey());
    await page.getByLabel('1. Your Base address').fill(wallet.address);
    await page.getByRole('button', { name: 'Get the message to sign' }).click();
    const message = await page.getByLabel(/Sign exactly this text/).inputValue();
    expect(message).toContain('Nonce: ');
    await page.getByLabel('3. Paste the signature').fill(await wallet.signMessage({ message }));
    await page.getByRole('button', { name: 'Save payout address' }).click();
    await page.getByText('Saved. Your payouts go to this address.').waitFor();
    await page.getByTestId('payout-address').getByText(wallet.address).waitFor();
    await payOut(page, wallet.address);
  });

  it("signs with the browser's wallet (EIP-1193 personal_sign) where there is one", async () => {
    const context = await browser.newContext();
    const wallet = privateKeyToAccount(generatePrivateKey());
    const asked: string[] = [];
    await context.exposeFunction('testWalletSign', async (hex: `0x${string}`) => {
      asked.push(hexToString(hex));
      return wallet.signMessage({ message: hexToString(hex) });
    });
    await context.addInitScript(`window.ethereum = { request: async ({ method, params }) => {
      if (method === 'eth_requestAccounts') return ['${wallet.address}'];
      if (method === 'personal_sign') return window.testWalletSign(params[0]);
      throw new Error('unsupported ' + method);
    } };`);
    const page = await context.newPage();
    await earnedOperator(page);
    await page.getByRole('button', { name: 'Use my browser wallet' }).click();
    await page.getByText('Saved. Your payouts go to this address.').waitFor();
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain('HumanOps payout address');
    await payOut(page, wallet.address);
  });
});
