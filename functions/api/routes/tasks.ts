/** Tasks from the agent's side: post (escrow), list, read, cancel (refund). */
import { Hono } from 'hono';
import { z } from 'zod';
import { CATEGORIES } from '../../_shared/categories.ts';
import { isP256PublicKey, sha256Hex } from '../../_shared/crypto.ts';
import { ApiError, badRequest, notFound, unauthorized } from '../../_shared/errors.ts';
import { centsToUsd } from '../../_shared/money.ts';
import { callbackUrlProblem } from '../../_shared/webhooks.ts';
import { countryAt } from '../../_shared/geo.ts';
import { CreateTaskSchema, ID_PATTERN, ListTasksQuery, NoInputSchema, REMOTE_ADDRESS } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, readJson, validate } from '../http.ts';
import type { Scope } from '../../_shared/db.ts';
import { agentKeyProblem, authenticateAgent, requireAgent, scopeProblem, scopesNeeded } from '../middleware/agent-auth.ts';
import { idempotencyOf, idempotent } from '../middleware/idempotency.ts';
import { countHit, keyCaller, rateLimitHeaders, rateLimitOf } from '../middleware/rate-limit.ts';
import { decodeCursor, encodeCursor, pagination, TIMESTAMP_KEY, TOTAL_CAP } from '../pagination.ts';
import { proofAsShown } from '../proof-shown.ts';
import { coalesce } from '../coalesce.ts';

/** Where a page of an agent's tasks ended: the last row's sort key. */
const AgentTasksKey = z.object({ created_at: z.string().regex(TIMESTAMP_KEY), id: z.string().regex(ID_PATTERN) });

/** What api.post_task answers (see its migration). */
interface PostTaskResult {
  /** The window the request was counted in, and that window's limit. */
  rate: { hits: number; reset_at: string; limit: number } | null;
  limited?: boolean;
  unauthenticated?: boolean;
  agent?: { id: string; keyId: string; scopes: Scope[] };
  idempotency?: 'mismatch' | 'replay';
  status?: number;
  body?: unknown;
  error?: { code: string; message: string; hint: string | null; detail: string | null };
}

/** api.post_task's arguments by name, without `p_` (as api.post_tasks takes them). */
type PostTaskArguments = {
  key_hash: string;
  rate_bucket: string | null;
  rate_limit: number | null;
  anonymous_bucket: string | null;
  anonymous_limit: number | null;
  scopes_needed: string[];
  idempotency_key: string | null;
  request_hash: string | null;
} & TaskToPost;

/** A task to post, checked: the named arguments of api.create_task (and api.post_task), without `p_`. */
type TaskToPost = {
  title: string;
  description: string;
  task_type: string;
  task_domain: string;
  proof_type: string;
  location_lat: number | null;
  location_lng: number | null;
  location_address: string | null;
  max_distance_m: number | null;
  reward_cents: number;
  deadline: string;
  proof_requirements: string[];
  digital_instructions: string | null;
  callback_url: string | null;
  callback_secret: string | null;
  agent_public_key: string | null;
  location_country: string | null;
};

/** At most this many posts of one key share a transaction (it holds their agent's account until it commits). */
const POSTS_PER_TRANSACTION = 10;

interface TaskRow {
  id: string;
  title: string;
  description: string;
  status: string;
  task_type: string;
  task_domain: string;
  proof_type: string;
  location_lat: number | null;
  location_lng: number | null;
  location_address: string | null;
  max_distance_m: number | null;
  reward_cents: string;
  fee_cents: string;
  deadline: Date;
  proof_requirements: string[];
  digital_instructions: string | null;
  callback_url: string | null;
  agent_public_key: string | null;
  operator_id: string | null;
  proof: unknown;
  guardian_result: unknown;
  accepted_at: Date | null;
  started_at: Date | null;
  submitted_at: Date | null;
  verified_at: Date | null;
  completed_at: Date | null;
  cancelled_at: Date | null;
  expired_at: Date | null;
  created_at: Date;
  updated_at: Date;
  rejections: { by: string; reason: string; at: string }[];
  first_proof: unknown;
  resubmitted_at: Date | null;
  appeal_note: string | null;
  appealed_at: Date | null;
  refund_at: Date | null;
}

const operatorOf = (row: Pick<TaskRow, 'operator_id'>) => (row.operator_id ? { id: row.operator_id } : null);

interface TaskOperator {
  id: string;
  name: string;
  rating: string | null;
  releases: number;
}

