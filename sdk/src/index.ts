/**
 * `@humanops/sdk`: commission real-world tasks from verified human operators.
 *
 *   const client = new HumanOpsClient(); // HUMANOPS_API_KEY (and HUMANOPS_API_URL) from the environment
 *   const task = await client.dispatchDigitalTask({ category: 'FORM_FILLING', title, description, reward_usd: 15 });
 */
import type { APIPromise } from './api-promise.ts';
import { APIClient, type ClientOptions, type RequestOptions } from './client.ts';
import {
  CATEGORIES, defaultRequirements, type CredentialCategory, type DigitalCategory, type ProofType, type TaskType,
} from './contract/categories.ts';
import { decrypt, generateKeyPair as newKeyPair, type KeyPair } from './e2ee.ts';
import { Agents, Deposits, Keys, Operators } from './resources/account.ts';
import { Owner } from './resources/owner.ts';
import { type CreateTaskParams, Sandbox, Tasks } from './resources/tasks.ts';
import { Webhooks } from './resources/webhooks.ts';
import { TaskNotCompletedError } from './errors.ts';
import type { Task, TaskCreated, TaskStatus } from './resources/types.ts';

type DispatchParams<C> = Omit<CreateTaskParams, 'task_type' | 'deadline' | 'proof_requirements' | 'location' | 'agent_public_key' | 'task_domain'> & {
  category: C;
  /** Default: 24 hours plus the category's estimated time from now. */
  deadline?: string;
  /** Default: the category's default requirements for the proof type (`defaultRequirements`). */
  proof_requirements?: string[];
  idempotencyKey?: string;
};

const FINAL: TaskStatus[] = ['COMPLETED', 'DISPUTED', 'CANCELLED', 'EXPIRED'];

export class HumanOpsClient {
  readonly tasks: Tasks;
  readonly agents: Agents;
  readonly keys: Keys;
  readonly deposits: Deposits;
  readonly operators: Operators;
  readonly sandbox: Sandbox;
  readonly webhooks: Webhooks;
  /** Owner controls: scoped keys, spending policies, usage, approvals. */
  readonly owner: Owner;
  readonly #api: APIClient;

