/** The operator side: register, browse and claim tasks, upload and submit proof, earnings and payouts. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Context } from 'hono';
import { CATEGORIES } from '../../_shared/categories.ts';
import { isP256PublicKey } from '../../_shared/crypto.ts';
import { ApiError, badRequest, notFound } from '../../_shared/errors.ts';
import { readImage } from '../../_shared/images.ts';
import { centsToUsd } from '../../_shared/money.ts';
import {
  AppealSchema, ID_PATTERN, MyTasksQuery, NoInputSchema, OperatorTasksQuery, RateTaskSchema, RegisterOperatorSchema,
  SubmitProofSchema,
  UpdateOperatorSchema,
} from '../../_shared/schemas.ts';
import { proofPath } from '../../_shared/storage.ts';
import type { ProofStorage } from '../../_shared/storage.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, limitBody, readJson, validate } from '../http.ts';
import { requireOperatorIdentity } from '../middleware/operator-auth.ts';
import { decodeCursor, encodeCursor, pagination, TIMESTAMP_KEY, TOTAL_CAP } from '../pagination.ts';
import { checkRoomForProof, removeProofFiles, storeProofFile } from '../proof-files.ts';
import { ratingsOf, type RequesterRecord, requestersOf, type TaskRatings } from '../requester.ts';
import { mountPayoutAddressRoutes, payoutAddressFields } from './payout-address.ts';
import { mountPayoutRoutes } from './payouts.ts';
import { readUploadForm } from '../upload-form.ts';

/**
 * Browsing counts open tasks up to 100: each counted task near a place costs a heap visit (its
 * deadline), so a larger cap would cost more than the page itself.
 */
const BROWSE_TOTAL_CAP = 100;

/** Where a page of an operator's own tasks ended: the last row's sort key. */
const HeldTasksKey = z.object({ changed_at: z.string().regex(TIMESTAMP_KEY), id: z.string().regex(ID_PATTERN) });

/** Where a page of open tasks ended: the phase (near, then recent) and the last row's sort key. */
const OpenTasksKey = z.object({
  phase: z.enum(['near', 'recent']),
  chord: z.number().min(0).max(2).nullable(),
  created_at: z.string().regex(TIMESTAMP_KEY),
  id: z.string().regex(ID_PATTERN),
}).refine((key) => key.phase === 'recent' || key.chord !== null);

interface OpenTaskRow {
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
  deadline: Date;
  proof_requirements: string[];
  digital_instructions: string | null;
  agent_public_key: string | null;
  operator_id: string | null;
  guardian_result: { decision?: string; reasoning?: string; requirement_results?: unknown; checks?: { check: string; passed: boolean; hard: boolean; note: string }[] } | null;
  accepted_at: Date | null;
  started_at: Date | null;
  submitted_at: Date | null;
  created_at: Date;
  distance_km: number | null;
}

/** How the review of a held task went (null on an open task). */
interface ReviewColumns {
  rejections: { by: 'agent' | 'guardian'; reason: string; at: string }[] | null;
  resubmitted_at: Date | null;
  appeal_note: string | null;
  appealed_at: Date | null;
  resolution: 'refund' | 'pay' | 'split' | null;
  can_resubmit: boolean | null;
  can_appeal: boolean | null;
  refund_at: Date | null;
}

type HeldTaskRow = OpenTaskRow & ReviewColumns;

const TASK_COLUMNS = `t.id, t.title, t.description, t.status, t.task_type, t.task_domain, t.proof_type, t.location_lat,
  t.location_lng, t.location_address, t.max_distance_m, t.reward_cents, t.deadline, t.proof_requirements, t.digital_instructions,
  t.agent_public_key, t.operator_id, t.guardian_result, t.accepted_at, t.started_at, t.submitted_at, t.created_at`;

/**
 * The review columns of a held task; can_resubmit and can_appeal are the rules api.resubmit_task and
 * api.appeal_task apply, on the database's clock.
 */
const REVIEW_COLUMNS = `t.rejections, t.resubmitted_at, t.appeal_note, t.appealed_at, t.dispute_resolution->>'resolution' as resolution,
  (t.status = 'DISPUTED' and t.resubmitted_at is null and t.deadline > now()) as can_resubmit,
  (t.status = 'DISPUTED' and t.resubmitted_at is not null and t.appealed_at is null and coalesce(t.refund_at > now(), true)) as can_appeal,
  case when t.status = 'DISPUTED' then t.refund_at end as refund_at`;

