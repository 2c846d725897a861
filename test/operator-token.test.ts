// Operator session tokens: the verifier the API uses (functions/_shared/operator-token.ts) against
// the stack's local issuer (scripts/lib/issuer.mjs), and against a scripted JWKS server for key
// rotation and provider outages. No database needed.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CompactSign, SignJWT, base64url, exportJWK, exportSPKI, generateKeyPair, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../functions/_shared/errors.ts';
import { createOperatorTokenVerifier, type OperatorTokenVerifier } from '../functions/_shared/operator-token.ts';
import {
  LOCAL_AUTHORIZED_PARTY,
  LOCAL_ISSUER,
  defaultDataDir,
  loadOrCreateIssuerKey,
  mintOperatorToken,
  startIssuer,
} from '../scripts/lib/issuer.mjs';
import { freePort } from '../scripts/lib/ports.mjs';

type Issuer = Awaited<ReturnType<typeof startIssuer>>;
type IssuerKey = Awaited<ReturnType<typeof loadOrCreateIssuerKey>>;

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
const now = () => Math.floor(Date.now() / 1000);

/** The ApiError a verification rejects with (fails the test if it resolves or throws anything else). */
async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected the token to be refused, but it verified');
}

async function expectInvalid(promise: Promise<unknown>, message: string) {
  const error = await rejection(promise);
  expect({ status: error.status, code: error.code, message: error.message }).toEqual({ status: 401, code: 'invalid_token', message });
}

async function expectUnavailable(promise: Promise<unknown>) {
  const error = await rejection(promise);
  expect({ status: error.status, code: error.code, message: error.message, headers: error.headers }).toEqual({
    status: 503,
    code: 'identity_provider_unavailable',
    message: 'Cannot reach the identity provider to verify the operator token; try again shortly',
    headers: { 'Retry-After': '5' },
  });
}

/** A JWKS endpoint the test scripts: which keys it serves, or how it fails; counts its requests. */
async function startJwksServer() {
  const state = { keys: [] as JWK[], mode: 'ok' as 'ok' | 'error' | 'html', requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests += 1;
    if (state.mode === 'error') return res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
    if (state.mode === 'html') return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    state,
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    stop: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** A key pair that is not the issuer's, its public JWK labelled with `kid`. */
async function otherKeyPair(alg: 'RS256' | 'ES256', kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { privateKey, publicKey, publicJwk };
}

let dir: string;
let issuer: Issuer;
let key: IssuerKey;
let verify: OperatorTokenVerifier;

/** Signs `claims` with the issuer's key as given (no defaults), for claim-level tests. */
const signRaw = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey);

const validClaims = (overrides: Record<string, unknown> = {}) => ({
  iss: LOCAL_ISSUER,
  sub: 'op_jane',
  azp: LOCAL_AUTHORIZED_PARTY,
  iat: now(),
  nbf: now(),
  exp: now() + 600,
  ...overrides,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'humanops-issuer-'));
  issuer = await startIssuer({ dir });
  key = await loadOrCreateIssuerKey(dir);
  verify = createOperatorTokenVerifier({ jwksUrl: issuer.jwksUrl, issuer: issuer.issuer, authorizedParties: [issuer.authorizedParty] });
});

