// The local stand-in for Clerk: an RS256 key pair kept in the data dir, a JWKS served over HTTP,
// and operator session tokens minted with it, so the API runs its real verification path
// (functions/_shared/operator-token.ts) locally too.
//
// The issuer identifier (`iss`) is a constant, not the JWKS address: a token minted while the
// stack is down (`npm run token`) verifies once it is up, whatever port the JWKS is served on.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import { repoRoot } from './api.mjs';
import { postgresCanReach } from './postgres.mjs';

/** The `iss` of every locally minted operator token (CLERK_ISSUER for the local API). */
export const LOCAL_ISSUER = 'https://issuer.humanops.local';
/** The `azp` locally minted tokens carry (CLERK_AUTHORIZED_PARTIES for the local API). */
export const LOCAL_AUTHORIZED_PARTY = 'humanops-local';
export const JWKS_PATH = '/.well-known/jwks.json';

const ALG = 'RS256';
const PRIVATE_FILE = 'private.jwk.json';
const PUBLIC_FILE = 'public.jwk.json';
const PUBLIC_MEMBERS = ['kty', 'n', 'e', 'kid', 'alg', 'use'];

/**
 * The data dir `npm start` uses: HUMANOPS_DATA_DIR, else `.humanops/` in the clone when the postgres
 * user can reach it, else `$TMPDIR/humanops-data-<hash of the clone path>`.
 */
export function defaultDataDir(env = process.env) {
  if (env.HUMANOPS_DATA_DIR) return resolve(env.HUMANOPS_DATA_DIR);
  const inClone = join(repoRoot, '.humanops');
  if (postgresCanReach(inClone)) return inClone;
  const id = createHash('sha256').update(realpathSync(repoRoot)).digest('hex').slice(0, 12);
  return join(tmpdir(), `humanops-data-${id}`);
}

/** The folder the issuer's key lives in, under a data dir. */
export const issuerDir = (dir) => join(resolve(dir), 'issuer');

/** The issuer's private key (a JWK) under a data dir; the local sign-in signs with it. */
export const issuerKeyFile = (dir) => join(issuerDir(dir), PRIVATE_FILE);

const publicPart = (jwk) => Object.fromEntries(PUBLIC_MEMBERS.filter((m) => jwk[m] !== undefined).map((m) => [m, jwk[m]]));

async function readPrivateJwk(file) {
  let jwk;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw new Error(`the issuer key ${file} is unreadable (${error.message}); delete it to make a new one`);
  }
  if (jwk?.kty !== 'RSA' || typeof jwk.d !== 'string' || typeof jwk.kid !== 'string') {
    throw new Error(`the issuer key ${file} is not an RSA private JWK with a kid; delete it to make a new one`);
  }
  return jwk;
}

async function toIssuerKey(jwk, folder, created) {
  const privateKey = await importJWK({ ...jwk, alg: ALG }, ALG);
  return { kid: jwk.kid, alg: ALG, privateKey, publicJwk: publicPart(jwk), dir: folder, created };
}

/**
 * The issuer's RS256 key pair, made on first use and kept in `<dir>/issuer/` (folder 0700,
 * `private.jwk.json` 0600, `public.jwk.json`); later calls, from any process, load the same key.
 * The `kid` is the key's RFC 7638 thumbprint. Resolves to `{ kid, alg, privateKey, publicJwk, dir, created }`.
 */
