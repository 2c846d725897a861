/** The operator side: a person who finds, accepts, does and proves tasks (the operator app, or any integration). */
import type { z } from 'zod';
import type { APIPromise, Page, PagePromise } from '../api-promise.ts';
import type { APIClient, RequestOptions, UploadOptions } from '../client.ts';
import type { RegisterOperatorSchema, UpdateOperatorSchema } from '../contract/schemas.ts';
import { encryptForAgent, type EncryptedCredential } from '../e2ee.ts';
import type { OperatorTaskMessage, OperatorTaskMessages, TaskStatus } from './types.ts';

export type RegisterOperatorParams = z.input<typeof RegisterOperatorSchema>;
export type UpdateOperatorParams = z.input<typeof UpdateOperatorSchema>;
export type KycStatus = 'PENDING' | 'VERIFIED' | 'REJECTED';

/** The operator's own record. */
export interface OperatorProfile {
  operator_id: string;
  name: string;
  email: string;
  phone: string | null;
  location: { city: string; country: string; lat: number | null; lng: number | null };
  /** How far from home (km) the operator will go for a task; null: no limit of their own. */
  travel_radius_km: number | null;
  skills: string[];
  /** Only VERIFIED operators may accept tasks. */
  kyc_status: KycStatus;
  rating: number | null;
  rating_count: number;
  created_at: string;
  /** Where payouts go (EIP-55), or null before one is set. */
  payout_address: string | null;
  /** While a changed address waits out its 48-hour cool-down: when payouts may go to it. */
  payout_address_cooldown_ends_at: string | null;
}

/** A payout and, once signed, its transaction on Base. */
export interface Payout {
  payout_id: string;
  /** queued → broadcast → completed, or failed (the amount back in the available balance). */
  status: 'queued' | 'broadcast' | 'completed' | 'failed';
  amount_usd: number;
  method: 'usdc' | 'test' | 'payoneer';
  address: string | null;
  tx_hash: string | null;
  explorer_url: string | null;
  failure: string | null;
  created_at: string;
  completed_at: string | null;
}

/** What to sign (personal_sign, EIP-191) from the address payouts should go to. */
export interface PayoutAddressChallenge {
  nonce: string;
  message: string;
  expires_at: string;
}

/** A task as an operator sees it in the feed. */
export interface OpenTask {
  task_id: string;
  title: string;
  description: string;
  task_type: string;
  task_domain: 'PHYSICAL' | 'DIGITAL';
  proof_type: 'PHOTO' | 'SCREENSHOT' | 'CONFIRMATION' | 'ARTIFACT';
  location: { lat: number | null; lng: number | null; address: string | null };
  /** Kilometres from the point the feed was asked about (physical tasks only). */
  distance_km?: number;
  /** Physical tasks: the agent's radius (metres) for photos the Guardian approves; null when the Guardian's own applies. */
  max_distance_m: number | null;
  reward_usd: number;
  deadline: string;
  proof_requirements: string[];
  digital_instructions: string | null;
  /** Set on Tier 2 credential tasks: what the credential is encrypted for. */
  agent_public_key: string | null;
  created_at: string;
  /** Who posted it and their record. */
  requester: RequesterRecord | null;
}

/** A requester as operators see it: a display name and a record to judge it by. */
export interface RequesterRecord {
  name: string;
  tasks_posted: number;
  /** Share of settled proofs it paid for (0–1); null before any. */
  approval_rate: number | null;
  /** Median minutes from proof to payment. */
  median_review_minutes: number | null;
  /** Disputes an admin settled for the operator. */
  disputes_lost: number;
  /** Operators' mean rating of it, 1–5. */
  rating: number | null;
  rating_count: number;
}

