// A stand-in for a browser's push service (RFC 8030) over HTTPS, and browser-side subscriptions
// whose keys decrypt what it receives (RFC 8291 on RFC 8188's aes128gcm), as a browser would.
import { createDecipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, jwtVerify } from 'jose';
import { localCertificate } from '../../scripts/lib/certificate.mjs';

export interface Pushed {
  /** The subscription's id in the endpoint's path. */
  id: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface BrowserSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  /** The plaintext of a pushed body, decrypted with this subscription's private key and auth secret. */
  decrypt(body: Buffer): string;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** A VAPID key pair as the API takes it: the raw P-256 public key and the private scalar, base64url. */
export function vapidKeys() {
  const ecdh = createECDH('prime256v1');
  const publicKey = b64url(ecdh.generateKeys());
  return { publicKey, privateKey: b64url(ecdh.getPrivateKey()).padStart(43, 'A') };
}

/** The stack settings that turn push on with a fresh key pair. */
export const vapidEnv = (keys = vapidKeys()) => ({ VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey, VAPID_SUBJECT: 'mailto:ops@example.com' });

/** A subscription as PushManager.subscribe makes one: a P-256 key pair and a 16-byte auth secret. */
function browserSubscription(endpoint: string): BrowserSubscription {
  const ecdh = createECDH('prime256v1');
  const uaPublic = ecdh.generateKeys();
  const authSecret = randomBytes(16);
  return {
    endpoint,
    keys: { p256dh: b64url(uaPublic), auth: b64url(authSecret) },
    decrypt(body) {
      // RFC 8188 header: salt (16), record size (4), key id length (1), key id (the sender's public key).
      const salt = body.subarray(0, 16);
      const idLength = body[20];
      const asPublic = body.subarray(21, 21 + idLength);
      const ciphertext = body.subarray(21 + idLength);
      const secret = ecdh.computeSecret(asPublic);
      const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
      const ikm = Buffer.from(hkdfSync('sha256', secret, authSecret, keyInfo, 32));
      const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
      const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
      const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
      decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
      const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
      // The last record ends with the delimiter 0x02, then zero padding.
      let end = padded.length - 1;
      while (end >= 0 && padded[end] === 0) end--;
      if (padded[end] !== 2) throw new Error('no last-record delimiter');
      return padded.subarray(0, end).toString('utf8');
    },
  };
}

/** Checks the VAPID header (RFC 8292): a JWT for this origin, signed with the key it names. */
export async function verifyVapid(authorization: string, origin: string) {
  const match = /^vapid t=([^,]+), k=([A-Za-z0-9_-]+)$/.exec(authorization);
  if (!match) throw new Error(`not a VAPID authorization: ${authorization}`);
  const key = Buffer.from(match[2], 'base64url');
  const jwk = { kty: 'EC', crv: 'P-256', x: b64url(key.subarray(1, 33)), y: b64url(key.subarray(33, 65)) };
  const { payload } = await jwtVerify(match[1], await importJWK(jwk, 'ES256'), { audience: origin });
  return { publicKey: match[2], claims: payload };
}

export async function startPushService() {
  const dir = await mkdtemp(join(tmpdir(), 'humanops-push-'));
  const tls = await localCertificate(dir, ['127.0.0.1']);
  const received: Pushed[] = [];
  /** What the service answers for a subscription id (default 201 Created). */
  const answers = new Map<string, number>();
  const server: Server = createServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const id = (req.url ?? '').replace(/^\/push\//, '');
      received.push({ id, headers: req.headers, body: Buffer.concat(chunks) });
      const status = answers.get(id) ?? 201;
      res.writeHead(status, status === 201 ? { location: `/message/${randomBytes(8).toString('hex')}` } : {}).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    origin,
    /** The CA that signed the service's certificate: DENO_CERT for the API, so it trusts the service. */
    caFile: tls.caFile,
    received,
    answer: (id: string, status: number) => answers.set(id, status),
    subscription: (id = randomBytes(6).toString('hex')) => browserSubscription(`${origin}/push/${id}`),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
