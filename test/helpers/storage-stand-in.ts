// A local stand-in of Supabase's Storage API, enough for our adapter: what storage-js 2.109.0 sends
// (dist/index.mjs): upload = POST {url}/object/{bucket}/{path} with the raw bytes, `content-type`,
// `cache-control: max-age=3600` and `x-upsert`; createSignedUrl = POST {url}/object/sign/{bucket}/{path}
// with JSON `{ expiresIn }`, answered `{ signedURL: '/object/sign/…?token=…' }` which it prefixes
// with {url}; download = GET {url}/object/{bucket}/{path}; remove (below). Every request carries the client's
// headers (apikey, Authorization, X-Client-Info). Errors are JSON `{ statusCode, error, message }`,
// and Supabase answers several of them (duplicate, not found) with HTTP 400.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

const now = () => Math.floor(Date.now() / 1000);

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A Storage API stand-in that accepts `serviceKey` (as storage-js sends it: apikey and Bearer) and holds objects in memory. */
export function startStorageStandIn(serviceKey: string) {
  const objects = new Map<string, { bytes: Buffer; contentType: string }>();
  const requests: Recorded[] = [];
  const state = { failWith500: false, duplicateStatus: 400 };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://stand-in');
      requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body });
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(value));
      };
      if (state.failWith500) return json(500, { statusCode: '500', error: 'internal', message: 'Internal Server Error' });
      if (req.headers.apikey !== serviceKey || req.headers.authorization !== `Bearer ${serviceKey}`) {
        return json(400, { statusCode: '403', error: 'Unauthorized', message: 'Invalid Compact JWS' });
      }
      // remove = DELETE {url}/object/{bucket} with JSON `{ prefixes: [paths] }`, answered with the removed objects.
      const removal = /^\/storage\/v1\/object\/([^/]+)$/.exec(url.pathname);
      if (req.method === 'DELETE' && removal) {
        const { prefixes } = JSON.parse(body.toString('utf8')) as { prefixes: string[] };
        const removed = prefixes.filter((p) => objects.delete(`${removal[1]}/${p}`));
        return json(200, removed.map((name) => ({ name, bucket_id: removal[1] })));
      }
      const route = /^\/storage\/v1\/object\/(sign\/)?([^/]+)\/(.+)$/.exec(url.pathname);
      if (!route) return json(404, { statusCode: '404', error: 'Not Found', message: 'Route not found' });
      const [, sign, bucket, objectPath] = route;
      if (bucket !== 'proofs') return json(400, { statusCode: '404', error: 'Bucket not found', message: 'Bucket not found' });
      const key = `${bucket}/${objectPath}`;
      const notFound = () => json(400, { statusCode: '404', error: 'not_found', message: 'Object not found' });

      if (req.method === 'POST' && !sign) {
        if (objects.has(key) && req.headers['x-upsert'] !== 'true') {
          return json(state.duplicateStatus, { statusCode: '409', error: 'Duplicate', message: 'The resource already exists' });
        }
        objects.set(key, { bytes: body, contentType: String(req.headers['content-type']) });
        return json(200, { Key: key, Id: randomUUID() });
      }
      if (req.method === 'POST' && sign) {
        if (!objects.has(key)) return notFound();
        const { expiresIn } = JSON.parse(body.toString('utf8')) as { expiresIn: number };
        const token = `${Buffer.from(JSON.stringify({ url: key, exp: now() + expiresIn })).toString('base64url')}.sig`;
        return json(200, { signedURL: `/object/sign/${key}?token=${token}` });
      }
      if (req.method === 'GET' && !sign) {
        const object = objects.get(key);
        if (!object) return notFound();
        res.writeHead(200, { 'content-type': object.contentType, 'content-length': object.bytes.length });
        return res.end(object.bytes);
      }
      return json(405, { statusCode: '405', error: 'Method Not Allowed', message: 'Method not allowed' });
    });
  });
  return { server, objects, requests, state };
}