/** A task with its progress and, once judged, the Guardian's verdict on the proof. */
export interface OperatorTask extends OpenTask {
  status: TaskStatus;
  accepted_at: string | null;
  started_at: string | null;
  submitted_at: string | null;
  guardian_result: {
    decision: string | null;
    reasoning: string | null;
    requirement_results: { requirement: string; met: boolean | null; note: string }[];
    /** What the Guardian's rules found, each in plain words naming the photo by its number; `hard` when it refutes the proof. */
    reasons: { check: string; note: string; hard: boolean }[];
  } | null;
  /** How the review of your proof went: each rejection's reason, and what you may do next. */
  review: TaskReview | null;
  /** Once rated: the requester's rating of your work (with its comment) and yours of the requester. */
  ratings: { by_requester: { rating: number; comment: string | null } | null; of_requester: { rating: number; comment: string | null } | null } | null;
  /** The task ended and you have not rated its requester yet. */
  can_rate_requester: boolean;
}

/** One time a proof was not accepted: by the agent that posted the task or the Guardian, and why. */
export interface Rejection {
  by: 'agent' | 'guardian';
  /** As given: untrusted text, escape it when you show it. */
  reason: string;
  at: string;
}

export interface TaskReview {
  rejections: Rejection[];
  resubmitted_at: string | null;
  /** DISPUTED, not resubmitted yet and before the deadline: `tasks.resubmit`. */
  can_resubmit: boolean;
  /** DISPUTED again after resubmitting, not appealed yet, within the appeal window: `tasks.appeal`. */
  can_appeal: boolean;
  /**
   * The requester confirmed the rejection: unless you resubmit (while `can_resubmit`) or appeal
   * (while `can_appeal`) before this time, the reward goes back to the requester.
   */
  refund_at: string | null;
  appeal: { note: string; appealed_at: string } | null;
  /** How a dispute was settled (`refund`: the requester got the reward back). */
  resolution: 'refund' | 'pay' | 'split' | null;
}

export type { Page };

export interface FeedParams {
  lat?: number;
  lng?: number;
  /** Physical tasks within this many km of lat/lng (default 50). */
  radius_km?: number;
  task_type?: string;
  task_domain?: 'PHYSICAL' | 'DIGITAL';
  min_reward_usd?: number;
  limit?: number;
  offset?: number;
  /** The previous page's `pagination.next_cursor` (instead of offset). */
  cursor?: string;
}

export interface SubmitParams {
  /** URLs (or paths) that `tasks.upload` returned. */
  photos?: string[];
  notes?: string;
  confirmation_text?: string;
  reference_url?: string;
  artifact?: EncryptedCredential;
}

export interface UploadedProof {
  url: string;
  path: string;
  content_type: string;
  size: number;
}

const path = (taskId: string) => `/operator/tasks/${encodeURIComponent(taskId)}`;

/** Registration and the operator's own profile. */
export class OperatorAccount {
  constructor(private readonly client: APIClient) {}

  /** Registers the signed-in identity as an operator (KYC starts PENDING in live mode). */
  register(params: RegisterOperatorParams, options: RequestOptions = {}): APIPromise<{ operator_id: string; name: string; kyc_status: KycStatus }> {
    return this.client.request('POST', '/operator/register', { body: params, ...options });
  }

  /** The signed-in operator; throws PermissionDeniedError with code `operator_not_registered` before registration. */
  retrieve(options: RequestOptions = {}): APIPromise<OperatorProfile> {
    return this.client.request('GET', '/operator/me', options);
  }

  /** A fresh challenge (replacing any earlier one, valid 10 minutes) to sign from the payout address. */
  payoutAddressChallenge(options: RequestOptions = {}): APIPromise<PayoutAddressChallenge> {
    return this.client.request('GET', '/operator/payout-address/challenge', options);
  }

  /**
   * Sets the payout address with its signature of the challenge's message; a changed address is used
   * only after its cool-down (`payout_address_cooldown_ends_at`).
   */
  setPayoutAddress(params: { address: string; signature: string }, options: RequestOptions = {}):
    APIPromise<Pick<OperatorProfile, 'payout_address' | 'payout_address_cooldown_ends_at'>> {
    return this.client.request('PUT', '/operator/payout-address', { body: params, ...options });
  }

  /** Edits the profile: only the fields given change (`location` replaces the whole home area); returns the profile. */
  update(params: UpdateOperatorParams, options: RequestOptions = {}): APIPromise<OperatorProfile> {
    return this.client.request('PATCH', '/operator/me', { body: params, ...options });
  }
}

