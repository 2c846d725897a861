/**
 * Proof storage behind one small adapter (docs/design.md, "Outside services"): a private `proofs` bucket in Supabase
 * Storage in production, a folder with HMAC-signed expiring URLs locally and in tests. Object paths
 * are `<operator folder>/<task_id>/<random>.<ext>` (see `proofPath`).
 */
import { StorageClient } from '@supabase/storage-js';
import { randomBase62, secretsEqual } from './crypto.ts';
import { ApiError, badRequest } from './errors.ts';
import { log } from './log.ts';

export interface ProofStorage {
  /** Stores a new object; a 409 `proof_exists` if one is already at `path`. */
  put(path: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** The object and its content type, or null when there is none at `path`. */
  read(path: string): Promise<{ bytes: Uint8Array; contentType: string } | null>;
  /** Removes the object at `path`; nothing when there is none. */
  remove(path: string): Promise<void>;
  /** A URL that serves the object until it expires. */
  signedUrl(path: string, options: { origin: string; expiresInSeconds: number }): Promise<string>;
  /** The object path a URL this storage issued points at, or null if it is not one of ours. */
  pathFromUrl(url: string): string | null;
}

export type SignatureCheck = 'ok' | 'expired' | 'invalid';

export interface LocalProofStorage extends ProofStorage {
  /** Checks the `expires` and `signature` query parameters of a URL from `signedUrl` for `path`. */
  verify(path: string, expires: string, signature: string): Promise<SignatureCheck>;
}

// ---------------------------------------------------------------------------------------------
// Paths

const SAFE_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const SAFE_EXTENSION = /^[a-z0-9]{1,10}$/;
const MAX_PATH_LENGTH = 1024;

/**
 * Whether `path` is a relative object path made of `[A-Za-z0-9_.-]` segments: no `..`, no
 * absolute paths, no backslashes, no empty or dot-leading segments (so no hidden files).
 */
export function isSafeObjectPath(path: string): boolean {
  return (
    typeof path === 'string' &&
    path.length <= MAX_PATH_LENGTH &&
    SAFE_PATH.test(path) &&
    !path.includes('..') &&
    !path.split('/').some((segment) => segment.startsWith('.'))
  );
}

function assertSafePath(path: string): void {
  if (!isSafeObjectPath(path)) throw badRequest('invalid_storage_path', 'Invalid storage path');
}

/**
 * What an operator id may be: the `sub` of its identity token (Clerk's `user_…`, or another
 * provider's `auth0|…`, an e-mail address, a URN). The one rule that authentication, the database
 * and storage share.
 */
export const OPERATOR_ID = /^[A-Za-z0-9_.:@|-]{1,128}$/;

/**
 * The operator's folder in storage: the id itself when it is a plain `[A-Za-z0-9_-]` segment (every
 * Clerk id), else `id.` followed by the base64url of the id, so `@ . : |` never reach a path. A
 * plain id holds no `.`, so the two forms cannot collide.
 */
export function operatorFolder(operatorId: string): string {
  if (!OPERATOR_ID.test(operatorId)) throw badRequest('invalid_storage_path', 'Invalid operator id for a storage path');
  if (SAFE_ID.test(operatorId)) return operatorId;
  const bytes = new TextEncoder().encode(operatorId);
  return `id.${btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`;
}

/** `<operator folder>/<taskId>/<24 random base62 chars>.<extension>` (see operatorFolder). */
export function proofPath(operatorId: string, taskId: string, extension: string): string {
  const folder = operatorFolder(operatorId);
  if (!SAFE_ID.test(taskId)) throw badRequest('invalid_storage_path', 'Invalid task id for a storage path');
  if (!SAFE_EXTENSION.test(extension)) throw badRequest('invalid_storage_path', 'Invalid file extension for a storage path');
  return `${folder}/${taskId}/${randomBase62(24)}.${extension}`;
}

const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}$/;

function assertContentType(contentType: string): void {
  if (!CONTENT_TYPE.test(contentType)) throw badRequest('invalid_content_type', 'Invalid content type');
}

const TYPE_BY_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  heic: 'image/heic',
};

