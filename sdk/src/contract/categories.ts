/**
 * The task types the platform offers and what each implies: its domain, its credential tier,
 * the reward cap, the proof it takes by default and which proofs it accepts. One source for the
 * API's validation and, later, the SDK's and MCP server's defaults.
 */
export const PHYSICAL_TASK_TYPES = ['VERIFICATION', 'PHOTO', 'DELIVERY', 'INSPECTION'] as const;
/** Remote digital work (tier 1). */
export const DIGITAL_CATEGORIES = ['CAPTCHA_SOLVING', 'FORM_FILLING', 'BROWSER_INTERACTION', 'CONTENT_REVIEW', 'DATA_VALIDATION'] as const;
/** Credential delivery, end-to-end encrypted (tier 2). */
export const CREDENTIAL_CATEGORIES = ['ACCOUNT_CREATION', 'API_KEY_PROCUREMENT', 'PHONE_VERIFICATION', 'SUBSCRIPTION_SETUP'] as const;
export type PhysicalTaskType = (typeof PHYSICAL_TASK_TYPES)[number];
export type DigitalCategory = (typeof DIGITAL_CATEGORIES)[number];
export type CredentialCategory = (typeof CREDENTIAL_CATEGORIES)[number];

export const TASK_TYPES = [...PHYSICAL_TASK_TYPES, ...DIGITAL_CATEGORIES, ...CREDENTIAL_CATEGORIES] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const PROOF_TYPES = ['PHOTO', 'SCREENSHOT', 'CONFIRMATION', 'ARTIFACT'] as const;
export type ProofType = (typeof PROOF_TYPES)[number];

export const TASK_DOMAINS = ['PHYSICAL', 'DIGITAL'] as const;
export type TaskDomain = (typeof TASK_DOMAINS)[number];

