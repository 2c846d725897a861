/**
 * Proof files: the object in storage and its database record together, or neither. What the
 * database will refuse (KYC, a task not in progress, the caps) is checked before a byte is written;
 * what it still refuses (a cap reached by a concurrent upload) removes the object again. Unbound
 * files nobody submitted are swept after a day (sweepUnboundProofFiles).
 */
import { ApiError, notFound } from '../_shared/errors.ts';
import type { Db } from '../_shared/db.ts';
import { log } from '../_shared/log.ts';
import type { ProofStorage } from '../_shared/storage.ts';
import { recordPhotoFacts } from './photo-facts.ts';

/** The caps api.record_proof_file enforces: files per task, and unbound files waiting per operator. */
export const MAX_FILES_PER_TASK = 50;
export const MAX_UNBOUND_FILES = 50;

/**
 * Refuses, before anything is stored, an upload the database would refuse: for `taskId`, a task
 * this operator holds and works on with room for another file; without one, room among the
 * operator's unbound files. (KYC is checked before the body is read.)
 */
export async function checkRoomForProof(db: Db, operatorId: string, taskId: string | null): Promise<void> {
  await db.asOperator(operatorId, async (tx) => {
    if (taskId === null) {
      const [{ waiting }] = await tx<{ waiting: number }[]>`
        select count(*)::int as waiting from public.proof_files where operator_id = ${operatorId} and task_id is null`;
      if (waiting >= MAX_UNBOUND_FILES) {
        throw new ApiError(409, 'too_many_files', `At most ${MAX_UNBOUND_FILES} uploads may wait unsubmitted; submit them or upload with task_id`);
      }
      return;
    }
    // The rule api.record_proof_file applies: in progress, or DISPUTED and open to its one resubmission.
    const [task] = await tx<{ status: string; takes_proof: boolean; files: number }[]>`
      select t.status,
             t.status in ('ACCEPTED', 'IN_PROGRESS') or (t.status = 'DISPUTED' and t.resubmitted_at is null and t.deadline > now()) as takes_proof,
             (select count(*)::int from public.proof_files f where f.task_id = t.id) as files
        from public.tasks t where t.id = ${taskId} and t.operator_id = ${operatorId}`;
    if (!task) throw notFound('task_not_found', 'Task not found');
    if (!task.takes_proof) {
      throw new ApiError(409, 'task_not_in_progress', `Proof can only be uploaded while the task is ACCEPTED or IN_PROGRESS, or DISPUTED and open to one resubmission; it is ${task.status}`);
    }
    if (task.files >= MAX_FILES_PER_TASK) throw new ApiError(409, 'too_many_files', `A task takes at most ${MAX_FILES_PER_TASK} proof files`);
  });
}

/**
 * Stores the object, then records it; when the record is refused, the object is removed. Then
 * reads its pixels for the Guardian (photo-facts.ts): once per file, in the request that brought it.
 */
export async function storeProofFile(
  { db, storage }: { db: Db; storage: ProofStorage },
  file: { operatorId: string; taskId: string | null; path: string; bytes: Uint8Array; contentType: string },
): Promise<void> {
  await storage.put(file.path, file.bytes, file.contentType);
  try {
    await db.asOperator(file.operatorId, (tx) => tx`
      select api.record_proof_file(${file.taskId}, ${file.path}, ${file.contentType}, ${file.bytes.length})`);
  } catch (error) {
    await storage.remove(file.path).catch((cause) =>
      log('error', 'could not remove a proof file whose record was refused', { path: file.path, error: String(cause) }));
    throw error;
  }
  await recordPhotoFacts(db, file.path, file.bytes);
}

/** Unbound files older than this were never submitted and will not be: they are swept. */
export const UNBOUND_FILE_LIFETIME = '1 day';
const SWEEP_BATCH = 100;

/** Removes up to a batch of unbound proof files older than a day, rows first; returns how many. */
export async function sweepUnboundProofFiles({ db, storage }: { db: Db; storage: ProofStorage }): Promise<number> {
  const swept = await db.asService((tx) => tx<{ path: string }[]>`
    select path from api.sweep_unbound_proof_files(${UNBOUND_FILE_LIFETIME}::interval, ${SWEEP_BATCH}) as path`);
  await removeProofFiles(storage, swept.map(({ path }) => path));
  return swept.length;
}

/**
 * Removes files whose records are already gone (swept, or discarded with a task handed back). A
 * file that cannot be removed is logged, not retried: nothing refers to it any more.
 */
export async function removeProofFiles(storage: ProofStorage | undefined, paths: string[]): Promise<void> {
  for (const path of paths) {
    await storage?.remove(path).catch((error) =>
      log('error', 'could not remove a proof file whose record is gone', { path, error: String(error) }));
  }
}
