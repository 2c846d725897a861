import type { APIClient } from '../client.ts';

/** One webhook delivery of a task, as `tasks.webhooks` lists it and `webhooks.resend` returns it. */
export interface WebhookDelivery {
  delivery_id: string;
  event: string;
  /** `pending` (due at `next_attempt_at`), `delivered` or `failed`. */
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
}

/** Webhook deliveries: have one sent again. */
export class Webhooks {
  constructor(private readonly client: APIClient) {}

  /** Queues a delivery again now, with a fresh retry budget (same id and body, so receivers can de-duplicate). */
  resend(deliveryId: string): Promise<WebhookDelivery> {
    return this.client.request('POST', `/webhooks/${encodeURIComponent(deliveryId)}/resend`, { body: {} });
  }
}
