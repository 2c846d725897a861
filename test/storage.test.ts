// Proof storage: image sniffing, the local folder backend with HMAC-signed URLs and the route that
// serves them, and a contract test of the Supabase backend against a local stand-in of the Storage
// API that answers the way Supabase Storage does. No database, no Deno.
import { createHmac, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../functions/_shared/errors.ts';
import { sniffImage } from '../functions/_shared/images.ts';
import { createLocalStorage, createSupabaseStorage, isSafeObjectPath, operatorFolder, proofPath } from '../functions/_shared/storage.ts';
import { storageRoutes } from '../functions/api/routes/storage.ts';
import { startStorageStandIn as startStorageStandInWithKey } from './helpers/storage-stand-in.ts';

const bytes = (...parts: (number[] | Uint8Array | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : [...p])));
const u32be = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u32le = (n: number) => u32be(n).reverse();
/** An ISO-BMFF ftyp box: size, 'ftyp', major brand, minor version 0, compatible brands. */
const ftyp = (major: string, ...compatible: string[]) =>
  bytes(u32be(16 + 4 * compatible.length), 'ftyp', major, [0, 0, 0, 0], compatible.join(''));

// Real minimal headers of each format.
const JPEG = bytes([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF', [0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
const PNG = bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], u32be(13), 'IHDR', u32be(1), u32be(1), [8, 6, 0, 0, 0]);
const WEBP = bytes('RIFF', u32le(26), 'WEBP', 'VP8 ', u32le(14), [0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a, 1, 0, 1, 0]);
const HEIC = bytes(ftyp('heic', 'mif1', 'heic'), u32be(8), 'meta');

const SECRET = 'a-test-signing-secret-of-at-least-32-chars';
const hmac = (path: string, expires: string | number) => createHmac('sha256', SECRET).update(`${path}\n${expires}`).digest('hex');
const now = () => Math.floor(Date.now() / 1000);

async function apiErrorOf(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('sniffImage', () => {
  it('recognises JPEG, PNG, WebP and HEIC from their first bytes', () => {
    expect(sniffImage(JPEG)).toEqual({ contentType: 'image/jpeg', extension: 'jpg' });
    expect(sniffImage(bytes([0xff, 0xd8, 0xff, 0xe1], 'Exif'))).toEqual({ contentType: 'image/jpeg', extension: 'jpg' });
    expect(sniffImage(PNG)).toEqual({ contentType: 'image/png', extension: 'png' });
    expect(sniffImage(WEBP)).toEqual({ contentType: 'image/webp', extension: 'webp' });
    expect(sniffImage(HEIC)).toEqual({ contentType: 'image/heic', extension: 'heic' });
  });

  it('takes HEIF for HEIC by major or compatible brand', () => {
    const heic = { contentType: 'image/heic', extension: 'heic' };
    for (const major of ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']) {
      expect(sniffImage(ftyp(major)), major).toEqual(heic);
    }
    expect(sniffImage(ftyp('iso8', 'mif1', 'miaf'))).toEqual(heic); // compatible brand only
    expect(sniffImage(ftyp('MiHE', 'MiHE', 'heix'))).toEqual(heic);
  });

  it('refuses everything else: GIF, PDF, SVG, text, video, AVIF, empty and truncated data', () => {
    const refused: [string, Uint8Array][] = [
      ['GIF', bytes('GIF89a', [1, 0, 1, 0, 0x80, 0, 0])],
      ['PDF', bytes('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n')],
      ['SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')],
      ['SVG with XML declaration', bytes('<?xml version="1.0"?><svg/>')],
      ['text', bytes('hello, world')],
      ['empty', new Uint8Array()],
      ['MP4 video', ftyp('isom', 'isom', 'iso2', 'avc1', 'mp41')],
      ['AVIF (also lists mif1)', ftyp('avif', 'avif', 'mif1', 'miaf', 'MA1B')],
      ['RIFF that is not WebP (WAV)', bytes('RIFF', u32le(36), 'WAVEfmt ')],
      ['truncated JPEG', JPEG.subarray(0, 2)],
      ['truncated PNG', PNG.subarray(0, 7)],
      ['PNG signature with one byte wrong', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0b])],
      ['truncated WebP', WEBP.subarray(0, 11)],
      ['truncated HEIC (ftyp box cut short)', HEIC.subarray(0, 20)],
      ['HEIC brand but no ftyp box size', bytes(u32be(8), 'ftypheic', [0, 0, 0, 0])],
      ['ftyp box too short', bytes(u32be(12), 'ftyp', 'heic')],
    ];
    for (const [name, data] of refused) expect(sniffImage(data), name).toBeNull();
  });
});

