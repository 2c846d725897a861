/**
 * Request schemas: the one definition of what the API accepts (and, later, what the SDK's types
 * are made from). Messages read after the field name: "reward_usd: must be at least $10.00".
 */
import { z } from 'zod';
import {
  CATEGORIES, MAX_REWARD_CENTS, MIN_REWARD_CENTS, PROOF_TYPES, TASK_DOMAINS, TASK_STATUSES, TASK_TYPES, type TaskType,
} from './categories.ts';
import { documented } from './documented.ts';
import { formatUsd, usdToCents } from './money.ts';


/** A message for a present but wrong value; a missing one still reads "is required". */
const unlessMissing = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : message);

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

/** What a USD amount given as a string looks like (usdToCents reads it, trimmed). */
const USD_DECIMAL = '^\\d{1,12}(\\.\\d{1,2})?$';

/**
 * A USD amount (JSON number or decimal string) with at most two decimals, as integer cents. The
 * document gives the bounds for numbers and the decimal pattern for strings; `multipleOf: 0.01`
 * is left out on purpose, because JSON Schema validators divide in floating point and would refuse
 * amounts such as 0.29.
 */
export const usdAmount = (minCents: number, maxCents: number) => documented(
  z
    .union([z.number(), z.string()], { error: unlessMissing('must be a USD amount, e.g. 25 or "25.50"') })
    .transform((value, ctx) => {
      const cents = usdToCents(value);
      if (cents === null) {
        ctx.addIssue({ code: 'custom', message: 'must be a USD amount with at most 2 decimal places' });
        return z.NEVER;
      }
      if (cents < minCents) ctx.addIssue({ code: 'custom', message: `must be at least ${formatUsd(minCents)}` });
      if (cents > maxCents) ctx.addIssue({ code: 'custom', message: `must be at most ${formatUsd(maxCents)}` });
      return cents;
    }),
  {
    type: undefined,
    anyOf: [{ type: 'number', minimum: minCents / 100, maximum: maxCents / 100 }, { type: 'string', pattern: USD_DECIMAL }],
    description: `US dollars from ${formatUsd(minCents)} to ${formatUsd(maxCents)} with at most two decimals, as a JSON number or a decimal string ("25.50")`,
  },
);

export const RegisterAgentSchema = z.strictObject({
  name: text(100),
  email: z.email({ error: unlessMissing('must be an email address') }).max(320, 'must be at most 320 characters'),
  company: text(200).optional(),
});

/** What a key may do: `owner` manages keys and policies and approves tasks, `agent` posts and manages tasks, `read` reads. */
export const KEY_SCOPES = ['owner', 'agent', 'read'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

export const CreateKeySchema = z.strictObject({
  name: text(100).optional(),
  /** Default: the scopes of the key that creates it. Never more than that key holds. */
  scopes: z
    .array(z.enum(KEY_SCOPES, 'must be owner, agent or read'))
    .min(1, 'must list at least one scope')
    .max(3)
    .transform((scopes) => [...new Set(scopes)])
    .optional(),
  expires_at: documented(
    z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-02-10T00:00:00Z' })
      .refine((at) => Date.parse(at) > Date.now(), 'must be in the future'),
    { description: 'When the key stops working; must be in the future (400 otherwise)' },
  ).optional(),
});

export const UsdcDepositSchema = z.strictObject({
  tx_hash: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, { error: unlessMissing('must be a 0x-prefixed 32-byte hex transaction hash') })
    .transform((h) => h.toLowerCase()),
  amount_usdc: usdAmount(5_00, 10_000_00),
});

export const FiatDepositSchema = z.strictObject({
  amount_usd: usdAmount(5_00, 10_000_00),
  payment_method: z.enum(['card', 'bank_transfer'], { error: unlessMissing('must be "card" or "bank_transfer"') }),
  return_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048).optional(),
});

/** A signed-in person redeems an owner's one-time link code. */
export const LinkOwnerSchema = z.strictObject({
  code: z.string({ error: unlessMissing('must be a string') }).trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
});