export async function loadOrCreateIssuerKey(dir) {
  const folder = issuerDir(dir);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await chmod(folder, 0o700);
  const privateFile = join(folder, PRIVATE_FILE);

  const existing = await readPrivateJwk(privateFile);
  if (existing) {
    await chmod(privateFile, 0o600);
    return toIssuerKey(existing, folder, false);
  }

  const { privateKey } = await generateKeyPair(ALG, { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk, 'sha256');
  jwk.alg = ALG;
  jwk.use = 'sig';

  // Written aside and linked into place: two processes starting at once agree on one key.
  const staging = join(folder, `.${PRIVATE_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await writeFile(staging, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(staging, 0o600);
  let created = true;
  try {
    await link(staging, privateFile);
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    created = false;
  } finally {
    await unlink(staging);
  }
  const key = created ? jwk : await readPrivateJwk(privateFile);

  const publicStaging = join(folder, `.${PUBLIC_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await writeFile(publicStaging, `${JSON.stringify(publicPart(key), null, 2)}\n`, { mode: 0o644 });
  await rename(publicStaging, join(folder, PUBLIC_FILE));
  return toIssuerKey(key, folder, created);
}

/** A jose time span ('1h', '15m', '-10s') or a Date as is; a number is seconds from `now`. */
const instant = (value, now) => (typeof value === 'number' ? now + value : value);

/**
 * Signs an operator session token the way Clerk shapes one: header `{ alg: 'RS256', kid, typ: 'JWT' }`,
 * claims `iss`, `sub`, `azp`, `iat`, `nbf`, `exp` and `role: 'authenticated'` (what Supabase's
 * third-party auth expects). `key` is a loadOrCreateIssuerKey result, or give `dir` to load it.
 * `expiresIn`/`notBefore`: a jose time span ('1h', '-5m'), seconds from now, or a Date.
 * `azp: null` leaves `azp` out; `extraClaims` are added (they cannot replace iss/sub/iat/nbf/exp).
 */
export async function mintOperatorToken({
  dir,
  key,
  issuer = LOCAL_ISSUER,
  sub,
  expiresIn = '1h',
  notBefore,
  azp = LOCAL_AUTHORIZED_PARTY,
  extraClaims = {},
} = {}) {
  if (typeof sub !== 'string' || sub.trim() === '') throw new TypeError('mintOperatorToken: sub must be a non-empty string');
  const signingKey = key ?? (dir !== undefined ? await loadOrCreateIssuerKey(dir) : undefined);
  if (!signingKey) throw new TypeError('mintOperatorToken: give `key` or `dir`');
  const now = Math.floor(Date.now() / 1000);
  const claims = { role: 'authenticated', ...extraClaims };
  if (azp !== null && azp !== undefined) claims.azp = azp;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALG, kid: signingKey.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(sub)
    .setIssuedAt(now)
    .setNotBefore(notBefore === undefined ? now : instant(notBefore, now))
    .setExpirationTime(instant(expiresIn, now))
    .sign(signingKey.privateKey);
}

const json = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
};

/**
 * Serves the issuer's JWKS at `GET /.well-known/jwks.json` on `host:port` (0 = any free port).
 * Resolves to `{ issuer, jwksUrl, port, authorizedParty, kid, mint(sub, options?), stop() }`;
 * `mint` takes mintOperatorToken's options other than key/dir/sub.
 */
export async function startIssuer({ dir, port = 0, host = '127.0.0.1', issuer = LOCAL_ISSUER } = {}) {
  if (!dir) throw new TypeError('startIssuer: dir is required');
  const key = await loadOrCreateIssuerKey(dir);
  const body = { keys: [key.publicJwk] };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === JWKS_PATH && (req.method === 'GET' || req.method === 'HEAD')) return json(res, 200, body);
    return json(res, 404, { error: 'Not found', code: 'not_found' });
  });
  await new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  const actualPort = server.address().port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let stopped;
  return {
    issuer,
    jwksUrl: `http://${urlHost}:${actualPort}${JWKS_PATH}`,
    port: actualPort,
    authorizedParty: LOCAL_AUTHORIZED_PARTY,
    kid: key.kid,
    mint: (sub, options = {}) => mintOperatorToken({ ...options, key, issuer: options.issuer ?? issuer, sub }),
    stop: () => {
      stopped ??= new Promise((resolvePromise) => {
        server.close(() => resolvePromise());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