describe('proofPath', () => {
  it('builds <operator>/<task>/<random>.<ext>, fresh each time', () => {
    const taskId = randomUUID();
    const a = proofPath('user_2abcDEF', taskId, 'png');
    const b = proofPath('user_2abcDEF', taskId, 'png');
    expect(a).toMatch(new RegExp(`^user_2abcDEF/${taskId}/[A-Za-z0-9]{24}\\.png$`));
    expect(a).not.toBe(b);
    expect(isSafeObjectPath(a)).toBe(true);
  });

  it('rejects ids and extensions that could escape or confuse the layout', () => {
    const bad: [string, string, string][] = [
      ['op', '..', 'png'],
      ['op/../other', 'task', 'png'],
      ['op', 'a/b', 'png'],
      ['op\\x', 'task', 'png'],
      ['', 'task', 'png'],
      ['op', '', 'png'],
      ['op', 'task', ''],
      ['op', 'task', 'png/../x'],
      ['op', 'task', '.png'],
      ['op x', 'task', 'png'],
      ['op', 'täsk', 'png'],
      ['op', 'task%2f', 'png'],
      ['a'.repeat(129), 'task', 'png'],
    ];
    for (const [op, task, ext] of bad) {
      expect(() => proofPath(op, task, ext), `${op} ${task} ${ext}`).toThrow(ApiError);
    }
  });

  it('keeps any valid operator id (auth0|…, e-mail addresses, ..) inside one safe folder of its own', () => {
    for (const id of ['auth0|5f7c8ec7c33c6c004bbafe82', 'jane.doe@example.com', 'urn:user:42', '..', '.hidden']) {
      const path = proofPath(id, 'task_1', 'jpg');
      expect(isSafeObjectPath(path), path).toBe(true);
      expect(path.split('/')).toHaveLength(3);
      expect(path.startsWith(`${operatorFolder(id)}/task_1/`)).toBe(true);
      expect(operatorFolder(id)).toMatch(/^id\.[A-Za-z0-9_-]+$/);
    }
    expect(operatorFolder('user_2abcDEF')).toBe('user_2abcDEF');
    expect(operatorFolder('a.b')).not.toBe(operatorFolder('a:b'));
  });

  it('knows which object paths are safe', () => {
    for (const ok of ['a/b/c.jpg', 'op_1/3f1e-9/Zx.heic', 'x']) expect(isSafeObjectPath(ok), ok).toBe(true);
    for (const bad of ['../x', 'a/../b', 'a/..', '/abs/x', 'a\\b', 'a//b', 'a/b/', './a', 'a/.hidden', 'a/%2e%2e/b', 'a b', '', 'a/b?c', 'ä']) {
      expect(isSafeObjectPath(bad), bad).toBe(false);
    }
  });
});

