/**
 * Owner sessions: a person signed in with the identity provider operators use (Clerk; the stack's
 * issuer locally), acting for an agent they are linked to. Never an API key: the console in the
 * browser holds only the session token.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError, unauthorized } from '../../_shared/errors.ts';
import { ID_PATTERN } from '../../_shared/schemas.ts';
import { OPERATOR_ID } from '../../_shared/storage.ts';
import type { Agent, AppEnv, Deps } from '../context.ts';

/** What an owner session may do for a linked agent: what the key registration returns may do. */
const OWNER_SESSION_SCOPES: Agent['scopes'] = ['owner', 'agent'];

/** The signed-in person behind `Authorization: Bearer <session token>`, or the 401 (503) to answer. */
export async function ownerOf(c: Context<AppEnv>, { verifyOperatorToken }: Deps): Promise<{ id: string }> {
  const authorization = c.req.header('authorization');
  if (authorization === undefined) throw unauthorized('Missing Authorization: Bearer <session token>');
  const match = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!match) throw new ApiError(401, 'invalid_token', 'Authorization must be "Bearer <token>"');
  if (!verifyOperatorToken) throw new ApiError(503, 'identity_provider_unavailable', 'Sign-in is not configured on this server');
  const { sub } = await verifyOperatorToken(match[1]);
  if (!OPERATOR_ID.test(sub)) throw new ApiError(401, 'invalid_token', 'The session token subject is not a valid person id');
  return { id: sub };
}

/**
 * The agent an owner session acts for: `X-Agent-Id` must name an agent the person is linked to
 * now (403 otherwise, whether the agent exists or not). SQL checks the link again on every
 * statement of the request (api.current_agent_id), so an unlink takes effect at once.
 */
export async function ownerSessionAgent(c: Context<AppEnv>, deps: Deps): Promise<Agent> {
  const owner = await ownerOf(c, deps);
  const agentId = c.req.header('x-agent-id');
  if (agentId === undefined) throw unauthorized('An owner session names the agent it acts for in X-Agent-Id');
  const agent: Agent = { id: agentId, keyId: null, scopes: OWNER_SESSION_SCOPES, ownerId: owner.id };
  const linked = ID_PATTERN.test(agentId) &&
    (await deps.db.asAgent(agent, (tx) => tx<{ agent_id: string | null }[]>`select api.current_agent_id() as agent_id`))[0].agent_id === agentId;
  if (!linked) throw new ApiError(403, 'not_an_owner', 'You are not an owner of this agent; link it first with a code from one of its owners');
  return agent;
}

/** Routes of the signed-in person themself (linking, their agents): a verified session token. */
export function requireOwner(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('owner', await ownerOf(c, deps));
    await next();
  };
}
