/**
 * The HumanOps API client: retries with backoff (honouring Retry-After), one Idempotency-Key per
 * logical POST reused across its retries, typed errors, optional response validation, per-request
 * options, raw responses, offset pagination, opt-in debug logging, and defaults from the environment.
 */
import type { z } from 'zod';
import { APIPromise, Page, PagePromise, type PageStart, type Pagination, type RawResponse } from './api-promise.ts';
import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError, AuthenticationError, errorFor, HumanOpsError } from './errors.ts';
import { VERSION } from './version.ts';

export type LogLevel = 'off' | 'error' | 'warn' | 'info' | 'debug';

/** Where log lines go: `console` by default, or pino, winston, or anything with these methods. */
export interface Logger {
  error(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  info(message: string, details?: Record<string, unknown>): void;
  debug(message: string, details?: Record<string, unknown>): void;
}

/** What agent and operator clients share: where the API is and how patiently to call it. */
export interface TransportOptions {
  /**
   * The API's origin; the SDK adds `/api/v1`. Default: `HUMANOPS_API_URL` from the environment, else
   * `https://api.humanops.io`. In a browser, `''` or a path means the page's own origin.
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
  /** Headers sent with every request (a per-request `headers` option overrides them). */
  defaultHeaders?: Record<string, string>;
  /**
   * How much to log: `debug` logs every request and response (credentials redacted), `warn` retries,
   * `error` failures. Default: `HUMANOPS_LOG` from the environment, else `off`.
   */
  logLevel?: LogLevel;
  /** Where to log (default `console`). */
  logger?: Logger;
}

export interface ClientOptions extends TransportOptions {
  /** Your agent API key (`ho_live_…` or `ho_test_…`). Default: `HUMANOPS_API_KEY` from the environment. */
  apiKey?: string;
}

/** An operator's session token (Clerk's, or the local issuer's), or a function that returns a fresh one. */
export type TokenSupplier = string | (() => string | null | undefined | Promise<string | null | undefined>);

export interface OperatorClientOptions extends TransportOptions {
  /** Sent as `Authorization: Bearer …`; a function is asked before every request, so it can refresh. */
  token: TokenSupplier;
}

/** Options for one call, the last argument of every method: they override the client's for that call. */
export interface RequestOptions {
  /** This call's per-attempt timeout in ms. */
  timeoutMs?: number;
  /** This call's retries. */
  maxRetries?: number;
  /** Aborts the call, its retries included (it then throws APIUserAbortError). */
  signal?: AbortSignal;
  /** Extra headers for this call; `null` removes a default one. */
  headers?: Record<string, string | null | undefined>;
  /** For POSTs: use this Idempotency-Key instead of a generated one (the same key across your own retries). */
  idempotencyKey?: string;
}

/** What a resource hands the transport for one call. */
export interface CallOptions extends RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** Validated when `validateResponses` is on. */
  schema?: z.ZodType;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const LEVELS: Record<LogLevel, number> = { off: 0, error: 1, warn: 2, info: 3, debug: 4 };
const SECRET_HEADERS = new Set(['x-api-key', 'authorization', 'x-admin-key', 'x-worker-secret']);

/**
 * A variable from the environment, wherever there is one: Node's and Bun's `process.env`, Deno's
 * `Deno.env` (which may refuse without --allow-env); none in a browser.
 */
export function readEnv(name: string): string | undefined {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> }; Deno?: { env?: { get(name: string): string | undefined } } };
  try {
    const value = g.process?.env?.[name] ?? g.Deno?.env?.get(name);
    return value?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The origin without trailing slashes; `''` or a path resolves against the page's location in a browser. */
function resolveOrigin(base: string): string {
  const location = (globalThis as { location?: { href: string } }).location;
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(base) || !location ? base : new URL(base || '/', location.href).href;
  return absolute.replace(/\/+$/, '');
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal?.aborted) return reject(signal.reason);
  const timer = setTimeout(() => {
    signal?.removeEventListener('abort', onAbort);
    resolve();
  }, ms);
  const onAbort = () => {
    clearTimeout(timer);
    reject(signal!.reason);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
});

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

const redact = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, SECRET_HEADERS.has(name.toLowerCase()) ? '***' : value]));

export class APIClient {
  readonly baseUrl: string;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly validateResponses: boolean;
  readonly logLevel: LogLevel;
  readonly #credentials: () => Promise<Record<string, string>>;
  readonly #fetch: typeof fetch;
  readonly #defaultHeaders: Record<string, string>;
  readonly #logger: Logger;

  constructor(options: ClientOptions | OperatorClientOptions) {
    if (!('token' in options)) {
      const apiKey = options.apiKey ?? readEnv('HUMANOPS_API_KEY');
      if (!apiKey) throw new HumanOpsError('No API key: pass { apiKey } or set HUMANOPS_API_KEY');
      const headers = { 'X-API-Key': apiKey };
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
    this.baseUrl = `${resolveOrigin(options.baseUrl ?? readEnv('HUMANOPS_API_URL') ?? 'https://api.humanops.io')}/api/v1`;
    this.maxRetries = options.maxRetries ?? 2;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.validateResponses = options.validateResponses ?? false;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#defaultHeaders = { 'User-Agent': `humanops-sdk-js/${VERSION}`, ...options.defaultHeaders };
    const level = options.logLevel ?? (readEnv('HUMANOPS_LOG') as LogLevel | undefined) ?? 'off';
    this.logLevel = level in LEVELS ? level : 'off';
    this.#logger = options.logger ?? console;
  }

  #log(level: Exclude<LogLevel, 'off'>, message: string, details?: Record<string, unknown>) {
    if (LEVELS[this.logLevel] >= LEVELS[level]) this.#logger[level](`[humanops] ${message}`, ...(details ? [details] : []) as []);
  }

