import type { APIPromise, PagePromise } from '../api-promise.ts';
import type { APIClient, RequestOptions } from '../client.ts';
import type { AccountWebhookDelivery, WebhookDelivery } from './types.ts';

export type { AccountWebhookDelivery, WebhookDelivery };

/** Webhook deliveries: the account's log, and have one sent again. */
export class Webhooks {
  constructor(private readonly client: APIClient) {}

  /** Every delivery of the account, newest first (the last 100; one page). */
  list(options: RequestOptions = {}): PagePromise<AccountWebhookDelivery> {
    return this.client.list('/agents/webhooks', options);
  }

  /** Queues a delivery again now, with a fresh retry budget (same id and body, so receivers can de-duplicate). */
  resend(deliveryId: string, options: RequestOptions = {}): APIPromise<WebhookDelivery> {
    return this.client.request('POST', `/webhooks/${encodeURIComponent(deliveryId)}/resend`, { body: {}, ...options });
  }
}
