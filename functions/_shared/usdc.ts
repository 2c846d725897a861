/**
 * USDC on Base: per-agent deposit addresses derived from an extended public key, and on-chain
 * confirmation of a claimed deposit with viem. The verifier credits only what a confirmed
 * `Transfer` log of the USDC contract to the agent's own address shows, to the cent.
 */
import { secp256k1 } from '@noble/curves/secp256k1';
import {
  createPublicClient, erc20Abi, http, parseEventLogs, toHex, TransactionNotFoundError, TransactionReceiptNotFoundError,
} from 'viem';
import { HDKey, publicKeyToAddress } from 'viem/accounts';
import { ConfigError } from './config.ts';
import { ApiError } from './errors.ts';
import type { UsdcDepositVerifier, UsdcTransfer } from './deposits.ts';

/** BIP-32 version bytes of testnet keys (`tpub…`); `xpub…` keys use the library's (mainnet) default. */
const TESTNET_VERSIONS = { private: 0x04358394, public: 0x043587cf };

/** The address of child `index` (non-hardened) of `xpub` (or `tpub`). */
export function depositAddress(xpub: string, index: number): `0x${string}` {
  const child = HDKey.fromExtendedKey(xpub, xpub.startsWith('tpub') ? TESTNET_VERSIONS : undefined).deriveChild(index);
  if (!child.publicKey) throw new Error('the extended key has no public key');
  const uncompressed = secp256k1.ProjectivePoint.fromHex(child.publicKey).toRawBytes(false);
  return publicKeyToAddress(toHex(uncompressed));
}

/**
 * Refuses at startup an extended key that the config's pattern accepts but that cannot be used (bad
 * checksum, wrong version bytes), rather than failing every deposit request later.
 */
export function assertDepositXpub(xpub: string): void {
  try {
    depositAddress(xpub, 0);
  } catch (error) {
    throw new ConfigError(`Invalid configuration: DEPOSIT_XPUB: ${(error as Error).message}`);
  }
}

/** USDC has 6 decimals; the platform counts cents (10^4 base units). */
const UNITS_PER_CENT = 10_000n;

const unavailable = (detail: string) =>
  new ApiError(503, 'rpc_unavailable', `The Base RPC could not be reached (${detail}); try again shortly`, undefined, { 'Retry-After': '10' });

export interface ChainOptions {
  rpcUrl: string;
  /** The chain the RPC must serve (BASE_CHAIN_ID): checked once, a mismatch credits nothing. */
  chainId: number;
  usdcAddress: string;
  minConfirmations: number;
  /** Per RPC request (default 10 s), and retries after a timeout or a 5xx (default 1). */
  timeoutMs?: number;
  retryCount?: number;
}

/**
 * Confirms a claimed deposit on chain. Refusals, each with its own code: the hash is unknown (404);
 * the transaction is still pending or has fewer than `minConfirmations` (409, with a Retry-After);
 * it reverted (400); it holds no USDC Transfer to the agent's address (400); no such transfer
 * carries the claimed amount (400), or it is not a whole number of cents (400, never rounded).
 * When several Transfer logs in one transaction match, the first (lowest log index) with the
 * claimed amount not yet credited is credited: one claim credits one log (the route tries the
 * others, `otherLogIndexes`, when the first is taken). RPC failures are a 503, never a credit; so
 * is an RPC that serves another chain than `chainId` (503 `chain_mismatch`).
 */
