/**
 * The payout hot wallet on Base, with viem: reads its USDC and gas, signs ERC-20 transfers with its
 * key (held here only, never logged or returned), sends signed transactions, and reads receipts.
 * Signing is local and separate from sending, so the worker can store a signed transaction before
 * it is sent and send exactly that one again after a crash.
 */
import {
  BaseError, createPublicClient, encodeFunctionData, erc20Abi, http, keccak256, NonceTooLowError, TransactionReceiptNotFoundError,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/** USDC has 6 decimals; the platform counts cents (10^4 base units). */
export const UNITS_PER_CENT = 10_000n;

/**
 * Gas for one USDC transfer, fixed rather than estimated: an estimate fails outright when the
 * wallet is short, and a fixed limit lets a transfer that reverts on chain still be mined (and so
 * be settled). Native USDC's transfer uses about 40–65k.
 */
export const TRANSFER_GAS = 100_000n;

export interface SignedTransfer {
  signedTx: `0x${string}`;
  txHash: `0x${string}`;
}

/** What sending a signed transaction came to: accepted (or already known), or its nonce is taken. */
export type Sent = 'sent' | 'nonce_used';

export interface PayoutChain {
  /** The hot wallet's address. */
  address: `0x${string}`;
  minConfirmations: number;
  /** USDC (base units) and ETH (wei) the wallet holds, and the count of its transactions, pending included. */
  funds(): Promise<{ usdc: bigint; eth: bigint; nonce: number }>;
  /** The most one transfer's gas can cost now (wei), and the fees to sign with. */
  fees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>;
  signTransfer(transfer: { to: `0x${string}`; amountCents: number; nonce: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }): Promise<SignedTransfer>;
  send(signedTx: `0x${string}`): Promise<Sent>;
  /** The transaction's receipt and confirmations, or null while it is not mined. */
  receipt(txHash: `0x${string}`): Promise<{ reverted: boolean; confirmations: number } | null>;
}

export interface PayoutChainOptions {
  rpcUrl: string;
  chainId: number;
  usdcAddress: string;
  privateKey: `0x${string}`;
  minConfirmations: number;
  timeoutMs?: number;
}

export function createPayoutChain(options: PayoutChainOptions): PayoutChain {
  const client = createPublicClient({ transport: http(options.rpcUrl, { timeout: options.timeoutMs ?? 10_000, retryCount: 1 }) });
  const account = privateKeyToAccount(options.privateKey);
  const token = options.usdcAddress as `0x${string}`;

  return {
    address: account.address,
    minConfirmations: options.minConfirmations,

    async funds() {
      const [usdc, eth, nonce] = await Promise.all([
        client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [account.address] }),
        client.getBalance({ address: account.address }),
        client.getTransactionCount({ address: account.address, blockTag: 'pending' }),
      ]);
      return { usdc, eth, nonce };
    },

    async fees() {
      const { maxFeePerGas, maxPriorityFeePerGas } = await client.estimateFeesPerGas();
      return { maxFeePerGas, maxPriorityFeePerGas };
    },

    async signTransfer({ to, amountCents, nonce, maxFeePerGas, maxPriorityFeePerGas }) {
      const signedTx = await account.signTransaction({
        type: 'eip1559',
        chainId: options.chainId,
        to: token,
        data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, BigInt(amountCents) * UNITS_PER_CENT] }),
        value: 0n,
        nonce,
        gas: TRANSFER_GAS,
        maxFeePerGas,
        maxPriorityFeePerGas,
      });
      return { signedTx, txHash: keccak256(signedTx) };
    },

    async send(signedTx) {
      try {
        await client.sendRawTransaction({ serializedTransaction: signedTx });
        return 'sent';
      } catch (error) {
        const message = String((error as Error).message);
        if (/already known|already imported|known transaction|already exists/i.test(message)) return 'sent';
        if ((error instanceof BaseError && error.walk((e) => e instanceof NonceTooLowError)) || /nonce too low|nonce has already been used/i.test(message)) {
          return 'nonce_used';
        }
        throw error;
      }
    },

    async receipt(txHash) {
      let receipt;
      try {
        receipt = await client.getTransactionReceipt({ hash: txHash });
      } catch (error) {
        if (error instanceof TransactionReceiptNotFoundError) return null;
        throw error;
      }
      // viem caches the block number for a few seconds by default; confirmations need the current one.
      const head = await client.getBlockNumber({ cacheTime: 0 });
      return { reverted: receipt.status === 'reverted', confirmations: Number(head - receipt.blockNumber + 1n) };
    },
  };
}
