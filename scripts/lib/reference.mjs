// The API reference page for `npm start`: Swagger UI (from the npm package swagger-ui-dist, served
// from node_modules: nothing is loaded from a CDN) rendering the API's own /openapi.json. The
// API's routes are proxied under the same origin, so "Try it out" works without CORS.
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';

const require = createRequire(import.meta.url);
const ui = dirname(require.resolve('swagger-ui-dist/package.json'));

/** The only files served from the package, with their types. */
const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>HumanOps API reference</title>
  <link rel="icon" type="image/png" href="/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/assets/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/assets/swagger-ui-bundle.js"></script>
  <script src="/assets/init.js"></script>
</body>
</html>
`;

// validatorUrl: null keeps Swagger UI from sending the document to its public validator service.
const INIT = `window.ui = SwaggerUIBundle({
  url: '/api/v1/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: false,
  persistAuthorization: false,
});
`;

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * Serves the reference on `port` (0 = any free port) for the API at `apiUrl` (…/api/v1). Resolves
 * with `{ url, stop() }` once it listens.
 */
export function startReference({ port = 0, apiUrl }) {
  const apiOrigin = new URL(apiUrl).origin;
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/api/v1/openapi.json') return await serveDocument(req, res, `${apiOrigin}${req.url}`);
      if (path.startsWith('/api/v1/')) return await proxy(req, res, `${apiOrigin}${req.url}`);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', ...SECURITY_HEADERS }).end(PAGE);
        return;
      }
      if (path === '/assets/init.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', ...SECURITY_HEADERS }).end(INIT);
        return;
      }
      const asset = path.startsWith('/assets/') ? path.slice('/assets/'.length) : '';
      if (Object.hasOwn(ASSETS, asset)) {
        res.writeHead(200, { 'Content-Type': ASSETS[asset], 'Cache-Control': 'public, max-age=3600', ...SECURITY_HEADERS });
        createReadStream(join(ui, asset)).pipe(res);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
    } catch (error) {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: `The API did not answer: ${error.message}`, code: 'bad_gateway' }));
    }
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: actual } = server.address();
      resolve({
        url: `http://127.0.0.1:${actual}/`,
        stop: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

/**
 * The API's document with this page as its server: the API names the base URL it was reached at,
 * which from here is the API's own origin, where the page's "Try it out" calls would be
 * cross-origin; through this origin they are passed on like any other /api/v1 request.
 */
async function serveDocument(req, res, target) {
  const answer = await fetch(target);
  const body = await answer.json();
  if (answer.ok) body.servers = [{ url: `http://${req.headers.host}/api/v1`, description: 'This page, which passes requests on to the API' }];
  res.writeHead(answer.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(body));
}

/** Forwards a request to the API as it came (method, headers, body) and streams the answer back. */
export async function proxy(req, res, target) {
  const headers = { ...req.headers };
  delete headers.host;
  delete headers.connection;
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const answer = await fetch(target, {
    method: req.method,
    headers,
    body: hasBody ? Readable.toWeb(req) : undefined,
    duplex: hasBody ? 'half' : undefined,
    redirect: 'manual',
  });
  const out = {};
  answer.headers.forEach((value, name) => {
    // fetch has already decoded the body.
    if (name !== 'content-encoding' && name !== 'content-length' && name !== 'transfer-encoding') out[name] = value;
  });
  res.writeHead(answer.status, out);
  if (answer.body) Readable.fromWeb(answer.body).pipe(res);
  else res.end();
}
