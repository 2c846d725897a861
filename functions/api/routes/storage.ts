import { type Context, Hono } from 'hono';
import { type createLocalStorage, proofPathOf } from '../../_shared/storage.ts';
import type { AppEnv } from '../context.ts';

const MARKER = '/storage/proofs/';

/**
 * GET /storage/proofs/<file>?expires=…&signature=…: serves a proof file of the local storage
 * backend when the URL's signature verifies and it has not expired. `<file>` is the object path in
 * one segment (`/` as `~`); URLs of the older shape, the path with its slashes, are served by the
 * same handler until they expire. Mount it only when STORAGE_BACKEND=local (Supabase serves its own
 * signed URLs).
 */
export function storageRoutes(storage: ReturnType<typeof createLocalStorage>) {
  const serve = async (c: Context<AppEnv>) => {
    // The raw (undecoded) path after the route's prefix: object paths never need percent-encoding,
    // so an encoded one simply fails verification.
    const pathname = new URL(c.req.url).pathname;
    const path = proofPathOf(pathname.slice(pathname.indexOf(MARKER) + MARKER.length));
    const expires = c.req.query('expires') ?? '';
    const signature = c.req.query('signature') ?? '';

    const check = await storage.verify(path, expires, signature);
    if (check === 'invalid') return c.json({ error: 'Invalid signature for this URL', code: 'signature_invalid' }, 403);
    if (check === 'expired') return c.json({ error: 'This URL has expired', code: 'url_expired' }, 403);

    const file = await storage.read(path);
    if (!file) return c.json({ error: 'No proof file at this URL', code: 'proof_not_found' }, 404);

    const remaining = Math.max(0, Number(expires) - Math.floor(Date.now() / 1000));
    return c.body(file.bytes as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': file.contentType,
      'Content-Length': String(file.bytes.byteLength),
      'Cache-Control': `private, max-age=${remaining}`,
      'X-Content-Type-Options': 'nosniff',
      // Whatever a file holds, it cannot run script on the API's origin.
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
  };
  return new Hono<AppEnv>().get('/storage/proofs/:file', serve).get('/storage/proofs/*', serve);
}
