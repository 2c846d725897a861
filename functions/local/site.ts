/**
 * What `npm start` serves beside the API on the same origin: the operator app's built files (with
 * its security headers) and, on local and test stacks, the local sign-in. Never deployed.
 */
import { Hono } from 'hono';
import { serveStatic } from 'hono/deno';
import { join } from 'node:path';

/** The map's tiles when the app was built without VITE_MAP_TILE_URL (app/src/config.ts). */
const DEFAULT_MAP_TILE_URL = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';

/** Where a tile URL template's images come from, for img-src: `{s}` subdomains become a wildcard. */
export function tileSource(template: string): string {
  const url = new URL(template.replace(/\{s\}\./, 'subdomain.').replace(/\{[a-z]+\}/g, '0'));
  return `${url.protocol}//${template.includes('{s}.') ? url.host.replace(/^subdomain\./, '*.') : url.host}`;
}

/**
 * The app's policy: its own scripts and styles only; photo previews are blob: URLs; images also
 * from the map's tile server (VITE_MAP_TILE_URL, the same setting the app was built with).
 */
export const appCsp = (mapTileUrl = DEFAULT_MAP_TILE_URL) => [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", `img-src 'self' blob: data: ${tileSource(mapTileUrl)}`, "connect-src 'self'",
  "worker-src 'self'", "manifest-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'",
].join('; ');

const securityHeaders = (mapTileUrl: string | undefined): Record<string, string> => ({
  'content-security-policy': appCsp(mapTileUrl || undefined),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(self), geolocation=(self), microphone=()',
});

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The operator id a local sign-in gives an email: stable, so signing in again finds the same operator. */
export async function localOperatorId(email: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(email.trim().toLowerCase()));
  return `op_${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, 20)}`;
}

export interface SiteOptions {
  /** The built app (app/dist). */
  distDir: string;
  /** Mints a session token for an operator id; absent, there is no local sign-in. */
  signIn?: (operatorId: string) => Promise<string>;
  /** The certificate authority a phone installs to trust this server (PEM), served at /local/ca.crt. */
  caCertificate?: string;
  /** VITE_MAP_TILE_URL, as the app was built with: its images are allowed. */
  mapTileUrl?: string;
}

export function createSite({ distDir, signIn, caCertificate, mapTileUrl }: SiteOptions) {
  const SECURITY_HEADERS = securityHeaders(mapTileUrl);
  const site = new Hono();
  site.use('*', async (c, next) => {
    try {
      decodeURIComponent(c.req.path);
    } catch {
      return c.text('Bad request', 400, SECURITY_HEADERS);
    }
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });

  if (signIn) {
    site.post('/local/sign-in', async (c) => {
      c.header('cache-control', 'no-store');
      // Only the app on this origin may sign in: a cross-site page could otherwise post a simple
      // (text/plain, form) request that needs no preflight and mint itself a token.
      const origin = c.req.header('origin');
      const fetchSite = c.req.header('sec-fetch-site');
      if ((origin !== undefined && origin !== new URL(c.req.url).origin) || (fetchSite !== undefined && fetchSite !== 'same-origin')) {
        return c.json({ error: 'Sign in from the operator app on this origin', code: 'cross_origin_refused' }, 403);
      }
      if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) {
        return c.json({ error: 'Send {"email": "…"} as application/json', code: 'unsupported_media_type' }, 415);
      }
      const text = await c.req.text();
      let email: unknown;
      try {
        email = text.length <= 4096 ? JSON.parse(text).email : undefined;
      } catch {
        return c.json({ error: 'Send {"email": "…"}', code: 'validation_error' }, 400);
      }
      if (typeof email !== 'string' || email.length > 320 || !EMAIL.test(email.trim())) {
        return c.json({ error: 'email: must be an email address', code: 'validation_error' }, 400);
      }
      const operatorId = await localOperatorId(email);
      return c.json({ token: await signIn(operatorId), operator_id: operatorId });
    });
  }
  if (caCertificate) {
    site.get('/local/ca.crt', (c) =>
      c.body(caCertificate, 200, { 'content-type': 'application/x-x509-ca-cert', 'content-disposition': 'attachment; filename="humanops-local-ca.crt"' }));
  }

  // Hashed assets never change; the page and the service worker must be revalidated each time.
  const cacheHeaders = (path: string, c: { header(name: string, value: string): void }) => {
    const immutable = path.startsWith(join(distDir, 'assets') + '/');
    c.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (path.endsWith('/sw.js')) c.header('service-worker-allowed', '/');
  };
  // The owner's console is the second page: its files are addressed relative to /console/.
  site.get('/console', (c) => c.redirect('/console/', 301));
  site.on(['GET', 'HEAD'], '*', serveStatic({ root: distDir, onFound: cacheHeaders }));
  // Routes live in the URL's hash, so any other path is the app's shell.
  site.on(['GET', 'HEAD'], '*', serveStatic({ root: '/', path: join(distDir, 'index.html'), onFound: cacheHeaders }));
  site.on(['GET', 'HEAD'], '*', (c) => c.text('The operator app is not built yet: run `npm run build`.', 503));
  site.all('*', (c) => c.body(null, 405, { allow: 'GET, HEAD' }));
  return site;
}
