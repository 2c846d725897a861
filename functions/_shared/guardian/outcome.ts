/** Turns what one check found, photo by photo, into its RuleCheck. */
import type { RuleCheck } from './types.ts';

export interface Findings {
  /** Findings that refute the proof. */
  refuting: string[];
  /** Findings that only keep it from being approved without a person. */
  doubtful: string[];
}

export const findings = (): Findings => ({ refuting: [], doubtful: [] });

export function outcome(check: string, found: Findings, passNote: string): RuleCheck {
  if (found.refuting.length > 0) return { check, passed: false, hard: true, note: [...found.refuting, ...found.doubtful].join('; ') };
  if (found.doubtful.length > 0) return { check, passed: false, hard: false, note: found.doubtful.join('; ') };
  return { check, passed: true, hard: false, note: passNote };
}

/** "Photo 2" in notes: the operator numbers photos the way they submitted them. */
export const photo = (number: number) => `Photo ${number}`;

export const day = (at: Date) => at.toISOString().slice(0, 10);