const typeFromExtension = (path: string) =>
  TYPE_BY_EXTENSION[path.slice(path.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream';

// ---------------------------------------------------------------------------------------------
// File access: the one seam between Deno and Node.

interface Files {
  /** The file's bytes, or null when it does not exist. */
  read(path: string): Promise<Uint8Array | null>;
  /** Writes a new file; false (and nothing written) when one already exists. */
  create(path: string, bytes: Uint8Array): Promise<boolean>;
  /** Writes a file, replacing any. */
  write(path: string, bytes: Uint8Array): Promise<void>;
  mkdirp(path: string): Promise<void>;
  /** Removes a file if it exists. */
  remove(path: string): Promise<void>;
}

interface DenoFiles {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array, options?: { createNew?: boolean }): Promise<void>;
  mkdir(path: string, options?: { recursive?: boolean }): Promise<void>;
  remove(path: string): Promise<void>;
}

/** The part of node:fs/promises used here. */
interface NodeFs {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array, options?: { flag?: string }): Promise<void>;
  mkdir(path: string, options?: { recursive?: boolean }): Promise<string | undefined>;
  rm(path: string, options?: { force?: boolean }): Promise<void>;
}

const errorKind = (error: unknown) => {
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  if (name === 'NotFound' || code === 'ENOENT') return 'missing';
  if (name === 'AlreadyExists' || code === 'EEXIST') return 'exists';
  return 'other';
};

let filesPromise: Promise<Files> | undefined;

function files(): Promise<Files> {
  filesPromise ??= (async (): Promise<Files> => {
    const deno = (globalThis as { Deno?: DenoFiles }).Deno;
    const fs = deno
      ? {
        readFile: (p: string) => deno.readFile(p),
        createFile: (p: string, b: Uint8Array) => deno.writeFile(p, b, { createNew: true }),
        writeFile: (p: string, b: Uint8Array) => deno.writeFile(p, b),
        mkdir: (p: string) => deno.mkdir(p, { recursive: true }),
        remove: (p: string) => deno.remove(p),
      }
      : await (async () => {
        // A computed specifier: a literal `node:` import would enter Deno's module graph, and
        // `deno check` (nodeModulesDir "manual") then insists on npm:@types/node being installed.
        const specifier = 'node:fs/promises';
        const node = (await import(specifier)) as NodeFs;
        return {
          readFile: async (p: string) => new Uint8Array(await node.readFile(p)),
          createFile: (p: string, b: Uint8Array) => node.writeFile(p, b, { flag: 'wx' }),
          writeFile: (p: string, b: Uint8Array) => node.writeFile(p, b),
          mkdir: async (p: string) => void (await node.mkdir(p, { recursive: true })),
          remove: (p: string) => node.rm(p, { force: true }),
        };
      })();
    return {
      async read(path) {
        try {
          return await fs.readFile(path);
        } catch (error) {
          if (errorKind(error) === 'missing') return null;
          throw error;
        }
      },
      async create(path, bytes) {
        try {
          await fs.createFile(path, bytes);
          return true;
        } catch (error) {
          if (errorKind(error) === 'exists') return false;
          throw error;
        }
      },
      write: (path, bytes) => fs.writeFile(path, bytes),
      mkdirp: (path) => fs.mkdir(path),
      async remove(path) {
        try {
          await fs.remove(path);
        } catch (error) {
          if (errorKind(error) !== 'missing') throw error;
        }
      },
    };
  })();
  return filesPromise;
}

const parentOf = (file: string) => file.slice(0, file.lastIndexOf('/'));

// ---------------------------------------------------------------------------------------------
// Local storage

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const toHex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/** Where `createLocalStorage` serves files from (under the API's `/api/v1` base path). */
export const LOCAL_PROOFS_ROUTE = '/api/v1/storage/proofs/';

/**
 * An object path as one URL segment: `/` becomes `~`, which no object path holds (see
 * isSafeObjectPath), so the two read back one to one.
 */
export const proofFileOf = (path: string) => path.replaceAll('/', '~');

/** The object path a signed URL names after the route: one `~` segment, or the older slashed form. */
export const proofPathOf = (file: string) => (file.includes('/') ? file : file.replaceAll('~', '/'));

