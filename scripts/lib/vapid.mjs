// The local stack's VAPID key pair for Web Push: made at first start and kept in the data dir, so
// browsers subscribed once keep working across restarts (a new key would orphan every subscription).
import { createECDH } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT for the API: the ones in the environment
 * when set, else the pair kept in `<dataDir>/vapid.json` (made now if missing). `made` says whether
 * it was made now.
 */
export function keptVapidKeys(dataDir, env = process.env) {
  if (env.VAPID_PUBLIC_KEY || env.VAPID_PRIVATE_KEY) return { env: {}, made: false };
  const file = join(dataDir, 'vapid.json');
  let made = false;
  if (!existsSync(file)) {
    const ecdh = createECDH('prime256v1');
    const publicKey = ecdh.generateKeys().toString('base64url');
    const privateKey = ecdh.getPrivateKey().toString('base64url').padStart(43, 'A');
    writeFileSync(file, JSON.stringify({ publicKey, privateKey }), { mode: 0o600 });
    made = true;
  }
  const { publicKey, privateKey } = JSON.parse(readFileSync(file, 'utf8'));
  return {
    env: { VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey, VAPID_SUBJECT: env.VAPID_SUBJECT ?? 'mailto:push@humanops.localhost' },
    made,
    file,
  };
}