/** Tasks: the open feed, one task, claiming, doing and proving it, and the operator's own tasks. */
export class OperatorTasks {
  constructor(private readonly client: APIClient) {}

  /** Open tasks; with lat/lng, physical tasks within radius_km come first, nearest first. */
  list(params: FeedParams = {}, options: RequestOptions = {}): PagePromise<OpenTask> {
    return this.client.list('/operator/tasks', { query: { ...params }, ...options });
  }

  /** The tasks this operator holds or held, most recent first. */
  mine(params: { status?: TaskStatus; limit?: number; offset?: number; cursor?: string } = {}, options: RequestOptions = {}): PagePromise<OperatorTask> {
    return this.client.list('/operator/my-tasks', { query: params, ...options });
  }

  /** An open task, or one this operator holds (with its progress and verdict). */
  retrieve(taskId: string, options: RequestOptions = {}): APIPromise<OperatorTask> {
    return this.client.request('GET', path(taskId), options);
  }

  /**
   * Claims a task. ConflictError (409) when someone else got it first, GoneError (410) when it
   * expired, PermissionDeniedError (403, `kyc_required`) before KYC is verified.
   */
  accept(taskId: string, options: RequestOptions = {}): APIPromise<{ task_id: string; status: TaskStatus; accepted_at: string }> {
    return this.client.request('POST', `${path(taskId)}/accept`, { body: {}, ...options });
  }

  /**
   * The task's thread as this operator may read it: its own conversation with the agent and the
   * public answers; `can_write` is false once the task is closed or held by someone else.
   */
  messages(taskId: string, options: RequestOptions = {}): APIPromise<OperatorTaskMessages> {
    return this.client.request('GET', `${path(taskId)}/messages`, options);
  }

  /** Asks the agent about an open task (or writes to it about one this operator holds): plain text, up to 2,000 characters. */
  sendMessage(taskId: string, text: string, options: RequestOptions = {}): APIPromise<OperatorTaskMessage> {
    return this.client.request('POST', `${path(taskId)}/messages`, { body: { text }, ...options });
  }

  /** Marks an accepted task as being worked on. */
  start(taskId: string, options: RequestOptions = {}): APIPromise<{ task_id: string; status: TaskStatus; started_at: string }> {
    return this.client.request('POST', `${path(taskId)}/start`, { body: {}, ...options });
  }

  /**
   * Uploads one proof image exactly as given (its EXIF GPS and capture time are what the Guardian
   * checks, so never re-encode a photo before this). `onProgress` reports bytes sent in browsers.
   */
  upload(params: { file: Blob; filename?: string; taskId?: string } & UploadOptions): Promise<UploadedProof> {
    const form = new FormData();
    if (params.taskId !== undefined) form.set('task_id', params.taskId);
    form.set('file', params.file, params.filename ?? ((params.file as File).name || 'proof.jpg'));
    return this.client.upload('/operator/upload', form, { onProgress: params.onProgress, signal: params.signal });
  }

  /** Submits proof; the Guardian then judges it (watch `retrieve(taskId).status`). */
  submit(taskId: string, params: SubmitParams, options: RequestOptions = {}): APIPromise<{ task_id: string; status: TaskStatus; submitted_at: string; message: string }> {
    return this.client.request('POST', `${path(taskId)}/submit`, { body: params, ...options });
  }

  /**
   * Sends new proof for a DISPUTED task: once, before the deadline (upload new photos with its
   * taskId first). The Guardian judges it again; a second rejection stands.
   */
  resubmit(taskId: string, params: SubmitParams, options: RequestOptions = {}): APIPromise<{ task_id: string; status: TaskStatus; submitted_at: string; message: string }> {
    return this.client.request('POST', `${path(taskId)}/resubmit`, { body: params, ...options });
  }

  /** Appeals, once, a rejection that stood after resubmitting: an admin settles the dispute. */
  appeal(taskId: string, note: string, options: RequestOptions = {}): APIPromise<{ task_id: string; status: TaskStatus; appealed_at: string; message: string }> {
    return this.client.request('POST', `${path(taskId)}/appeal`, { body: { note }, ...options });
  }