/** Actions that take no input (cancel): a body, if any, must be an empty object. */
export const NoInputSchema = z.strictObject({});

export const DepositStatusSchema = z.strictObject({
  payment_id: text(100),
});

export const LocationSchema = z.strictObject({
  lat: z.number().min(-90, 'must be between -90 and 90').max(90, 'must be between -90 and 90'),
  lng: z.number().min(-180, 'must be between -180 and 180').max(180, 'must be between -180 and 180'),
  address: text(500).optional(),
});

/** Where digital tasks are when the agent gives no location. */
export const REMOTE_ADDRESS = 'Remote/Digital';

const MAX_DEADLINE_DAYS = 365;

/**
 * The tightest and the widest radius an agent may ask the Guardian to hold a photo to (metres):
 * under 10 m is below what a phone's GPS can promise; 50 km is a city and its suburbs.
 */
export const MIN_DISTANCE_M = 10;
export const MAX_DISTANCE_M = 50_000;
const DISTANCE_BOUNDS = `must be a whole number of metres from ${MIN_DISTANCE_M} to ${MAX_DISTANCE_M.toLocaleString('en-US')}`;
const oneOf = (values: readonly string[]) => values.join(', ').replace(/, ([^,]*)$/, ' or $1');

/**
 * `field` needs `other`, as `if … then` (draft 7 validators such as Prism's ignore 2019's
 * `dependentRequired`). The `true` properties are for linters that look for required names there.
 */
const needs = (field: string, other: string) => ({
  if: { properties: { [field]: true }, required: [field] },
  then: { properties: { [other]: true }, required: [other] },
});

/**
 * The rules of CreateTaskSchema's refinement that JSON Schema can state, one `if task_type … then`
 * per set of task types that share them: the category's reward cap, domain and proof types; a
 * location with an address for physical tasks, and no digital instructions; an agent public key
 * for credential tasks, and only for them.
 */
function categoryRules() {
  const byRule = new Map<string, TaskType[]>();
  for (const type of TASK_TYPES) {
    const category = CATEGORIES[type];
    const physical = category.domain === 'PHYSICAL';
    const rule = {
      properties: {
        reward_usd: { maximum: category.maxRewardCents / 100 },
        task_domain: { const: category.domain },
        proof_type: { enum: [...category.proofTypes] },
        // `true` (anything) beside a name the `then` requires: linters look for it among the properties there.
        ...(physical
          ? { location: { properties: { address: true }, required: ['address'] }, digital_instructions: false }
          : { max_distance_m: false }),
        ...(category.tier === 2 ? { agent_public_key: true } : { agent_public_key: false }),
      },
    };
    const required = [...(physical ? ['location'] : []), ...(category.tier === 2 ? ['agent_public_key'] : [])];
    if (required.length) Object.assign(rule, { required });
    const key = JSON.stringify(rule);
    byRule.set(key, [...(byRule.get(key) ?? []), type]);
  }
  return [...byRule].map(([rule, types]) => ({
    if: { properties: { task_type: types.length === 1 ? { const: types[0] } : { enum: types } }, required: ['task_type'] },
    then: JSON.parse(rule),
  }));
}