afterAll(async () => {
  await issuer?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the local issuer', () => {
  it('serves its public key as a JWKS, and 404 JSON elsewhere', async () => {
    expect(issuer.issuer).toBe(LOCAL_ISSUER);
    expect(issuer.authorizedParty).toBe('humanops-local');
    expect(issuer.jwksUrl).toBe(`http://127.0.0.1:${issuer.port}/.well-known/jwks.json`);
    const response = await fetch(issuer.jwksUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const jwks = await response.json();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', kid: key.kid, alg: 'RS256', use: 'sig', e: 'AQAB' });
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(jwks.keys[0]).not.toHaveProperty(secret);

    const other = await fetch(new URL('/nope', issuer.jwksUrl));
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ error: 'Not found', code: 'not_found' });
  });

  it('mints tokens shaped like Clerk session tokens', async () => {
    const token = await issuer.mint('op_jane');
    const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(new TextDecoder().decode(base64url.decode(part))));
    expect(header).toEqual({ alg: 'RS256', kid: key.kid, typ: 'JWT' });
    expect(payload).toEqual({
      iss: LOCAL_ISSUER,
      sub: 'op_jane',
      azp: 'humanops-local',
      role: 'authenticated',
      iat: expect.any(Number),
      nbf: payload.iat,
      exp: payload.iat + 3600,
    });
  });

  it('keeps one key pair across calls and processes, private key 0600 in a 0700 folder', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'humanops-issuer-'));
    try {
      // Several at once, as when the stack and `npm run token` start together: one key wins.
      const first = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateIssuerKey(fresh)));
      expect(new Set(first.map((k) => k.kid)).size).toBe(1);
      expect(first.filter((k) => k.created)).toHaveLength(1);
      const again = await loadOrCreateIssuerKey(fresh);
      expect(again.created).toBe(false);
      expect(again.kid).toBe(first[0].kid);
      expect(again.publicJwk).toEqual(first[0].publicJwk);

      expect((await stat(join(fresh, 'issuer'))).mode & 0o777).toBe(0o700);
      expect((await stat(join(fresh, 'issuer', 'private.jwk.json'))).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(await readFile(join(fresh, 'issuer', 'private.jwk.json'), 'utf8'));
      expect(stored).toMatchObject({ kty: 'RSA', kid: again.kid, d: expect.any(String) });
      const published = JSON.parse(await readFile(join(fresh, 'issuer', 'public.jwk.json'), 'utf8'));
      expect(published).toEqual(again.publicJwk);
      expect(published).not.toHaveProperty('d');
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('tokens minted offline from the data dir verify against the issuer later served from it', async () => {
    const offline = await mintOperatorToken({ dir, sub: 'op_offline' });
    expect((await verify(offline)).sub).toBe('op_offline');
  });

  it('defaultDataDir follows HUMANOPS_DATA_DIR, else the stack rule', () => {
    expect(defaultDataDir({ HUMANOPS_DATA_DIR: 'some/where' })).toBe(resolve('some/where'));
    expect(defaultDataDir({})).toMatch(/(\.humanops|humanops-data-[0-9a-f]{12})$/);
  });
});

