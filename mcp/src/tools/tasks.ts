/** Posting, following and cancelling tasks; finding operators. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { CATEGORIES, DIGITAL_CATEGORIES, MAX_DISTANCE_M, MIN_DISTANCE_M, TASK_STATUSES, TASK_TYPES } from '@humanops/sdk';
import type { Context } from '../server.ts';
import { guarded, idempotencyKey, ok } from '../results.ts';

/** "CAPTCHA_SOLVING $10, FORM_FILLING $50, …": each category of a list with its reward cap, for a tool's description. */
export const capsOf = (categories: readonly (keyof typeof CATEGORIES)[]) =>
  categories.map((category) => `${category} $${CATEGORIES[category].maxRewardCents / 100}`).join(', ');

export const reward = z.number().min(10).max(10_000)
  .describe('Reward for the operator in USD, at most 2 decimals ($10–$10,000; category caps apply). Escrowed with the platform fee (18/15/12 % by volume, min $2) when the task is posted.');
export const deadline = z.string().describe('ISO 8601 date-time with a time zone, in the future (within 365 days), e.g. 2026-12-01T18:00:00Z.');
export const idempotency = z.string().max(255).optional()
  .describe('Optional. Calls with the same key never post twice; by default one is derived from the arguments, so an identical retry is safe.');
const callback = {
  callback_url: z.string().url().optional().describe('Optional https URL that receives signed webhooks on every status change.'),
  callback_secret: z.string().min(16).optional().describe('Optional secret (≥16 chars) to sign those webhooks.'),
};

const TaskCreated = {
  task_id: z.string(), status: z.string(), reward_usd: z.number(), platform_fee: z.number(), total_escrow: z.number(), deadline: z.string(), created_at: z.string(),
};

/** What to tell the model about a task that waits for the account owner. */
export const awaitingApproval = (status: string) =>
  status === 'PENDING_APPROVAL'
    ? " It waits for the account owner's approval (the key's spending policy requires it for this amount) before any operator can see it; tell your user. The escrow is held and is refunded if the owner declines or does not answer in time."
    : '';

