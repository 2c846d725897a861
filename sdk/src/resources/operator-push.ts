/** Web Push for the operator: the VAPID key to subscribe with, preferences, and this browser's subscription. */
import type { z } from 'zod';
import type { APIPromise } from '../api-promise.ts';
import type { APIClient, RequestOptions } from '../client.ts';
import type { PushPreferencesSchema, PushSubscriptionSchema } from '../contract/schemas.ts';
import type * as rs from '../contract/responses.ts';

export type PushSettings = z.infer<typeof rs.PushSettingsResponse>;
export type PushPreferencesParams = z.input<typeof PushPreferencesSchema>;
/** What `PushSubscription.toJSON()` gives in a browser. */
export type PushSubscriptionParams = z.input<typeof PushSubscriptionSchema>;

export class OperatorPush {
  constructor(private readonly client: APIClient) {}

  /** The server's VAPID public key (null when push is off), the preferences, and how many browsers are subscribed. */
  settings(options: RequestOptions = {}): APIPromise<PushSettings> {
    return this.client.request('GET', '/operator/push', options);
  }

  /** Changes what the operator is alerted about; absent fields stay as they are. */
  setPreferences(params: PushPreferencesParams, options: RequestOptions = {}): APIPromise<PushSettings> {
    return this.client.request('PUT', '/operator/push/preferences', { body: params, ...options });
  }

  /** Registers a browser's subscription (pass `subscription.toJSON()`). */
  subscribe(subscription: PushSubscriptionParams, options: RequestOptions = {}): APIPromise<{ subscription_id: string; endpoint: string }> {
    return this.client.request('POST', '/operator/push-subscriptions', { body: subscription, ...options });
  }

  /** Removes a browser's subscription by its endpoint (on sign-out, or when alerts are turned off). */
  unsubscribe(endpoint: string, options: RequestOptions = {}): APIPromise<{ removed: boolean }> {
    return this.client.request('DELETE', '/operator/push-subscriptions', { query: { endpoint }, ...options });
  }
}