export const CreateTaskSchema = documented(z
  .strictObject({
    title: text(200),
    description: text(5000),
    location: LocationSchema.optional(),
    reward_usd: usdAmount(MIN_REWARD_CENTS, MAX_REWARD_CENTS),
    deadline: documented(
      z.iso.datetime({ offset: true, error: unlessMissing('must be an ISO 8601 date-time with a time zone, e.g. 2026-02-10T00:00:00Z') }),
      { description: `In the future, and within ${MAX_DEADLINE_DAYS} days (400 otherwise)` },
    ),
    proof_requirements: z
      .array(text(500))
      .min(1, 'must list at least one requirement')
      .max(20, 'must list at most 20 requirements'),
    task_type: z.enum(TASK_TYPES, { error: unlessMissing(`must be one of ${oneOf(TASK_TYPES)}`) }),
    task_domain: z.enum(TASK_DOMAINS, 'must be PHYSICAL or DIGITAL').optional(),
    proof_type: z.enum(PROOF_TYPES, `must be one of ${oneOf(PROOF_TYPES)}`).optional(),
    digital_instructions: z.string().max(10_000, 'must be at most 10,000 characters').optional(),
    callback_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048, 'must be at most 2048 characters').optional(),
    callback_secret: z.string().min(16, 'must be at least 16 characters').max(256, 'must be at most 256 characters').optional(),
    agent_public_key: z.string().max(1024, 'must be at most 1024 characters').optional(),
    max_distance_m: documented(
      z.number({ error: DISTANCE_BOUNDS }).int(DISTANCE_BOUNDS).min(MIN_DISTANCE_M, DISTANCE_BOUNDS).max(MAX_DISTANCE_M, DISTANCE_BOUNDS),
      {
        description: "Physical tasks: how far from the location, in metres, a photo may be taken for the Guardian to approve it (the Guardian's own " +
          'radius applies when it is smaller); a photo farther away goes to your review',
      },
    ).optional(),
  })
  .superRefine((task, ctx) => {
    const category = CATEGORIES[task.task_type];
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });

    if (task.reward_usd > category.maxRewardCents) {
      issue('reward_usd', `must be at most ${formatUsd(category.maxRewardCents)} for ${task.task_type} tasks`);
    }
    const deadline = Date.parse(task.deadline);
    if (deadline <= Date.now()) issue('deadline', 'must be in the future');
    if (deadline > Date.now() + MAX_DEADLINE_DAYS * 86_400_000) issue('deadline', `must be within ${MAX_DEADLINE_DAYS} days`);
    if (task.task_domain && task.task_domain !== category.domain) {
      issue('task_domain', `${task.task_type} tasks are ${category.domain}`);
    }
    if (task.proof_type && !category.proofTypes.includes(task.proof_type)) {
      issue('proof_type', `${task.task_type} tasks take ${oneOf(category.proofTypes)} proof`);
    }
    if (category.domain === 'PHYSICAL') {
      if (!task.location) issue('location', 'is required for physical tasks');
      else if (!task.location.address) issue('location.address', 'is required for physical tasks');
      if (task.digital_instructions !== undefined) issue('digital_instructions', 'only applies to digital tasks');
    } else if (task.max_distance_m !== undefined) {
      issue('max_distance_m', 'only applies to physical tasks');
    }
    if (category.tier === 2 && !task.agent_public_key) {
      issue('agent_public_key', 'is required for credential tasks');
    }
    if (category.tier !== 2 && task.agent_public_key !== undefined) {
      issue('agent_public_key', 'only applies to credential tasks');
    }
    if (task.callback_secret !== undefined && task.callback_url === undefined) {
      issue('callback_secret', 'needs a callback_url');
    }
  }), { allOf: [...categoryRules(), needs('callback_secret', 'callback_url')] });

export type CreateTaskInput = z.input<typeof CreateTaskSchema>;
export type CreateTask = z.output<typeof CreateTaskSchema>;

/**
 * Numbers in query strings are plain decimals: an empty value (`lat=`), hex (`0x10`), exponents,
 * `Infinity` and padding are refused rather than coerced the way `Number()` would read them.
 */