/** An open task has no review yet. */
const NO_REVIEW_COLUMNS = `null::jsonb as rejections, null::timestamptz as resubmitted_at, null::text as appeal_note,
  null::timestamptz as appealed_at, null::text as resolution, null::boolean as can_resubmit, null::boolean as can_appeal,
  null::timestamptz as refund_at`;

/** A task as an operator sees it: what to do, where, for how much, by when. */
function operatorTask(row: OpenTaskRow, requester: RequesterRecord | undefined) {
  return {
    task_id: row.id,
    title: row.title,
    description: row.description,
    status: row.status,
    task_type: row.task_type,
    task_domain: row.task_domain,
    proof_type: row.proof_type,
    location: { lat: row.location_lat, lng: row.location_lng, address: row.location_address },
    distance_km: row.distance_km === null ? undefined : Math.round(row.distance_km * 100) / 100,
    max_distance_m: row.max_distance_m,
    reward_usd: centsToUsd(row.reward_cents),
    deadline: iso(row.deadline),
    proof_requirements: row.proof_requirements,
    digital_instructions: row.digital_instructions,
    agent_public_key: row.agent_public_key,
    created_at: iso(row.created_at),
    requester: requester ?? null,
  };
}

/**
 * A task with its progress; for the operator who holds it, also the Guardian's verdict on its proof
 * (the decision and the reasons, so the operator learns why a proof was or was not accepted) and
 * how the review went: every rejection's reason, and what it may do next.
 */
function heldTask(row: HeldTaskRow, operatorId: string, about: { requester?: RequesterRecord; ratings?: TaskRatings }) {
  const holds = row.operator_id === operatorId;
  const verdict = holds ? row.guardian_result : null;
  return {
    ...operatorTask(row, about.requester),
    accepted_at: iso(row.accepted_at),
    started_at: iso(row.started_at),
    submitted_at: iso(row.submitted_at),
    guardian_result: verdict
      ? {
        decision: verdict.decision ?? null,
        reasoning: verdict.reasoning ?? null,
        requirement_results: verdict.requirement_results ?? [],
        reasons: (verdict.checks ?? []).filter((c) => !c.passed).map(({ check, note, hard }) => ({ check, note, hard })),
      }
      : null,
    review: holds && row.rejections !== null
      ? {
        rejections: row.rejections,
        resubmitted_at: iso(row.resubmitted_at),
        can_resubmit: row.can_resubmit === true,
        can_appeal: row.can_appeal === true,
        refund_at: iso(row.refund_at),
        appeal: row.appealed_at ? { note: row.appeal_note ?? '', appealed_at: iso(row.appealed_at)! } : null,
        resolution: row.resolution,
      }
      : null,
    ratings: holds ? about.ratings ?? { by_requester: null, of_requester: null } : null,
    can_rate_requester: holds && ['COMPLETED', 'CANCELLED', 'EXPIRED'].includes(row.status) && !about.ratings?.of_requester,
  };
}

interface OperatorRow {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  city: string;
  country: string;
  lat: number | null;
  lng: number | null;
  travel_radius_km: number | null;
  skills: string[];
  kyc_status: string;
  rating_sum: string;
  rating_count: number;
  created_at: Date;
  payout_address: string | null;
  payout_address_usable_at: Date | null;
}

/** An operator's own profile, as GET and PATCH /operator/me answer it. */
function operatorProfile(operator: OperatorRow) {
  return {
    operator_id: operator.id,
    name: operator.name,
    email: operator.email,
    phone: operator.phone,
    location: { city: operator.city, country: operator.country, lat: operator.lat, lng: operator.lng },
    travel_radius_km: operator.travel_radius_km,
    skills: operator.skills,
    kyc_status: operator.kyc_status,
    rating: operator.rating_count ? Math.round((Number(operator.rating_sum) / operator.rating_count) * 10) / 10 : null,
    rating_count: operator.rating_count,
    created_at: iso(operator.created_at),
    ...payoutAddressFields(operator),
  };
}