export function createOnChainVerifier(options: ChainOptions): UsdcDepositVerifier {
  const client = createPublicClient({
    transport: http(options.rpcUrl, { timeout: options.timeoutMs ?? 10_000, retryCount: options.retryCount ?? 1 }),
  });
  const usdc = options.usdcAddress.toLowerCase();

  const rpc = async <T>(call: () => Promise<T>, notFound?: (error: Error) => boolean): Promise<T | null> => {
    try {
      return await call();
    } catch (error) {
      const e = error as Error;
      if (notFound?.(e)) return null;
      throw unavailable(e.name);
    }
  };
  // Only "no such transaction" is an answer; anything else (e.g. a node without the method) is a 503.
  const isNotFound = (e: Error) => e instanceof TransactionReceiptNotFoundError || e instanceof TransactionNotFoundError;

  // Crediting transfers read from another chain (a misconfigured BASE_RPC_URL) would be wrong, so
  // the RPC's chain id is checked once; until it matches, nothing is credited.
  let chainConfirmed = false;
  const checkChain = async () => {
    if (chainConfirmed) return;
    const served = await rpc(() => client.getChainId());
    if (served !== options.chainId) {
      throw new ApiError(503, 'chain_mismatch', `BASE_RPC_URL serves chain ${served}, not ${options.chainId}; deposits cannot be confirmed now`,
        undefined, { 'Retry-After': '60' });
    }
    chainConfirmed = true;
  };

  return {
    async verify({ txHash, amountCents, address }): Promise<UsdcTransfer> {
      if (!address) throw new ApiError(503, 'deposit_addresses_unavailable', 'Deposit addresses are not configured on this server');
      const hash = txHash as `0x${string}`;
      await checkChain();
      const receipt = await rpc(() => client.getTransactionReceipt({ hash }), isNotFound);
      if (!receipt) {
        const pending = await rpc(() => client.getTransaction({ hash }), isNotFound);
        if (!pending) throw new ApiError(404, 'transaction_not_found', 'No transaction with this hash on Base');
        throw new ApiError(409, 'insufficient_confirmations', `The transaction is not mined yet; it needs ${options.minConfirmations} confirmations`,
          { confirmations: 0, required: options.minConfirmations }, { 'Retry-After': String(options.minConfirmations * 2) });
      }
      if (receipt.status === 'reverted') throw new ApiError(400, 'transaction_reverted', 'The transaction reverted; nothing was transferred');

      // viem caches the block number for a few seconds by default; confirmations need the current one.
      const head = await rpc(() => client.getBlockNumber({ cacheTime: 0 }));
      const confirmations = Number(head! - receipt.blockNumber + 1n);
      if (confirmations < options.minConfirmations) {
        const missing = options.minConfirmations - confirmations;
        throw new ApiError(409, 'insufficient_confirmations',
          `The transaction has ${confirmations} of the ${options.minConfirmations} confirmations needed; try again in about ${missing * 2} s`,
          { confirmations, required: options.minConfirmations }, { 'Retry-After': String(Math.max(1, missing * 2)) });
      }

      const transfers = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs })
        .filter((log) => log.address.toLowerCase() === usdc && log.args.to.toLowerCase() === address.toLowerCase());
      if (transfers.length === 0) {
        throw new ApiError(400, 'no_usdc_transfer', 'This transaction holds no USDC transfer to your deposit address');
      }
      const claimed = BigInt(amountCents) * UNITS_PER_CENT;
      const matches = transfers.filter((log) => log.args.value === claimed);
      if (matches.length > 0) {
        const [first, ...others] = matches.map((log) => log.logIndex);
        return { chain: 'base', txHash, logIndex: first, otherLogIndexes: others, amountCents };
      }
      const subCent = transfers.find((log) => log.args.value % UNITS_PER_CENT !== 0n);
      if (subCent) {
        throw new ApiError(400, 'sub_cent_amount', 'The transfer is not a whole number of cents, so it cannot be credited exactly',
          { amount_usdc: formatUsdc(subCent.args.value) });
      }
      throw new ApiError(400, 'amount_mismatch', `The transfer to your deposit address is not ${formatUsdc(claimed)} USDC`,
        { on_chain_usdc: transfers.map((log) => formatUsdc(log.args.value)) });
    },
  };
}

/** A base-unit amount as a decimal USDC string, e.g. 12500000n → "12.5". */
function formatUsdc(units: bigint): string {
  const whole = units / 1_000_000n;
  const fraction = (units % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}
