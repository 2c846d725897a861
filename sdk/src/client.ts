/**
 * The HumanOps API client: retries with backoff (honouring Retry-After), one Idempotency-Key per
 * logical POST reused across its retries, typed errors, optional response validation.
 */
import type { z } from 'zod';
import { APIConnectionError, APIConnectionTimeoutError, AuthenticationError, errorFor } from './errors.ts';

/** What agent and operator clients share: where the API is and how patiently to call it. */
export interface TransportOptions {
  /**
   * The API's origin; the SDK adds `/api/v1`. Default `https://api.humanops.io`. In a browser, `''`
   * or a path means the page's own origin.
   */
  baseUrl?: string;
  /** Retries after the first attempt on 408, 429, 5xx and network errors. Default 2. */
  maxRetries?: number;
  /** Per-attempt timeout in ms. Default 60 000. */
  timeoutMs?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Validate responses against their schemas (throws on a mismatch). Default off. */
  validateResponses?: boolean;
}

export interface ClientOptions extends TransportOptions {
  /** Your agent API key (`ho_live_…` or `ho_test_…`). */
  apiKey: string;
}

/** An operator's session token (Clerk's, or the local issuer's), or a function that returns a fresh one. */
export type TokenSupplier = string | (() => string | null | undefined | Promise<string | null | undefined>);

export interface OperatorClientOptions extends TransportOptions {
  /** Sent as `Authorization: Bearer …`; a function is asked before every request, so it can refresh. */
  token: TokenSupplier;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** For POSTs: reuse this key instead of a generated one (the same key across your own retries). */
  idempotencyKey?: string;
  /** Validated when `validateResponses` is on. */
  schema?: z.ZodType;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/** The origin without trailing slashes; `''` or a path resolves against the page's location in a browser. */
function resolveOrigin(base: string): string {
  const location = (globalThis as { location?: { href: string } }).location;
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(base) || !location ? base : new URL(base || '/', location.href).href;
  return absolute.replace(/\/+$/, '');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long to wait before retry `attempt` (0-based): Retry-After when given, else 0.5 s · 2^n, jittered, at most 8 s. */
function retryDelay(attempt: number, headers: Headers | undefined): number {
  const retryAfter = headers?.get('retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, 60_000);
  }
  const base = Math.min(8000, 500 * 2 ** attempt);
  return base * (0.75 + Math.random() * 0.5);
}

export class APIClient {
  readonly baseUrl: string;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly validateResponses: boolean;
  readonly #credentials: () => Promise<Record<string, string>>;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions | OperatorClientOptions) {
    if (!('token' in options)) {
      if (!options.apiKey) throw new Error('HumanOpsClient needs an apiKey');
      const headers = { 'X-API-Key': options.apiKey };
      this.#credentials = async () => headers;
    } else {
      const { token } = options;
      if (!token) throw new Error('HumanOpsOperatorClient needs a token (a string or a function returning one)');
      this.#credentials = async () => {
        const value = typeof token === 'function' ? await token() : token;
        if (!value) throw new AuthenticationError('Not signed in: the token supplier returned no token', { status: 401, code: 'not_signed_in' });
        return { Authorization: `Bearer ${value}` };
      };
    }
    this.baseUrl = `${resolveOrigin(options.baseUrl ?? 'https://api.humanops.io')}/api/v1`;
    this.maxRetries = options.maxRetries ?? 2;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.validateResponses = options.validateResponses ?? false;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Downloads a URL the API handed out (a signed proof photo URL): its bytes and content type. */
  async download(url: string): Promise<{ data: Uint8Array; contentType: string }> {
    let response: Response;
    try {
      response = await this.#fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new APIConnectionError(`Could not download ${new URL(url).origin}: ${(error as Error).message}`);
    }
    if (!response.ok) throw errorFor(response.status, await response.json().catch(() => null), response.headers);
    return { data: new Uint8Array(await response.arrayBuffer()), contentType: response.headers.get('content-type') ?? 'application/octet-stream' };
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    const headers: Record<string, string> = { ...(await this.#credentials()), Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (method === 'POST') headers['Idempotency-Key'] = options.idempotencyKey ?? crypto.randomUUID();
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);

    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.#fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (error) {
        const timedOut = (error as Error).name === 'TimeoutError';
        if (attempt < this.maxRetries) {
          await sleep(retryDelay(attempt, undefined));
          continue;
        }
        throw timedOut
          ? new APIConnectionTimeoutError(`No response within ${this.timeoutMs} ms`)
          : new APIConnectionError(`Could not reach ${url.origin}: ${(error as Error).message}`);
      }
      const text = await response.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      if (response.ok) {
        if (this.validateResponses && options.schema) return options.schema.parse(parsed) as T;
        return parsed as T;
      }
      if (RETRYABLE.has(response.status) && attempt < this.maxRetries) {
        await sleep(retryDelay(attempt, response.headers));
        continue;
      }
      throw errorFor(response.status, parsed as { error?: string; code?: string }, response.headers);
    }
  }

  /**
   * POSTs a multipart form, retried like any request. With `onProgress` in a browser it goes through
   * XMLHttpRequest, the one browser API that reports upload progress; elsewhere through fetch.
   */
  async upload<T>(path: string, form: FormData, options: UploadOptions = {}): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    for (let attempt = 0; ; attempt++) {
      const headers = { ...(await this.#credentials()), Accept: 'application/json' };
      let status: number;
      let responseHeaders: Headers;
      let text: string;
      try {
        ({ status, headers: responseHeaders, text } = options.onProgress && typeof XMLHttpRequest !== 'undefined'
          ? await sendWithProgress(url, form, headers, this.timeoutMs, options)
          : await this.#fetch(url, { method: 'POST', headers, body: form, signal: combine(options.signal, this.timeoutMs) })
            .then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() })));
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (attempt < this.maxRetries) {
          await sleep(retryDelay(attempt, undefined));
          continue;
        }
        throw (error as Error).name === 'TimeoutError'
          ? new APIConnectionTimeoutError(`No response within ${this.timeoutMs} ms`)
          : new APIConnectionError(`Could not reach ${new URL(url).origin}: ${(error as Error).message}`);
      }
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      if (status >= 200 && status < 300) return parsed as T;
      if (RETRYABLE.has(status) && attempt < this.maxRetries) {
        await sleep(retryDelay(attempt, responseHeaders));
        continue;
      }
      throw errorFor(status, parsed as { error?: string; code?: string }, responseHeaders);
    }
  }
}

export interface UploadOptions {
  /** Called as bytes leave: `loaded` of `total` bytes (browsers only). */
  onProgress?: (progress: { loaded: number; total: number }) => void;
  /** Aborts the upload (no retry follows). */
  signal?: AbortSignal;
}

const combine = (signal: AbortSignal | undefined, timeoutMs: number) =>
  signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);

function sendWithProgress(url: string, form: FormData, headers: Record<string, string>, timeoutMs: number, options: UploadOptions) {
  return new Promise<{ status: number; headers: Headers; text: string }>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.timeout = timeoutMs;
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => options.onProgress?.({ loaded: event.loaded, total: event.total });
    xhr.onload = () => {
      const responseHeaders = new Headers();
      for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
        const at = line.indexOf(':');
        if (at > 0) responseHeaders.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
      }
      resolve({ status: xhr.status, headers: responseHeaders, text: xhr.responseText });
    };
    const fail = (name: string, message: string) => () => reject(Object.assign(new Error(message), { name }));
    xhr.onerror = fail('TypeError', 'network error');
    xhr.ontimeout = fail('TimeoutError', 'timed out');
    xhr.onabort = fail('AbortError', 'aborted');
    options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