const DECIMAL = /^-?\d{1,15}(\.\d{1,15})?$/;
const queryNumber = (schema: z.ZodNumber) => {
  // Described as the number it becomes, with its bounds, not as the string it is read from.
  const { $schema: _dialect, ...number } = z.toJSONSchema(schema) as Record<string, unknown>;
  return documented(z.string().regex(DECIMAL, 'must be a number').transform(Number).pipe(schema), { ...number, pattern: undefined });
};
const queryInteger = (schema: z.ZodNumber) => queryNumber(schema.int('must be an integer'));
const queryLimit = documented(queryInteger(z.number().min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100')).default(20), { default: 20 });
const queryOffset = documented(queryInteger(z.number().min(0, 'must not be negative').max(1_000_000, 'must be at most 1000000')).default(0), { default: 0 });

/** An opaque keyset cursor: `pagination.next_cursor` of the previous page. */
const cursor = z.string().regex(/^[A-Za-z0-9_-]{1,512}$/, 'must be the next_cursor of a previous page').optional();

const offsetOrCursor = <T extends { offset: number; cursor?: string }>(q: T) => q.cursor === undefined || q.offset === 0;
const OFFSET_WITH_CURSOR = { message: 'cannot be combined with cursor', path: ['offset'] };

export const ListTasksQuery = z
  .strictObject({
    status: z.enum(TASK_STATUSES, `must be one of ${oneOf(TASK_STATUSES)}`).optional(),
    limit: queryLimit,
    offset: queryOffset,
    cursor,
  })
  .refine(offsetOrCursor, OFFSET_WITH_CURSOR);

/** Spend per day: how many UTC days back, today included. */
export const SpendQuery = z.strictObject({
  days: documented(queryInteger(z.number().min(1, 'must be between 1 and 90').max(90, 'must be between 1 and 90')).default(30), { default: 30 }),
});

/** Ids in paths: prefixed, URL-safe, short. Anything else cannot name a row and is a 404. */
export const ID_PATTERN = /^[a-z]{2,8}_[A-Za-z0-9]{1,64}$/;

// ---------------------------------------------------------------------------------------------
// The operator side.

const latitude = z.number().min(-90, 'must be between -90 and 90').max(90, 'must be between -90 and 90');
const longitude = z.number().min(-180, 'must be between -180 and 180').max(180, 'must be between -180 and 180');

/** Where an operator lives: a city and country, and (for being found near it) coarse coordinates. */
const homeArea = documented(z
  .strictObject({
    city: text(100),
    country: z.string().regex(/^[A-Za-z]{2}$/, { error: unlessMissing('must be a two-letter country code, e.g. US') }).transform((c) => c.toUpperCase()),
    lat: latitude.optional(),
    lng: longitude.optional(),
  })
  .refine((l) => (l.lat === undefined) === (l.lng === undefined), { message: 'lat and lng come together', path: ['lat'] }),
{ allOf: [needs('lat', 'lng'), needs('lng', 'lat')] });

const operatorPhone = z.string().regex(/^\+?[0-9][0-9 ()-]{4,30}$/, 'must be a phone number, e.g. +1234567890');
const operatorSkills = z
  .array(z.enum(TASK_TYPES, `must be one of ${oneOf(TASK_TYPES)}`))
  .max(TASK_TYPES.length)
  .transform((skills) => [...new Set(skills)]);
const travelRadius = documented(
  z.number().int('must be a whole number of kilometres').min(1, 'must be between 1 and 500').max(500, 'must be between 1 and 500'),
  { description: 'How far from home (km) you will go for a task; agents searching farther away do not find you' },
);

export const RegisterOperatorSchema = z.strictObject({
  name: text(100),
  email: z.email({ error: unlessMissing('must be an email address') }).max(320, 'must be at most 320 characters'),
  phone: operatorPhone.optional(),
  location: homeArea,
  skills: operatorSkills.default([]),
  travel_radius_km: travelRadius.optional(),
});

/**
 * PATCH /operator/me: what is given replaces that part of the profile; `location` replaces the whole
 * home area (coordinates left out are cleared); null clears the phone or the travel radius.
 */
export const UpdateOperatorSchema = z
  .strictObject({
    name: text(100).optional(),
    phone: operatorPhone.nullable().optional(),
    location: homeArea.optional(),
    skills: operatorSkills.optional(),
    travel_radius_km: travelRadius.nullable().optional(),
  })
  .refine((changes) => Object.keys(changes).length > 0, 'must change at least one of name, phone, location, skills, travel_radius_km');

export const KycDecisionSchema = z.strictObject({
  status: z.enum(['VERIFIED', 'REJECTED'], { error: unlessMissing('must be VERIFIED or REJECTED') }),
});

export const OperatorTasksQuery = z
  .strictObject({
    task_type: z.enum(TASK_TYPES, `must be one of ${oneOf(TASK_TYPES)}`).optional(),
    limit: queryLimit,
    offset: queryOffset,
    lat: queryNumber(latitude).optional(),
    lng: queryNumber(longitude).optional(),
    radius_km: queryNumber(z.number().gt(0, 'must be more than 0').max(20_000, 'must be at most 20000')).optional(),
    task_domain: z.enum(TASK_DOMAINS, `must be one of ${oneOf(TASK_DOMAINS)}`).optional(),
    min_reward_usd: queryNumber(z.number().min(0, 'must not be negative').max(10_000, 'must be at most 10000')).optional(),
    cursor,
  })
  .refine(offsetOrCursor, OFFSET_WITH_CURSOR)
  .refine((q) => (q.lat === undefined) === (q.lng === undefined), { message: 'lat and lng come together', path: ['lat'] })
  .refine((q) => q.radius_km === undefined || q.lat !== undefined, { message: 'needs lat and lng', path: ['radius_km'] });

/** GET /operator/my-tasks: the operator's own tasks, optionally of one status. */
export const MyTasksQuery = z
  .strictObject({
    status: z.enum(TASK_STATUSES, `must be one of ${oneOf(TASK_STATUSES)}`).optional(),
    limit: queryLimit,
    offset: queryOffset,
    cursor,
  })
  .refine(offsetOrCursor, OFFSET_WITH_CURSOR);

/** GET /operator/payouts: the operator's payouts, newest first. */
export const PayoutsQuery = z
  .strictObject({ limit: queryLimit, offset: queryOffset, cursor })
  .refine(offsetOrCursor, OFFSET_WITH_CURSOR);

/** The encrypted credential a Tier 2 task delivers (ECDH-P256-AES-256-GCM); never plaintext. */
export const EncryptedArtifactSchema = z.strictObject({
  ciphertext: documented(
    z.base64('must be base64').max(200_000, 'must be at most 200000 characters').refine((v) => atob(v).length >= 16, 'must hold at least the 16-byte AES-GCM tag'),
    { description: 'At least 16 bytes: the AES-GCM ciphertext with its tag' },
  ),
  iv: documented(
    z.base64('must be base64').refine((v) => atob(v).length === 12, 'must be 12 bytes (a 96-bit AES-GCM IV)'),
    { description: '12 bytes (a 96-bit AES-GCM IV)' },
  ),
  ephemeralPublicKey: documented(
    z.base64('must be base64').refine((v) => atob(v).length === 65 && atob(v).charCodeAt(0) === 4, 'must be a raw uncompressed P-256 point (65 bytes)'),
    { description: 'A raw uncompressed P-256 point (65 bytes, starting with 0x04)' },
  ),
  algorithm: z.literal('ECDH-P256-AES-256-GCM', 'must be ECDH-P256-AES-256-GCM'),
  createdAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }),
});

