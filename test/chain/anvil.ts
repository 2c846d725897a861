// A local EVM node (anvil from npm) with chain id 8453, and the test USDC token deployed from its
// committed artifact. Started and stopped by pid; nothing is left running.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createPublicClient, createTestClient, createWalletClient, http, type Address, type Hash } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { onFreePort } from '../../scripts/lib/ports.mjs';
import artifact from '../../contracts/TestUSDC.json' with { type: 'json' };

/** anvil's well-known development mnemonic: its accounts are funded with test ETH. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

const require = createRequire(import.meta.url);
const anvilBinary = () => join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil');

export async function startAnvil() {
  const { port, child } = await onFreePort(async (port: number) => {
    const child = spawn(anvilBinary(), ['--port', String(port), '--host', '127.0.0.1', '--chain-id', '8453', '--accounts', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
        if (output.includes('Listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`anvil exited (${code}): ${output}`)));
    });
    return { port, child };
  });
  const rpcUrl = `http://127.0.0.1:${port}`;
  const chain = { id: 8453, name: 'base-local', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } } as const;
  const account = mnemonicToAccount(ANVIL_MNEMONIC);
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl) });
  const wallet = createWalletClient({ chain, account, transport: http(rpcUrl) });
  const testClient = createTestClient({ chain, mode: 'anvil', transport: http(rpcUrl) });

  const abi = artifact.abi;
  const deploy = async (symbol: string): Promise<Address> => {
    const hash = await wallet.deployContract({ abi, bytecode: artifact.bytecode as `0x${string}`, args: [`Test ${symbol}`, symbol] });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    const token = receipt.contractAddress!;
    await publicClient.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: token, abi, functionName: 'mint', args: [account.address, 10n ** 15n] }) });
    return token;
  };

  /** Sends `units` (6 decimals) of `token` to `to`; mined at once (anvil automines). */
  const transfer = async (token: Address, to: Address, units: bigint, options: { gas?: bigint } = {}): Promise<Hash> => {
    const hash = await wallet.writeContract({ address: token, abi, functionName: 'transfer', args: [to, units], ...options });
    await publicClient.waitForTransactionReceipt({ hash });
    return hash;
  };
  const transferMany = async (token: Address, to: Address[], units: bigint[]): Promise<Hash> => {
    const hash = await wallet.writeContract({ address: token, abi, functionName: 'transferMany', args: [to, units] });
    await publicClient.waitForTransactionReceipt({ hash });
    return hash;
  };

  return {
    rpcUrl,
    deploy,
    transfer,
    transferMany,
    mine: (blocks: number) => testClient.mine({ blocks }),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