  /** Rates the requester of a task you held, once it ended (1–5, once). */
  rateRequester(taskId: string, rating: number, comment?: string, options: RequestOptions = {}): APIPromise<{ task_id: string; rating: number; comment: string | null; created_at: string }> {
    return this.client.request('POST', `${path(taskId)}/rate`, { body: { rating, comment }, ...options });
  }

  /** Hands back an ACCEPTED or IN_PROGRESS task: open to others again, uploaded files deleted. */
  release(taskId: string, options: RequestOptions = {}): APIPromise<{ task_id: string; status: 'PENDING'; discarded_files: number; message: string }> {
    return this.client.request('POST', `${path(taskId)}/release`, { body: {}, ...options });
  }

  /**
   * Encrypts `credential` (e.g. `{ username, password }`) with the task's agent public key, here,
   * and submits only the ciphertext: the plaintext never leaves this process.
   */
  async submitCredential(task: Pick<OpenTask, 'task_id' | 'agent_public_key'>, credential: Record<string, unknown>, extra: Omit<SubmitParams, 'artifact'> = {}, options: RequestOptions = {}) {
    if (!task.agent_public_key) throw new TypeError('This task has no agent public key: it is not a credential task');
    const artifact = await encryptForAgent(task.agent_public_key, credential, { taskId: task.task_id });
    return this.submit(task.task_id, { ...extra, artifact }, options);
  }

  /**
   * The credential's second chance on a DISPUTED task: encrypted afresh (a new key and nonce) for
   * the agent's public key, then sent once with `resubmit`.
   */
  async resubmitCredential(task: Pick<OpenTask, 'task_id' | 'agent_public_key'>, credential: Record<string, unknown>, extra: Omit<SubmitParams, 'artifact'> = {}, options: RequestOptions = {}) {
    if (!task.agent_public_key) throw new TypeError('This task has no agent public key: it is not a credential task');
    const artifact = await encryptForAgent(task.agent_public_key, credential, { taskId: task.task_id });
    return this.resubmit(task.task_id, { ...extra, artifact }, options);
  }
}

/** Earnings and payouts. */
export class OperatorEarnings {
  constructor(private readonly client: APIClient) {}

  /** Pending (in the 7-day hold), available and total earnings, with recent completed tasks. */
  retrieve(options: RequestOptions = {}): APIPromise<{
    pending_balance: number;
    available_balance: number;
    total_earned: number;
    currency: 'USD';
    /** How long a completed task's pay stays pending (0 in test mode). */
    earnings_hold_seconds: number;
    /** usdc: USDC on Base to the payout address; test: completed at once, no money moves; unavailable: not yet. */
    payout_method: 'usdc' | 'test' | 'unavailable';
    recent_tasks: { task_id: string; title: string; reward_usd: number; status: string; completed_at: string | null }[];
  }> {
    return this.client.request('GET', '/operator/earnings', options);
  }

  /**
   * Withdraws available earnings (at least $10): USDC on Base to the payout address, `queued` until
   * the worker sends it (test mode without a chain: completed at once).
   */
  requestPayout(params: { amount_usd: number; payoneer_payee_id?: string }, options: RequestOptions = {}): APIPromise<Payout & { message: string }> {
    return this.client.request('POST', '/operator/payout', { body: params, ...options });
  }

  /** One payout's status. */
  payoutStatus(payoutId: string, options: RequestOptions = {}): APIPromise<Payout> {
    return this.client.request('GET', `/operator/payout/status/${encodeURIComponent(payoutId)}`, options);
  }

  /** The operator's payouts, newest first. */
  payouts(params: { limit?: number; offset?: number; cursor?: string } = {}, options: RequestOptions = {}): PagePromise<Payout> {
    return this.client.list('/operator/payouts', { query: params, ...options });
  }
}

/** The smallest payout the API accepts, in USD. */
export const MIN_PAYOUT_USD = 10;