export const SubmitProofSchema = z.strictObject({
  photos: z.array(z.string().min(1, 'must not be empty').max(2048, 'must be at most 2048 characters')).max(20, 'must list at most 20 photos').default([]),
  notes: z.string().max(5000, 'must be at most 5000 characters').optional(),
  confirmation_text: z.string().trim().min(1, 'must not be empty').max(10_000, 'must be at most 10,000 characters').optional(),
  reference_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048).optional(),
  artifact: EncryptedArtifactSchema.optional(),
});

export const PayoutSchema = z.strictObject({
  amount_usd: usdAmount(10_00, 10_000_00),
  payoneer_payee_id: text(200).optional(),
});

export const PayoutAddressSchema = z.strictObject({
  address: documented(z.string({ error: unlessMissing('must be a 0x address') }).regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address of 40 hex digits'),
    { description: 'Your Base address (EIP-55 checksummed or all one case)' }),
  signature: documented(z.string({ error: unlessMissing('must be a hex signature') }).regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature: 0x and 130 hex digits'),
    { description: "The address's personal_sign (EIP-191) signature of the challenge's message" }),
});

export const RateTaskSchema = z.strictObject({
  rating: z.number({ error: unlessMissing('must be a whole number from 1 to 5') }).int('must be a whole number from 1 to 5').min(1, 'must be a whole number from 1 to 5').max(5, 'must be a whole number from 1 to 5'),
  comment: z.string().max(1000, 'must be at most 1000 characters').optional(),
});

