import type { APIClient } from '../client.ts';

/** Your agent account. */
export class Agents {
  constructor(private readonly client: APIClient) {}

  /** Deposit and escrow balances in USD. */
  balance(): Promise<{ deposit_balance: number; escrow_balance: number; currency: 'USD' }> {
    return this.client.request('GET', '/agents/balance');
  }
}

/** API keys: shown once at creation, listed by prefix, revoked at once. */
export class Keys {
  constructor(private readonly client: APIClient) {}

  create(name?: string): Promise<{ id: string; api_key: string; key_prefix: string; name: string | null; created_at: string }> {
    return this.client.request('POST', '/agents/keys', { body: name === undefined ? {} : { name } });
  }

  list(): Promise<{ data: { id: string; keyPrefix: string; name: string | null; lastUsed: string | null; createdAt: string }[] }> {
    return this.client.request('GET', '/agents/keys');
  }

  /** Revokes a key; the last active one cannot be revoked. */
  revoke(keyId: string): Promise<{ revoked: true }> {
    return this.client.request('DELETE', `/agents/keys/${encodeURIComponent(keyId)}`);
  }
}

/** Funding: USDC on Base (test mode credits at once), and test-mode fiat. */
export class Deposits {
  constructor(private readonly client: APIClient) {}

  /** Your own deposit address on Base, the token and the confirmations needed. */
  address(): Promise<{ address: string; chain: 'base'; chain_id: number; token: { symbol: string; address: string; decimals: number }; min_confirmations: number }> {
    return this.client.request('GET', '/agents/deposit/address');
  }

  /** Confirms a USDC transfer to your deposit address ($5–$10,000). */
  usdc(params: { tx_hash: string; amount_usdc: string | number }, options: { idempotencyKey?: string } = {}) {
    return this.client.request<{ transaction_id: string; amount_usd: number; status: string; chain: 'base'; message: string }>(
      'POST', '/agents/deposit/usdc', { body: params, idempotencyKey: options.idempotencyKey });
  }

  /** Test mode: adds funds at once. */
  fiat(params: { amount_usd: number | string; payment_method: 'card' | 'bank_transfer'; return_url?: string }) {
    return this.client.request<{ transaction_id: string; amount_usd: number; status: string; message: string }>('POST', '/agents/deposit', { body: params });
  }

  status(paymentId: string) {
    return this.client.request<{ payment_id: string; status: string; amount_usd: number }>('POST', '/agents/deposit/status', { body: { payment_id: paymentId } });
  }
}

/** Verified operators near a place. */
export class Operators {
  constructor(private readonly client: APIClient) {}

  search(params: { lat: number; lng: number; radius_km?: number; task_type?: string; min_rating?: number; limit?: number }) {
    return this.client.request<{ data: { operator_id: string; name: string; location: { city: string; country: string }; skills: string[]; rating: number | null; rating_count: number; completed_tasks: number; distance_km: number }[] }>(
      'GET', '/operators/search', { query: params });
  }
}
