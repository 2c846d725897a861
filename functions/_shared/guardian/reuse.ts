/**
 * Photos submitted before, for another task. The same file (equal SHA-256) refutes the proof; a
 * near copy (difference hashes within SIMILAR_BITS of 64) of a proof near the same place goes to
 * review. Reasons name the earlier proof's date, never whose it was.
 */
import { day, findings, outcome, photo } from './outcome.ts';
import type { PhotoFacts } from './photos.ts';
import type { GuardianTask, RuleCheck } from './types.ts';

/** Copies that were resized or re-encoded stay within a few bits; unrelated photos differ in ~32. */
export const SIMILAR_BITS = 6;
/** "Near the same place": earlier proofs of tasks within this distance are compared. */
export const SIMILAR_WITHIN_KM = 1;

/** An earlier proof of another task that one of this proof's photos matches. */
export interface EarlierUse {
  /** The photo of this proof that matches. */
  number: number;
  kind: 'same_file' | 'similar';
  submittedAt: Date;
  /** Bits apart, for a similar photo. */
  bits?: number;
}

/** Where fingerprints of earlier proofs are kept (the database, or memory in unit tests). */
export interface ProofHistory {
  /** Records this proof's fingerprints and returns what its photos match among earlier proofs. */
  record(task: GuardianTask, photos: PhotoFacts[]): Promise<EarlierUse[]>;
}

export function reuseCheck(photos: PhotoFacts[], uses: EarlierUse[]): RuleCheck {
  const found = findings();
  for (const p of photos) {
    const same = uses.filter((u) => u.number === p.number && u.kind === 'same_file').sort((a, b) => +a.submittedAt - +b.submittedAt)[0];
    if (same) {
      found.refuting.push(`${photo(p.number)} is the same file as a proof submitted on ${day(same.submittedAt)} for another task`);
      continue;
    }
    const similar = uses.filter((u) => u.number === p.number && u.kind === 'similar').sort((a, b) => (a.bits ?? 0) - (b.bits ?? 0))[0];
    if (similar) {
      found.doubtful.push(`${photo(p.number)} looks like a copy of a photo submitted on ${day(similar.submittedAt)} for another task near the same place`);
    }
  }
  return outcome('photo_reuse', found, `None of the ${photos.length} photo(s) was submitted before for another task`);
}
