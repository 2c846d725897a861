// The local HTTPS certificate for `npm start -- --lan`: a certificate authority made once and kept in
// the data dir (a phone trusts it once), and a server certificate it signs for the addresses served,
// made again when they change (another network) or it nears its end. Generated with `selfsigned`.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import selfsigned from 'selfsigned';

const DAY = 86_400_000;
/** Phones refuse server certificates valid for longer (Apple: 825 days; 398 for public CAs). */
const SERVER_DAYS = 397;
const CA_DAYS = 10 * 365;
/** A server certificate this close to its end is made again. */
const RENEW_DAYS = 30;

const read = (file) => (existsSync(file) ? readFileSync(file, 'utf8') : null);
const write = (file, text, mode) => writeFileSync(file, text, { mode });

async function makeCa() {
  const now = new Date();
  return selfsigned.generate([{ name: 'commonName', value: `HumanOps local CA (${hostname()})` }, { name: 'organizationName', value: 'HumanOps (local)' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - DAY),
    notAfterDate: new Date(now.getTime() + CA_DAYS * DAY),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
}

async function makeServerCertificate(hosts, ca) {
  const now = new Date();
  return selfsigned.generate([{ name: 'commonName', value: hosts[0] }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - DAY),
    notAfterDate: new Date(now.getTime() + SERVER_DAYS * DAY),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })) },
    ],
    ca: { key: ca.key, cert: ca.cert },
  });
}

/** Whether `pem` is a server certificate from `caPem` that names every host and is not near its end. */
function serverCertificateFits(pem, caPem, hosts) {
  if (!pem) return false;
  const cert = new X509Certificate(pem);
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
  if (new Date(cert.validTo).getTime() - Date.now() < RENEW_DAYS * DAY) return false;
  return hosts.every((host) => (isIP(host) ? cert.checkIP(host) : cert.checkHost(host)) !== undefined);
}

/**
 * The certificate files for serving `hosts` (addresses or names) over HTTPS, under `<dataDir>/tls/`.
 * Resolves to `{ caFile, certFile, keyFile, caFingerprint (SHA-256), made: [what was made now] }`.
 */
export async function localCertificate(dataDir, hosts) {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { caFile: join(dir, 'ca.pem'), caKeyFile: join(dir, 'ca-key.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server-key.pem') };
  const made = [];
  let ca = { cert: read(files.caFile), key: read(files.caKeyFile) };
  if (!ca.cert || !ca.key || new Date(new X509Certificate(ca.cert).validTo).getTime() - Date.now() < RENEW_DAYS * DAY) {
    const pems = await makeCa();
    ca = { cert: pems.cert, key: pems.private };
    write(files.caKeyFile, ca.key, 0o600);
    write(files.caFile, ca.cert, 0o644);
    made.push('certificate authority');
  }
  if (!serverCertificateFits(read(files.certFile), ca.cert, hosts)) {
    const pems = await makeServerCertificate(hosts, ca);
    write(files.keyFile, pems.private, 0o600);
    write(files.certFile, pems.cert, 0o644);
    made.push(`server certificate for ${hosts.join(', ')}`);
  }
  return { caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile, caFingerprint: new X509Certificate(ca.cert).fingerprint256, made };
}
