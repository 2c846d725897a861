/**
 * `@humanops/sdk/operator`: the operator's client, for the operator app and any other operator
 * integration. It carries no schema library, so a browser bundle stays small.
 *
 *   const operator = new HumanOpsOperatorClient({ token: () => session.getToken() });
 *   const feed = await operator.tasks.list({ lat, lng, radius_km: 10 });
 */
import { APIClient, type OperatorClientOptions } from './client.ts';
import { OperatorAccount, OperatorEarnings, OperatorTasks } from './resources/operator.ts';
import { OperatorPush } from './resources/operator-push.ts';

export class HumanOpsOperatorClient {
  /** Registration and the operator's profile (KYC status). */
  readonly account: OperatorAccount;
  /** The feed, one task, accept, start, upload, submit, and the operator's own tasks. */
  readonly tasks: OperatorTasks;
  /** Earnings and payouts. */
  readonly earnings: OperatorEarnings;
  /** Web Push: the VAPID key, alert preferences, and this browser's subscription. */
  readonly push: OperatorPush;

  constructor(options: OperatorClientOptions) {
    const api = new APIClient(options);
    this.account = new OperatorAccount(api);
    this.tasks = new OperatorTasks(api);
    this.earnings = new OperatorEarnings(api);
    this.push = new OperatorPush(api);
  }
}

export { MIN_PAYOUT_USD } from './resources/operator.ts';
export type {
  FeedParams, KycStatus, OpenTask, OperatorProfile, OperatorTask, Payout, PayoutAddressChallenge, RegisterOperatorParams, Rejection,
  RequesterRecord, SubmitParams, TaskReview,
  UpdateOperatorParams, UploadedProof,
} from './resources/operator.ts';
export type { Logger, LogLevel, OperatorClientOptions, RequestOptions, TokenSupplier, UploadOptions } from './client.ts';
export { APIPromise, Page, PagePromise, type Pagination } from './api-promise.ts';
export type { OperatorTaskMessage, OperatorTaskMessages, TaskStatus } from './resources/types.ts';
export type { PushPreferencesParams, PushSettings, PushSubscriptionParams } from './resources/operator-push.ts';
export { encryptForAgent, type EncryptedCredential } from './e2ee.ts';
export { CATEGORIES, TASK_TYPES, type TaskType } from './contract/categories.ts';
export * from './errors.ts';
