/** Response shapes, as zod schemas (validated on request) and the types they give. */
import { z } from 'zod';
import { TASK_STATUSES, TASK_TYPES } from '../contract/categories.ts';

export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TaskCreatedResponse = z.object({
  task_id: z.string(),
  status: z.enum(TASK_STATUSES),
  reward_usd: z.number(),
  platform_fee: z.number(),
  total_escrow: z.number(),
  deadline: z.string(),
  created_at: z.string(),
});
export type TaskCreated = z.infer<typeof TaskCreatedResponse>;

export const TaskResponse = z.looseObject({
  task_id: z.string(),
  title: z.string(),
  description: z.string(),
  status: z.enum(TASK_STATUSES),
  task_type: z.enum(TASK_TYPES),
  location: z.object({ lat: z.number().nullable(), lng: z.number().nullable(), address: z.string().nullable() }),
  reward_usd: z.number(),
  platform_fee_usd: z.number(),
  deadline: z.string(),
  proof_requirements: z.array(z.string()),
  proof: z.looseObject({ photos: z.array(z.string()), notes: z.string().nullable() }).nullable(),
  guardian_result: z.looseObject({
    decision: z.string(),
    confidence: z.number().nullable(),
    reasoning: z.string(),
    requirement_results: z.array(z.object({ requirement: z.string(), met: z.boolean().nullable(), note: z.string() })).optional(),
  }).nullable(),
  operator: z.object({ id: z.string() }).nullable(),
  created_at: z.string(),
});
export type Task = z.infer<typeof TaskResponse>;

export interface TaskList {
  data: { task_id: string; title: string; status: TaskStatus; task_type: string; reward_usd: number; operator: { id: string } | null; created_at: string; deadline: string }[];
  pagination: { limit: number; offset: number; total: number };
}