describe('operator token verification', () => {
  it('accepts a good token and returns its subject and claims', async () => {
    const result = await verify(await issuer.mint('op_jane'));
    expect(result.sub).toBe('op_jane');
    expect(result.claims).toMatchObject({ iss: LOCAL_ISSUER, sub: 'op_jane', azp: 'humanops-local', role: 'authenticated' });
  });

  it('refuses an expired token, allowing a few seconds of clock skew', async () => {
    await expectInvalid(verify(await issuer.mint('op_jane', { expiresIn: -60 })), 'Operator token has expired');
    expect((await verify(await issuer.mint('op_jane', { expiresIn: -2 }))).sub).toBe('op_jane');
  });

  it('refuses a token that is not valid yet (nbf or iat in the future)', async () => {
    await expectInvalid(verify(await issuer.mint('op_jane', { notBefore: 60 })), 'Operator token is not valid yet');
    await expectInvalid(verify(await signRaw(validClaims({ iat: now() + 60, nbf: undefined }))), 'Operator token is not valid yet');
    expect((await verify(await issuer.mint('op_jane', { notBefore: 2 }))).sub).toBe('op_jane');
  });

  it('refuses a token signed by another key pair under the issuer kid', async () => {
    const attacker = await otherKeyPair('RS256', key.kid);
    const forged = await new SignJWT(validClaims()).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(attacker.privateKey);
    await expectInvalid(verify(forged), 'Operator token signature is invalid');
    // Nor does a key embedded in the header help.
    const embedded = await new SignJWT(validClaims())
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', jwk: attacker.publicJwk })
      .sign(attacker.privateKey);
    await expectInvalid(verify(embedded), 'Operator token signature is invalid');
  });

  it('refuses a token signed with a key the issuer does not publish', async () => {
    const stranger = await otherKeyPair('RS256', 'unknown-kid');
    const token = await new SignJWT(validClaims()).setProtectedHeader({ alg: 'RS256', kid: 'unknown-kid', typ: 'JWT' }).sign(stranger.privateKey);
    await expectInvalid(verify(token), 'Operator token was signed with an unknown key');
  });

  it('refuses a token from another issuer, or with none', async () => {
    await expectInvalid(verify(await issuer.mint('op_jane', { issuer: 'https://evil.example.com' })), 'Operator token has the wrong issuer');
    await expectInvalid(verify(await signRaw(validClaims({ iss: undefined }))), 'Operator token has no issuer');
  });

  it('refuses alg "none"', async () => {
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode(validClaims())}.`;
    await expectInvalid(verify(unsigned), 'Operator token algorithm is not allowed');
    const unsignedWithKid = `${encode({ alg: 'none', kid: key.kid })}.${encode(validClaims())}.`;
    await expectInvalid(verify(unsignedWithKid), 'Operator token algorithm is not allowed');
  });

  it('refuses HS256 signed with the public key as the secret (algorithm confusion)', async () => {
    const pem = await exportSPKI((await importJWK(key.publicJwk, 'RS256')) as CryptoKey);
    for (const secret of [pem, JSON.stringify(key.publicJwk)]) {
      const token = await new SignJWT(validClaims())
        .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'JWT' })
        .sign(new TextEncoder().encode(secret));
      await expectInvalid(verify(token), 'Operator token algorithm is not allowed');
    }
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, payload, signature] = (await issuer.mint('op_jane')).split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
    const tampered = `${header}.${encode({ ...claims, sub: 'op_admin' })}.${signature}`;
    await expectInvalid(verify(tampered), 'Operator token signature is invalid');
  });

  it('refuses malformed tokens', async () => {
    const notJsonPayload = await new CompactSign(new TextEncoder().encode('not json'))
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .sign(key.privateKey);
    const samples = ['', 'abc', 'a.b', 'a.b.c', 'a.b.c.d', '...', `${encode(['RS256'])}.${encode({})}.sig`, `${encode({ alg: 'RS256' })}.e30.@@@`, notJsonPayload];
    for (const token of samples) await expectInvalid(verify(token), 'Operator token is malformed');
    await expectInvalid(verify(undefined as unknown as string), 'Operator token is malformed');
  });

  it('checks the authorized party when parties are configured', async () => {
    await expectInvalid(verify(await issuer.mint('op_jane', { azp: 'https://evil.example.com' })), 'Operator token was issued for another application');
    await expectInvalid(verify(await issuer.mint('op_jane', { azp: null })), 'Operator token does not name the application it was issued for');
    const twoApps = createOperatorTokenVerifier({ jwksUrl: issuer.jwksUrl, issuer: LOCAL_ISSUER, authorizedParties: ['https://app.example.com', 'humanops-local'] });
    expect((await twoApps(await issuer.mint('op_jane', { azp: 'https://app.example.com' }))).sub).toBe('op_jane');
  });

  it('does not check the authorized party when none are configured', async () => {
    const anyParty = createOperatorTokenVerifier({ jwksUrl: issuer.jwksUrl, issuer: LOCAL_ISSUER, authorizedParties: [] });
    expect((await anyParty(await issuer.mint('op_jane', { azp: 'https://elsewhere.example.com' }))).sub).toBe('op_jane');
    expect((await anyParty(await issuer.mint('op_jane', { azp: null }))).sub).toBe('op_jane');
  });

  it('refuses a token that names an audience when none is configured (made for another service)', async () => {
    await expectInvalid(verify(await issuer.mint('op_jane', { extraClaims: { aud: 'https://other-service.example.com' } })), 'Operator token was issued for another audience');
    await expectInvalid(verify(await issuer.mint('op_jane', { extraClaims: { aud: [] } })), 'Operator token was issued for another audience');
  });

  it('checks the audience when audiences are configured', async () => {
    const withAudience = createOperatorTokenVerifier({ jwksUrl: issuer.jwksUrl, issuer: LOCAL_ISSUER, authorizedParties: ['humanops-local'], audiences: ['humanops-api'] });
    expect((await withAudience(await issuer.mint('op_jane', { extraClaims: { aud: 'humanops-api' } }))).sub).toBe('op_jane');
    expect((await withAudience(await issuer.mint('op_jane', { extraClaims: { aud: ['x', 'humanops-api'] } }))).sub).toBe('op_jane');
    await expectInvalid(withAudience(await issuer.mint('op_jane', { extraClaims: { aud: 'https://other-service.example.com' } })), 'Operator token was issued for another audience');
    await expectInvalid(withAudience(await issuer.mint('op_jane')), 'Operator token was issued for another audience');
  });

  it('refuses a token without a subject', async () => {
    await expectInvalid(verify(await signRaw(validClaims({ sub: undefined }))), 'Operator token has no subject');
    await expectInvalid(verify(await signRaw(validClaims({ sub: '' }))), 'Operator token has no subject');
    await expectInvalid(verify(await signRaw(validClaims({ sub: 42 }))), 'Operator token has no subject');
  });

  it('refuses a token without an expiry, or with a malformed one', async () => {
    await expectInvalid(verify(await signRaw(validClaims({ exp: undefined }))), 'Operator token has no expiry');
    await expectInvalid(verify(await signRaw(validClaims({ exp: 'tomorrow' }))), 'Operator token has an invalid "exp" claim');
    await expectInvalid(verify(await signRaw(validClaims({ nbf: 'now' }))), 'Operator token has an invalid "nbf" claim');
  });

  it('answers 503 when the JWKS cannot be fetched (closed port), never a pass', async () => {
    const closed = await freePort();
    const unreachable = createOperatorTokenVerifier({
      jwksUrl: `http://127.0.0.1:${closed}/.well-known/jwks.json`,
      issuer: LOCAL_ISSUER,
      authorizedParties: [LOCAL_AUTHORIZED_PARTY],
    });
    await expectUnavailable(unreachable(await issuer.mint('op_jane')));
    // A malformed token is still the client's fault: it never reaches the provider.
    await expectInvalid(unreachable('a.b'), 'Operator token is malformed');
  });
});

