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
import ipaddr from 'ipaddr.js';
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
// Where webhooks may go: only to global unicast addresses, unless local development allows it.
// The classification is ipaddr.js's (a maintained table of the IANA special-purpose registries),
// not a list of our own: every IPv4 and IPv6 range it does not call `unicast` is refused, including
// IPv4 embedded in IPv6 (NAT64, SIIT, 6to4, Teredo), discard-only and documentation prefixes.

function isIpLiteral(host: string): boolean {
  return ipaddr.isValid(host);
}

/**
 * The deprecated IPv4-compatible range (RFC 4291 §2.5.5.1): `::a.b.c.d`, which URL parsing writes
 * as `::7f00:1`. ipaddr.js calls it unicast, yet some stacks still route it to the IPv4 address.
 */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/** Whether an IP address must never receive webhooks from a live server. */
export function isPrivateAddress(address: string): boolean {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(plain)) return true; // not an address we understand: refuse
  const parsed = ipaddr.parse(plain);
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE)) return true;
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it reaches.
  return ipaddr.process(plain).range() !== 'unicast';
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;

/** Mail submission ports: Supabase's edge blocks outbound connections to them, and no webhook receiver listens there. */
const MAIL_PORTS = new Set(['25', '587']);

/** Why a callback URL may not be used (from its text alone), or null when it may. */
export function callbackUrlProblem(url: string, allowPrivate: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an http(s) URL';
  }
  if (parsed.username || parsed.password) return 'must not carry credentials';
  if (MAIL_PORTS.has(parsed.port)) return `must not use port ${parsed.port} (a mail port, which the hosting platform blocks)`;
  if (allowPrivate) return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, '').replace(/\.+$/, ''); // `localhost.` is `localhost`
  if (LOCAL_NAMES.test(host)) return 'must not point to a local host';
  if ((isIpLiteral(host) || host.includes(':')) && isPrivateAddress(host)) return 'must not point to a private, loopback or link-local address';
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
  if (isIpLiteral(plain) || plain.includes(':')) return [plain];
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
  /** No answer within the timeout: what trips the receiver's circuit breaker. */
  timedOut?: boolean;
}

/** What the Node-compatible HTTP clients need of a request function (node:http and node:https). */
type NodeRequest = (url: URL, options: Record<string, unknown>, onResponse: (res: { statusCode?: number; resume(): void }) => void) => {
  on(event: 'error', listener: (error: Error) => void): void;
  end(body: string): void;
};

/**
 * POSTs `body` to `url` and resolves with the status code, connecting only to `addresses` (the
 * ones that were checked): the client's name lookup is answered with them, so
 * DNS is not asked again and a rebinding between check and request has nothing to rebind, while
 * the Host header and TLS (server name, certificate) still use the URL's host. node:http(s), unlike
 * fetch, also ignores HTTP(S)_PROXY, so no proxy in the environment can route around the check.
 * Redirects are not followed.
 */
export async function postPinned(url: URL, headers: Record<string, string>, body: string, signal: AbortSignal, addresses: string[]): Promise<number> {
  // Computed specifiers: literal `node:` imports would enter every bundle of this module.
  const specifier = url.protocol === 'https:' ? 'node:https' : 'node:http';
  const { request } = await import(specifier) as { request: NodeRequest };
  const found = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const lookup = (_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
    options?.all ? callback(null, found) : callback(null, found[0].address, found[0].family);
  return await new Promise<number>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { ...headers, 'Content-Length': String(new TextEncoder().encode(body).length) },
      signal,
      lookup,
      agent: false, // a fresh connection each time: a pooled one may lead elsewhere
    }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Posts one webhook. The host is resolved and every address checked first (unless private
 * addresses are allowed), and the request then connects only to those checked addresses;
 * redirects are not followed; resolving and posting together take at most `timeoutMs`.
 */
export async function deliver(
  delivery: { id: string; url: string; secret: string | null; payload: unknown },
  options: { allowPrivate: boolean; timeoutMs: number },
): Promise<DeliveryResult> {
  const problem = callbackUrlProblem(delivery.url, options.allowPrivate);
  if (problem) return { delivered: false, statusCode: null, error: `callback_url ${problem}` };
  const deadline = AbortSignal.timeout(options.timeoutMs);
  let addresses: string[] | null = null;
  if (!options.allowPrivate) {
    const host = new URL(delivery.url).hostname;
    try {
      addresses = await resolveHost(host, deadline);
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      const why = timedOut ? `no answer within ${options.timeoutMs} ms` : (error as Error).message;
      return { delivered: false, statusCode: null, error: `cannot resolve ${host}: ${why}`, timedOut };
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
    // Checked addresses: pinned. Test mode's private receivers: plain fetch, nothing to pin.
    const status = addresses
      ? await postPinned(new URL(delivery.url), headers, body, deadline, addresses)
      : await fetch(delivery.url, { method: 'POST', headers, body, redirect: 'manual', signal: deadline })
        .then(async (response) => (await response.body?.cancel(), response.status));
    const delivered = status >= 200 && status < 300;
    return { delivered, statusCode: status, error: delivered ? null : `receiver answered ${status}` };
  } catch (error) {
    if (deadline.aborted) return { delivered: false, statusCode: null, error: `no answer within ${options.timeoutMs} ms`, timedOut: true };
    return { delivered: false, statusCode: null, error: `request failed: ${(error as Error).message}` };
  }
}