describe('local storage', () => {
  let dir: string;
  let storage: ReturnType<typeof createLocalStorage>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'humanops-storage-'));
    storage = createLocalStorage({ dir, signingSecret: SECRET });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('needs a signing secret of at least 32 characters', () => {
    expect(() => createLocalStorage({ dir: '/tmp/x', signingSecret: 'short' })).toThrow(/32/);
  });

  it('stores a file under <dir>/proofs/<path> and reads it back with its content type', async () => {
    const path = proofPath('op_1', randomUUID(), 'png');
    await storage.put(path, PNG, 'image/png');
    expect(new Uint8Array(await readFile(join(dir, 'proofs', path)))).toEqual(PNG);
    expect(JSON.parse(await readFile(join(dir, 'proofs-meta', `${path}.json`), 'utf8'))).toEqual({ contentType: 'image/png' });
    expect(await storage.read(path)).toEqual({ bytes: PNG, contentType: 'image/png' });
    expect(await storage.read(proofPath('op_1', randomUUID(), 'png'))).toBeNull();
  });

  it('keeps the stored content type even when the extension says otherwise', async () => {
    await storage.put('op/t/x.bin', HEIC, 'image/heic');
    expect((await storage.read('op/t/x.bin'))?.contentType).toBe('image/heic');
  });

  it('derives the content type from the extension when there is no sidecar', async () => {
    await mkdir(join(dir, 'proofs', 'op', 't'), { recursive: true });
    await writeFile(join(dir, 'proofs', 'op', 't', 'a.jpg'), JPEG);
    await writeFile(join(dir, 'proofs', 'op', 't', 'b.dat'), JPEG);
    expect(await storage.read('op/t/a.jpg')).toEqual({ bytes: JPEG, contentType: 'image/jpeg' });
    expect((await storage.read('op/t/b.dat'))?.contentType).toBe('application/octet-stream');
  });

  it('refuses to overwrite: a second put of the same path is a 409 and the first file stays', async () => {
    const path = proofPath('op_1', randomUUID(), 'jpg');
    await storage.put(path, JPEG, 'image/jpeg');
    const error = await apiErrorOf(storage.put(path, PNG, 'image/png'));
    expect([error.status, error.code]).toEqual([409, 'proof_exists']);
    expect(await storage.read(path)).toEqual({ bytes: JPEG, contentType: 'image/jpeg' });
  });

  it('lets exactly one of two concurrent puts of the same path win', async () => {
    const path = proofPath('op_1', randomUUID(), 'jpg');
    const results = await Promise.allSettled([storage.put(path, JPEG, 'image/jpeg'), storage.put(path, JPEG, 'image/jpeg')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as ApiError).code).toBe('proof_exists');
  });

  it('refuses paths that could escape the folder, and writes nothing for them', async () => {
    for (const bad of ['../escape.png', 'a/../../escape.png', '/tmp/abs.png', 'a\\..\\b.png', 'a//b.png', '.hidden/x.png', 'a/%2e%2e/b.png', 'a/b c.png']) {
      const error = await apiErrorOf(storage.put(bad, PNG, 'image/png'));
      expect(error.code, bad).toBe('invalid_storage_path');
      await expect(storage.read(bad), bad).rejects.toThrow(ApiError);
      await expect(storage.signedUrl(bad, { origin: 'http://x', expiresInSeconds: 60 }), bad).rejects.toThrow(ApiError);
    }
    expect(await readdir(dir)).toEqual([]);
    expect(await readdir(join(dir, '..'))).not.toContain('escape.png');
  });

  it('refuses content types that are not a plain type/subtype', async () => {
    for (const bad of ['', 'image', 'text/html\r\nX-Evil: 1', 'image/png; charset=x']) {
      expect((await apiErrorOf(storage.put('op/t/x.png', PNG, bad))).code).toBe('invalid_content_type');
    }
  });

  it('signs URLs as <origin>/api/v1/storage/proofs/<path, / as ~>?expires&signature=HMAC-SHA256(secret, path\\nexpires)', async () => {
    const path = proofPath('op_1', randomUUID(), 'png');
    const url = new URL(await storage.signedUrl(path, { origin: 'https://api.example.test/', expiresInSeconds: 600 }));
    expect(`${url.origin}${url.pathname}`).toBe(`https://api.example.test/api/v1/storage/proofs/${path.replaceAll('/', '~')}`);
    expect([...url.searchParams.keys()]).toEqual(['expires', 'signature']);
    const expires = Number(url.searchParams.get('expires'));
    expect(expires - now()).toBeGreaterThanOrEqual(599);
    expect(expires - now()).toBeLessThanOrEqual(600);
    expect(url.searchParams.get('signature')).toBe(hmac(path, expires));
    expect(storage.pathFromUrl(url.href)).toBe(path);
    await expect(storage.signedUrl(path, { origin: 'http://x', expiresInSeconds: 0 })).rejects.toThrow(RangeError);
  });

  it('verifies its own signatures, and tells tampered from expired', async () => {
    const path = 'op_1/task_1/abc.png';
    const url = new URL(await storage.signedUrl(path, { origin: 'http://localhost:54321', expiresInSeconds: 60 }));
    const expires = url.searchParams.get('expires')!;
    const signature = url.searchParams.get('signature')!;
    expect(await storage.verify(path, expires, signature)).toBe('ok');
    expect(await storage.verify(path, expires, signature.toUpperCase())).toBe('ok');

    expect(await storage.verify('op_1/task_1/abd.png', expires, signature)).toBe('invalid');
    expect(await storage.verify('op_2/task_1/abc.png', expires, signature)).toBe('invalid');
    expect(await storage.verify(path, String(Number(expires) + 3600), signature)).toBe('invalid');
    expect(await storage.verify(path, `0${expires}`, signature)).toBe('invalid');
    expect(await storage.verify(path, expires, `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`)).toBe('invalid');
    expect(await storage.verify(path, expires, signature.slice(0, 63))).toBe('invalid');
    expect(await storage.verify(path, expires, '')).toBe('invalid');
    expect(await storage.verify(path, '', signature)).toBe('invalid');
    expect(await storage.verify(path, '1e12', signature)).toBe('invalid');
    expect(await storage.verify('../x', expires, hmac('../x', expires))).toBe('invalid');

    // Signed with another secret: invalid.
    const other = createLocalStorage({ dir, signingSecret: `${SECRET}-other` });
    const foreign = new URL(await other.signedUrl(path, { origin: 'http://x', expiresInSeconds: 60 }));
    expect(await storage.verify(path, foreign.searchParams.get('expires')!, foreign.searchParams.get('signature')!)).toBe('invalid');

    // Correctly signed but past its expiry (or expiring this very second): expired.
    expect(await storage.verify(path, String(now() - 1), hmac(path, now() - 1))).toBe('expired');
    expect(await storage.verify(path, String(now()), hmac(path, now()))).toBe('expired');
    // A tampered signature on an expired URL is still just invalid.
    expect(await storage.verify(path, String(now() - 1), hmac(path, now() - 2))).toBe('invalid');
  });

  it('recognises only its own URL shape in pathFromUrl', async () => {
    const path = 'op_1/task_1/abc.png';
    const good = await storage.signedUrl(path, { origin: 'http://127.0.0.1:54321', expiresInSeconds: 60 });
    expect(storage.pathFromUrl(good)).toBe(path);
    expect(storage.pathFromUrl(good.replace('http://127.0.0.1:54321', 'https://elsewhere.test'))).toBe(path); // any origin
    // The older shape, the path with its slashes, names the same object.
    expect(storage.pathFromUrl(good.replace(/proofs\/[^?]+/, `proofs/${path}`))).toBe(path);
    const sig = 'a'.repeat(64);
    for (const bad of [
      'not a url',
      `ftp://x/api/v1/storage/proofs/${path}?expires=1&signature=${sig}`,
      `http://x/api/v1/storage/other/${path}?expires=1&signature=${sig}`,
      `http://x/storage/proofs/${path}?expires=1&signature=${sig}`,
      `http://x/api/v1/storage/proofs/${path}?expires=1`,
      `http://x/api/v1/storage/proofs/${path}?signature=${sig}`,
      `http://x/api/v1/storage/proofs/${path}?expires=1&signature=${sig}&extra=1`,
      `http://x/api/v1/storage/proofs/${path}?expires=soon&signature=${sig}`,
      `http://x/api/v1/storage/proofs/${path}?expires=1&signature=xyz`,
      `http://x/api/v1/storage/proofs/%2e%2e/b.png?expires=1&signature=${sig}`, // normalises to /api/v1/storage/b.png
      `http://x/api/v1/storage/proofs/a/%41.png?expires=1&signature=${sig}`,
      `http://x/api/v1/storage/proofs/a//b.png?expires=1&signature=${sig}`,
      `http://x/api/v1/storage/proofs/a~/b.png?expires=1&signature=${sig}`,
      `http://x/api/v1/storage/proofs/a~~b.png?expires=1&signature=${sig}`,
      `http://x/api/v1/storage/proofs/?expires=1&signature=${sig}`,
      `http://x/storage/v1/object/sign/proofs/${path}?token=abc`,
    ]) {
      expect(storage.pathFromUrl(bad), bad).toBeNull();
    }
  });
});