export function registerTaskTools(server: McpServer, { client }: Context) {
  server.registerTool('post_task', {
    title: 'Post a task',
    description: 'Create a task for a verified human operator and escrow its funds. Use for physical work at a place (VERIFICATION, PHOTO, DELIVERY, INSPECTION); for remote digital work prefer dispatch_digital_task, for credentials dispatch_credential_task. Costs reward + platform fee from the deposit balance (refunded if cancelled or expired).',
    inputSchema: {
      title: z.string().min(1).max(200).describe('Short title.'),
      description: z.string().min(1).max(5000).describe('What the operator must do. Treated as data, never as instructions to the platform.'),
      location: z.object({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180), address: z.string().max(500) }).describe('Where (required for physical tasks).'),
      reward_usd: reward,
      deadline,
      proof_requirements: z.array(z.string().min(1).max(500)).min(1).max(20).describe('What the proof must show, one item each; the AI Guardian checks each.'),
      task_type: z.enum(TASK_TYPES).describe('The kind of task.'),
      max_distance_m: z.number().int().min(MIN_DISTANCE_M).max(MAX_DISTANCE_M).optional()
        .describe(`Optional: how far from the location (metres, ${MIN_DISTANCE_M}–${MAX_DISTANCE_M}) a photo may be taken for the AI Guardian to approve it; farther photos go to your review. Default: the Guardian's own radius (1 km unless the server sets another).`),
      ...callback,
      idempotency_key: idempotency,
    },
    outputSchema: z.looseObject(TaskCreated),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }, (args) => guarded(async () => {
    const { idempotency_key: _key, ...params } = args;
    const task = await client.tasks.create(params, { idempotencyKey: idempotencyKey('post_task', args) });
    return ok(task, `Posted ${task.task_id}: $${task.total_escrow} escrowed.${awaitingApproval(task.status)}`);
  }));

  server.registerTool('dispatch_digital_task', {
    title: 'Dispatch a digital task',
    description: `Create a remote digital task (no location). Categories and caps: ${capsOf(DIGITAL_CATEGORIES)}. Deadline and proof requirements default per category (see list_digital_categories). Escrows reward + fee.`,
    inputSchema: {
      title: z.string().min(1).max(200),
      description: z.string().min(1).max(5000),
      digital_category: z.enum(DIGITAL_CATEGORIES).describe('The category.'),
      reward_usd: reward,
      deadline: deadline.optional(),
      proof_requirements: z.array(z.string().min(1).max(500)).min(1).max(20).optional(),
      digital_instructions: z.string().max(10_000).optional().describe('Step-by-step instructions for the operator.'),
      ...callback,
      idempotency_key: idempotency,
    },
    outputSchema: z.looseObject(TaskCreated),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }, (args) => guarded(async () => {
    const { digital_category, idempotency_key: _key, ...rest } = args;
    const task = await client.dispatchDigitalTask({ ...rest, category: digital_category, idempotencyKey: idempotencyKey('dispatch_digital_task', args) });
    return ok(task, `Dispatched ${task.task_id}.${awaitingApproval(task.status)}`);
  }));

  server.registerTool('list_digital_categories', {
    title: 'List digital categories',
    description: 'The digital and credential task categories with their reward caps, typical time, default proof type and default requirements. Free.',
    inputSchema: {},
    outputSchema: z.looseObject({ categories: z.array(z.looseObject({ category: z.string(), max_reward_usd: z.number() })) }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  }, () => guarded(async () => ok({ categories: client.listDigitalCategories() })));

  server.registerTool('list_tasks', {
    title: 'List tasks',
    description: 'Your tasks, newest first, optionally by status. Free.',
    inputSchema: {
      status: z.enum(TASK_STATUSES).optional(),
      limit: z.number().int().min(1).max(100).optional().describe('Default 20.'),
      offset: z.number().int().min(0).optional(),
    },
    outputSchema: z.looseObject({ data: z.array(z.looseObject({ task_id: z.string(), status: z.string() })), pagination: z.looseObject({ total: z.number() }) }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  }, (args) => guarded(async () => {
    const page = await client.tasks.list(args);
    return ok({ data: page.data, pagination: page.pagination });
  }));

  server.registerTool('get_task_result', {
    title: 'Get a task',
    description: 'A task\'s status, proof (photo URLs, notes), operator and AI Guardian result. Free. To look at the photos use get_proof_photos.',
    inputSchema: { task_id: z.string().describe('The task id, e.g. task_…') },
    outputSchema: z.looseObject({ task_id: z.string(), status: z.string(), guardian_result: z.unknown(), proof: z.unknown() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  }, ({ task_id }) => guarded(async () => {
    const task = await client.tasks.retrieve(task_id);
    return ok(task as unknown as Record<string, unknown>, `${task.task_id} is ${task.status}.`);
  }));

  server.registerTool('cancel_task', {
    title: 'Cancel a task',
    description: 'Cancel a PENDING or ACCEPTED task; the whole escrow (reward + fee) returns to the deposit balance. Cannot be undone.',
    inputSchema: { task_id: z.string() },
    outputSchema: z.looseObject({ task_id: z.string(), status: z.string(), refunded_usd: z.number() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  }, ({ task_id }) => guarded(async () => {
    const result = await client.tasks.cancel(task_id);
    return ok(result, `Cancelled; $${result.refunded_usd} refunded.`);
  }));

  server.registerTool('search_operators', {
    title: 'Search operators',
    description: 'Verified operators near a point, nearest first, with rating and skills. Free.',
    inputSchema: {
      lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180),
      radius_km: z.number().positive().max(500).optional().describe('Default 25 km.'),
      task_type: z.enum(TASK_TYPES).optional(),
      min_rating: z.number().min(1).max(5).optional(),
    },
    outputSchema: z.looseObject({ data: z.array(z.looseObject({ operator_id: z.string(), distance_km: z.number() })) }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  }, (args) => guarded(async () => ok({ data: (await client.operators.search(args)).data })));

  /**
   * wait_for_task supports the protocol's task-augmented tool calls (2025-11-25 "tasks", an
   * experimental API in the pinned SDK): a client that asks for a task gets a handle at once and
   * the result later, so it may wait for hours (max_wait_seconds up to a day). Other clients get an
   * ordinary call that returns within max_wait_seconds (default 45: clients cut calls near 60 s).
   */
  server.experimental.tasks.registerToolTask('wait_for_task', {
    title: 'Wait for a task',
    description: 'Wait until a task reaches one of `until` (default: any status change), for at most max_wait_seconds (default 45; keep it under 60 unless your client runs this tool as an MCP task, then up to 86400). Returns the current status either way, and ends at once on a status the task rests in (COMPLETED, DISPUTED, CANCELLED, EXPIRED: `final` is true; do not wait again). If the status was not reached and the task is not final, call again: human tasks take minutes to hours.',
    inputSchema: {
      task_id: z.string(),
      until: z.array(z.enum(TASK_STATUSES)).optional().describe('Statuses to wait for; default: any change from the current one.'),
      max_wait_seconds: z.number().int().min(1).max(86_400).optional(),
    },
    outputSchema: z.looseObject({ task_id: z.string(), status: z.string(), reached: z.boolean(), final: z.boolean(), waited_seconds: z.number() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
    execution: { taskSupport: 'optional' },
  }, {
    createTask: async (args, { taskStore, taskRequestedTtl, _meta, sendNotification }) => {
      const task = await taskStore.createTask({ ttl: taskRequestedTtl ?? (args.max_wait_seconds ?? 45) * 1000 + 3_600_000, pollInterval: 2000 });
      const token = _meta?.progressToken;
      let progress = 0;
      const onProgress = token === undefined ? undefined : (status: string) =>
        sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: ++progress, message: `${args.task_id} is ${status}` } }).catch(() => {});
      void (async () => {
        const result = await guarded(() => waitFor(client, args, onProgress));
        await taskStore.storeTaskResult(task.taskId, result.isError ? 'failed' : 'completed', result).catch(() => {});
      })();
      return { task };
    },
    getTask: (_args, { taskId, taskStore }) => taskStore.getTask(taskId),
    getTaskResult: (_args, { taskId, taskStore }) => taskStore.getTaskResult(taskId) as never,
  });
}

/** Statuses a task rests in: nothing changes them but a decision (DISPUTED) or nothing at all. */
const AT_REST: string[] = ['COMPLETED', 'DISPUTED', 'CANCELLED', 'EXPIRED'];

/** A DISPUTED task its operator may still resubmit (once, before the deadline) can move without you. */
const mayResubmit = (task: { status: string; resubmitted_at: string | null; deadline: string }) =>
  task.status === 'DISPUTED' && task.resubmitted_at === null && Date.parse(task.deadline) > Date.now();

/** Polls the task every 3 s until `until` or the time limit, reporting progress; the result says which. */
async function waitFor(
  client: Context['client'],
  { task_id, until, max_wait_seconds }: { task_id: string; until?: (typeof TASK_STATUSES)[number][]; max_wait_seconds?: number },
  onProgress?: (status: string) => unknown,
) {
  const started = Date.now();
  const limit = (max_wait_seconds ?? 45) * 1000;
  const first = await client.tasks.retrieve(task_id);
  const done = (status: string) => (until ? until.includes(status as never) : status !== first.status);
  // A task at rest never reaches anything else by waiting: end there, whatever `until` says.
  const atRest = (t: typeof first) => AT_REST.includes(t.status) && !mayResubmit(t);
  let task = first;
  while (!done(task.status) && !atRest(task) && Date.now() - started < limit) {
    await new Promise((r) => setTimeout(r, Math.min(3000, limit - (Date.now() - started))));
    task = await client.tasks.retrieve(task_id);
    await onProgress?.(task.status);
  }
  const reached = done(task.status);
  const final = atRest(task);
  const waited = Math.round((Date.now() - started) / 1000);
  const text = reached
    ? `${task_id} is ${task.status}.`
    : final
      ? `${task_id} is ${task.status}, where it rests: waiting will not change it, do not call wait_for_task again.${task.status === 'DISPUTED' ? ' Settle it with verify_task (APPROVE pays, REJECT with a reason confirms a Guardian dispute and refunds); an appealed or self-raised dispute waits for an admin.' : ''}`
      : `${task_id} is still ${task.status} after ${waited} s${mayResubmit(task) ? ' (the operator may resubmit new proof once before the deadline)' : ''}; call wait_for_task again to keep waiting.`;
  return ok({ task_id, status: task.status, reached, final, waited_seconds: waited }, text);
}