/**
 * A message in a task's thread: plain text, at most 2,000 characters, no control characters but line
 * breaks and tabs. It reaches the other side as untrusted data, never as markup or instructions.
 */
const messageText = () => text(2000).refine((v) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(v), 'must be plain text (no control characters)');

export const OperatorMessageSchema = z.strictObject({ text: messageText() });

export const AgentMessageSchema = z.strictObject({
  text: messageText(),
  reply_to: z.string().regex(ID_PATTERN, 'must be the message_id of an operator\'s question').optional()
    .describe("The operator's question this answers (its message_id); without it, the message goes to the holder, or with visibility public to everyone"),
  visibility: z.enum(['asker', 'public'], 'must be asker or public').default('asker')
    .describe('asker: only the operator in this conversation sees it; public: every operator who looks at the task sees it and the question it answers'),
});

const base64urlBytes = (length: number, what: string) =>
  z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/, `must be base64url (${what})`)
    .refine((v) => Math.floor((v.replace(/=+$/, '').length * 3) / 4) === length, `must be ${length} bytes (${what})`);

/** A browser's push subscription, as PushSubscription.toJSON() gives it. */
export const PushSubscriptionSchema = z.object({
  endpoint: z.string().max(2048, 'must be at most 2048 characters').describe("The push service's URL for this browser (https, on a browser push service)"),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    p256dh: base64urlBytes(65, 'a P-256 public key, uncompressed'),
    auth: base64urlBytes(16, 'the auth secret'),
  }),
});

export const PushSubscriptionQuery = z.strictObject({
  endpoint: z.string().min(1, 'must not be empty').max(2048, 'must be at most 2048 characters').describe('The endpoint of the subscription to remove'),
});

/** What an operator is alerted about; absent fields stay as they are. */
export const PushPreferencesSchema = z.strictObject({
  new_tasks: z.boolean().optional().describe('New physical tasks near your home area that match your skills'),
  radius_km: z.number().gt(0, 'must be more than 0').max(200, 'must be at most 200').nullable().optional()
    .describe('How far from your home area, in km; null: your travel radius (else 10 km)'),
  min_reward_usd: z.number().min(0, 'must not be negative').max(10_000, 'must be at most 10000').optional(),
  outcomes: z.boolean().optional().describe('The outcome of your submissions, and of your USDC payouts once the chain settles them'),
  messages: z.boolean().optional().describe("The requester's answers to you"),
});

export const OperatorSearchQuery = z.strictObject({
  lat: queryNumber(latitude),
  lng: queryNumber(longitude),
  radius_km: documented(queryNumber(z.number().gt(0, 'must be more than 0').max(500, 'must be at most 500')).default(25), { default: 25 }),
  task_type: z.enum(TASK_TYPES, `must be one of ${oneOf(TASK_TYPES)}`).optional(),
  min_rating: queryNumber(z.number().min(1, 'must be between 1 and 5').max(5, 'must be between 1 and 5')).optional(),
  limit: queryLimit,
});

// ---------------------------------------------------------------------------------------------
// Review, disputes and the sandbox.

export const VerifyTaskSchema = documented(z
  .strictObject({
    decision: z.enum(['APPROVE', 'REJECT'], { error: unlessMissing('must be APPROVE or REJECT') }),
    /** Why the proof falls short, in words the operator can act on: required to reject. */
    reason: text(1000).optional(),
  })
  .refine((r) => r.decision !== 'REJECT' || r.reason !== undefined, {
    message: 'is required to reject: say what the proof is missing, the operator reads it',
    path: ['reason'],
  }), {
  if: { properties: { decision: { const: 'REJECT' } }, required: ['decision'] },
  then: { properties: { reason: true }, required: ['reason'] },
});

/** The operator's one appeal of a rejection that stands after resubmitting. */
export const AppealSchema = z.strictObject({
  note: text(2000),
});

