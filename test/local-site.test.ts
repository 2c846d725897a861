// `npm start`'s one server (functions/local): the API itself at /api, and beside it the operator app's
// built files and the local sign-in; the sign-in only with the issuer's key and never in live mode;
// hostile paths answered safely. Never deployed: the edge function's entry does not import it.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SITE_ENTRY, startApi } from '../scripts/lib/api.mjs';
import { issuerKeyFile } from '../scripts/lib/issuer.mjs';
import { localOperatorId } from './helpers/app.ts';
import { type Stack, startStack } from './helpers/stack.ts';

/** A raw GET, path sent exactly as written (fetch would normalise it). */
const raw = (origin: string, path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
  const { hostname, port } = new URL(origin);
  request({ hostname, port, path, method: 'GET' }, (res) => {
    let body = '';
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
  }).on('error', reject).end();
});

const signIn = (origin: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${origin}/local/sign-in`, { method: 'POST', body, headers });

describe('the local site', () => {
  let stack: Stack;
  let withSignIn: { origin: string };
  let without: { origin: string };
  beforeAll(async () => {
    stack = await startStack();
    withSignIn = await stack.startSite({ signInKey: issuerKeyFile(inject('issuerDir')) });
    without = await stack.startSite({});
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the API at /api/v1 itself (the same answers as the API server), and the app beside it', async () => {
    const health = await fetch(`${withSignIn.origin}/api/v1/health`);
    expect(await health.json()).toEqual(await (await fetch(`${stack.url}/health`)).json());
    const unknown = await fetch(`${withSignIn.origin}/api/v1/no-such-route`);
    expect([unknown.status, (await unknown.json()).code]).toEqual([404, 'route_not_found']);
    const page = await fetch(`${withSignIn.origin}/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('<div id="app">');
    const worker = await fetch(`${withSignIn.origin}/sw.js`);
    expect([worker.headers.get('content-type'), worker.headers.get('service-worker-allowed')]).toEqual(['text/javascript; charset=utf-8', '/']);
    // Routes live in the hash: any other path is the app's shell.
    expect(await (await fetch(`${withSignIn.origin}/some/where`)).text()).toContain('<div id="app">');
  });

  it('never serves a file outside the build, and answers a malformed path with 400', async () => {
    for (const path of ['/../package.json', '/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/assets/../../package.json']) {
      const reply = await raw(withSignIn.origin, path);
      expect(reply.body).not.toContain('"name": "humanops"');
    }
    expect((await raw(withSignIn.origin, '/%E0%A4%A')).status).toBe(400);
    expect((await fetch(`${withSignIn.origin}/`, { method: 'POST' })).status).toBe(405);
  });

  it('signs in locally with a valid email only, with a token the API verifies, and only when given the issuer\'s key', async () => {
    const ok = await signIn(withSignIn.origin, JSON.stringify({ email: ' Ana@Example.com ' }));
    const { token, operator_id } = await ok.json();
    expect(operator_id).toBe(localOperatorId('ana@example.com'));
    const me = await fetch(`${withSignIn.origin}/api/v1/operator/me`, { headers: { authorization: `Bearer ${token}` } });
    expect([me.status, (await me.json()).code]).toEqual([403, 'operator_not_registered']);
    expect((await signIn(withSignIn.origin, JSON.stringify({ email: 'not an email' }))).status).toBe(400);
    expect((await signIn(withSignIn.origin, '{')).status).toBe(400);
    expect((await signIn(without.origin, JSON.stringify({ email: 'ana@example.com' }))).status).toBe(405);
  });

  // Third review (finding 4): a page on another site could post a simple request (no preflight)
  // and mint itself a token. Only same-origin JSON signs in.
  it('refuses a sign-in that is not same-origin JSON: another site\'s page, text/plain, a form', async () => {
    const body = JSON.stringify({ email: 'ana@example.com' });
    const refused = [
      await signIn(withSignIn.origin, body, { 'content-type': 'text/plain' }),
      await signIn(withSignIn.origin, body, {}),
      await signIn(withSignIn.origin, 'email=ana%40example.com', { 'content-type': 'application/x-www-form-urlencoded' }),
    ];
    for (const reply of refused) expect([reply.status, (await reply.json()).code]).toEqual([415, 'unsupported_media_type']);
    for (const headers of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }]) {
      const reply = await signIn(withSignIn.origin, body, { 'content-type': 'application/json', ...headers });
      expect([reply.status, (await reply.json()).code]).toEqual([403, 'cross_origin_refused']);
    }
    // The app on this origin, as a browser sends it.
    const same = await signIn(withSignIn.origin, body, { 'content-type': 'application/json', origin: withSignIn.origin, 'sec-fetch-site': 'same-origin' });
    expect(same.status).toBe(200);
    expect((await same.json()).token).toMatch(/^eyJ/);
  });

  it('has no local sign-in in live mode, even when given the issuer\'s key', async () => {
    const key = issuerKeyFile(inject('issuerDir'));
    const live = await startApi({
      entry: SITE_ENTRY,
      readable: [key],
      env: {
        SUPABASE_DB_URL: `postgres://postgres:postgres@127.0.0.1:${inject('postgresPort')}/${(await stack.sql`select current_database() as db`)[0].db}`,
        HUMANOPS_MODE: 'live',
        HUMANOPS_ADMIN_KEY: randomBytes(24).toString('hex'),
        CLERK_JWKS_URL: inject('issuerJwksUrl'),
        CLERK_ISSUER: inject('issuer'),
        CLERK_AUTHORIZED_PARTIES: inject('issuerAuthorizedParty'),
        HUMANOPS_SIGN_IN_KEY: key,
      },
    });
    try {
      const origin = live.urls[0];
      expect((await signIn(origin, JSON.stringify({ email: 'ana@example.com' }))).status).toBe(405);
      expect((await fetch(`${origin}/api/v1/health`)).status).toBe(200);
    } finally {
      await live.stop();
    }
  });

  it('is never part of the deployed function: the edge function\'s entry does not import it', () => {
    const entry = readFileSync(new URL('../functions/api/index.ts', import.meta.url), 'utf8');
    expect(entry).not.toMatch(/from '\.\.\/local\//);
    expect(readFileSync(new URL('../supabase/config.toml', import.meta.url), 'utf8')).not.toMatch(/functions\/local/);
  });
});
