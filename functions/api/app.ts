/**
 * The HumanOps API as a web-standard handler (`Request` → `Response`): the same module runs under
 * Deno (locally and on Supabase Edge) and is importable from vitest under Node.
 */
import { Hono } from 'hono';
import type { AppEnv, Deps } from './context.ts';
import { JSON_BODY_LIMIT_BYTES, limitBody } from './http.ts';
import { corsPolicy } from './middleware/cors.ts';
import { errorResponse } from './middleware/errors.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestLog } from './middleware/request-log.ts';
import { matchedRoute } from './middleware/route.ts';
import { accountActivityRoutes } from './routes/account-activity.ts';
import { adminRoutes } from './routes/admin.ts';
import { agentRoutes } from './routes/agents.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { credentialRoutes } from './routes/credentials.ts';
import { depositRoutes } from './routes/deposits.ts';
import { healthRoutes } from './routes/health.ts';
import { internalRoutes } from './routes/internal.ts';
import { messageRoutes } from './routes/messages.ts';
import { openApiRoutes } from './routes/openapi.ts';
import { operatorRoutes } from './routes/operator.ts';
import { operatorSearchRoutes } from './routes/operators.ts';
import { ownerRoutes } from './routes/owners.ts';
import { policyRoutes } from './routes/policies.ts';
import { pushRoutes } from './routes/push.ts';
import { reviewRoutes } from './routes/review.ts';
import { sandboxRoutes } from './routes/sandbox.ts';
import { storageRoutes } from './routes/storage.ts';
import { taskRoutes } from './routes/tasks.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { WORK_STEPS } from './worker.ts';

/** Endpoints the API outline announces as coming soon: a 404 that says so, rather than a bare one. */
const COMING_SOON: Record<string, string> = {
  'POST /webhooks/dlocal': 'The dLocal payment webhook is not available yet: fiat deposits are coming soon',
};

export function createApp(deps: Deps) {
  const app = new Hono<AppEnv>().basePath('/api/v1');
  app.use('*', requestLog(deps));
  app.use('*', corsPolicy(deps));
  app.use('*', rateLimit(deps));
  // Every body is capped while it streams, before any route reads it. Uploads are capped by their
  // own route once the caller is known to be a registered operator, so strangers cannot make the
  // server hold even one file's worth.
  const jsonLimit = limitBody(JSON_BODY_LIMIT_BYTES, 'payload_too_large', 'Request body is larger than 64 KB');
  app.use('*', (c, next) => matchedRoute(c)?.path.endsWith('/operator/upload') ? next() : jsonLimit(c, next));
  app.onError(errorResponse);
  app.notFound((c) => {
    const comingSoon = COMING_SOON[`${c.req.method} ${new URL(c.req.url).pathname.replace(/^.*?\/api\/v1/, '')}`];
    if (comingSoon) return c.json({ error: comingSoon, code: 'not_available' }, 404);
    return c.json({ error: `No route for ${c.req.method} ${new URL(c.req.url).pathname}`, code: 'route_not_found' }, 404);
  });
  app.route('/', healthRoutes(deps));
  app.route('/', openApiRoutes(deps.config.apiBaseUrl));
  app.route('/', agentRoutes(deps));
  app.route('/', policyRoutes(deps));
  app.route('/', ownerRoutes(deps));
  app.route('/', depositRoutes(deps));
  app.route('/', taskRoutes(deps));
  app.route('/', operatorSearchRoutes(deps));
  app.route('/', operatorRoutes(deps));
  app.route('/', messageRoutes(deps));
  app.route('/', pushRoutes(deps));
  app.route('/', reviewRoutes(deps));
  app.route('/', approvalRoutes(deps));
  app.route('/', credentialRoutes(deps));
  app.route('/', webhookRoutes(deps));
  app.route('/', accountActivityRoutes(deps));
  app.route('/', adminRoutes(deps));
  // The sandbox exists in test mode only: in live mode its route is simply not there (404).
  if (deps.config.mode === 'test') app.route('/', sandboxRoutes(deps));
  app.route('/', internalRoutes(deps, WORK_STEPS));
  if (deps.localStorage) app.route('/', storageRoutes(deps.localStorage));
  return app;
}
