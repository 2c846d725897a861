/**
 * Verifying HumanOps webhooks, constant-time, for both signatures the platform sends:
 * `X-HumanOps-Signature` (hex HMAC-SHA256 of the raw body with the callback secret) and Standard
 * Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<body>">`, keyed with the secret's UTF-8 bytes or, for `whsec_…`, the decoded rest).
 */
import { fromBase64, toBase64 } from './e2ee.ts';
import { WebhookVerificationError } from './errors.ts';

const encoder = new TextEncoder();

async function hmac(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, message as Uint8Array<ArrayBuffer>));
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * The Standard Webhooks key bytes of a callback secret, exactly as the platform signs: for `whsec_…`
 * the rest decoded as standard or URL-safe base64, else (or if that rest is not base64) the
 * secret's UTF-8 bytes.
 */
export function webhookKey(secret: string): Uint8Array {
  const rest = secret.slice('whsec_'.length);
  if (secret.startsWith('whsec_') && /^[A-Za-z0-9+/_-]+={0,2}$/.test(rest)) {
    try {
      return fromBase64(rest.replace(/-/g, '+').replace(/_/g, '/'));
    } catch {
      // not base64 after all: the platform falls back to the UTF-8 bytes too
    }
  }
  return encoder.encode(secret);
}

const header = (headers: Headers | Record<string, string | string[] | undefined>, name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const found = Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return Array.isArray(found) ? found[0] : found;
};

/**
 * Checks a webhook and returns its parsed event, or throws WebhookVerificationError. Pass the raw
 * body exactly as received. Standard Webhooks headers, when present, must also be recent
 * (`toleranceSeconds`, default 300) so a captured request cannot be replayed later; pass `seen` to
 * refuse a replay within that window too (the platform's retries reuse the id only after a failure).
 */
export async function verifyWebhook<T = { event: string; task_id: string; status?: string; guardian_result: unknown; timestamp: string }>(
  rawBody: string | Uint8Array,
  headers: Headers | Record<string, string | string[] | undefined>,
  secret: string,
  options: {
    toleranceSeconds?: number;
    now?: number;
    /** Delivery ids already processed (e.g. a Set, or your own store): a repeat is refused as a replay. */
    seen?: { has(id: string): boolean; add(id: string): unknown };
  } = {},
): Promise<T> {
  const body = typeof rawBody === 'string' ? encoder.encode(rawBody) : rawBody;
  const standard = header(headers, 'webhook-signature');
  const hex = header(headers, 'x-humanops-signature');
  if (standard) {
    const id = header(headers, 'webhook-id') ?? '';
    const timestamp = header(headers, 'webhook-timestamp') ?? '';
    const now = options.now ?? Math.floor(Date.now() / 1000);
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)) {
      throw new WebhookVerificationError('Webhook timestamp is missing or too old');
    }
    // The signed content is the headers' text as received: `<webhook-id>.<webhook-timestamp>.<body>`.
    const signed = new Uint8Array([...encoder.encode(`${id}.${timestamp}.`), ...body]);
    const expected = `v1,${toBase64(await hmac(webhookKey(secret), signed))}`;
    if (!standard.split(' ').some((candidate) => constantTimeEqual(candidate, expected))) {
      throw new WebhookVerificationError('Webhook signature does not match');
    }
    if (options.seen) {
      if (options.seen.has(id)) throw new WebhookVerificationError('Webhook was already received (replay)');
      options.seen.add(id);
    }
  } else if (hex) {
    const expected = Array.from(await hmac(encoder.encode(secret), body), (b) => b.toString(16).padStart(2, '0')).join('');
    if (!constantTimeEqual(hex.toLowerCase(), expected)) throw new WebhookVerificationError('Webhook signature does not match');
  } else {
    throw new WebhookVerificationError('Webhook is not signed');
  }
  return JSON.parse(new TextDecoder().decode(body)) as T;
}
