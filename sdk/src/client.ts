/**
 * The HumanOps API client: retries with backoff (honouring Retry-After), one Idempotency-Key per
 * logical POST reused across its retries, typed errors, optional response validation.
 */
import type { z } from 'zod';
import { APIConnectionError, APIConnectionTimeoutError, errorFor } from './errors.ts';

export interface ClientOptions {
  /** Your agent API key (`ho_live_…` or `ho_test_…`). */
  apiKey: string;
  /** The API's origin; the SDK adds `/api/v1`. Default `https://api.humanops.io`. */
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

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** For POSTs: reuse this key instead of a generated one (the same key across your own retries). */
  idempotencyKey?: string;
  /** Validated when `validateResponses` is on. */
  schema?: z.ZodType;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

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
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    if (!options.apiKey) throw new Error('HumanOpsClient needs an apiKey');
    this.#apiKey = options.apiKey;
    this.baseUrl = `${(options.baseUrl ?? 'https://api.humanops.io').replace(/\/+$/, '')}/api/v1`;
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
    const headers: Record<string, string> = { 'X-API-Key': this.#apiKey, Accept: 'application/json' };
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
}