describe('the key set as the provider changes it', () => {
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  const ISS = 'https://clerk.example.com';
  const claims = (sub = 'op_jane') => ({ iss: ISS, sub, azp: 'https://app.example.com', iat: now(), exp: now() + 600 });
  const sign = (pair: Awaited<ReturnType<typeof otherKeyPair>>) =>
    new SignJWT(claims()).setProtectedHeader({ alg: pair.publicJwk.alg, kid: pair.publicJwk.kid, typ: 'JWT' }).sign(pair.privateKey);

  beforeAll(async () => {
    jwks = await startJwksServer();
  });
  afterAll(() => jwks?.stop());

  it('caches keys, and refetches them on an unknown kid (key rotation)', async () => {
    const oldKey = await otherKeyPair('RS256', 'ins_old');
    const newKey = await otherKeyPair('RS256', 'ins_new');
    jwks.state.keys = [oldKey.publicJwk];
    jwks.state.requests = 0;
    const verifier = createOperatorTokenVerifier({ jwksUrl: jwks.url, issuer: ISS, authorizedParties: ['https://app.example.com'], jwksCooldownSeconds: 0 });

    expect((await verifier(await sign(oldKey))).sub).toBe('op_jane');
    expect((await verifier(await sign(oldKey))).sub).toBe('op_jane');
    expect(jwks.state.requests).toBe(1); // cached

    jwks.state.keys = [oldKey.publicJwk, newKey.publicJwk]; // the provider rotates
    expect((await verifier(await sign(newKey))).sub).toBe('op_jane');
    expect(jwks.state.requests).toBe(2); // the unknown kid triggered one refetch

    // A kid the provider does not publish even after refetching is refused.
    const stranger = await otherKeyPair('RS256', 'ins_stranger');
    await expectInvalid(verifier(await sign(stranger)), 'Operator token was signed with an unknown key');
    expect(jwks.state.requests).toBe(3);

    // Malformed tokens and refused algorithms never cost a fetch.
    await expectInvalid(verifier('a.b.c.d'), 'Operator token is malformed');
    await expectInvalid(verifier(`${encode({ alg: 'none' })}.${encode(claims())}.`), 'Operator token algorithm is not allowed');
    expect(jwks.state.requests).toBe(3);
  });

  it('does not refetch on unknown kids within the cooldown (no fetch floods)', async () => {
    const known = await otherKeyPair('RS256', 'ins_known');
    jwks.state.keys = [known.publicJwk];
    jwks.state.requests = 0;
    const verifier = createOperatorTokenVerifier({ jwksUrl: jwks.url, issuer: ISS, authorizedParties: [] });
    expect((await verifier(await sign(known))).sub).toBe('op_jane');
    for (const kid of ['made-up-1', 'made-up-2', 'made-up-3']) {
      await expectInvalid(verifier(await sign(await otherKeyPair('RS256', kid))), 'Operator token was signed with an unknown key');
    }
    expect(jwks.state.requests).toBe(1);
  });

  it('accepts ES256 keys, and a kid-less token when several keys could match', async () => {
    const ec = await otherKeyPair('ES256', 'ins_ec');
    const rsaA = await otherKeyPair('RS256', 'ins_a');
    const rsaB = await otherKeyPair('RS256', 'ins_b');
    jwks.state.keys = [ec.publicJwk, rsaA.publicJwk, rsaB.publicJwk];
    const verifier = createOperatorTokenVerifier({ jwksUrl: jwks.url, issuer: ISS, authorizedParties: [] });
    expect((await verifier(await sign(ec))).sub).toBe('op_jane');
    const noKid = await new SignJWT(claims('op_nokid')).setProtectedHeader({ alg: 'RS256' }).sign(rsaB.privateKey);
    expect((await verifier(noKid)).sub).toBe('op_nokid');
    const stranger = await otherKeyPair('RS256', 'x');
    const forgedNoKid = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256' }).sign(stranger.privateKey);
    await expectInvalid(verifier(forgedNoKid), 'Operator token signature is invalid');
  });

  it('answers 503 when the provider errors or serves garbage, and recovers when it is back', async () => {
    const pair = await otherKeyPair('RS256', 'ins_back');
    jwks.state.keys = [pair.publicJwk];
    const verifier = createOperatorTokenVerifier({ jwksUrl: jwks.url, issuer: ISS, authorizedParties: [] });
    jwks.state.mode = 'error';
    await expectUnavailable(verifier(await sign(pair)));
    jwks.state.mode = 'html';
    await expectUnavailable(verifier(await sign(pair)));
    jwks.state.mode = 'ok';
    expect((await verifier(await sign(pair))).sub).toBe('op_jane');
  });
});
