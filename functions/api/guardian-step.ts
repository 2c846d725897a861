/**
 * The Guardian worker step: claims queued verification jobs, gathers the proof, runs the rule
 * checks and the model, and applies the verdict through one idempotent SQL function. A failure
 * leaves the job for a retry with backoff; after the last attempt the task goes to manual review.
 */
import { judgeWithModel } from '../_shared/guardian/model.ts';
import { runRuleChecks } from '../_shared/guardian/rules.ts';
import type { GuardianTask, ProofImage } from '../_shared/guardian/types.ts';
import { combineVerdict, OUTCOME } from '../_shared/guardian/verdict.ts';
import { log } from '../_shared/log.ts';
import type { Deps } from './context.ts';
import type { WorkStep } from './worker.ts';

const BATCH = 4;
/** A claimed job is another worker's again after this long (a model call takes well under it). */
const LEASE_SECONDS = 300;

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
  accepted_at: Date | null;
  submitted_at: Date;
  proof: { photos?: string[]; notes?: string | null; confirmation_text?: string | null; reference_url?: string | null; artifact?: unknown } | null;
}

async function loadTask(deps: Deps, taskId: string): Promise<GuardianTask> {
  const [row] = await deps.db.asService((tx) => tx<TaskRow[]>`
    select id, title, description, task_type, task_domain, proof_type, proof_requirements, digital_instructions,
           location_lat, location_lng, location_address, accepted_at, submitted_at, proof
      from public.tasks where id = ${taskId}`);
  const proof = row.proof ?? {};
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
    acceptedAt: row.accepted_at,
    submittedAt: row.submitted_at ?? new Date(),
    proof: {
      photos: proof.photos ?? [],
      notes: proof.notes ?? null,
      confirmationText: proof.confirmation_text ?? null,
      referenceUrl: proof.reference_url ?? null,
      hasArtifact: proof.artifact != null,
    },
  };
}

async function loadImages(deps: Deps, paths: string[]): Promise<ProofImage[]> {
  if (paths.length > 0 && !deps.storage) throw new Error('Proof storage is not configured; cannot read the images');
  return Promise.all(paths.map(async (path) => {
    const file = await deps.storage!.read(path);
    return { path, bytes: file?.bytes ?? null, contentType: file?.contentType ?? null };
  }));
}

/** Verifies one task's proof and applies the verdict. */
export async function verifyTask(deps: Deps, jobId: number, taskId: string): Promise<string> {
  const { guardian } = deps.config;
  const task = await loadTask(deps, taskId);
  const images = await loadImages(deps, task.proof.photos);
  const checks = await runRuleChecks(task, images, { gpsRadiusKm: guardian.gpsRadiusKm });
  const judgement = guardian.apiKey
    ? await judgeWithModel(task, images, { apiKey: guardian.apiKey, model: guardian.model, baseUrl: guardian.baseUrl, timeoutMs: guardian.timeoutMs })
    : null;
  const verdict = combineVerdict(checks, judgement, task.proofRequirements,
    { approve: guardian.approveThreshold, review: guardian.reviewThreshold }, guardian.apiKey ? guardian.model : null);
  const [{ status }] = await deps.db.asService((tx) => tx<{ status: string }[]>`
    select api.apply_guardian_verdict(${jobId}, ${OUTCOME[verdict.decision]}, ${tx.json(verdict as never)}) as status`);
  return status;
}

export const guardianJobs: WorkStep = {
  name: 'guardian_jobs',
  run: async (deps) => {
    const jobs = await deps.db.asService((tx) => tx<{ job_id: number; task_id: string; attempts: number }[]>`
      select job_id, task_id, attempts from api.claim_guardian_jobs(${BATCH}, ${LEASE_SECONDS})`);
    await Promise.all(jobs.map(async (job) => {
      try {
        const status = await verifyTask(deps, Number(job.job_id), job.task_id);
        log('info', 'guardian verdict applied', { task_id: job.task_id, status });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // 15 s, 30 s, 1 min, 2 min… (capped at an hour), with jitter so retries spread out.
        const backoff = Math.min(3600, 15 * 2 ** (job.attempts - 1)) + Math.floor(Math.random() * 10);
        const [{ state }] = await deps.db.asService((tx) => tx<{ state: string }[]>`
          select api.fail_guardian_job(${job.job_id}, ${message}, ${backoff}, ${deps.config.guardian.maxAttempts}) as state`);
        log('warn', 'guardian attempt failed', { task_id: job.task_id, attempt: job.attempts, state, error: message });
      }
    }));
    return jobs.length;
  },
};