  /** Every option has a default: the key from HUMANOPS_API_KEY, the API from HUMANOPS_API_URL. */
  constructor(options: ClientOptions = {}) {
    this.#api = new APIClient(options);
    this.tasks = new Tasks(this.#api);
    this.agents = new Agents(this.#api);
    this.keys = new Keys(this.#api);
    this.deposits = new Deposits(this.#api);
    this.operators = new Operators(this.#api);
    this.sandbox = new Sandbox(this.#api);
    this.webhooks = new Webhooks(this.#api);
    this.owner = new Owner(this.#api);
  }

  /** The digital and credential categories: what each is for, its cap, time and default proof. */
  listDigitalCategories() {
    return listDigitalCategories();
  }

  /** A P-256 key pair for credential delivery (public key: base64 raw point; private key: base64 PKCS#8). */
  generateKeyPair(): Promise<KeyPair> {
    return newKeyPair();
  }

  /** Posts a remote digital task, with the deadline and proof requirements defaulted per category. */
  dispatchDigitalTask(params: DispatchParams<DigitalCategory>, options: RequestOptions = {}): APIPromise<TaskCreated> {
    const { category, idempotencyKey, ...rest } = params;
    return this.tasks.create({ ...defaults(category, rest.proof_type), ...rest, task_type: category }, { idempotencyKey, ...options });
  }

  /**
   * Posts a Tier 2 credential task with a fresh key pair. Keep `privateKey` safe: it alone decrypts
   * what the operator delivers (`retrieveCredential`).
   */
  async dispatchCredentialTask(params: DispatchParams<CredentialCategory>, options: RequestOptions = {}): Promise<{ task: TaskCreated; privateKey: string }> {
    const { category, idempotencyKey, ...rest } = params;
    const keys = await newKeyPair();
    const task = await this.tasks.create({ ...defaults(category), ...rest, task_type: category, agent_public_key: keys.publicKey }, { idempotencyKey, ...options });
    return { task, privateKey: keys.privateKey };
  }

  /**
   * Fetches and decrypts the credential a Tier 2 task delivered. By default it first waits for the
   * task to complete (as `waitForCompletion`: polls every 5 s for up to 10 min; `wait: { timeoutMs,
   * intervalMs }` to change that), so "dispatch now, retrieve later" works as written;
   * `wait: false` asks once (ConflictError `credential_not_available` before completion). A task in
   * MANUAL_REVIEW completes only when you approve it (`tasks.verify`), e.g. from your webhook handler.
   */
  async retrieveCredential<T = Record<string, unknown>>(
    taskId: string, privateKey: string, options: RequestOptions & { wait?: boolean | WaitOptions } = {},
  ): Promise<T> {
    const { wait = true, ...request } = options;
    if (wait !== false) await this.waitForCompletion(taskId, wait === true ? {} : wait);
    const { encrypted_credential } = await this.tasks.retrieveCredential(taskId, request);
    return decrypt<T>(privateKey, encrypted_credential, { taskId });
  }

  /**
   * Polls a task until its status is in `until` (default: any final status), politely — every
   * `intervalMs` (5 s), for at most `timeoutMs` (10 min); returns the task as last seen.
   */
  async waitForTask(taskId: string, options: WaitOptions & { until?: TaskStatus[] } = {}): Promise<Task> {
    const until = options.until ?? FINAL;
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    for (;;) {
      const task = await this.tasks.retrieve(taskId);
      if (until.includes(task.status) || Date.now() >= deadline) return task;
      await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalMs ?? 5000, Math.max(0, deadline - Date.now()))));
    }
  }

  /**
   * Waits until the task is COMPLETED and returns it. Throws TaskNotCompletedError when it comes
   * to rest otherwise (DISPUTED, CANCELLED, EXPIRED) or after `timeoutMs` (10 min); polls every
   * `intervalMs` (5 s). A task in MANUAL_REVIEW waits for your decision (`tasks.verify`).
   */
  async waitForCompletion(taskId: string, options: WaitOptions = {}): Promise<Task> {
    const task = await this.waitForTask(taskId, options);
    if (task.status === 'COMPLETED') return task;
    const ended = FINAL.includes(task.status);
    throw new TaskNotCompletedError(
      ended ? `Task ${taskId} ended ${task.status}, not COMPLETED` : `Task ${taskId} is still ${task.status} after waiting ${options.timeoutMs ?? 600_000} ms`,
      { code: ended ? `task_${task.status.toLowerCase()}` : 'task_wait_timeout', task },
    );
  }
}

/** How long and how often the waiting helpers poll. */
export interface WaitOptions {
  /** Give up after this long (default 600 000 ms, 10 min). */
  timeoutMs?: number;
  /** Poll this often (default 5000 ms). */
  intervalMs?: number;
}

export function listDigitalCategories() {
  return Object.entries(CATEGORIES)
    .filter(([, c]) => c.domain === 'DIGITAL')
    .map(([category, c]) => ({
      category: category as TaskType,
      tier: c.tier,
      description: c.description,
      estimated_minutes: c.estimatedMinutes,
      max_reward_usd: c.maxRewardCents / 100,
      default_proof_type: c.defaultProofType,
      proof_types: [...c.proofTypes],
      default_proof_requirements: [...c.defaultProofRequirements],
    }));
}

function defaults(category: TaskType, proofType?: ProofType) {
  const c = CATEGORIES[category];
  return {
    deadline: new Date(Date.now() + (24 * 60 + (c.estimatedMinutes ?? 0)) * 60_000).toISOString(),
    proof_requirements: defaultRequirements(category, proofType),
  };
}

/** Module-level, for code that has no client at hand. */
export const generateKeyPair = newKeyPair;
export { decrypt, encryptForAgent, ALGORITHM, HKDF_SALT, aadFor, type EncryptedCredential, type KeyPair } from './e2ee.ts';
export { verifyWebhook } from './webhooks.ts';
export * from './errors.ts';
export type { ClientOptions, Logger, LogLevel, OperatorClientOptions, RequestOptions, TokenSupplier } from './client.ts';
export { APIPromise, Page, PagePromise, type Pagination } from './api-promise.ts';
export { VERSION } from './version.ts';
export { HumanOpsOperatorClient } from './operator.ts';
export type { CreateTaskParams, ListTasksParams, SendMessageParams, SimulateParams } from './resources/tasks.ts';
export type { ApprovedTask, CreateKeyParams, DeclinedTask, SpendingPolicy, SpendingPolicyParams, Usage } from './resources/owner.ts';
export type {
  AgentProfile, ApiKeySummary, Balance, CancelledTask, CreatedKey, DepositAddress, DepositStatus, FiatDeposit, GuardianResult, OperatorMatch, Rating,
  SimulateResult, Task, TaskCreated, TaskList, TaskMessage, TaskMessageWebhookPayload, TaskStatus, TaskSummary, UsdcDeposit, VerifiedTask,
  WebhookDelivery, WebhookPayload,
} from './resources/types.ts';
export {
  CATEGORIES, CREDENTIAL_CATEGORIES, DIGITAL_CATEGORIES, TASK_TYPES, TASK_STATUSES, defaultRequirements,
  type CredentialCategory, type DigitalCategory,
} from './contract/categories.ts';
export { MAX_DISTANCE_M, MIN_DISTANCE_M } from './contract/schemas.ts';
