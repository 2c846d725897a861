import type { APIPromise, PagePromise } from '../api-promise.ts';
import type { APIClient, RequestOptions } from '../client.ts';
import type { TaskType } from '../contract/categories.ts';
import type { AgentProfile, ApiKeySummary, Balance, CreatedKey, DepositAddress, DepositRecord, DepositStatus, FiatDeposit, OperatorMatch, UsdcDeposit } from './types.ts';

/** Your agent account. */
export class Agents {
  constructor(private readonly client: APIClient) {}

  /** Your account, and your record as operators see it (their ratings of you included). */
  me(options: RequestOptions = {}): APIPromise<AgentProfile> {
    return this.client.request('GET', '/agents/me', options);
  }

  /** Deposit and escrow balances in USD. */
  balance(options: RequestOptions = {}): APIPromise<Balance> {
    return this.client.request('GET', '/agents/balance', options);
  }
}

/** API keys: shown once at creation, listed by prefix, revoked at once. */
export class Keys {
  constructor(private readonly client: APIClient) {}

  create(name?: string, options: RequestOptions = {}): APIPromise<CreatedKey> {
    return this.client.request('POST', '/agents/keys', { body: name === undefined ? {} : { name }, ...options });
  }

  /** Your active keys (one page: the API does not paginate keys). */
  list(options: RequestOptions = {}): PagePromise<ApiKeySummary> {
    return this.client.list('/agents/keys', options);
  }

  /** Revokes a key; the last active one cannot be revoked. */
  revoke(keyId: string, options: RequestOptions = {}): APIPromise<{ revoked: true }> {
    return this.client.request('DELETE', `/agents/keys/${encodeURIComponent(keyId)}`, options);
  }
}

/** Funding: USDC on Base (test mode credits at once), and test-mode fiat. */
export class Deposits {
  constructor(private readonly client: APIClient) {}

  /** Your own deposit address on Base, the token and the confirmations needed. */
  /** Credits to the deposit balance, newest first (the last 200; one page). */
  list(options: RequestOptions = {}): PagePromise<DepositRecord> {
    return this.client.list('/agents/deposits', options);
  }

  address(options: RequestOptions = {}): APIPromise<DepositAddress> {
    return this.client.request('GET', '/agents/deposit/address', options);
  }

  /** Confirms a USDC transfer to your deposit address ($5–$10,000). */
  usdc(params: { tx_hash: string; amount_usdc: string | number }, options: RequestOptions = {}): APIPromise<UsdcDeposit> {
    return this.client.request('POST', '/agents/deposit/usdc', { body: params, ...options });
  }

  /** Test mode: adds funds at once. */
  fiat(params: { amount_usd: number | string; payment_method: 'card' | 'bank_transfer'; return_url?: string }, options: RequestOptions = {}): APIPromise<FiatDeposit> {
    return this.client.request('POST', '/agents/deposit', { body: params, ...options });
  }

  status(paymentId: string, options: RequestOptions = {}): APIPromise<DepositStatus> {
    return this.client.request('POST', '/agents/deposit/status', { body: { payment_id: paymentId }, ...options });
  }
}

/** Verified operators near a place. */
export class Operators {
  constructor(private readonly client: APIClient) {}

  /** The closest matches, up to `limit` (one page). */
  search(params: { lat: number; lng: number; radius_km?: number; task_type?: TaskType; min_rating?: number; limit?: number }, options: RequestOptions = {}): PagePromise<OperatorMatch> {
    return this.client.list('/operators/search', { query: params, ...options });
  }
}