/**
 * Proofs as files in a folder:
 * - the object at `path` is `<dir>/proofs/<path>`; its content type is kept in a JSON sidecar,
 *   `<dir>/proofs-meta/<path>.json` (`{ "contentType": … }`), in a separate tree so that no object
 *   path can collide with or read a sidecar. Without a sidecar (a `put` still under way, or files
 *   copied in by hand) the type is derived from the extension.
 * - `put` creates the file exclusively (no overwrite) before writing the sidecar.
 * - signed URLs are `<origin>/api/v1/storage/proofs/<file>?expires=<unix seconds>&signature=<hex
 *   HMAC-SHA256(secret, "<path>\n<expires>")>`, where `<file>` is the path in one segment (see
 *   proofFileOf), so an OpenAPI path parameter can describe it; checked by `verify` and served by
 *   `storageRoutes` (functions/api/routes/storage.ts). URLs handed out before, with the path's
 *   slashes as they are, carry the same signature and keep working until they expire.
 * Unexpected file-system errors (permissions, a full disk) are not mapped: they surface as 500s
 * and are logged with their cause.
 */
export function createLocalStorage(options: { dir: string; signingSecret: string }): LocalProofStorage {
  if (!options.dir) throw new Error('createLocalStorage: dir is required');
  if (!options.signingSecret || options.signingSecret.length < 32) {
    throw new Error('createLocalStorage: signingSecret must be at least 32 characters');
  }
  const root = options.dir.replace(/\/+$/, '') || '/';
  const objectFile = (path: string) => `${root}/proofs/${path}`;
  const metaFile = (path: string) => `${root}/proofs-meta/${path}.json`;

  let key: Promise<CryptoKey> | undefined;
  const sign = async (path: string, expires: string) => {
    key ??= crypto.subtle.importKey('raw', encoder.encode(options.signingSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return toHex(await crypto.subtle.sign('HMAC', await key, encoder.encode(`${path}\n${expires}`)));
  };

  return {
    async put(path, bytes, contentType) {
      assertSafePath(path);
      assertContentType(contentType);
      const fs = await files();
      const file = objectFile(path);
      await fs.mkdirp(parentOf(file));
      if (!(await fs.create(file, bytes))) throw new ApiError(409, 'proof_exists', 'A proof file already exists at this path');
      try {
        const meta = metaFile(path);
        await fs.mkdirp(parentOf(meta));
        await fs.write(meta, encoder.encode(JSON.stringify({ contentType })));
      } catch (error) {
        await fs.remove(file).catch(() => {});
        throw error;
      }
    },

    async remove(path) {
      assertSafePath(path);
      const fs = await files();
      await fs.remove(objectFile(path));
      await fs.remove(metaFile(path));
    },

    async read(path) {
      assertSafePath(path);
      const fs = await files();
      const bytes = await fs.read(objectFile(path));
      if (!bytes) return null;
      let contentType = typeFromExtension(path);
      const meta = await fs.read(metaFile(path));
      if (meta) {
        try {
          const stored = JSON.parse(decoder.decode(meta)) as { contentType?: unknown };
          if (typeof stored.contentType === 'string' && CONTENT_TYPE.test(stored.contentType)) contentType = stored.contentType;
        } catch {
          // a damaged sidecar: keep the type derived from the extension
        }
      }
      return { bytes, contentType };
    },

    async signedUrl(path, { origin, expiresInSeconds }) {
      assertSafePath(path);
      if (!Number.isInteger(expiresInSeconds) || expiresInSeconds <= 0) {
        throw new RangeError('expiresInSeconds must be a positive integer');
      }
      const expires = String(Math.floor(Date.now() / 1000) + expiresInSeconds);
      const signature = await sign(path, expires);
      return `${origin.replace(/\/+$/, '')}${LOCAL_PROOFS_ROUTE}${proofFileOf(path)}?expires=${expires}&signature=${signature}`;
    },

    pathFromUrl(url) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return null;
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
      if (!parsed.pathname.startsWith(LOCAL_PROOFS_ROUTE)) return null;
      const params = [...parsed.searchParams.keys()].sort();
      if (params.length !== 2 || params[0] !== 'expires' || params[1] !== 'signature') return null;
      if (!/^\d{1,12}$/.test(parsed.searchParams.get('expires')!)) return null;
      if (!/^[0-9a-f]{64}$/.test(parsed.searchParams.get('signature')!)) return null;
      const path = proofPathOf(parsed.pathname.slice(LOCAL_PROOFS_ROUTE.length));
      return isSafeObjectPath(path) ? path : null;
    },

    async verify(path, expires, signature) {
      if (!isSafeObjectPath(path) || !/^\d{1,12}$/.test(expires) || !/^[0-9a-fA-F]{64}$/.test(signature)) return 'invalid';
      if (!(await secretsEqual(await sign(path, expires), signature.toLowerCase()))) return 'invalid';
      return Number(expires) <= Math.floor(Date.now() / 1000) ? 'expired' : 'ok';
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Supabase Storage

interface StorageErrorLike {
  message?: string;
  /** The HTTP status of the answer. */
  status?: number;
  /** The `statusCode` (or `code`) in the answer's JSON body: Supabase answers some 404s and 409s with HTTP 400. */
  statusCode?: string;
}

const isDuplicate = (e: StorageErrorLike) =>
  e.statusCode === '409' || e.status === 409 || /already exists/i.test(e.message ?? '');

/** A missing object, not a missing bucket (that is a misconfiguration: a 503). */
const isMissingObject = (e: StorageErrorLike) =>
  (e.statusCode === '404' || e.status === 404) && !/bucket/i.test(e.message ?? '');

function unavailable(operation: string, error: StorageErrorLike): ApiError {
  log('error', 'proof storage error', {
    operation,
    error: error.message ?? String(error),
    status: error.status,
    status_code: error.statusCode,
  });
  return new ApiError(503, 'storage_unavailable', 'Proof storage is unavailable; try again shortly', undefined, { 'Retry-After': '2' });
}

/**
 * Proofs in a private Supabase Storage bucket, through storage-js with the service-role key.
 * Signed URLs are Supabase's own (`<url>/storage/v1/object/sign/<bucket>/<path>?token=…`); the
 * `origin` option of `signedUrl` is ignored.
 */
export function createSupabaseStorage(options: { url: string; serviceRoleKey: string; bucket?: string }): ProofStorage {
  const base = options.url.replace(/\/+$/, '');
  const bucket = options.bucket ?? 'proofs';
  const client = new StorageClient(`${base}/storage/v1`, {
    apikey: options.serviceRoleKey,
    Authorization: `Bearer ${options.serviceRoleKey}`,
  });
  const signPrefix = new URL(`${base}/storage/v1/object/sign/${bucket}/`);

  return {
    async put(path, bytes, contentType) {
      assertSafePath(path);
      assertContentType(contentType);
      const { error } = await client.from(bucket).upload(path, bytes, { contentType, upsert: false });
      if (!error) return;
      if (isDuplicate(error)) throw new ApiError(409, 'proof_exists', 'A proof file already exists at this path');
      throw unavailable('upload', error);
    },

    async remove(path) {
      assertSafePath(path);
      const { error } = await client.from(bucket).remove([path]);
      if (error) throw unavailable('remove', error);
    },

    async read(path) {
      assertSafePath(path);
      const { data, error } = await client.from(bucket).download(path);
      if (error) {
        if (isMissingObject(error)) return null;
        throw unavailable('download', error);
      }
      return {
        bytes: new Uint8Array(await data.arrayBuffer()),
        contentType: data.type || typeFromExtension(path),
      };
    },

    async signedUrl(path, { expiresInSeconds }) {
      assertSafePath(path);
      const { data, error } = await client.from(bucket).createSignedUrl(path, expiresInSeconds);
      if (error) throw unavailable('sign', error);
      return data.signedUrl;
    },

    pathFromUrl(url) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return null;
      }
      if (parsed.origin !== signPrefix.origin || !parsed.pathname.startsWith(signPrefix.pathname)) return null;
      if (!parsed.searchParams.get('token')) return null;
      let path: string;
      try {
        path = decodeURIComponent(parsed.pathname.slice(signPrefix.pathname.length));
      } catch {
        return null;
      }
      return isSafeObjectPath(path) ? path : null;
    },
  };
}