export const TASK_STATUSES = [
  'PENDING_APPROVAL', 'PENDING', 'ACCEPTED', 'IN_PROGRESS', 'SUBMITTED', 'VERIFIED', 'MANUAL_REVIEW',
  'COMPLETED', 'DISPUTED', 'CANCELLED', 'EXPIRED',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface Category {
  domain: TaskDomain;
  /** 0: physical; 1: remote digital work; 2: credential delivery, end-to-end encrypted. */
  tier: 0 | 1 | 2;
  description: string;
  estimatedMinutes: number | null;
  maxRewardCents: number;
  defaultProofType: ProofType;
  proofTypes: readonly ProofType[];
  /** The requirements for the default proof type. */
  defaultProofRequirements: readonly string[];
  /** The default requirements for each proof type the category takes, worded for that proof. */
  requirementsByProofType: Partial<Record<ProofType, readonly string[]>>;
}

/** The platform-wide reward limits: $10 to $10,000 per task. */
export const MIN_REWARD_CENTS = 10_00;
export const MAX_REWARD_CENTS = 10_000_00;

const physical = (description: string, requirement: string): Category & { tier: 0 } => ({
  domain: 'PHYSICAL', tier: 0, description, estimatedMinutes: null, maxRewardCents: MAX_REWARD_CENTS,
  defaultProofType: 'PHOTO', proofTypes: ['PHOTO'], defaultProofRequirements: [requirement],
  requirementsByProofType: { PHOTO: [requirement] },
});

/** A digital category's default requirement per proof type: a screenshot, a written confirmation, or the deliverable. */
interface DigitalRequirements {
  SCREENSHOT: string;
  CONFIRMATION: string;
  ARTIFACT: string;
}

const digital = (
  description: string, estimatedMinutes: number, maxUsd: number, defaultProofType: ProofType, requirements: DigitalRequirements,
): Category & { tier: 1 } => ({
  domain: 'DIGITAL', tier: 1, description, estimatedMinutes, maxRewardCents: maxUsd * 100,
  defaultProofType, proofTypes: ['SCREENSHOT', 'CONFIRMATION', 'ARTIFACT'],
  defaultProofRequirements: [requirements[defaultProofType as keyof DigitalRequirements]],
  requirementsByProofType: { SCREENSHOT: [requirements.SCREENSHOT], CONFIRMATION: [requirements.CONFIRMATION], ARTIFACT: [requirements.ARTIFACT] },
});

const credential = (description: string, estimatedMinutes: number, maxUsd: number): Category & { tier: 2 } => ({
  domain: 'DIGITAL', tier: 2, description, estimatedMinutes, maxRewardCents: maxUsd * 100,
  defaultProofType: 'ARTIFACT', proofTypes: ['ARTIFACT'],
  defaultProofRequirements: ['Credential delivered via encrypted channel'],
  requirementsByProofType: { ARTIFACT: ['Credential delivered via encrypted channel'] },
});

/** Each list above maps to categories of its own tier, so the lists and the table cannot disagree. */
export const CATEGORIES: Record<PhysicalTaskType, Category & { tier: 0 }>
  & Record<DigitalCategory, Category & { tier: 1 }>
  & Record<CredentialCategory, Category & { tier: 2 }> = {
  VERIFICATION: physical('Verify that something exists or is as described at a place', 'Photo of the subject at the location'),
  PHOTO: physical('Take photos at a place', 'Clear photo of the subject'),
  DELIVERY: physical('Pick up or deliver an item', 'Photo of the delivered item at the destination'),
  INSPECTION: physical('Inspect a site or an object and report', 'Photos of the inspected items'),
  CAPTCHA_SOLVING: digital('Solve CAPTCHAs and visual challenges that AI cannot handle', 15, 10, 'SCREENSHOT', {
    SCREENSHOT: 'Screenshot of the completed CAPTCHA', CONFIRMATION: 'Confirmation that the CAPTCHA was solved and what followed', ARTIFACT: 'The CAPTCHA solution',
  }),
  FORM_FILLING: digital('Fill out web forms, applications, or registration flows', 60, 50, 'SCREENSHOT', {
    SCREENSHOT: 'Screenshot of the submitted form', CONFIRMATION: 'Confirmation of the submitted form (its reference number or confirmation page link)', ARTIFACT: 'The submitted form\'s confirmation',
  }),
  BROWSER_INTERACTION: digital('Perform browser-based interactions requiring human judgment', 60, 100, 'SCREENSHOT', {
    SCREENSHOT: 'Screenshot of the final state', CONFIRMATION: 'Description of the final state, with its URL', ARTIFACT: 'The result of the interaction',
  }),
  CONTENT_REVIEW: digital('Review and assess content for quality, accuracy, or compliance', 120, 25, 'CONFIRMATION', {
    SCREENSHOT: 'Screenshot of the reviewed content with the findings marked', CONFIRMATION: 'Written assessment of the content', ARTIFACT: 'The written assessment',
  }),
  DATA_VALIDATION: digital('Validate data accuracy by cross-referencing real-world sources', 120, 50, 'CONFIRMATION', {
    SCREENSHOT: 'Screenshot of the sources checked', CONFIRMATION: 'Validation result with sources', ARTIFACT: 'The validated data with sources',
  }),
  ACCOUNT_CREATION: credential('Create accounts on third-party services', 60, 100),
  API_KEY_PROCUREMENT: credential('Sign up and retrieve API keys from services', 120, 200),
  PHONE_VERIFICATION: credential('Receive SMS codes and verify phone numbers', 30, 25),
  SUBSCRIPTION_SETUP: credential('Configure paid service subscriptions', 120, 500),
};

/**
 * The default proof requirements of a task type for the proof it will take (the category's default
 * proof type when none is given): a CONFIRMATION task is never asked for a screenshot.
 */
export function defaultRequirements(taskType: TaskType, proofType?: ProofType): string[] {
  const category = CATEGORIES[taskType];
  return [...(category.requirementsByProofType[proofType ?? category.defaultProofType] ?? category.defaultProofRequirements)];
}
