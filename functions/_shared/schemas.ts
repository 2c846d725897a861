/**
 * Request schemas: the one definition of what the API accepts (and, later, what the SDK's types
 * are made from). Messages read after the field name: "reward_usd: must be at least $10.00".
 */
import { z } from 'zod';
import {
  CATEGORIES, MAX_REWARD_CENTS, MIN_REWARD_CENTS, PROOF_TYPES, TASK_DOMAINS, TASK_STATUSES, TASK_TYPES,
} from './categories.ts';
import { formatUsd, usdToCents } from './money.ts';

z.config({
  customError: (issue) => {
    if (issue.code === 'invalid_type') {
      if (issue.input === undefined) return 'is required';
      const expected = issue.expected === 'object' ? 'a JSON object' : issue.expected === 'array' ? 'an array' : `a ${issue.expected}`;
      return `must be ${expected}`;
    }
    return undefined;
  },
});

/** A message for a present but wrong value; a missing one still reads "is required". */
const unlessMissing = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : message);

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

/** A USD amount (JSON number or decimal string) with at most two decimals, as integer cents. */
export const usdAmount = (minCents: number, maxCents: number) =>
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
    });

export const RegisterAgentSchema = z.strictObject({
  name: text(100),
  email: z.email({ error: unlessMissing('must be an email address') }).max(320, 'must be at most 320 characters'),
  company: text(200).optional(),
});

export const CreateKeySchema = z.strictObject({
  name: text(100).optional(),
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
const oneOf = (values: readonly string[]) => values.join(', ').replace(/, ([^,]*)$/, ' or $1');

export const CreateTaskSchema = z
  .strictObject({
    title: text(200),
    description: text(5000),
    location: LocationSchema.optional(),
    reward_usd: usdAmount(MIN_REWARD_CENTS, MAX_REWARD_CENTS),
    deadline: z.iso.datetime({ offset: true, error: unlessMissing('must be an ISO 8601 date-time with a time zone, e.g. 2026-02-10T00:00:00Z') }),
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
  });

export type CreateTaskInput = z.input<typeof CreateTaskSchema>;
export type CreateTask = z.output<typeof CreateTaskSchema>;

export const ListTasksQuery = z.strictObject({
  status: z.enum(TASK_STATUSES, `must be one of ${oneOf(TASK_STATUSES)}`).optional(),
  limit: z.coerce.number().int('must be an integer').min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100').default(20),
  offset: z.coerce.number().int('must be an integer').min(0, 'must not be negative').max(1_000_000, 'must be at most 1000000').default(0),
});

/** Ids in paths: prefixed, URL-safe, short. Anything else cannot name a row and is a 404. */
export const ID_PATTERN = /^[a-z]{2,8}_[A-Za-z0-9]{1,64}$/;
