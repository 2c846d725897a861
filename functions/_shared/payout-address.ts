/**
 * Proving control of a payout address: the operator signs (EIP-191 `personal_sign`) a message that
 * names its operator id and a server nonce, and the address the signature recovers to must be the
 * one it asks for. Refused outright: the zero address, the platform's hot wallet, the token contract.
 */
import { getAddress, isAddress, recoverMessageAddress, zeroAddress } from 'viem';
import { badRequest } from './errors.ts';

/** The text the operator signs, rebuilt by the server from the challenge it stored. */
export function challengeMessage(operatorId: string, nonce: string, expiresAt: string): string {
  return [
    'HumanOps payout address',
    '',
    'Sign this message to prove that you control the address HumanOps will pay your earnings to.',
    'Signing costs nothing and moves no funds.',
    '',
    `Operator: ${operatorId}`,
    `Nonce: ${nonce}`,
    `Expires: ${expiresAt}`,
  ].join('\n');
}

/**
 * The address in EIP-55 form, or a 400: not an address, a mixed-case one whose checksum is wrong
 * (a typo the checksum exists to catch), or one no payout may go to.
 */
export function payoutAddressOf(input: string, refused: { hotWallet?: string; token: string }): `0x${string}` {
  if (!isAddress(input, { strict: false })) throw badRequest('invalid_address', 'address: must be a 0x address of 40 hex digits');
  const mixedCase = /[a-f]/.test(input.slice(2)) && /[A-F]/.test(input.slice(2));
  if (mixedCase && !isAddress(input, { strict: true })) {
    throw badRequest('invalid_address', 'address: its EIP-55 checksum (the mix of upper and lower case) is wrong; copy it again from your wallet');
  }
  const address = getAddress(input);
  if (address === zeroAddress) throw badRequest('zero_address_refused', 'address: the zero address burns what is sent to it');
  if (refused.hotWallet && address === getAddress(refused.hotWallet)) {
    throw badRequest('platform_address_refused', "address: this is HumanOps' own payout wallet");
  }
  if (address === getAddress(refused.token)) throw badRequest('platform_address_refused', 'address: this is the USDC token contract');
  return address;
}

/** Whether `signature` over `message` was made by `address`'s key (false for a malformed signature). */
export async function signedBy(address: string, message: string, signature: `0x${string}`): Promise<boolean> {
  try {
    return (await recoverMessageAddress({ message, signature })) === getAddress(address);
  } catch {
    return false;
  }
}
