/**
 * One verdict from two layers: the rule checks (always) and the model (when configured).
 * Confidence ≥ the approve threshold approves, ≥ the review threshold goes to the agent, below
 * disputes. Any failed check caps the confidence below approval, and so does any requirement not
 * judged met; without a model the Guardian never approves, and disputes only on a failed hard check.
 * The model's confidence never outranks a rule.
 */
import type { ModelJudgement, RuleCheck, Verdict } from './types.ts';

export interface Thresholds {
  approve: number;
  review: number;
}

/** The status the SQL function applies for a verdict's decision. */
export const OUTCOME = { APPROVE: 'APPROVE', MANUAL_REVIEW: 'MANUAL_REVIEW', REJECT: 'DISPUTED' } as const;

export function combineVerdict(
  checks: RuleCheck[],
  judgement: ModelJudgement | null,
  requirements: string[],
  thresholds: Thresholds,
  model: string | null,
): Verdict {
  const failures = checks.filter((c) => !c.passed && c.hard);
  const doubts = checks.filter((c) => !c.passed && !c.hard);
  let confidence: number;
  let reasoning: string;
  if (judgement?.refused) {
    confidence = thresholds.review;
    reasoning = judgement.reasoning;
  } else if (judgement) {
    confidence = judgement.confidence;
    reasoning = judgement.reasoning;
  } else {
    // Rules alone can refute proof but never confirm it.
    confidence = failures.length > 0 ? Math.max(0, thresholds.review - 30) : thresholds.review + Math.floor((thresholds.approve - thresholds.review) / 2);
    reasoning = 'Checked by rules only (no model configured); a person should confirm the proof.';
  }
  if (failures.length > 0) {
    confidence = Math.min(confidence, thresholds.approve - 1);
    reasoning = `${reasoning} Failed checks: ${failures.map((f) => f.note).join('; ')}.`;
  }
  if (doubts.length > 0) {
    confidence = Math.min(confidence, thresholds.approve - 1);
    reasoning = `${reasoning} For a person to check: ${doubts.map((f) => f.note).join('; ')}.`;
  }
  const requirementResults = judgement?.requirementResults
    ?? requirements.map((requirement) => ({ requirement, met: null, note: 'Not judged: no model configured' }));
  // An approval needs every requirement met. A confident verdict that finds a requirement unmet
  // contradicts itself, and one that could not check a requirement needs a person: both go to review.
  const unmet = requirementResults.filter((r) => r.met === false).length;
  const unchecked = requirementResults.filter((r) => r.met === null).length;
  if (confidence >= thresholds.approve && (unmet > 0 || unchecked > 0)) {
    confidence = thresholds.approve - 1;
    reasoning = unmet > 0
      ? `${reasoning} The verdict contradicts itself: ${unmet} requirement(s) judged not met, so it cannot approve.`
      : `${reasoning} ${unchecked} requirement(s) could not be checked from the evidence; a person should confirm them.`;
  }
  const decision = confidence >= thresholds.approve ? 'APPROVE' : confidence >= thresholds.review ? 'MANUAL_REVIEW' : 'REJECT';
  return {
    decision,
    confidence,
    reasoning,
    requirement_results: requirementResults,
    checks,
    model,
    verified_at: new Date().toISOString(),
  };
}
