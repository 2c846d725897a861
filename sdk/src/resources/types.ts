/** The types of what the API answers, inferred from the contract's response schemas (one source). */
import type { z } from 'zod';
import type { Page } from '../api-promise.ts';
import type { TASK_STATUSES } from '../contract/categories.ts';
import type * as rs from '../contract/responses.ts';

export type TaskStatus = (typeof TASK_STATUSES)[number];
export type TaskCreated = z.infer<typeof rs.TaskCreatedResponse>;
export type Task = z.infer<typeof rs.TaskResponse>;
export type TaskSummary = z.infer<typeof rs.TaskSummary>;
export type TaskList = Page<TaskSummary>;
export type GuardianResult = z.infer<typeof rs.GuardianResult>;
export type Balance = z.infer<typeof rs.BalanceResponse>;
export type CreatedKey = z.infer<typeof rs.CreatedKeyResponse>;
export type ApiKeySummary = z.infer<typeof rs.ApiKeySummary>;
export type DepositAddress = z.infer<typeof rs.DepositAddressResponse>;
export type UsdcDeposit = z.infer<typeof rs.UsdcDepositResponse>;
export type FiatDeposit = z.infer<typeof rs.FiatDepositResponse>;
export type DepositStatus = z.infer<typeof rs.DepositStatusResponse>;
export type OperatorMatch = z.infer<typeof rs.OperatorSearchResponse>['data'][number];
export type CancelledTask = z.infer<typeof rs.CancelledTaskResponse>;
export type VerifiedTask = z.infer<typeof rs.VerifiedTaskResponse>;
export type Rating = z.infer<typeof rs.RatingResponse>;
export type WebhookDelivery = z.infer<typeof rs.WebhookDeliveryResponse>;
export type WebhookPayload = z.infer<typeof rs.WebhookPayload>;
export type SimulateResult = z.infer<typeof rs.SimulateResponse>;
