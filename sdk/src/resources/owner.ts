import type { z } from 'zod';
import type { APIPromise, PagePromise } from '../api-promise.ts';
import type { APIClient, RequestOptions } from '../client.ts';
import type { CreateKeySchema, SpendingPolicyInput } from '../contract/schemas.ts';
import {
  ApprovedTaskResponse, CreatedKeyResponse, DeclinedTaskResponse, LinkCodeResponse, SpendingPolicyResponse, SpendResponse, UnlinkedOwnerResponse,
  UsageResponse,
} from '../contract/responses.ts';
import type { CreatedKey, LinkCode, OwnerSummary, PendingApproval, Spend, TaskSummary } from './types.ts';

export type CreateKeyParams = z.input<typeof CreateKeySchema>;
export type SpendingPolicy = z.output<typeof SpendingPolicyResponse>;
export type SpendingPolicyParams = SpendingPolicyInput;
export type Usage = z.output<typeof UsageResponse>;
export type ApprovedTask = z.output<typeof ApprovedTaskResponse>;
export type DeclinedTask = z.output<typeof DeclinedTaskResponse>;

const policyPath = (keyId: string) => `/agents/keys/${encodeURIComponent(keyId)}/policy`;

/**
 * Owner controls: scoped keys, spending policies the ledger enforces, spend against them, and the
 * approval queue. Changing anything needs a key with the `owner` scope; reading needs any key.
 */
export class Owner {
  constructor(private readonly client: APIClient) {}

  /** Mints a key with the given scopes (never more than the calling key holds) and optional expiry; the secret is shown once. */
  createKey(params: CreateKeyParams, options: RequestOptions = {}): APIPromise<CreatedKey> {
    return this.client.request('POST', '/agents/keys', { body: params, schema: CreatedKeyResponse, ...options });
  }

  /** The account default policy, followed by keys without their own. */
  accountPolicy(options: RequestOptions = {}): APIPromise<SpendingPolicy> {
    return this.client.request('GET', '/agents/policy', { schema: SpendingPolicyResponse, ...options });
  }

  /** Changes the account default: absent fields keep their value, `null` removes a limit. */
  setAccountPolicy(params: SpendingPolicyParams, options: RequestOptions = {}): APIPromise<SpendingPolicy> {
    return this.client.request('PUT', '/agents/policy', { body: params, schema: SpendingPolicyResponse, ...options });
  }

  /** The policy a key follows (`source`: its own, the account default, or none). */
  keyPolicy(keyId: string, options: RequestOptions = {}): APIPromise<SpendingPolicy> {
    return this.client.request('GET', policyPath(keyId), { schema: SpendingPolicyResponse, ...options });
  }

  /** Changes a key's own policy: absent fields keep their value, `null` removes a limit. */
  setKeyPolicy(keyId: string, params: SpendingPolicyParams, options: RequestOptions = {}): APIPromise<SpendingPolicy> {
    return this.client.request('PUT', policyPath(keyId), { body: params, schema: SpendingPolicyResponse, ...options });
  }

  /** Removes a key's own policy; it follows the account default again. */
  clearKeyPolicy(keyId: string, options: RequestOptions = {}): APIPromise<SpendingPolicy> {
    return this.client.request('DELETE', policyPath(keyId), { schema: SpendingPolicyResponse, ...options });
  }

  /** Each active key's spend in the rolling day and the calendar month against its limits; `calling_key` marks yours. */
  usage(options: RequestOptions = {}): APIPromise<Usage> {
    return this.client.request('GET', '/agents/usage', { schema: UsageResponse, ...options });
  }

  /** Tasks waiting for an owner's approval, newest first; iterate with `for await` for every page. */
  pendingApprovals(params: { limit?: number; offset?: number } = {}, options: RequestOptions = {}): PagePromise<TaskSummary> {
    return this.client.list('/tasks', { query: { ...params, status: 'PENDING_APPROVAL' }, ...options });
  }

  /**
   * Tasks waiting for approval, oldest first, each with the key that posted it, the threshold that
   * holds it and when its window closes (one page).
   */
  approvals(options: RequestOptions = {}): PagePromise<PendingApproval> {
    return this.client.list('/agents/approvals', options);
  }

  /** Spend per UTC day (reward + fee of tasks posted, less refunds) and the fee tier with what reaches the next. */
  spend(params: { days?: number } = {}, options: RequestOptions = {}): APIPromise<Spend> {
    return this.client.request('GET', '/agents/spend', { query: params, schema: SpendResponse, ...options });
  }

  /** A one-time code (15 minutes) that links the signed-in person who redeems it as an owner of this agent; shown once. */
  linkCode(options: RequestOptions = {}): APIPromise<LinkCode> {
    return this.client.request('POST', '/agents/owners/link-code', { body: {}, schema: LinkCodeResponse, ...options });
  }

  /** The people who own this agent (one page). */
  owners(options: RequestOptions = {}): PagePromise<OwnerSummary> {
    return this.client.list('/agents/owners', options);
  }

  /** Unlinks an owner: their sessions lose this agent at once. */
  unlinkOwner(ownerId: string, options: RequestOptions = {}): APIPromise<{ unlinked: true }> {
    return this.client.request('DELETE', `/agents/owners/${encodeURIComponent(ownerId)}`, { schema: UnlinkedOwnerResponse, ...options });
  }

  /** Opens a task waiting for approval to operators. */
  approve(taskId: string, options: RequestOptions = {}): APIPromise<ApprovedTask> {
    return this.client.request('POST', `/tasks/${encodeURIComponent(taskId)}/approve`, { schema: ApprovedTaskResponse, ...options });
  }

  /** Declines a task waiting for approval: cancelled, reward + fee refunded. */
  decline(taskId: string, options: RequestOptions = {}): APIPromise<DeclinedTask> {
    return this.client.request('POST', `/tasks/${encodeURIComponent(taskId)}/decline`, { schema: DeclinedTaskResponse, ...options });
  }
}
