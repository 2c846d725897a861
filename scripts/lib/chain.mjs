// The local chain behind `npm start -- --chain`: anvil from npm (chain id 8453, like Base) with the
// 6-decimal test token deployed from its committed artifact, and the development account holding
// test USDC to send. Everything here is test money on a throwaway chain.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createPublicClient, createWalletClient, http } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { repoRoot } from './api.mjs';

/** anvil's well-known development mnemonic: its first two accounts are funded with test ETH. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

/**
 * The local stack's payout hot wallet: the development mnemonic's second account (public, like the
 * whole chain), funded with test ETH by anvil and test USDC at startup.
 */
export const localPayoutKey = () => `0x${Buffer.from(mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: 1 }).getHdKey().privateKey).toString('hex')}`;
export const LOCAL_CHAIN_ID = 8453;

const require = createRequire(import.meta.url);
const artifact = JSON.parse(readFileSync(join(repoRoot, 'contracts', 'TestUSDC.json'), 'utf8'));

const chainFor = (rpcUrl) => ({
  id: LOCAL_CHAIN_ID, name: 'base-local', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } },
});

function clients(rpcUrl) {
  const chain = chainFor(rpcUrl);
  const account = mnemonicToAccount(ANVIL_MNEMONIC);
  return {
    account,
    publicClient: createPublicClient({ chain, transport: http(rpcUrl) }),
    wallet: createWalletClient({ chain, account, transport: http(rpcUrl) }),
  };
}

/**
 * Starts anvil on `port` and deploys the test token, minting a million test USDC to the
 * development account and 10,000 to the payout wallet `payoutAddress` (given test ETH for gas).
 * Resolves to `{ rpcUrl, usdcAddress, pid, stop() }`.
 */
export async function startLocalChain({ port, payoutAddress }) {
  let binary;
  try {
    binary = join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil');
  } catch {
    throw new Error('the local chain needs anvil from npm (@foundry-rs/anvil, a dev dependency): run npm ci without --omit=dev');
  }
  const child = spawn(binary, ['--port', String(port), '--host', '127.0.0.1', '--chain-id', String(LOCAL_CHAIN_ID), '--accounts', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`anvil exited (${code}): ${output}`)));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  };
  try {
    const rpcUrl = `http://127.0.0.1:${port}`;
    const { account, publicClient, wallet } = clients(rpcUrl);
    const deployed = await publicClient.waitForTransactionReceipt({
      hash: await wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args: ['Test USD Coin', 'USDC'] }),
    });
    const usdcAddress = deployed.contractAddress;
    await publicClient.waitForTransactionReceipt({
      hash: await wallet.writeContract({ address: usdcAddress, abi: artifact.abi, functionName: 'mint', args: [account.address, 10n ** 12n] }),
    });
    await publicClient.request({ method: 'anvil_setBalance', params: [payoutAddress, '0x56bc75e2d63100000'] }); // 100 test ETH
    await publicClient.waitForTransactionReceipt({
      hash: await wallet.writeContract({ address: usdcAddress, abi: artifact.abi, functionName: 'mint', args: [payoutAddress, 10_000n * 10n ** 6n] }),
    });
    return { rpcUrl, usdcAddress, pid: child.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Sends `usd` test USDC from the development account to `to`; resolves to the mined transaction's hash. */
export async function sendTestUsdc({ rpcUrl, usdcAddress, to, usd }) {
  const { publicClient, wallet } = clients(rpcUrl);
  const units = BigInt(Math.round(Number(usd) * 100)) * 10_000n;
  const hash = await wallet.writeContract({ address: usdcAddress, abi: artifact.abi, functionName: 'transfer', args: [to, units] });
  await publicClient.waitForTransactionReceipt({ hash });
  return hash;
}

/** The test USDC balance of `address`, in USD (a decimal string). */
export async function testUsdcBalance({ rpcUrl, usdcAddress, address }) {
  const { publicClient } = clients(rpcUrl);
  const units = await publicClient.readContract({ address: usdcAddress, abi: artifact.abi, functionName: 'balanceOf', args: [address] });
  const cents = units / 10_000n;
  return `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
}