/**
 * GET /tasks/:id: every field of the reference; those not reached yet are null. Then how the review
 * went: the rejections with their reasons, the proof a resubmission replaced, the operator's appeal.
 */
function taskDetail(row: TaskRow, proofs: { proof: unknown; firstProof: unknown }, operator: TaskOperator | undefined) {
  const reward = Number(row.reward_cents);
  const fee = Number(row.fee_cents);
  return {
    task_id: row.id,
    title: row.title,
    description: row.description,
    status: row.status,
    task_type: row.task_type,
    task_domain: row.task_domain,
    proof_type: row.proof_type,
    location: { lat: row.location_lat, lng: row.location_lng, address: row.location_address },
    max_distance_m: row.max_distance_m,
    reward_usd: centsToUsd(reward),
    platform_fee_usd: centsToUsd(fee),
    total_escrow_usd: centsToUsd(reward + fee),
    deadline: iso(row.deadline),
    proof_requirements: row.proof_requirements,
    digital_instructions: row.digital_instructions,
    agent_public_key: row.agent_public_key,
    proof: proofs.proof,
    guardian_result: row.guardian_result ?? null,
    rejections: row.rejections,
    resubmitted_at: iso(row.resubmitted_at),
    first_proof: proofs.firstProof,
    appeal: row.appealed_at ? { note: row.appeal_note ?? '', appealed_at: iso(row.appealed_at) } : null,
    refund_at: iso(row.refund_at),
    operator: operator
      ? { id: operator.id, name: operator.name, rating: operator.rating === null ? null : Number(operator.rating), releases: operator.releases }
      : null,
    callback_url: row.callback_url,
    accepted_at: iso(row.accepted_at),
    started_at: iso(row.started_at),
    submitted_at: iso(row.submitted_at),
    verified_at: iso(row.verified_at),
    completed_at: iso(row.completed_at),
    cancelled_at: iso(row.cancelled_at),
    expired_at: iso(row.expired_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function taskRoutes(deps: Deps) {
  const { config, db } = deps;

  const proofForAgent = (row: Pick<TaskRow, 'proof' | 'submitted_at'>, requestUrl: string) =>
    proofAsShown(deps, row.proof, row.submitted_at, new URL(requestUrl).origin);
  const taskToPost = async (raw: unknown): Promise<TaskToPost> => {
    const input = await validate(CreateTaskSchema, raw);
    const category = CATEGORIES[input.task_type];
    if (input.agent_public_key !== undefined && !(await isP256PublicKey(input.agent_public_key))) {
      throw badRequest('validation_error', 'agent_public_key: must be a base64-encoded uncompressed P-256 public key (65 bytes)', {
        issues: [{ field: 'agent_public_key', message: 'must be a base64-encoded uncompressed P-256 public key (65 bytes)' }],
      });
    }
    if (config.mode === 'live' && input.callback_url?.startsWith('http:')) {
      throw badRequest('validation_error', 'callback_url: must use https', { issues: [{ field: 'callback_url', message: 'must use https' }] });
    }
    const unsafeCallback = input.callback_url && callbackUrlProblem(input.callback_url, config.webhooks.allowPrivateAddresses);
    if (unsafeCallback) {
      throw badRequest('validation_error', `callback_url: ${unsafeCallback}`, { issues: [{ field: 'callback_url', message: unsafeCallback }] });
    }
    const location = input.location ?? { lat: null, lng: null, address: REMOTE_ADDRESS };
    return {
      title: input.title,
      description: input.description,
      task_type: input.task_type,
      task_domain: category.domain,
      proof_type: input.proof_type ?? category.defaultProofType,
      location_lat: location.lat,
      location_lng: location.lng,
      location_address: location.address ?? null,
      max_distance_m: input.max_distance_m ?? null,
      reward_cents: input.reward_usd,
      deadline: input.deadline,
      proof_requirements: input.proof_requirements,
      digital_instructions: input.digital_instructions ?? null,
      callback_url: input.callback_url ?? null,
      callback_secret: input.callback_secret ?? null,
      agent_public_key: input.agent_public_key ?? null,
      // Derived here from the coordinates, never taken from the agent: spending policies may allow
      // countries, and judge every task that carries a place, digital ones included.
      location_country: input.location ? await countryAt(input.location.lat, input.location.lng) : null,
    };
  };

  /**
   * api.post_task, or, for the posts of one key that arrive while one of its posts is in the
   * database, api.post_tasks: they go together in one transaction (see there), instead of queueing
   * one after another on the agent's account, each for a disk flush of its own.
   */
  const postTask = coalesce<PostTaskArguments, PostTaskResult>(
    async (a) => {
      const [{ result }] = await db.sql<{ result: PostTaskResult }[]>`
        select api.post_task(
          p_key_hash => ${a.key_hash}, p_rate_bucket => ${a.rate_bucket}, p_rate_limit => ${a.rate_limit},
          p_anonymous_bucket => ${a.anonymous_bucket}, p_anonymous_limit => ${a.anonymous_limit},
          p_scopes_needed => ${a.scopes_needed}::text[],
          p_idempotency_key => ${a.idempotency_key}, p_request_hash => ${a.request_hash},
          p_title => ${a.title}, p_description => ${a.description}, p_task_type => ${a.task_type},
          p_task_domain => ${a.task_domain}, p_proof_type => ${a.proof_type},
          p_location_lat => ${a.location_lat}, p_location_lng => ${a.location_lng},
          p_location_address => ${a.location_address}, p_reward_cents => ${a.reward_cents},
          p_deadline => ${a.deadline}, p_proof_requirements => ${a.proof_requirements}::text[],
          p_digital_instructions => ${a.digital_instructions}, p_callback_url => ${a.callback_url},
          p_callback_secret => ${a.callback_secret}, p_agent_public_key => ${a.agent_public_key},
          p_location_country => ${a.location_country}, p_max_distance_m => ${a.max_distance_m}) as result`;
      return result;
    },
    async (all) => {
      const [{ results }] = await db.sql<{ results: PostTaskResult[] }[]>`select api.post_tasks(${db.sql.json(all)}) as results`;
      return results;
    },
    POSTS_PER_TRANSACTION,
  );

  const app = new Hono<AppEnv>();

  /**
   * POST /tasks in one round trip: rate-limit hit, key lookup and scope, idempotency claim, the money
   * move and the stored response are one statement (api.post_task), where they used to be five to
   * eight. Registered before the agent middleware below, which it does not need: it authenticates
   * in that statement, and the rate-limit middleware leaves it to count its own hit there. A request
   * refused before the database (a malformed key or body) is counted and authenticated as on any
   * route, then refused, so the order of answers (429, 401, 403, 400) is unchanged.
   */
  app.post('/tasks', async (c) => {
    const key = c.req.header('x-api-key');
    const wellFormed = !agentKeyProblem(key, config.mode);
    // A valid key counts in its own window, anything else with the anonymous callers; which one
    // applies is known once the key is looked up (in post_task's statement).
    const keyed = wellFormed ? rateLimitOf(c, deps, keyCaller(await sha256Hex(key!))) : null;
    const anonymous = rateLimitOf(c, deps, null);
    let request;
    try {
      const problem = agentKeyProblem(key, config.mode);
      if (problem) throw problem;
      const raw = await readJson(c);
      request = { task: await taskToPost(raw), idempotency: await idempotencyOf(c, raw), keyHash: await sha256Hex(key!) };
    } catch (refusal) {
      const agent = wellFormed ? await authenticateAgent(deps, key!).catch(() => null) : null;
      const limiter = agent ? keyed : anonymous;
      if (limiter) await countHit(deps, limiter);
      if (wellFormed) {
        if (!agent) throw unauthorized('Invalid or revoked API key');
        const refused = scopeProblem(c, agent.scopes);
        if (refused) throw refused;
        c.set('agent', agent);
      }
      throw refusal;
    }
    const { task, idempotency, keyHash } = request;
    const result = await postTask(keyHash, {
      key_hash: keyHash, rate_bucket: keyed?.bucket ?? null, rate_limit: keyed?.limit ?? null,
      anonymous_bucket: anonymous?.bucket ?? null, anonymous_limit: anonymous?.limit ?? null,
      scopes_needed: scopesNeeded(c), idempotency_key: idempotency?.key ?? null, request_hash: idempotency?.requestHash ?? null,
      ...task,
    });
    const headers = result.rate ? rateLimitHeaders(result.rate.limit, result.rate.hits, result.rate.reset_at) : {};
    if (result.unauthenticated) throw unauthorized('Invalid or revoked API key');
    if (result.agent) {
      const refused = scopeProblem(c, result.agent.scopes);
      if (refused) throw refused;
      c.set('agent', result.agent);
    }
    if (result.idempotency === 'mismatch') {
      throw new ApiError(409, 'idempotency_key_reused', 'This Idempotency-Key was already used with a different request');
    }
    // A refusal from SQL, shaped as the driver reports one, so it is answered as on every route.
    if (result.error) throw Object.assign(new Error(result.error.message), { name: 'PostgresError', ...result.error });
    if (result.idempotency === 'replay') c.header('Idempotent-Replayed', 'true');
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    return c.json(result.body as object, result.status as 201);
  });

  app.use('/tasks/*', requireAgent(deps));

  /**
   * The agent's tasks, newest first (ties by id), by offset or by cursor. Both read the agent's
   * index from where the page starts (api.agent_tasks); the total is counted up to TOTAL_CAP.
   */
  app.get('/tasks', async (c) => {
    const query = await validate(ListTasksQuery, c.req.query());
    const after = query.cursor === undefined ? null : decodeCursor('tasks', AgentTasksKey, query.cursor);
    const status = query.status ?? null;
    const { rows, counted } = await db.asAgent(c.get('agent'), async (tx) => {
      // api.agent_tasks reads one index range in page order (row-level security's OR of the agent
      // and operator policies would read every task of the agent, then sort).
      // The cursor's key goes in as text: as a timestamptz parameter postgres.js would make it a Date, to the millisecond.
      const [rows, [{ count }]] = await Promise.all([
        tx<(Pick<TaskRow, 'id' | 'title' | 'status' | 'task_type' | 'reward_cents' | 'operator_id' | 'created_at' | 'deadline'> & { created_key: string })[]>`
          select id, title, status, task_type, reward_cents, operator_id, created_at, deadline, created_key
            from api.agent_tasks(${status}::text, ${after?.created_at ?? null}::text::timestamptz, ${after?.id ?? null}::text,
                                 ${query.limit + 1}, ${query.offset})`,
        tx<{ count: string }[]>`select api.count_agent_tasks(${status}::text, ${TOTAL_CAP + 1}) as count`,
      ]);
      return { rows, counted: Number(count) };
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const next = rows.length > query.limit && last ? encodeCursor('tasks', { created_at: last.created_key, id: last.id }) : null;
    return c.json({
      data: page.map((t) => ({
        task_id: t.id,
        title: t.title,
        status: t.status,
        task_type: t.task_type,
        reward_usd: centsToUsd(t.reward_cents),
        operator: operatorOf(t),
        created_at: iso(t.created_at),
        deadline: iso(t.deadline),
      })),
      pagination: pagination(query, counted, TOTAL_CAP, next),
    });
  });

  app.get('/tasks/:id', async (c) => {
    const id = c.req.param('id');
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const { task, operator } = await db.asAgent(c.get('agent'), async (tx) => {
      const [task] = await tx<TaskRow[]>`
      select t.id, t.title, t.description, t.status, t.task_type, t.task_domain, t.proof_type, t.location_lat,
             t.location_lng, t.location_address, t.max_distance_m, t.reward_cents, t.fee_cents, t.deadline, t.proof_requirements,
             t.digital_instructions, cb.url as callback_url, t.agent_public_key, t.operator_id, t.proof,
             t.guardian_result, t.accepted_at, t.started_at, t.submitted_at, t.verified_at, t.completed_at,
             t.cancelled_at, t.expired_at, t.created_at, t.updated_at, t.rejections, t.first_proof, t.resubmitted_at,
             t.appeal_note, t.appealed_at, case when t.status = 'DISPUTED' then t.refund_at end as refund_at
        from public.tasks t
        left join public.task_callbacks cb on cb.task_id = t.id
       where t.id = ${id} and t.agent_id = ${c.get('agent').id}`;
      const [operator] = task?.operator_id ? await tx<TaskOperator[]>`select id, name, rating, releases from api.task_operator(${id})` : [];
      return { task, operator };
    });
    if (!task) throw notFound('task_not_found', 'Task not found');
    const [proof, firstProof] = await Promise.all([
      proofForAgent(task, c.req.url),
      proofForAgent({ proof: task.first_proof, submitted_at: null }, c.req.url),
    ]);
    return c.json(taskDetail(task, { proof, firstProof }, operator));
  });

  app.post('/tasks/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const raw = await readJson(c);
    await validate(NoInputSchema, raw);
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const outcome = await db.asAgent(c.get('agent'), (tx) =>
      idempotent(c, tx, raw, async () => {
        const [cancelled] = await tx<{ id: string; status: string; refunded_cents: string }[]>`
          select id, status, refunded_cents from api.cancel_task(${id})`;
        return { status: 200, body: { task_id: cancelled.id, status: cancelled.status, refunded_usd: centsToUsd(cancelled.refunded_cents) } };
      }));
    return c.json(outcome.body as object, outcome.status as 200);
  });

  return app;
}
