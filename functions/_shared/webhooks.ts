/**
 * Webhooks: how they are signed, where they may go, and how they are delivered.
 *
 * Signing (with the task's `callback_secret`):
 * - `X-HumanOps-Signature`: hex HMAC-SHA256 of the raw body — what the reference's Express sample checks;
 * - Standard Webhooks: `webhook-id` (the delivery id, the same on every retry), `webhook-timestamp`
 *   (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed
 *   with the base64-decoded part after `whsec_` when the secret has that prefix, else its UTF-8 bytes.
 *   Receivers reject stale timestamps to stop replays.
 * Without a secret the body is sent unsigned (the reference makes the secret optional).
 */
import { VERSION } from './version.ts';
import { webhookKey } from '../../sdk/src/webhooks.ts';

const encoder = new TextEncoder();

async function hmac(key: Uint8Array, message: string): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(message)));
}

/** The key bytes of a callback secret: one rule, shared with the SDK's verifier. */
export { webhookKey };

/** The headers that sign `body` for delivery `id` at `timestamp` (unix seconds). */
export async function signatureHeaders(body: string, secret: string | null, id: string, timestamp: number): Promise<Record<string, string>> {
  const headers: Record<string, string> = { 'webhook-id': id, 'webhook-timestamp': String(timestamp) };
  if (!secret) return headers;
  const hex = Array.from(await hmac(encoder.encode(secret), body), (b) => b.toString(16).padStart(2, '0')).join('');
  const standard = btoa(String.fromCharCode(...await hmac(webhookKey(secret), `${id}.${timestamp}.${body}`)));
  return { ...headers, 'X-HumanOps-Signature': hex, 'webhook-signature': `v1,${standard}` };
}

// ---------------------------------------------------------------------------------------------
// Where webhooks may go: never to loopback, private, link-local, metadata or other special
// addresses, unless local development allows it.

function ipv4Bytes(address: string): number[] | null {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

function isSpecialIpv4([a, b, c]: number[]): boolean {
  return a === 0 || a === 10 || a === 127 || a >= 224 // this network, private, loopback, multicast and reserved
    || (a === 100 && b >= 64 && b <= 127) // carrier-grade NAT
    || (a === 169 && b === 254) // link-local, cloud metadata
    || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) // private
    || (a === 192 && b === 0 && (c === 0 || c === 2)) || (a === 198 && (b === 18 || b === 19)) // IETF, benchmarking
    || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113); // documentation
}

