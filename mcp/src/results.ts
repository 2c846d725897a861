/** Tool results: data as text and structuredContent, failures as `isError` with a hint the model can act on. */
import { createHash } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { HumanOpsError } from '@humanops/sdk';

export function ok(data: Record<string, unknown>, summary?: string): CallToolResult {
  return {
    content: [{ type: 'text', text: summary ? `${summary}\n\n${JSON.stringify(data, null, 2)}` : JSON.stringify(data, null, 2) }],
    structuredContent: data,
  };
}

export function fail(message: string, hint?: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: hint ? `${message}\nHint: ${hint}` : message }] };
}

const usd = (n: unknown) => (typeof n === 'number' ? `$${n.toFixed(2)}` : 'unknown');

/** What to tell the model when the API refused. */
function hintFor(error: HumanOpsError): string | undefined {
  const details = (error.details ?? {}) as Record<string, unknown>;
  switch (error.status) {
    case 400: return 'Fix the named field and call the tool again.';
    case 401: return 'The HUMANOPS_API_KEY is missing, revoked or for the other mode (ho_test_ vs ho_live_); ask the user for a valid key.';
    case 402: return `Deposit more funds: balance is ${usd(details.available_usd)}, this task needs ${usd(details.required_usd)} (reward + platform fee). Use fund_account.`;
    case 403: return forbiddenHint(error, details);
    case 404: return 'Check the task_id: list_tasks shows your tasks.';
    case 409: return 'The task is not in a state that allows this; get_task_result shows its status.';
    case 410: return 'The task passed its deadline.';
    case 429: return `Too many requests; wait ${error.headers?.get('retry-after') ?? 'a few'} seconds and try again.`;
    default: return (error.status ?? 500) >= 500 ? 'HumanOps had a problem; try again in a minute.' : undefined;
  }
}

/**
 * A refusal by the owner's rules is final for the model: it must tell its user, never look for a
 * way around (smaller tasks, other types, retries). Only the account owner can change the rules.
 */
function forbiddenHint(error: HumanOpsError, details: Record<string, unknown>): string | undefined {
  if (error.code === 'policy_violation') {
    return `The account owner's spending policy for this API key refused the task (rule: ${String(details.rule)}). ` +
      'Tell your user exactly this, with the limit and what is left. Do not retry, and do not split, shrink, retype or move the task to get around the limit: ' +
      'only the account owner can change the policy (or approve tasks). get_spending_limits shows what is left.';
  }
  if (error.code === 'insufficient_scope') {
    return 'This API key is not allowed to do this (its scopes do not cover it). Tell your user; an account owner can issue a key with the needed scope.';
  }
  return undefined;
}

/** Runs a tool body; API errors become isError results (never a crash of the server). */
export async function guarded(work: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof HumanOpsError) return fail(`HumanOps API error${error.status ? ` ${error.status}` : ''}: ${error.message}`, hintFor(error));
    return fail(`Unexpected error: ${(error as Error).message}`);
  }
}

/** An idempotency key for a money-moving call: the caller's, or one derived from the arguments, so a retried identical call never posts twice. */
export function idempotencyKey(tool: string, args: Record<string, unknown>): string {
  if (typeof args.idempotency_key === 'string' && args.idempotency_key) return args.idempotency_key;
  const canonical = JSON.stringify(sortKeys(args));
  return `mcp-${tool}-${createHash('sha256').update(canonical).digest('hex').slice(0, 32)}`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
