/** Agent authentication: the `X-API-Key` header, its mode and the scope each route needs. */
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError, unauthorized } from '../../_shared/errors.ts';
import { sha256Hex } from '../../_shared/crypto.ts';
import type { Scope } from '../../_shared/db.ts';
import type { AppEnv, Deps } from '../context.ts';
import { ownerSessionAgent } from './owner-auth.ts';
import { matchedRoute } from './route.ts';

const KEY_FORMAT = /^ho_(test|live)_[A-Za-z0-9]{20,128}$/;

/**
 * The scope each agent route needs. Every key reads (GET); these writes need `owner`, deposits
 * `agent` or `owner` (adding money is never a risk); every other write needs `agent`.
 */
const OWNER_ROUTES = new Set([
  'POST /api/v1/agents/keys', 'DELETE /api/v1/agents/keys/:id',
  'PUT /api/v1/agents/policy', 'PUT /api/v1/agents/keys/:id/policy', 'DELETE /api/v1/agents/keys/:id/policy',
  'POST /api/v1/tasks/:id/approve', 'POST /api/v1/tasks/:id/decline',
  'POST /api/v1/agents/owners/link-code', 'GET /api/v1/agents/owners', 'DELETE /api/v1/agents/owners/:owner_id',
]);
const DEPOSIT_ROUTES = new Set(['POST /api/v1/agents/deposit/usdc', 'POST /api/v1/agents/deposit', 'POST /api/v1/agents/deposit/status']);

export function scopesNeeded(c: Context): Scope[] {
  const route = matchedRoute(c);
  const name = `${c.req.method} ${route?.path}`;
  if (OWNER_ROUTES.has(name)) return ['owner'];
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return ['read', 'agent', 'owner'];
  if (DEPOSIT_ROUTES.has(name)) return ['agent', 'owner'];
  return ['agent'];
}

/** The 403 for a key whose scopes do not include one the route needs, or null. */
export function scopeProblem(c: Context, scopes: Scope[]): ApiError | null {
  const needed = scopesNeeded(c);
  if (needed.some((scope) => scopes.includes(scope))) return null;
  return new ApiError(403, 'insufficient_scope',
    `This key holds ${scopes.join(' and ')}; ${c.req.method} ${new URL(c.req.url).pathname} needs a key with the ${needed.join(' or ')} scope`,
    { key_scopes: scopes, required_scopes: needed });
}

/** Why an `X-API-Key` header cannot be a key of this server (a 401), or null when it can be. */
export function agentKeyProblem(key: string | undefined, mode: string): ApiError | null {
  if (!key) return unauthorized('Missing X-API-Key header');
  const format = KEY_FORMAT.exec(key);
  if (!format) return unauthorized('Invalid API key');
  if (format[1] !== mode) return unauthorized(`This is a ${format[1]}-mode key; this server runs in ${mode} mode`);
  return null;
}

/** The agent behind a well-formed key (active, unexpired), or a 401 when there is none. */
export async function authenticateAgent({ db }: Deps, key: string): Promise<{ id: string; keyId: string; scopes: Scope[] }> {
  const [found] = await db.sql<{ agent_id: string; key_id: string; scopes: Scope[] }[]>`
    select agent_id, key_id, scopes from api.authenticate_agent(${await sha256Hex(key)})`;
  if (!found) throw unauthorized('Invalid or revoked API key');
  return { id: found.agent_id, keyId: found.key_id, scopes: found.scopes };
}

/**
 * Agent routes: `X-API-Key` must name an active, unexpired key of this mode, holding the scope the
 * route needs; or, without a key, a signed-in owner's session names a linked agent in X-Agent-Id.
 */
export function requireAgent(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // Guards of overlapping paths (`/agents/keys/*` and `/agents/keys/:id/policy`) authenticate once.
    if (c.get('agent')) return next();
    const key = c.req.header('x-api-key');
    if (key === undefined && c.req.header('authorization') !== undefined) {
      const agent = await ownerSessionAgent(c, deps);
      const refused = scopeProblem(c, agent.scopes);
      if (refused) throw refused;
      c.set('agent', agent);
      return next();
    }
    const problem = agentKeyProblem(key, deps.config.mode);
    if (problem) throw problem;
    // The rate limiter may have looked the key up already.
    const agent = c.get('keyOwner') ?? await authenticateAgent(deps, key!);
    const refused = scopeProblem(c, agent.scopes);
    if (refused) throw refused;
    c.set('agent', agent);
    await next();
  };
}
