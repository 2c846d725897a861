/**
 * The Guardian worker step: claims queued verification jobs, gathers the proof, runs the rule
 * checks and the model, and applies the verdict through one idempotent SQL function. A failure
 * leaves the job for a retry with backoff; after the last attempt the task goes to manual review.
 * Everything fits in the tick's budget: the model gets what time is left (model-call.ts).
 */
import { judgeWithModel } from '../_shared/guardian/model.ts';
import { MIN_CALL_MS, ModelRetryLater } from '../_shared/guardian/model-call.ts';
import { examinePhotos } from '../_shared/guardian/photos.ts';
import { runRuleChecks } from '../_shared/guardian/rules.ts';
import type { GuardianTask } from '../_shared/guardian/types.ts';
import { combineVerdict, OUTCOME } from '../_shared/guardian/verdict.ts';
import { log } from '../_shared/log.ts';
import type { Deps } from './context.ts';
import { photoFactsOf } from './photo-facts.ts';
import { proofHistory } from './proof-history.ts';
import { byReference, loadPhotos, oneJobAtATime, ProofTooLarge } from './guardian-photos.ts';
import type { Tick, WorkStep } from './worker.ts';

const BATCH = 4;
/**
 * A claimed job is another worker's again after this long: the safety net for a worker that dies
 * mid-job. A tick's budget ends every job well before it.
 */
const LEASE_SECONDS = 300;
/** Time kept after the model's deadline for applying the verdict and the tick's later steps. */
const VERDICT_MARGIN_MS = 2_000;

interface TaskRow {
  id: string;
  title: string;
  description: string;
  task_type: string;
  task_domain: 'PHYSICAL' | 'DIGITAL';
  proof_type: GuardianTask['proofType'];
  proof_requirements: string[];
  digital_instructions: string | null;
  location_lat: number | null;
  location_lng: number | null;
  location_address: string | null;
  max_distance_m: number | null;
  accepted_at: Date | null;
  submitted_at: Date;
  proof: { photos?: string[]; notes?: string | null; confirmation_text?: string | null; reference_url?: string | null; artifact?: unknown } | null;
  rejections: { by: string; reason: string }[];
}

async function loadTask(deps: Deps, taskId: string): Promise<GuardianTask> {
  const [row] = await deps.db.asService((tx) => tx<TaskRow[]>`
    select id, title, description, task_type, task_domain, proof_type, proof_requirements, digital_instructions,
           location_lat, location_lng, location_address, max_distance_m, accepted_at, submitted_at, proof, rejections
      from public.tasks where id = ${taskId}`);
  const proof = row.proof ?? {};
  const thread = await deps.db.asService((tx) => tx<{ sender: 'agent' | 'operator'; body: string }[]>`
    select m.sender, m.body from public.task_messages m join public.tasks t on t.id = m.task_id
     where m.task_id = ${taskId} and (m.operator_id = t.operator_id or m.visibility = 'public')
     order by m.created_at, m.id`);
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    taskType: row.task_type,
    taskDomain: row.task_domain,
    proofType: row.proof_type,
    proofRequirements: row.proof_requirements,
    digitalInstructions: row.digital_instructions,
    location: row.location_lat !== null && row.location_lng !== null
      ? { lat: row.location_lat, lng: row.location_lng, address: row.location_address }
      : null,
    maxDistanceM: row.max_distance_m,
    acceptedAt: row.accepted_at,
    submittedAt: row.submitted_at ?? new Date(),
    proof: {
      photos: proof.photos ?? [],
      notes: proof.notes ?? null,
      confirmationText: proof.confirmation_text ?? null,
      referenceUrl: proof.reference_url ?? null,
      hasArtifact: proof.artifact != null,
    },
    thread: thread.map((m) => ({ from: m.sender, text: m.body })),
    earlierRejections: row.rejections.map(({ by, reason }) => ({ by, reason })),
  };
}