describe('GET /storage/proofs/* (local backend)', () => {
  let dir: string;
  let storage: ReturnType<typeof createLocalStorage>;
  let app: Hono;
  const path = 'op_1/task_1/photo.png';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'humanops-storage-route-'));
    storage = createLocalStorage({ dir, signingSecret: SECRET });
    await storage.put(path, PNG, 'image/png');
    // Mounted the way the API mounts its routes: under /api/v1.
    app = new Hono().basePath('/api/v1').route('/', storageRoutes(storage)) as unknown as Hono;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('serves the file for a valid signed URL, with its type, a private cache lifetime and nosniff', async () => {
    const url = await storage.signedUrl(path, { origin: 'http://localhost', expiresInSeconds: 300 });
    const res = await app.request(url);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-length')).toBe(String(PNG.length));
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(res.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(299);
    expect(maxAge).toBeLessThanOrEqual(300);
  });

  it('serves URLs of the older shape, the path with its slashes, with the same signature until they expire', async () => {
    const url = new URL(await storage.signedUrl(path, { origin: 'http://localhost', expiresInSeconds: 300 }));
    expect(url.pathname).toBe('/api/v1/storage/proofs/op_1~task_1~photo.png');
    const old = await app.request(`http://localhost/api/v1/storage/proofs/${path}${url.search}`);
    expect(old.status).toBe(200);
    expect(new Uint8Array(await old.arrayBuffer())).toEqual(PNG);
    const expires = now() - 5;
    const expired = await app.request(`http://localhost/api/v1/storage/proofs/${path}?expires=${expires}&signature=${hmac(path, expires)}`);
    expect(await expired.json()).toEqual({ error: expect.any(String), code: 'url_expired' });
  });

  it('also works mounted at the root (the path is what follows /storage/proofs/)', async () => {
    const bare = storageRoutes(storage);
    const url = new URL(await storage.signedUrl(path, { origin: 'http://localhost', expiresInSeconds: 60 }));
    const res = await bare.request(`/storage/proofs/${path.replaceAll('/', '~')}${url.search}`);
    expect(res.status).toBe(200);
  });

  it('answers 403 signature_invalid for tampered or unsigned URLs', async () => {
    const url = new URL(await storage.signedUrl(path, { origin: 'http://localhost', expiresInSeconds: 300 }));
    const expires = url.searchParams.get('expires')!;
    const signature = url.searchParams.get('signature')!;
    const base = 'http://localhost/api/v1/storage/proofs';
    for (const tampered of [
      `${base}/op_1/task_1/other.png?expires=${expires}&signature=${signature}`,
      `${base}/${path}?expires=${Number(expires) + 1}&signature=${signature}`,
      `${base}/${path}?expires=${expires}&signature=${'0'.repeat(64)}`,
      `${base}/${path}?expires=${expires}`,
      `${base}/${path}`,
      `${base}/op_1/task_1/%70hoto.png?expires=${expires}&signature=${signature}`,
    ]) {
      const res = await app.request(tampered);
      expect(res.status, tampered).toBe(403);
      expect(await res.json()).toEqual({ error: expect.any(String), code: 'signature_invalid' });
    }
  });

  it('answers 403 url_expired for a correctly signed URL past its expiry', async () => {
    const expires = now() - 5;
    const res = await app.request(`http://localhost/api/v1/storage/proofs/${path}?expires=${expires}&signature=${hmac(path, expires)}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: expect.any(String), code: 'url_expired' });
  });

  it('answers 404 for a validly signed URL to a file that does not exist', async () => {
    const missing = 'op_1/task_1/missing.png';
    const res = await app.request(await storage.signedUrl(missing, { origin: 'http://localhost', expiresInSeconds: 60 }));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: expect.any(String), code: 'proof_not_found' });
  });
});

// ---------------------------------------------------------------------------------------------
// The Supabase adapter against a stand-in of the Storage API (see helpers/storage-stand-in.ts for
// what storage-js sends and how Supabase answers).

const SERVICE_ROLE_KEY = 'service-role-key-for-the-stand-in';
const startStorageStandIn = () => startStorageStandInWithKey(SERVICE_ROLE_KEY);

describe('Supabase storage adapter (contract, against a Storage API stand-in)', () => {
  const standIn = startStorageStandIn();
  let url: string;
  let storage: ReturnType<typeof createSupabaseStorage>;
  let logs: string[];

  beforeAll(async () => {
    await new Promise<void>((resolve) => standIn.server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(standIn.server.address() as AddressInfo).port}`;
    storage = createSupabaseStorage({ url, serviceRoleKey: SERVICE_ROLE_KEY });
  });
  afterAll(() => new Promise<void>((resolve) => standIn.server.close(() => resolve())));
  beforeEach(() => {
    standIn.requests.length = 0;
    standIn.state.failWith500 = false;
    standIn.state.duplicateStatus = 400;
    logs = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void logs.push(line));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    expect(logs.join('\n')).not.toContain(SERVICE_ROLE_KEY);
  });

  it('uploads with the service-role key, the content type and x-upsert: false', async () => {
    const path = proofPath('op_1', randomUUID(), 'png');
    await storage.put(path, PNG, 'image/png');
    expect(standIn.requests).toHaveLength(1);
    const [upload] = standIn.requests;
    expect(upload.method).toBe('POST');
    expect(upload.path).toBe(`/storage/v1/object/proofs/${path}`);
    expect(upload.headers.apikey).toBe(SERVICE_ROLE_KEY);
    expect(upload.headers.authorization).toBe(`Bearer ${SERVICE_ROLE_KEY}`);
    expect(upload.headers['content-type']).toBe('image/png');
    expect(upload.headers['x-upsert']).toBe('false');
    expect(upload.headers['x-client-info']).toBe('storage-js/2.109.0');
    expect(new Uint8Array(upload.body)).toEqual(PNG);
    expect(standIn.objects.get(`proofs/${path}`)?.contentType).toBe('image/png');
  });

  it('maps Supabase\'s duplicate answer (HTTP 400 or 409) to 409 proof_exists', async () => {
    for (const status of [400, 409]) {
      standIn.state.duplicateStatus = status;
      const path = proofPath('op_1', randomUUID(), 'jpg');
      await storage.put(path, JPEG, 'image/jpeg');
      const error = await apiErrorOf(storage.put(path, JPEG, 'image/jpeg'));
      expect([error.status, error.code], `HTTP ${status}`).toEqual([409, 'proof_exists']);
    }
  });

  it('downloads the bytes with their content type, and null for a missing object', async () => {
    const path = proofPath('op_1', randomUUID(), 'webp');
    await storage.put(path, WEBP, 'image/webp');
    standIn.requests.length = 0;
    expect(await storage.read(path)).toEqual({ bytes: WEBP, contentType: 'image/webp' });
    const [download] = standIn.requests;
    expect([download.method, download.path]).toEqual(['GET', `/storage/v1/object/proofs/${path}`]);
    expect(download.headers.apikey).toBe(SERVICE_ROLE_KEY);
    expect(download.headers.authorization).toBe(`Bearer ${SERVICE_ROLE_KEY}`);
    expect(await storage.read(proofPath('op_1', randomUUID(), 'webp'))).toBeNull();
  });

  it('signs URLs through the API with { expiresIn } and recognises them in pathFromUrl', async () => {
    const path = proofPath('op_1', randomUUID(), 'heic');
    await storage.put(path, HEIC, 'image/heic');
    standIn.requests.length = 0;
    const signed = await storage.signedUrl(path, { origin: 'http://ignored.test', expiresInSeconds: 900 });
    const [sign] = standIn.requests;
    expect([sign.method, sign.path]).toEqual(['POST', `/storage/v1/object/sign/proofs/${path}`]);
    expect(sign.headers.apikey).toBe(SERVICE_ROLE_KEY);
    expect(sign.headers.authorization).toBe(`Bearer ${SERVICE_ROLE_KEY}`);
    expect(sign.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sign.body.toString('utf8'))).toEqual({ expiresIn: 900 });

    expect(signed).toMatch(new RegExp(`^${url}/storage/v1/object/sign/proofs/${path}\\?token=[\\w.-]+$`));
    expect(signed).not.toContain('ignored.test');
    expect(storage.pathFromUrl(signed)).toBe(path);

    const other = createSupabaseStorage({ url: 'https://other-project.supabase.co', serviceRoleKey: 'k' });
    const otherBucket = createSupabaseStorage({ url, serviceRoleKey: 'k', bucket: 'avatars' });
    expect(other.pathFromUrl(signed)).toBeNull(); // another project
    expect(otherBucket.pathFromUrl(signed)).toBeNull(); // another bucket
    for (const bad of [
      signed.replace(/\?token=.*$/, ''), // no token
      signed.replace('/object/sign/', '/object/public/'),
      signed.replace(url, 'http://127.0.0.1:1'),
      `${url}/storage/v1/object/sign/proofs/%2e%2e/b.png?token=t`, // normalises out of the bucket
      `${url}/storage/v1/object/sign/proofs/a/%2F..%2Fb.png?token=t`, // decodes to a/../b.png
      `${url}/storage/v1/object/sign/proofs/a/%ZZ.png?token=t`,
      `${url}/api/v1/storage/proofs/${path}?expires=1&signature=${'a'.repeat(64)}`,
      'nonsense',
    ]) {
      expect(storage.pathFromUrl(bad), bad).toBeNull();
    }
  });

  it('answers 503 storage_unavailable when the Storage API fails, and logs why without the key', async () => {
    const path = proofPath('op_1', randomUUID(), 'png');
    await storage.put(path, PNG, 'image/png');
    standIn.state.failWith500 = true;
    for (const attempt of [
      storage.put(proofPath('op_1', randomUUID(), 'png'), PNG, 'image/png'),
      storage.read(path),
      storage.signedUrl(path, { origin: 'http://x', expiresInSeconds: 60 }),
    ]) {
      const error = await apiErrorOf(attempt);
      expect([error.status, error.code]).toEqual([503, 'storage_unavailable']);
      expect(error.headers).toEqual({ 'Retry-After': '2' });
    }
    expect(logs.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'error', msg: 'proof storage error', operation: 'upload', status: 500, status_code: '500' }),
      expect.objectContaining({ operation: 'download', status: 500 }),
      expect.objectContaining({ operation: 'sign', status: 500 }),
    ]);
  });

  it('treats a missing bucket, a rejected key and an unreachable API as unavailable, not as "no object"', async () => {
    const missingBucket = createSupabaseStorage({ url, serviceRoleKey: SERVICE_ROLE_KEY, bucket: 'nope' });
    expect((await apiErrorOf(missingBucket.read('op/t/x.png'))).code).toBe('storage_unavailable');
    const wrongKey = createSupabaseStorage({ url, serviceRoleKey: 'wrong' });
    expect((await apiErrorOf(wrongKey.put('op/t/x.png', PNG, 'image/png'))).code).toBe('storage_unavailable');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = createSupabaseStorage({ url: `http://127.0.0.1:${deadPort}`, serviceRoleKey: SERVICE_ROLE_KEY });
    expect((await apiErrorOf(unreachable.read('op/t/x.png'))).code).toBe('storage_unavailable');
    expect((await apiErrorOf(unreachable.put('op/t/x.png', PNG, 'image/png'))).code).toBe('storage_unavailable');
  });

  it('refuses unsafe paths before calling the API', async () => {
    expect((await apiErrorOf(storage.put('../x.png', PNG, 'image/png'))).code).toBe('invalid_storage_path');
    expect((await apiErrorOf(storage.read('a/../../b.png'))).code).toBe('invalid_storage_path');
    expect(standIn.requests).toHaveLength(0);
  });
});