/** Where uploads without a task_id wait for the submit that binds them (never a task id). */
const UNBOUND_FOLDER = 'unbound';

/** Largest multipart body accepted: the file cap plus room for the form's other parts. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

const requireStorage = (storage: ProofStorage | undefined): ProofStorage => {
  if (!storage) throw new ApiError(503, 'storage_unavailable', 'Proof storage is not configured on this server');
  return storage;
};

export function operatorRoutes(deps: Deps) {
  const { config, db } = deps;
  const app = new Hono<AppEnv>();
  app.use('/operator/*', requireOperatorIdentity(deps));
  const operatorId = (c: Context<AppEnv>) => c.get('operator').id;
  /** The caller's operator row; 403 when this identity never registered. */
  const registeredOperator = async (c: Context<AppEnv>) => {
    const id = operatorId(c);
    const [operator] = await db.asOperator(id, (tx) => tx<{ skills: string[]; kyc_status: string }[]>`
      select skills, kyc_status from public.operators where id = ${id}`);
    if (!operator) throw new ApiError(403, 'operator_not_registered', 'Register as an operator first (POST /operator/register)');
    return operator;
  };
  /** Open tasks are for KYC-verified operators (test mode verifies at registration). */
  const verified = <T extends { kyc_status: string }>(operator: T): T => {
    if (operator.kyc_status !== 'VERIFIED') {
      throw new ApiError(403, 'kyc_required', `KYC verification required (status: ${operator.kyc_status})`, { kyc_status: operator.kyc_status });
    }
    return operator;
  };

  app.post('/operator/register', async (c) => {
    const input = await validate(RegisterOperatorSchema, await readJson(c));
    const kycStatus = config.mode === 'test' ? 'VERIFIED' : 'PENDING';
    const [operator] = await db.asService((tx) => tx<{ id: string; name: string; kyc_status: string }[]>`
      select id, name, kyc_status from api.register_operator(
        ${operatorId(c)}, ${input.name}, ${input.email}, ${input.phone ?? null}, ${input.location.city},
        ${input.location.country}, ${input.location.lat ?? null}, ${input.location.lng ?? null},
        ${input.skills}::text[], ${kycStatus}, ${input.travel_radius_km ?? null})`);
    return c.json({ operator_id: operator.id, name: operator.name, kyc_status: operator.kyc_status }, 201);
  });

  /** The calling operator's profile and KYC status (403 operator_not_registered before registering). */
  app.get('/operator/me', async (c) => {
    const id = operatorId(c);
    const [operator] = await db.asOperator(id, (tx) => tx<OperatorRow[]>`select * from public.operators where id = ${id}`);
    if (!operator) throw new ApiError(403, 'operator_not_registered', 'Register as an operator first (POST /operator/register)');
    return c.json(operatorProfile(operator));
  });

  /** Edits the calling operator's profile: only what the body names changes (a bad body changes nothing). */
  app.patch('/operator/me', async (c) => {
    const changes = await validate(UpdateOperatorSchema, await readJson(c));
    const [operator] = await db.asOperator(operatorId(c), (tx) => tx<OperatorRow[]>`
      select * from api.update_operator(${tx.json(changes)})`);
    return c.json(operatorProfile(operator));
  });

  /**
   * The tasks this operator holds or held, most recently changed first; `status` narrows them. By
   * offset or by cursor, read from the operator's own index; the total is counted up to TOTAL_CAP.
   */
  app.get('/operator/my-tasks', async (c) => {
    const query = await validate(MyTasksQuery, c.req.query());
    await registeredOperator(c);
    const after = query.cursor === undefined ? null : decodeCursor('my-tasks', HeldTasksKey, query.cursor);
    const id = operatorId(c);
    const { rows, counted, requesters, ratings } = await db.asOperator(id, async (tx) => {
      const filter = tx`t.operator_id = ${id} and (${query.status ?? null}::text is null or t.status = ${query.status ?? null}::text)`;
      // The sort key is the expression tasks_held_by_operator indexes; `<= x` is its index condition.
      // The key goes in as text: postgres.js would turn a timestamptz parameter into a Date, to the millisecond.
      const changed = tx`coalesce(t.submitted_at, t.started_at, t.accepted_at, t.created_at)`;
      const keyset = after
        ? tx`and ${changed} <= ${after.changed_at}::text::timestamptz and (${changed} < ${after.changed_at}::text::timestamptz or t.id > ${after.id})`
        : tx``;
      const [rows, [{ count }]] = await Promise.all([
        tx<(HeldTaskRow & { changed_key: string })[]>`
          select ${tx.unsafe(TASK_COLUMNS)}, ${tx.unsafe(REVIEW_COLUMNS)}, null::float8 as distance_km, ${changed}::text as changed_key from public.tasks t
           where ${filter} ${keyset}
           order by ${changed} desc, t.id
           limit ${query.limit + 1} offset ${query.offset}`,
        tx<{ count: string }[]>`select count(*) from (select from public.tasks t where ${filter} limit ${TOTAL_CAP + 1}) capped`,
      ]);
      const ids = rows.slice(0, query.limit).map((row) => row.id);
      const [requesters, ratings] = await Promise.all([requestersOf(tx, ids), ratingsOf(tx, ids)]);
      return { rows, counted: Number(count), requesters, ratings };
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const next = rows.length > query.limit && last ? encodeCursor('my-tasks', { changed_at: last.changed_key, id: last.id }) : null;
    return c.json({
      data: page.map((row) => heldTask(row, id, { requester: requesters.get(row.id), ratings: ratings.get(row.id) })),
      pagination: pagination(query, counted, TOTAL_CAP, next),
    });
  });

  /**
   * Open tasks: PENDING, unclaimed, before their deadline. An operator with skills sees the task
   * types among its skills; one without skills sees every type. With lat/lng, physical tasks are
   * kept within radius_km (default 50) and come first, nearest first; digital tasks follow, newest
   * first. Without a place, every open task, newest first. task_domain and min_reward_usd narrow
   * the list. By offset or by cursor; the total is
   * counted up to BROWSE_TOTAL_CAP.
   */
  app.get('/operator/tasks', async (c) => {
    const query = await validate(OperatorTasksQuery, c.req.query());
    const after = query.cursor === undefined ? null : decodeCursor('open-tasks', OpenTasksKey, query.cursor);
    const near = query.lat !== undefined && query.lng !== undefined;
    const radius = near ? query.radius_km ?? 50 : null;
    const lat = query.lat ?? null;
    const lng = query.lng ?? null;
    const filters = {
      task_type: query.task_type ?? null,
      task_domain: query.task_domain ?? null,
      min_reward_cents: query.min_reward_usd === undefined ? null : Math.round(query.min_reward_usd * 100),
    };
    const { rows, counted, requesters } = await db.asOperator(operatorId(c), async (tx) => {
      const [rows, [{ counted }]] = await Promise.all([
        tx<(OpenTaskRow & { phase: 'near' | 'recent'; chord: number | null; created_key: string })[]>`
          select *, 'PENDING' as status, null::text as operator_id, created_at::text as created_key
            from api.browse_open_tasks(
              p_lat => ${lat}, p_lng => ${lng}, p_radius_km => ${radius}, p_task_type => ${filters.task_type},
              p_task_domain => ${filters.task_domain}, p_min_reward_cents => ${filters.min_reward_cents},
              p_limit => ${query.limit + 1}, p_offset => ${query.offset},
              p_after_phase => ${after?.phase ?? null}, p_after_chord => ${after?.chord ?? null},
              p_after_created => ${after?.created_at ?? null}::text::timestamptz, p_after_id => ${after?.id ?? null})`,
        tx<{ counted: number }[]>`
          select api.count_open_tasks(${lat}, ${lng}, ${radius}, ${filters.task_type}, ${filters.task_domain},
                                      ${filters.min_reward_cents}, ${BROWSE_TOTAL_CAP + 1}) as counted`,
      ]);
      return { rows, counted, requesters: await requestersOf(tx, rows.slice(0, query.limit).map((row) => row.id)) };
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const next = rows.length > query.limit && last
      ? encodeCursor('open-tasks', { phase: last.phase, chord: last.chord, created_at: last.created_key, id: last.id })
      : null;
    return c.json({
      data: page.map((row) => {
        const { status: _status, ...task } = operatorTask(row, requesters.get(row.id));
        return task;
      }),
      pagination: pagination(query, counted, BROWSE_TOTAL_CAP, next),
    });
  });

  /**
   * One task: one this operator holds (with its progress), or an open one as the feed shows it
   * (verified operators only; nothing of the agent's before accepting).
   */
  app.get('/operator/tasks/:id', async (c) => {
    const id = c.req.param('id');
    const operator = await registeredOperator(c);
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const found = await db.asOperator(operatorId(c), async (tx) => {
      const about = async (row: HeldTaskRow | undefined) => row && {
        row,
        requester: (await requestersOf(tx, [row.id])).get(row.id),
        ratings: (await ratingsOf(tx, [row.id])).get(row.id),
      };
      const [held] = await tx<HeldTaskRow[]>`
        select ${tx.unsafe(TASK_COLUMNS)}, ${tx.unsafe(REVIEW_COLUMNS)}, null::float8 as distance_km from public.tasks t where t.id = ${id}`;
      if (held) return about(held);
      verified(operator);
      const [open] = await tx<HeldTaskRow[]>`
        select ${tx.unsafe(TASK_COLUMNS)}, ${tx.unsafe(NO_REVIEW_COLUMNS)}, null::float8 as distance_km from public.open_tasks t where t.id = ${id}`;
      return about(open);
    });
    if (!found) throw notFound('task_not_found', 'Task not found');
    return c.json(heldTask(found.row, operatorId(c), found));
  });

  app.post('/operator/tasks/:id/accept', async (c) => {
    const id = c.req.param('id');
    await validate(NoInputSchema, await readJson(c));
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const [task] = await db.asOperator(operatorId(c), (tx) => tx<{ id: string; status: string; accepted_at: Date }[]>`
      select id, status, accepted_at from api.accept_task(${id})`);
    return c.json({ task_id: task.id, status: task.status, accepted_at: iso(task.accepted_at) });
  });

  app.post('/operator/tasks/:id/start', async (c) => {
    const id = c.req.param('id');
    await validate(NoInputSchema, await readJson(c));
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const [task] = await db.asOperator(operatorId(c), (tx) => tx<{ id: string; status: string; started_at: Date }[]>`
      select id, status, started_at from api.start_task(${id})`);
    return c.json({ task_id: task.id, status: task.status, started_at: iso(task.started_at) });
  });

  const maxUploadBytes = config.uploads.maxBytes;
  const tooLarge = `Files may be at most ${Math.floor(maxUploadBytes / 1024 / 1024)} MB`;

  /**
   * A proof image: multipart `file` (JPEG, PNG, WebP or HEIC, judged by its bytes, not its declared
   * type) and, better, `task_id` (a task this operator holds and works on; stored under
   * `<operator>/<task>/`). Without `task_id` the file waits under `<operator>/unbound/` until the
   * operator submits it for one of its tasks.
   */
  app.post(
    '/operator/upload',
    // Who is asking is settled before a byte of the body is read: storage configured, a registered
    // and verified operator; then the body is capped while it streams, before multipart parsing.
    async (c, next) => {
      requireStorage(deps.storage);
      verified(await registeredOperator(c));
      await next();
    },
    limitBody(maxUploadBytes + FORM_OVERHEAD_BYTES, 'file_too_large', tooLarge),
    async (c) => {
      const storage = requireStorage(deps.storage);
      const { file: bytes, taskId: taskField } = await readUploadForm(c.req.raw, maxUploadBytes, tooLarge);
      if (bytes === null) throw badRequest('validation_error', 'file: is required (a multipart file part)');
      if (taskField !== null && (typeof taskField !== 'string' || !ID_PATTERN.test(taskField))) {
        throw badRequest('validation_error', 'task_id: must be the id of the task this proof is for');
      }
      const taskId = taskField;
      if (bytes.length === 0) throw badRequest('validation_error', 'file: is empty');
      const image = readImage(bytes);
      if (!image) throw badRequest('unsupported_file_type', 'file: must be a JPEG, PNG, WebP or HEIC image that decodes');

      const id = operatorId(c);
      await checkRoomForProof(db, id, taskId);
      const path = proofPath(id, taskId ?? UNBOUND_FOLDER, image.extension);
      await storeProofFile({ db, storage }, { operatorId: id, taskId, path, bytes, contentType: image.contentType });
      const url = await storage.signedUrl(path, { origin: new URL(c.req.url).origin, expiresInSeconds: config.uploads.signedUrlTtlSeconds });
      return c.json({ url, path, content_type: image.contentType, size: bytes.length }, 201);
    },
  );

  /** The proof a submit or resubmit carries, checked against the task's proof type. */
  const proofToSend = async (c: Context<AppEnv>, id: string) => {
    const input = await validate(SubmitProofSchema, await readJson(c));
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const photoPaths = input.photos.map((photo) => deps.storage?.pathFromUrl(photo) ?? photo);
    if (input.artifact && !(await isP256PublicKey(input.artifact.ephemeralPublicKey))) {
      throw badRequest('validation_error', 'artifact.ephemeralPublicKey: must be a P-256 point on the curve', {
        issues: [{ field: 'artifact.ephemeralPublicKey', message: 'must be a P-256 point on the curve' }],
      });
    }
    const proof = {
      photos: photoPaths,
      notes: input.notes ?? null,
      confirmation_text: input.confirmation_text ?? null,
      reference_url: input.reference_url ?? null,
      artifact: input.artifact ?? null,
    };
    return { input, photoPaths, proof };
  };

  /** Sends proof through `fn` (api.submit_task or api.resubmit_task) for a task the caller holds. */
  const sendProof = async (c: Context<AppEnv>, fn: 'submit_task' | 'resubmit_task') => {
    const id = c.req.param('id')!;
    const { input, photoPaths, proof } = await proofToSend(c, id);
    const operator = operatorId(c);
    return await db.asOperator(operator, async (tx) => {
      const [held] = await tx<{ proof_type: string; task_type: string }[]>`
        select proof_type, task_type from public.tasks where id = ${id} and operator_id = ${operator}`;
      if (!held) throw notFound('task_not_found', 'Task not found');
      checkProofFits(held.proof_type, held.task_type, input, photoPaths);
      const [sent] = await tx<{ id: string; status: string; submitted_at: Date }[]>`
        select id, status, submitted_at from ${tx.unsafe(`api.${fn}`)}(${id}, ${tx.json(proof)}, ${photoPaths}::text[])`;
      return sent;
    });
  };

  app.post('/operator/tasks/:id/submit', async (c) => {
    const task = await sendProof(c, 'submit_task');
    return c.json({
      task_id: task.id,
      status: task.status,
      submitted_at: iso(task.submitted_at),
      message: 'Proof submitted. AI Guardian verification in progress.',
    });
  });

  /** The second chance: new proof for a DISPUTED task, once, before the deadline. */
  app.post('/operator/tasks/:id/resubmit', async (c) => {
    const task = await sendProof(c, 'resubmit_task');
    return c.json({
      task_id: task.id,
      status: task.status,
      submitted_at: iso(task.submitted_at),
      message: 'New proof sent. It will be checked again; this was your one resubmission.',
    });
  });

  /** The one appeal of a rejection that stood after resubmitting. */
  app.post('/operator/tasks/:id/appeal', async (c) => {
    const id = c.req.param('id');
    const input = await validate(AppealSchema, await readJson(c));
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const [task] = await db.asOperator(operatorId(c), (tx) => tx<{ id: string; status: string; appealed_at: Date }[]>`
      select id, status, appealed_at from api.appeal_task(${id}, ${input.note})`);
    return c.json({
      task_id: task.id,
      status: task.status,
      appealed_at: iso(task.appealed_at),
      message: 'Appeal sent. An admin will look at both proofs, the reasons and your note, and settle it.',
    });
  });

  /** Hands a task back to the feed; the files uploaded for it are deleted. */
  app.post('/operator/tasks/:id/release', async (c) => {
    const id = c.req.param('id');
    await validate(NoInputSchema, await readJson(c));
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const [task] = await db.asOperator(operatorId(c), (tx) => tx<{ id: string; status: string; discarded_files: string[] }[]>`
      select id, status, discarded_files from api.release_task(${id})`);
    await removeProofFiles(deps.storage, task.discarded_files);
    return c.json({
      task_id: task.id,
      status: 'PENDING' as const,
      discarded_files: task.discarded_files.length,
      message: 'Task handed back. It is open to others again.',
    });
  });

  /** Rates the requester of a task this operator held, once the task ended (1–5, once). */
  app.post('/operator/tasks/:id/rate', async (c) => {
    const id = c.req.param('id');
    const input = await validate(RateTaskSchema, await readJson(c));
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const [rating] = await db.asOperator(operatorId(c), (tx) => tx<{ task_id: string; agent_id: string; rating: number; comment: string | null; created_at: Date }[]>`
      select task_id, rating, comment, created_at from api.rate_requester(${id}, ${input.rating}, ${input.comment ?? null})`);
    return c.json({ task_id: rating.task_id, rating: rating.rating, comment: rating.comment, created_at: iso(rating.created_at) }, 201);
  });

  /**
   * Test mode has no hold: release the caller's due earnings before answering, so its earnings and
   * payouts do not wait for the next tick. (Live mode's 7-day hold is released by the worker.)
   */
  const releaseDueInTestMode = async (c: Context<AppEnv>) => {
    if (config.mode !== 'test') return;
    await db.asService((tx) => tx`
      select api.release_earnings(make_interval(secs => ${config.earningsHoldSeconds}), 1000, ${operatorId(c)})`);
  };

  app.get('/operator/earnings', async (c) => {
    await releaseDueInTestMode(c);
    const id = operatorId(c);
    const { balances, recent, earned } = await db.asOperator(id, async (tx) => {
      const balances = await tx<{ kind: string; balance: string }[]>`
        select kind, balance from public.ledger_accounts where operator_id = ${id}`;
      if (balances.length === 0) throw new ApiError(403, 'operator_not_registered', 'Register as an operator first (POST /operator/register)');
      const recent = await tx<{ id: string; title: string; reward_cents: string; status: string; completed_at: Date }[]>`
        select id, title, operator_earnings_cents as reward_cents, status, completed_at from public.tasks
         where operator_id = ${id} and status = 'COMPLETED'
         order by completed_at desc, id limit 10`;
      const [{ earned }] = await tx<{ earned: string }[]>`
        select coalesce(sum(operator_earnings_cents), 0) as earned from public.tasks where operator_id = ${id} and status = 'COMPLETED'`;
      return { balances, recent, earned };
    });
    const balanceOf = (kind: string) => centsToUsd(balances.find((b) => b.kind === kind)?.balance ?? 0);
    return c.json({
      pending_balance: balanceOf('operator_pending'),
      available_balance: balanceOf('operator_available'),
      total_earned: centsToUsd(earned),
      currency: 'USD',
      earnings_hold_seconds: config.earningsHoldSeconds,
      payout_method: deps.payoutChain ? 'usdc' : config.mode === 'test' ? 'test' : 'unavailable',
      recent_tasks: recent.map((t) => ({
        task_id: t.id, title: t.title, reward_usd: centsToUsd(t.reward_cents), status: t.status, completed_at: iso(t.completed_at),
      })),
    });
  });

  mountPayoutAddressRoutes(app, deps);

  mountPayoutRoutes(app, deps, releaseDueInTestMode);

  return app;
}

/**
 * What each proof type needs: PHOTO and SCREENSHOT at least one uploaded image; CONFIRMATION a
 * confirmation_text (photos optional); ARTIFACT the encrypted credential and nothing in clear.
 */
function checkProofFits(proofType: string, taskType: string, input: { photos: string[]; confirmation_text?: string; artifact?: unknown }, paths: string[]) {
  const need = (field: string, message: string) => {
    throw badRequest('validation_error', `${field}: ${message}`, { issues: [{ field, message }] });
  };
  if ((proofType === 'PHOTO' || proofType === 'SCREENSHOT') && paths.length === 0) {
    need('photos', `${taskType} tasks need at least one ${proofType === 'PHOTO' ? 'photo' : 'screenshot'} uploaded with POST /operator/upload`);
  }
  if (proofType === 'CONFIRMATION' && input.confirmation_text === undefined) need('confirmation_text', `is required for ${taskType} tasks`);
  if (proofType === 'ARTIFACT' && CATEGORIES[taskType as keyof typeof CATEGORIES]?.tier === 2 && input.artifact === undefined) {
    need('artifact', 'is required: credential tasks deliver an encrypted artifact');
  }
  if (proofType !== 'ARTIFACT' && input.artifact !== undefined) need('artifact', `only applies to credential tasks`);
}