/** Expands an IPv6 address into its 8 groups, or null. */
function ipv6Groups(address: string): number[] | null {
  let text = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const bytes = ipv4Bytes(v4[1]);
    if (!bytes) return null;
    text = text.slice(0, -v4[1].length) + `${((bytes[0] << 8) | bytes[1]).toString(16)}:${((bytes[2] << 8) | bytes[3]).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part ? part.split(':').map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)) : []);
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const groups = halves.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill(0), ...tail] : head;
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : null;
}

/** Whether an IP address must never receive webhooks from a live server. */
export function isPrivateAddress(address: string): boolean {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const v4 = ipv4Bytes(plain);
  if (v4) return isSpecialIpv4(v4);
  const g = ipv6Groups(plain);
  if (!g) return true; // not an address we understand: refuse
  if (g.every((x) => x === 0) || (g.slice(0, 7).every((x) => x === 0) && g[7] === 1)) return true; // :: and ::1
  if ((g[0] & 0xfe00) === 0xfc00 || (g[0] & 0xffc0) === 0xfe80 || (g[0] & 0xffc0) === 0xfec0 || (g[0] & 0xff00) === 0xff00) return true; // ULA, link-local, site-local, multicast
  // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::).
  const embedded = (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) || (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0));
  if (embedded) return isSpecialIpv4([g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff]);
  if (g[0] === 0x2002) return isSpecialIpv4([g[1] >> 8, g[1] & 0xff, g[2] >> 8, g[2] & 0xff]);
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return true; // local-use NAT64
  return g[0] === 0x2001 && (g[1] === 0x0db8 || g[1] === 0); // documentation, Teredo
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;

/** Why a callback URL may not be used (from its text alone), or null when it may. */
export function callbackUrlProblem(url: string, allowPrivate: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an http(s) URL';
  }
  if (parsed.username || parsed.password) return 'must not carry credentials';
  if (allowPrivate) return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, ''); // `localhost.` is `localhost`
  if (LOCAL_NAMES.test(host)) return 'must not point to a local host';
  if ((ipv4Bytes(host) || host.includes(':')) && isPrivateAddress(host)) return 'must not point to a private, loopback or link-local address';
  return null;
}

/** `promise`, or the signal's reason if it aborts first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Every address a host name resolves to (an IP literal resolves to itself), given up when `signal`
 * aborts. Deno's resolver reads /etc/hosts and then DNS; Node's `lookup` is getaddrinfo.
 */
async function resolveHost(host: string, signal: AbortSignal): Promise<string[]> {
  const plain = host.replace(/^\[|\]$/g, '');
  if (ipv4Bytes(plain) || plain.includes(':')) return [plain];
  type ResolveDns = (h: string, t: 'A' | 'AAAA', o: { signal: AbortSignal }) => Promise<string[]>;
  const deno = (globalThis as { Deno?: { resolveDns: ResolveDns } }).Deno;
  if (deno) {
    const results = await untilAborted(Promise.allSettled([deno.resolveDns(plain, 'A', { signal }), deno.resolveDns(plain, 'AAAA', { signal })]), signal);
    return results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  }
  const specifier = 'node:dns/promises';
  const dns = await import(specifier) as { lookup(h: string, o: { all: true }): Promise<{ address: string }[]> };
  return (await untilAborted(dns.lookup(plain, { all: true }), signal)).map((a) => a.address);
}

export interface DeliveryResult {
  delivered: boolean;
  statusCode: number | null;
  error: string | null;
}

/**
 * Posts one webhook. The host is resolved and every address checked first (unless private
 * addresses are allowed); redirects are not followed; resolving and posting together take at most
 * `timeoutMs`. The connection is not pinned to the checked address, so a host whose DNS changes
 * between the check and the request (rebinding) is a residual risk, bounded by the short gap.
 */
export async function deliver(
  delivery: { id: string; url: string; secret: string | null; payload: unknown },
  options: { allowPrivate: boolean; timeoutMs: number },
): Promise<DeliveryResult> {
  const problem = callbackUrlProblem(delivery.url, options.allowPrivate);
  if (problem) return { delivered: false, statusCode: null, error: `callback_url ${problem}` };
  const deadline = AbortSignal.timeout(options.timeoutMs);
  if (!options.allowPrivate) {
    const host = new URL(delivery.url).hostname;
    let addresses: string[];
    try {
      addresses = await resolveHost(host, deadline);
    } catch (error) {
      const why = (error as Error).name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : (error as Error).message;
      return { delivered: false, statusCode: null, error: `cannot resolve ${host}: ${why}` };
    }
    if (addresses.length === 0) return { delivered: false, statusCode: null, error: `cannot resolve ${host}` };
    const bad = addresses.find(isPrivateAddress);
    if (bad) return { delivered: false, statusCode: null, error: `refused: ${host} resolves to ${bad}, a private address` };
  }
  const body = JSON.stringify(delivery.payload);
  const headers = {
    'Content-Type': 'application/json',
    'User-Agent': `HumanOps-Webhooks/${VERSION}`,
    ...(await signatureHeaders(body, delivery.secret, delivery.id, Math.floor(Date.now() / 1000))),
  };
  try {
    const response = await fetch(delivery.url, { method: 'POST', headers, body, redirect: 'manual', signal: deadline });
    await response.body?.cancel();
    const delivered = response.status >= 200 && response.status < 300;
    return { delivered, statusCode: response.status, error: delivered ? null : `receiver answered ${response.status}` };
  } catch (error) {
    const name = (error as Error).name;
    return { delivered: false, statusCode: null, error: name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : `request failed: ${(error as Error).message}` };
  }
}
