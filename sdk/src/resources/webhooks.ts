import type { APIPromise } from '../api-promise.ts';
import type { APIClient, RequestOptions } from '../client.ts';
import type { WebhookDelivery } from './types.ts';

export type { WebhookDelivery };

/** Webhook deliveries: have one sent again. */
export class Webhooks {
  constructor(private readonly client: APIClient) {}

  /** Queues a delivery again now, with a fresh retry budget (same id and body, so receivers can de-duplicate). */
  resend(deliveryId: string, options: RequestOptions = {}): APIPromise<WebhookDelivery> {
    return this.client.request('POST', `/webhooks/${encodeURIComponent(deliveryId)}/resend`, { body: {}, ...options });
  }
}
