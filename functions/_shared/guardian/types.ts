/** What the Guardian looks at and what it concludes. */

export interface GuardianTask {
  id: string;
  title: string;
  description: string;
  taskType: string;
  taskDomain: 'PHYSICAL' | 'DIGITAL';
  proofType: 'PHOTO' | 'SCREENSHOT' | 'CONFIRMATION' | 'ARTIFACT';
  proofRequirements: string[];
  digitalInstructions: string | null;
  location: { lat: number; lng: number; address: string | null } | null;
  /** The radius the agent asked for (metres), when it did: photos farther away go to review. */
  maxDistanceM: number | null;
  acceptedAt: Date | null;
  submittedAt: Date;
  proof: {
    photos: string[];
    notes: string | null;
    confirmationText: string | null;
    referenceUrl: string | null;
    hasArtifact: boolean;
  };
  /**
   * The task's thread between its agent and the holder (and the public answers), oldest first:
   * context for what was agreed, read as data and never as instructions.
   */
  thread?: { from: 'agent' | 'operator'; text: string }[];
  /**
   * Why earlier proof for this task was not accepted, when this is the operator's resubmission
   * (untrusted text, the agent's or an earlier verdict's: the model sees it fenced).
   */
  earlierRejections?: { by: string; reason: string }[];
}

/** One proof image as found in storage: `bytes` null when the file is missing. */
export interface ProofImage {
  path: string;
  bytes: Uint8Array | null;
  contentType: string | null;
  /** The file's size, kept once `bytes` are let go. */
  size?: number;
  /** A short-lived signed URL the model fetches the image from, instead of its bytes inline. */
  url?: string;
}

/**
 * A rule check's outcome. A failed hard check refutes the proof (rules alone dispute it, and it caps
 * any model below approval); a failed check that is not hard only keeps the proof from being
 * approved automatically, so it goes to the agent's review.
 */
export interface RuleCheck {
  check: string;
  passed: boolean;
  hard: boolean;
  note: string;
}

export interface RequirementResult {
  requirement: string;
  met: boolean | null;
  note: string;
}

/** The model's judgement, validated. */
export interface ModelJudgement {
  confidence: number;
  reasoning: string;
  requirementResults: RequirementResult[];
  /** The model declined to judge (a refusal): the proof needs a human. */
  refused?: boolean;
}

/** Stored as tasks.guardian_result and sent in webhooks. */
export interface Verdict {
  decision: 'APPROVE' | 'MANUAL_REVIEW' | 'REJECT';
  confidence: number;
  reasoning: string;
  requirement_results: RequirementResult[];
  checks: RuleCheck[];
  model: string | null;
  verified_at: string;
}