export const ResolveDisputeSchema = documented(z
  .strictObject({
    resolution: z.enum(['refund', 'pay', 'split'], { error: unlessMissing('must be refund, pay or split') }),
    operator_usd: usdAmount(1, MAX_REWARD_CENTS).optional(),
    note: z.string().max(2000, 'must be at most 2000 characters').optional(),
  })
  .refine((r) => (r.resolution === 'split') === (r.operator_usd !== undefined), {
    message: 'is required for a split, and only for a split',
    path: ['operator_usd'],
  }), {
  if: { properties: { resolution: { const: 'split' } }, required: ['resolution'] },
  then: { properties: { operator_usd: true }, required: ['operator_usd'] },
  else: { properties: { operator_usd: false } },
});

export const SimulateSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('accept') }),
  z.strictObject({
    action: z.literal('submit'),
    /** A forced Guardian verdict; without one the real Guardian judges the sandbox proof. */
    verdict: z
      .strictObject({
        decision: z.enum(['APPROVE', 'MANUAL_REVIEW', 'REJECT'], 'must be APPROVE, MANUAL_REVIEW or REJECT'),
        confidence: z.number().int('must be an integer').min(0, 'must be between 0 and 100').max(100, 'must be between 0 and 100'),
      })
      .optional(),
  }),
  z.strictObject({ action: z.literal('expire') }),
  z.strictObject({
    action: z.literal('fail_webhooks'),
    count: z.number().int('must be an integer').min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100').default(1),
  }),
], { error: unlessMissing('must be one of accept, submit, expire or fail_webhooks') });

/** The query of a signed proof file URL (the local storage backend hands these out). */
export const SignedUrlQuery = z.object({
  expires: z.string().describe('Unix seconds after which the URL stops working'),
  signature: z.string().describe('HMAC of the path and expiry'),
});

// ---------------------------------------------------------------------------------------------
// Owner controls: spending policies.

/** What `allowed_task_types` may list: task types, and the domains that stand for all of theirs. */
export const POLICY_TASK_FILTERS = [...TASK_TYPES, ...TASK_DOMAINS] as const;

/** A region physical tasks may lie in: a circle around a point, or a country (ISO 3166-1 alpha-2). */
export const PolicyRegionSchema = z.union([
  z.strictObject({
    lat: latitude,
    lng: longitude,
    radius_km: z.number().gt(0, 'must be more than 0').max(20_000, 'must be at most 20000'),
  }),
  z.strictObject({
    country: z.string().regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code, e.g. US').transform((c) => c.toUpperCase()),
  }),
], { error: 'must be {"lat", "lng", "radius_km"} or {"country"}' });

const MAX_BUDGET_CENTS = 100_000_000_00;

/**
 * `PUT /agents/policy` and `PUT /agents/keys/:id/policy`: every field optional (an absent field
 * keeps its value), null removes that limit. Budgets count reward + fee.
 */
export const SpendingPolicySchema = z.strictObject({
  max_reward_usd: usdAmount(1, MAX_REWARD_CENTS).nullable().optional(),
  daily_limit_usd: usdAmount(1, MAX_BUDGET_CENTS).nullable().optional(),
  monthly_limit_usd: usdAmount(1, MAX_BUDGET_CENTS).nullable().optional(),
  allowed_task_types: z
    .array(z.enum(POLICY_TASK_FILTERS, `must be a task type or PHYSICAL or DIGITAL`))
    .min(1, 'must list at least one task type or domain (null removes the rule)')
    .max(20, 'must list at most 20 entries')
    .transform((types) => [...new Set(types)])
    .nullable()
    .optional(),
  allowed_regions: z
    .array(PolicyRegionSchema)
    .min(1, 'must list at least one region (null removes the rule)')
    .max(50, 'must list at most 50 regions')
    .nullable()
    .optional(),
  allow_credential_tasks: z.boolean({ error: 'must be true, false or null' }).nullable().optional(),
  approval_threshold_usd: usdAmount(0, MAX_REWARD_CENTS).nullable().optional(),
});
export type SpendingPolicyInput = z.input<typeof SpendingPolicySchema>;