  /** Downloads a URL the API handed out (a signed proof photo URL): its bytes and content type. */
  async download(url: string, options: RequestOptions = {}): Promise<{ data: Uint8Array; contentType: string }> {
    let response: Response;
    try {
      response = await this.#fetch(url, { signal: combine(options.signal, options.timeoutMs ?? this.timeoutMs) });
    } catch (error) {
      if (options.signal?.aborted) throw new APIUserAbortError('The request was aborted');
      throw new APIConnectionError(`Could not download ${new URL(url).origin}: ${(error as Error).message}`);
    }
    if (!response.ok) throw errorFor(response.status, await response.json().catch(() => null), response.headers);
    return { data: new Uint8Array(await response.arrayBuffer()), contentType: response.headers.get('content-type') ?? 'application/octet-stream' };
  }

  /** One call: the parsed JSON body (validated when asked), with the raw response a method away. */
  request<T>(method: string, path: string, options: CallOptions = {}): APIPromise<T> {
    return new APIPromise<T>(this.#send(method, path, options), (raw) => this.#parse<T>(raw, options.schema));
  }

  /**
   * A list: the first page, which loops over every item of every page (`for await`). Paginated lists
   * fetch later pages with the same query and options, after the page's `next_cursor` (or a moved
   * `offset` where the API gives no cursor).
   */
  list<T>(path: string, options: CallOptions = {}): PagePromise<T> {
    const next = (at: PageStart) => this.list<T>(path, { ...options, query: { ...options.query, offset: undefined, cursor: undefined, ...at } });
    return new PagePromise<T>(this.#send('GET', path, options), async (raw) =>
      new Page<T>(await this.#parse<{ data: T[]; pagination?: Pagination }>(raw, options.schema), next));
  }

  async #parse<T>(raw: RawResponse, schema: z.ZodType | undefined): Promise<T> {
    const text = await raw.response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return (this.validateResponses && schema ? schema.parse(parsed) : parsed) as T;
  }

  /** Sends, retrying what is worth retrying; resolves with the first acceptable response, body unread. */
  async #send(method: string, path: string, options: CallOptions): Promise<RawResponse> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    const headers: Record<string, string> = { ...this.#defaultHeaders, ...(await this.#credentials()), Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (method === 'POST') headers['Idempotency-Key'] = options.idempotencyKey ?? crypto.randomUUID();
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
      if (value != null) headers[name] = value;
    }
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const maxRetries = options.maxRetries ?? this.maxRetries;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const where = `${method} ${url.pathname}${url.search}`;

    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      this.#log('debug', `→ ${where}`, { attempt: attempt + 1, headers: redact(headers), ...(body ? { body: options.body } : {}) });
      let response: Response;
      try {
        response = await this.#fetch(url, { method, headers, body, signal: combine(options.signal, timeoutMs) });
      } catch (error) {
        if (options.signal?.aborted) throw new APIUserAbortError('The request was aborted');
        const timedOut = (error as Error).name === 'TimeoutError';
        if (attempt < maxRetries) {
          const delay = retryDelay(attempt, undefined);
          this.#log('warn', `${where} ${timedOut ? 'timed out' : 'failed to connect'}; retrying in ${Math.round(delay)} ms (${attempt + 1} of ${maxRetries})`);
          await this.#pause(delay, options.signal);
          continue;
        }
        const failure = timedOut
          ? new APIConnectionTimeoutError(`No response within ${timeoutMs} ms`)
          : new APIConnectionError(`Could not reach ${url.origin}: ${(error as Error).message}`);
        this.#log('error', `${where} failed: ${failure.message}`);
        throw failure;
      }
      const requestId = response.headers.get('x-request-id');
      this.#log('debug', `← ${response.status} ${where} in ${Date.now() - started} ms`, { requestId });
      if (response.ok) return { response, requestId };
      if (RETRYABLE.has(response.status) && attempt < maxRetries) {
        const delay = retryDelay(attempt, response.headers);
        await response.body?.cancel();
        this.#log('warn', `${where} answered ${response.status}; retrying in ${Math.round(delay)} ms (${attempt + 1} of ${maxRetries})`, { requestId });
        await this.#pause(delay, options.signal);
        continue;
      }
      const text = await response.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      const failure = errorFor(response.status, parsed as { error?: string; code?: string }, response.headers);
      this.#log('error', `${where} answered ${response.status}: ${failure.message}`, { requestId, code: failure.code });
      throw failure;
    }
  }

  async #pause(ms: number, signal: AbortSignal | undefined) {
    try {
      await sleep(ms, signal);
    } catch {
      throw new APIUserAbortError('The request was aborted');
    }
  }

  /**
   * POSTs a multipart form, retried like any request. With `onProgress` in a browser it goes through
   * XMLHttpRequest, the one browser API that reports upload progress; elsewhere through fetch.
   */
  async upload<T>(path: string, form: FormData, options: UploadOptions = {}): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    for (let attempt = 0; ; attempt++) {
      const headers = { ...this.#defaultHeaders, ...(await this.#credentials()), Accept: 'application/json' };
      let status: number;
      let responseHeaders: Headers;
      let text: string;
      try {
        ({ status, headers: responseHeaders, text } = options.onProgress && typeof XMLHttpRequest !== 'undefined'
          ? await sendWithProgress(url, form, headers, this.timeoutMs, options)
          : await this.#fetch(url, { method: 'POST', headers, body: form, signal: combine(options.signal, this.timeoutMs) })
            .then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() })));
      } catch (error) {
        if (options.signal?.aborted) throw new APIUserAbortError('The upload was aborted');
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
    // Browsers refuse to let a page set User-Agent (and log an error when asked to).
    for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() !== 'user-agent') xhr.setRequestHeader(name, value);
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
