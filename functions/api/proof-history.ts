/** The Guardian's memory of earlier proofs, in Postgres (api.record_proof_fingerprints). */
import type { PhotoFacts } from '../_shared/guardian/photos.ts';
import { type EarlierUse, type ProofHistory, SIMILAR_BITS, SIMILAR_WITHIN_KM } from '../_shared/guardian/reuse.ts';
import type { GuardianTask } from '../_shared/guardian/types.ts';
import type { Deps } from './context.ts';

export function proofHistory(deps: Deps): ProofHistory {
  return {
    async record(task: GuardianTask, photos: PhotoFacts[]): Promise<EarlierUse[]> {
      const fingerprints = photos.filter((p) => p.sha256).map((p) => ({ number: p.number, sha256: p.sha256, dhash: p.dhash }));
      if (fingerprints.length === 0) return [];
      const rows = await deps.db.asService((tx) => tx<{ photo_number: number; kind: EarlierUse['kind']; submitted_at: Date; bits: number | null }[]>`
        select photo_number, kind, submitted_at, bits
          from api.record_proof_fingerprints(${task.id}, ${tx.json(fingerprints as never)}, ${SIMILAR_BITS}, ${SIMILAR_WITHIN_KM})`);
      return rows.map((r) => ({ number: r.photo_number, kind: r.kind, submittedAt: r.submitted_at, bits: r.bits ?? undefined }));
    },
  };
}