/** Verifies one task's proof within the tick's deadline and applies the verdict. */
export async function verifyTask(deps: Deps, tick: Tick, jobId: number, taskId: string): Promise<string> {
  const { guardian } = deps.config;
  const task = await loadTask(deps, taskId);
  const { checks, images } = await oneJobAtATime(async () => {
    const loaded = await loadPhotos(deps.storage, task.proof.photos, guardian.jobMaxBytes);
    const photos = await examinePhotos(loaded, await photoFactsOf(deps, task.proof.photos));
    const earlierUses = await proofHistory(deps).record(task, photos);
    const checks = runRuleChecks(task, photos, { gpsRadiusKm: guardian.gpsRadiusKm, earlierUses });
    const byUrl = guardian.apiKey && guardian.imageSource === 'url' && deps.storage;
    return { checks, images: byUrl ? await byReference(deps.storage!, loaded, tick.origin) : loaded };
  });
  const judgement = guardian.apiKey
    ? await judgeWithModel(task, images, {
      apiKey: guardian.apiKey, model: guardian.model, baseUrl: guardian.baseUrl, timeoutMs: guardian.timeoutMs, deadline: tick.deadline - VERDICT_MARGIN_MS,
    })
    : null;
  const verdict = combineVerdict(checks, judgement, task.proofRequirements,
    { approve: guardian.approveThreshold, review: guardian.reviewThreshold }, guardian.apiKey ? guardian.model : null);
  const [{ status }] = await deps.db.asService((tx) => tx<{ status: string }[]>`
    select api.apply_guardian_verdict(${jobId}, ${OUTCOME[verdict.decision]}, ${tx.json(verdict as never)}) as status`);
  return status;
}

/** A claimed job; `alone` when its last worker died holding it (see api.claim_guardian_jobs). */
type Job = { job_id: number; task_id: string; attempts: number; alone: boolean };

/** Records a failed attempt: retried after a backoff (or the wait the model asked for), or sent to review. */
async function failJob(deps: Deps, job: Job, error: unknown): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  // 15 s, 30 s, 1 min, 2 min… (capped at an hour), with jitter so retries spread out.
  const backoff = Math.min(3600, 15 * 2 ** (job.attempts - 1)) + Math.floor(Math.random() * 10);
  const wait = error instanceof ModelRetryLater ? Math.max(backoff, error.retryAfterSeconds) : backoff;
  // Too large to check is not going to change: a person looks now.
  const maxAttempts = error instanceof ProofTooLarge ? 1 : deps.config.guardian.maxAttempts;
  const [{ state }] = await deps.db.asService((tx) => tx<{ state: string }[]>`
    select api.fail_guardian_job(${job.job_id}, ${message}, ${wait}, ${maxAttempts}) as state`);
  log('warn', 'guardian attempt failed', { task_id: job.task_id, attempt: job.attempts, state, retry_in_s: state === 'queued' ? wait : undefined, error: message });
}

/**
 * Claims batches while the budget allows a useful model call: a batch runs concurrently (the model
 * is the slow part), and another is claimed after a full one, or after a job whose last worker
 * died (the claim hands those out alone, so whatever killed that worker takes nothing else along),
 * with time left. Jobs past GUARDIAN_MAX_ATTEMPTS go to manual review in the claim itself.
 */
export const guardianJobs: WorkStep = {
  name: 'guardian_jobs',
  run: async (deps, tick) => {
    let handled = 0;
    for (;;) {
      if (tick.deadline - VERDICT_MARGIN_MS - Date.now() < MIN_CALL_MS) break;
      const jobs = await deps.db.asService((tx) => tx<Job[]>`
        select job_id, task_id, attempts, alone from api.claim_guardian_jobs(${BATCH}, ${LEASE_SECONDS}, ${deps.config.guardian.maxAttempts})`);
      await Promise.all(jobs.map(async (job) => {
        try {
          const status = await verifyTask(deps, tick, Number(job.job_id), job.task_id);
          log('info', 'guardian verdict applied', { task_id: job.task_id, status });
        } catch (error) {
          await failJob(deps, job, error);
        }
      }));
      handled += jobs.length;
      if (jobs.length < BATCH && !jobs.some((job) => job.alone)) break;
    }
    return handled;
  },
};
