// The local front door: the operator app's built files and the API on one origin, so the app calls
// `/api/v1` on its own origin and needs no CORS locally. It proxies `/api/v1/*` to the Deno API
// unchanged (Host included, so signed URLs point back here) and serves `app/dist` with the app's
// security headers. `signIn`, when given, enables `POST /local/sign-in`: the sign-in of local and
// test stacks, which mints a token with the stack's own issuer — it exists only in this script,
// never in the API, so no deployed server can hand out tokens.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { repoRoot } from './api.mjs';

export const APP_DIST = join(repoRoot, 'app', 'dist');

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.webmanifest': 'application/manifest+json', '.png': 'image/png', '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8',
};

/** The app's policy: its own scripts and styles only; photo previews are blob: URLs. */
export const APP_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data:", "connect-src 'self'",
  "worker-src 'self'", "manifest-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': APP_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(self), geolocation=(self), microphone=()',
};

/** The operator id a local sign-in gives an email: stable, so signing in again finds the same operator. */
export const localOperatorId = (email) => `op_${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 20)}`;

function send(res, status, headers, body) {
  res.writeHead(status, headers);
  res.end(body);
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function localSignIn(req, res, signIn) {
  const json = (status, body) => send(res, status, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(body));
  let email;
  try {
    email = JSON.parse(await readBody(req, 4096)).email;
  } catch {
    return json(400, { error: 'Send {"email": "…"}', code: 'validation_error' });
  }
  if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim()) || email.length > 320) {
    return json(400, { error: 'email: must be an email address', code: 'validation_error' });
  }
  const operatorId = localOperatorId(email);
  return json(200, { token: await signIn(operatorId), operator_id: operatorId });
}

function proxy(req, res, apiOrigin) {
  const target = new URL(req.url, apiOrigin);
  const upstream = httpRequest(target, { method: req.method, headers: req.headers }, (reply) => {
    res.writeHead(reply.statusCode ?? 502, reply.headers);
    reply.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) send(res, 502, { 'content-type': 'application/json' }, JSON.stringify({ error: 'The API is not reachable', code: 'api_unreachable' }));
    else res.destroy();
  });
  req.pipe(upstream);
}

function serveFile(req, res, distDir) {
  let path;
  try {
    path = decodeURIComponent((req.url ?? '/').split('?')[0]);
  } catch {
    return send(res, 400, SECURITY_HEADERS, 'Bad request');
  }
  let file = normalize(join(distDir, path));
  if (!file.startsWith(distDir + sep) && file !== distDir) return send(res, 404, SECURITY_HEADERS, 'Not found');
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(distDir, 'index.html');
  if (!existsSync(file)) {
    return send(res, 503, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }, 'The operator app is not built yet: run `npm run build`.');
  }
  const immutable = file.startsWith(join(distDir, 'assets') + sep);
  send(res, 200, {
    ...SECURITY_HEADERS,
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    // Hashed assets never change; the page and the service worker must be revalidated each time.
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...(file.endsWith('sw.js') ? { 'service-worker-allowed': '/' } : {}),
  }, req.method === 'HEAD' ? undefined : readFileSync(file));
}

/**
 * Serves the app and the API on `host:port` (0 = any free port). `apiOrigin` is where the Deno API
 * listens. Resolves to `{ url, port, stop() }`.
 */
export async function startAppServer({ apiOrigin, port = 0, host = '127.0.0.1', distDir = APP_DIST, signIn } = {}) {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/api' || path.startsWith('/api/')) return proxy(req, res, apiOrigin);
    if (path === '/local/sign-in' && signIn) {
      if (req.method !== 'POST') return send(res, 405, { allow: 'POST' }, '');
      return localSignIn(req, res, signIn).catch(() => send(res, 500, {}, ''));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { allow: 'GET, HEAD' }, '');
    return serveFile(req, res, distDir);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = server.address().port;
  let stopped;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    stop: () => {
      stopped ??= new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
