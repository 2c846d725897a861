import type { z } from 'zod';
import type { CreateTaskSchema, ResolveDisputeSchema, SimulateSchema } from '../contract/schemas.ts';
import type { APIClient } from '../client.ts';
import type { EncryptedCredential } from '../e2ee.ts';
import type { WebhookDelivery } from './webhooks.ts';
import { TaskCreatedResponse, TaskResponse, type TaskCreated, type Task, type TaskList, type TaskStatus } from './types.ts';

export type CreateTaskParams = z.input<typeof CreateTaskSchema>;

/** Tasks: post (escrow), list, read, cancel (refund), review, rate, credentials, webhooks. */
export class Tasks {
  constructor(private readonly client: APIClient) {}

  /** Posts a task; reward + fee move into escrow. Throws InsufficientBalanceError (402) when funds fall short. */
  create(params: CreateTaskParams, options: { idempotencyKey?: string } = {}): Promise<TaskCreated> {
    return this.client.request('POST', '/tasks', { body: params, idempotencyKey: options.idempotencyKey, schema: TaskCreatedResponse });
  }

  /** Your tasks, newest first. */
  list(params: { status?: TaskStatus; limit?: number; offset?: number } = {}): Promise<TaskList> {
    return this.client.request('GET', '/tasks', { query: params });
  }

  /** One task with its proof, Guardian result and operator. */
  retrieve(taskId: string): Promise<Task> {
    return this.client.request('GET', `/tasks/${encodeURIComponent(taskId)}`, { schema: TaskResponse });
  }

  /** Cancels a PENDING or ACCEPTED task and refunds reward + fee. */
  cancel(taskId: string): Promise<{ task_id: string; status: 'CANCELLED'; refunded_usd: number }> {
    return this.client.request('POST', `/tasks/${encodeURIComponent(taskId)}/cancel`);
  }

  /** Your decision on a task in review: APPROVE completes and pays, REJECT disputes it. */
  verify(taskId: string, decision: 'APPROVE' | 'REJECT'): Promise<{ task_id: string; status: TaskStatus; message: string }> {
    return this.client.request('POST', `/tasks/${encodeURIComponent(taskId)}/verify`, { body: { decision } });
  }

  /** Rates the operator of a COMPLETED task, 1–5, once. */
  rate(taskId: string, rating: number, comment?: string): Promise<{ task_id: string; operator_id: string; rating: number; comment: string | null; created_at: string }> {
    return this.client.request('POST', `/tasks/${encodeURIComponent(taskId)}/rate`, { body: { rating, comment } });
  }

  /** The encrypted credential of a Tier 2 task (decrypt it with `retrieveCredential` on the client). */
  retrieveCredential(taskId: string): Promise<{ task_id: string; encrypted_credential: EncryptedCredential }> {
    return this.client.request('POST', `/tasks/${encodeURIComponent(taskId)}/retrieve-credential`);
  }

  /** The submitted proof photos themselves (bytes and type), fetched from their signed URLs. */
  async proofPhotos(taskId: string): Promise<{ url: string; contentType: string; data: Uint8Array }[]> {
    const task = await this.retrieve(taskId);
    return Promise.all((task.proof?.photos ?? []).map(async (url) => ({ url, ...(await this.client.download(url)) })));
  }

  /** The task's webhook deliveries. */
  webhooks(taskId: string): Promise<{ data: WebhookDelivery[] }> {
    return this.client.request('GET', `/tasks/${encodeURIComponent(taskId)}/webhooks`);
  }
}

export type SimulateParams = z.input<typeof SimulateSchema>;
export type ResolveDisputeParams = z.input<typeof ResolveDisputeSchema>;

/** Test mode only: drive a task through its lifecycle without a human. */
export class Sandbox {
  constructor(private readonly client: APIClient) {}

  simulate(taskId: string, params: SimulateParams): Promise<{ task_id: string; action: string; status: TaskStatus }> {
    return this.client.request('POST', `/sandbox/tasks/${encodeURIComponent(taskId)}/simulate`, { body: params });
  }
}
