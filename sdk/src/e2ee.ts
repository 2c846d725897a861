/**
 * End-to-end encryption of Tier 2 credentials: ECDH on P-256 → HKDF-SHA-256 → AES-256-GCM, with
 * WebCrypto only (Node ≥ 20, Deno, Bun, browsers). The operator's browser encrypts for the agent's
 * public key; the server stores only the ciphertext; only the agent's private key decrypts.
 *
 * - Public keys: base64 of the raw uncompressed point (65 bytes, 0x04 ‖ X ‖ Y) — what the API's
 *   `agent_public_key` takes. Private keys: base64 of PKCS#8 DER.
 * - HKDF-SHA-256 with salt `HumanOps E2EE v1` and info
 *   `ECDH-P256-AES-256-GCM|<ephemeral public key, base64>|<agent public key, base64>` (UTF-8),
 *   giving a 256-bit AES-GCM key; a fresh 96-bit IV per message.
 * - Additional authenticated data: `humanops:task:<task id>`, so a blob only decrypts for its task.
 */
export const ALGORITHM = 'ECDH-P256-AES-256-GCM';
export const HKDF_SALT = 'HumanOps E2EE v1';
export const aadFor = (taskId: string) => `humanops:task:${taskId}`;

/** The encrypted credential as the API carries it. */
export interface EncryptedCredential {
  ciphertext: string;
  iv: string;
  ephemeralPublicKey: string;
  algorithm: typeof ALGORITHM;
  createdAt: string;
}

export interface KeyPair {
  /** base64 of the raw uncompressed P-256 point: send it as `agent_public_key`. */
  publicKey: string;
  /** base64 of the PKCS#8 private key: keep it secret; it alone decrypts the credential. */
  privateKey: string;
}

const encoder = new TextEncoder();

// P-256 (secp256r1): y² = x³ − 3x + b over the prime field p.
const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const toBigInt = (bytes: Uint8Array) => bytes.reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);

/**
 * Whether `text` is base64 (standard or URL-safe) of a raw uncompressed P-256 point (65 bytes,
 * 0x04 ‖ X ‖ Y) that lies on the curve. Checked by hand because not every WebCrypto checks it on
 * import (Deno 2.9 accepts points off the curve), and an off-curve peer key leaks key bits in ECDH.
 */
export async function isP256PublicKey(text: string): Promise<boolean> {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return false;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = fromBase64(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return false;
  }
  if (bytes.length !== 65 || bytes[0] !== 0x04) return false;
  const x = toBigInt(bytes.subarray(1, 33));
  const y = toBigInt(bytes.subarray(33));
  if (x >= P256_P || y >= P256_P || (y * y - (x * x * x - 3n * x + P256_B)) % P256_P !== 0n) return false;
  try {
    await crypto.subtle.importKey('raw', bytes, ECDH, true, []);
    return true;
  } catch {
    return false;
  }
}
const ECDH = { name: 'ECDH', namedCurve: 'P-256' } as const;
type Bytes = Uint8Array<ArrayBuffer>;

export const toBase64 = (bytes: Uint8Array): string => {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};
export const fromBase64 = (text: string): Bytes => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** A new key pair for one credential task. */
export async function generateKeyPair(): Promise<KeyPair> {
  const pair = await crypto.subtle.generateKey(ECDH, true, ['deriveBits']);
  return {
    publicKey: toBase64(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey))),
    privateKey: toBase64(new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey))),
  };
}

async function messageKey(privateKey: CryptoKey, peerPublicKey: string, ephemeralPublicKey: string, agentPublicKey: string): Promise<CryptoKey> {
  const peer = await crypto.subtle.importKey('raw', fromBase64(peerPublicKey), ECDH, false, []);
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, privateKey, 256);
  const hkdf = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode(HKDF_SALT), info: encoder.encode(`${ALGORITHM}|${ephemeralPublicKey}|${agentPublicKey}`) },
    hkdf,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/**
 * Encrypts a credential (any JSON value) for the agent of task `taskId`. `ephemeral` and `iv` exist
 * for reproducible test vectors only; leave them out.
 */
export async function encryptForAgent(
  agentPublicKey: string,
  credential: unknown,
  options: { taskId: string; ephemeral?: KeyPair; iv?: Uint8Array; createdAt?: string },
): Promise<EncryptedCredential> {
  const ephemeral = options.ephemeral ?? await generateKeyPair();
  const ephemeralPrivate = await crypto.subtle.importKey('pkcs8', fromBase64(ephemeral.privateKey), ECDH, false, ['deriveBits']);
  const key = await messageKey(ephemeralPrivate, agentPublicKey, ephemeral.publicKey, agentPublicKey);
  const iv = (options.iv ?? crypto.getRandomValues(new Uint8Array(12))) as Bytes;
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(aadFor(options.taskId)) },
    key,
    encoder.encode(JSON.stringify(credential)),
  );
  return {
    ciphertext: toBase64(new Uint8Array(ciphertext)),
    iv: toBase64(iv),
    ephemeralPublicKey: ephemeral.publicKey,
    algorithm: ALGORITHM,
    createdAt: options.createdAt ?? new Date().toISOString(),
  };
}

/** Decrypts a credential with the agent's private key; throws if the key, the blob or the task id is wrong. */
export async function decrypt<T = unknown>(privateKey: string, blob: EncryptedCredential, options: { taskId: string }): Promise<T> {
  if (blob.algorithm !== ALGORITHM) throw new Error(`Unsupported algorithm ${blob.algorithm}`);
  if (!(await isP256PublicKey(blob.ephemeralPublicKey))) throw new Error('The ephemeral public key is not a point on P-256');
  const agentPrivate = await crypto.subtle.importKey('pkcs8', fromBase64(privateKey), ECDH, true, ['deriveBits']);
  // The agent's public key is part of the HKDF info: recover it from the private key (its JWK has x and y).
  const jwk = await crypto.subtle.exportKey('jwk', agentPrivate);
  const point = new Uint8Array([0x04, ...fromBase64Url(jwk.x!), ...fromBase64Url(jwk.y!)]);
  const key = await messageKey(agentPrivate, blob.ephemeralPublicKey, blob.ephemeralPublicKey, toBase64(point));
  const plaintext = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64(blob.iv), additionalData: encoder.encode(aadFor(options.taskId)) },
    key,
    fromBase64(blob.ciphertext),
  );
  return JSON.parse(new TextDecoder().decode(plaintext)) as T;
}

const fromBase64Url = (text: string) => fromBase64(text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '='));
