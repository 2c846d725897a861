// The operator app (the built app/dist) for a test stack: `npm start`'s one server (functions/local)
// on the stack's database, with the local sign-in backed by the test issuer; over HTTPS with a
// certificate made as `npm start -- --lan` makes it, when asked.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { localCertificate } from '../../scripts/lib/certificate.mjs';
import { issuerKeyFile } from '../../scripts/lib/issuer.mjs';
import type { Stack } from './stack.ts';

/** The operator id the local sign-in gives an email (sha-256 of the trimmed, lower-cased address). */
export const localOperatorId = (email: string) =>
  `op_${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 20)}`;

export interface OperatorApp {
  url: string;
  /** With HTTPS: the certificate authority's SPKI hash, for Chromium's --ignore-certificate-errors-spki-list. */
  caSpkiHash?: string;
  caFile?: string;
  stop(): Promise<void>;
}

export async function startOperatorApp(stack: Stack, { https = false } = {}): Promise<OperatorApp> {
  const dir = https ? await mkdtemp(join(tmpdir(), 'humanops-tls-')) : undefined;
  const tls = dir ? await localCertificate(dir, ['127.0.0.1', 'localhost']) : undefined;
  const site = await stack.startSite({ signInKey: issuerKeyFile(inject('issuerDir')), tls });
  const caSpkiHash = tls
    ? createHash('sha256').update(new X509Certificate(readFileSync(tls.caFile)).publicKey.export({ type: 'spki', format: 'der' })).digest('base64')
    : undefined;
  return {
    url: site.origin,
    caSpkiHash,
    caFile: tls?.caFile,
    stop: async () => {
      await site.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
