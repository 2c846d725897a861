// npm start's front door: serves only the built app, proxies /api to the API, offers the local
// sign-in only when given an issuer, and survives hostile paths.
import { request } from 'node:http';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localOperatorId, startAppServer } from '../scripts/lib/app-server.mjs';

/** A raw GET, path sent exactly as written (fetch would normalise it). */
const raw = (url: string, path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
  const { hostname, port } = new URL(url);
  request({ hostname, port, path, method: 'GET' }, (res) => {
    let body = '';
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
  }).on('error', reject).end();
});

describe('the app server', () => {
  let api: Server;
  let withSignIn: { url: string; stop(): Promise<void> };
  let without: { url: string; stop(): Promise<void> };
  beforeAll(async () => {
    api = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url, host: req.headers.host }));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const apiOrigin = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
    withSignIn = await startAppServer({ apiOrigin, signIn: async (sub: string) => `token-for-${sub}` });
    without = await startAppServer({ apiOrigin });
  });
  afterAll(async () => {
    await withSignIn?.stop();
    await without?.stop();
    await new Promise<void>((r) => api.close(() => r()));
  });

  it('proxies /api unchanged, Host included (signed URLs point back at the app)', async () => {
    const reply = await (await fetch(`${withSignIn.url}/api/v1/health?x=1`)).json();
    expect(reply).toEqual({ path: '/api/v1/health?x=1', host: new URL(withSignIn.url).host });
  });

  it('never serves a file outside the build, and answers a malformed path with 400', async () => {
    for (const path of ['/../package.json', '/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json']) {
      const reply = await raw(withSignIn.url, path);
      expect(reply.body).not.toContain('"name": "humanops"');
    }
    expect((await raw(withSignIn.url, '/%E0%A4%A')).status).toBe(400);
    expect((await fetch(`${withSignIn.url}/`, { method: 'POST' })).status).toBe(405);
  });

  it('signs in locally with a valid email only, and only when it has an issuer', async () => {
    const post = (url: string, body: string) => fetch(`${url}/local/sign-in`, { method: 'POST', body });
    const ok = await post(withSignIn.url, JSON.stringify({ email: ' Ana@Example.com ' }));
    expect(await ok.json()).toEqual({ token: `token-for-${localOperatorId('ana@example.com')}`, operator_id: localOperatorId('ana@example.com') });
    expect((await post(withSignIn.url, JSON.stringify({ email: 'not an email' }))).status).toBe(400);
    expect((await post(withSignIn.url, '{')).status).toBe(400);
    expect((await post(without.url, JSON.stringify({ email: 'ana@example.com' }))).status).toBe(405);
  });
});
