#!/usr/bin/env node
// `npm run usdc -- <0x address> <amount>`: sends test USDC on the local chain of a stack started
// with `npm start -- --chain`, from the chain's development account, and prints the transaction
// hash (only the hash goes to stdout, so `TX=$(npm run -s usdc -- $ADDRESS 100)` works).
// `npm run usdc -- balance <0x address>` prints the address's test USDC balance (e.g. a payout's).
import { runningStack } from './lib/running.mjs';
import { sendTestUsdc, testUsdcBalance } from './lib/chain.mjs';

const USAGE = 'usage: npm run usdc -- <0x address> <amount in USD, e.g. 100 or 12.50>\n       npm run usdc -- balance <0x address>';
const args = process.argv.slice(2);
const balance = args[0] === 'balance';
const [to, amount] = balance ? [args[1], '0'] : args;
if (!/^0x[0-9a-fA-F]{40}$/.test(to ?? '') || !/^\d+(\.\d{1,2})?$/.test(amount ?? '') || (balance && args.length !== 2)) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const port = Number(process.env.HUMANOPS_PORT ?? 54321);
const stack = runningStack(port);
if (!stack?.chain) {
  process.stderr.write(`no local chain: start the stack with \`npm start -- --chain\` (looked for the stack on port ${port}; set HUMANOPS_PORT if it runs on another)\n`);
  process.exit(1);
}
try {
  if (balance) {
    process.stdout.write(`${await testUsdcBalance({ rpcUrl: stack.chain.rpcUrl, usdcAddress: stack.chain.usdcAddress, address: to })}\n`);
    process.exit(0);
  }
  const hash = await sendTestUsdc({ rpcUrl: stack.chain.rpcUrl, usdcAddress: stack.chain.usdcAddress, to, usd: amount });
  process.stdout.write(`${hash}\n`);
  process.stderr.write(`sent ${amount} test USDC to ${to} on the local chain (${stack.chain.rpcUrl})\n`);
} catch (error) {
  process.stderr.write(`cannot send: ${error.shortMessage ?? error.message}\n`);
  process.exit(1);
}
