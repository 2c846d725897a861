/**
 * The console's way to the API: the signed-in person's session token (never an API key) and the
 * agent they act for in X-Agent-Id. Every answer is JSON; a failure is an ApiProblem carrying the
 * API's `code` and, for bad input, the field it names.
 */
import { API_URL } from '../config.ts';
import { token } from '../session.ts';

const AGENT_KEY = 'humanops.console.agent';

export class ApiProblem extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }

  /** The field a validation error names first ("reward_usd"), or null. */
  get field(): string | null {
    const issues = (this.details as { issues?: { field: string | null }[] } | undefined)?.issues;
    return issues?.[0]?.field ?? null;
  }
}

/** The agent the console acts for (an id, not a secret: kept for this tab). */
export const currentAgent = () => sessionStorage.getItem(AGENT_KEY);
export const chooseAgent = (agentId: string | null) =>
  agentId ? sessionStorage.setItem(AGENT_KEY, agentId) : sessionStorage.removeItem(AGENT_KEY);

export interface CallOptions {
  body?: unknown;
  /** Act as the person only (linking, listing their agents): no X-Agent-Id. */
  personal?: boolean;
  signal?: AbortSignal;
}

export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const session = await token();
  if (!session) throw new ApiProblem(401, 'not_signed_in', 'Please sign in first.');
  const headers: Record<string, string> = { authorization: `Bearer ${session}`, accept: 'application/json' };
  const agent = currentAgent();
  if (!options.personal && agent) headers['x-agent-id'] = agent;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  // A retried POST (a dropped answer) takes effect once.
  if (method === 'POST') headers['idempotency-key'] = crypto.randomUUID();
  let response: Response;
  try {
    response = await fetch(`${API_URL}/api/v1${path}`, {
      method, headers, signal: options.signal, body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiProblem(0, 'api_unreachable', 'The service is not reachable. Check your connection and try again.');
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiProblem(response.status, body?.code ?? 'internal_error', body?.error ?? `HTTP ${response.status}`, body?.details);
  return body as T;
}
