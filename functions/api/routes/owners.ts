/**
 * The people who own an agent: an owner key (or owner session) makes a one-time link code, a
 * signed-in person redeems it, and from then on their session acts for that agent. Listing and
 * unlinking owners are owner actions.
 */
import { Hono } from 'hono';
import { randomBase62, sha256Hex } from '../../_shared/crypto.ts';
import { ApiError, badRequest, notFound } from '../../_shared/errors.ts';
import { LinkOwnerSchema, NoInputSchema, PushSubscriptionQuery, PushSubscriptionSchema } from '../../_shared/schemas.ts';
import { OPERATOR_ID } from '../../_shared/storage.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, readJson, validate } from '../http.ts';
import { requireAgent } from '../middleware/agent-auth.ts';
import { requireOwner } from '../middleware/owner-auth.ts';
import { pushEndpointProblem } from '../push-step.ts';

/** Long enough to pass on by hand or by chat, short-lived enough that a leaked one rarely matters. */
export const LINK_CODE_TTL_MS = 15 * 60_000;

interface OwnedAgentRow {
  agent_id: string;
  agent_name: string;
  mode: string;
  linked_at: Date;
}

const ownedAgent = (row: OwnedAgentRow) => ({ agent_id: row.agent_id, name: row.agent_name, mode: row.mode, linked_at: iso(row.linked_at) });

export function ownerRoutes(deps: Deps) {
  const { db } = deps;
  const app = new Hono<AppEnv>();

  app.use('/agents/owners', requireAgent(deps));
  app.use('/agents/owners/*', requireAgent(deps));
  app.use('/owner/*', requireOwner(deps));

  // Not idempotent by key: the code is never stored, so a replay could not return it.
  app.post('/agents/owners/link-code', async (c) => {
    await validate(NoInputSchema, await readJson(c));
    const code = `link_${randomBase62(24)}`;
    const codeHash = await sha256Hex(code);
    const [made] = await db.asAgent(c.get('agent'), (tx) => tx<{ expires_at: Date }[]>`
      select expires_at from api.create_owner_link_code(${codeHash}, ${new Date(Date.now() + LINK_CODE_TTL_MS)})`);
    return c.json({ code, expires_at: iso(made.expires_at) }, 201);
  });

  app.get('/agents/owners', async (c) => {
    const rows = await db.asAgent(c.get('agent'), (tx) => tx<{ owner_id: string; linked_at: Date }[]>`
      select owner_id, linked_at from api.agent_owners()`);
    return c.json({ data: rows.map((r) => ({ owner_id: r.owner_id, linked_at: iso(r.linked_at) })) });
  });

  app.delete('/agents/owners/:owner_id', async (c) => {
    const ownerId = c.req.param('owner_id');
    if (!OPERATOR_ID.test(ownerId)) throw notFound('owner_not_found', 'No owner with this id is linked to this agent');
    await db.asAgent(c.get('agent'), (tx) => tx`select api.unlink_owner(${ownerId})`);
    return c.json({ unlinked: true });
  });

  app.post('/owner/link', async (c) => {
    const { code } = await validate(LinkOwnerSchema, await readJson(c));
    const codeHash = await sha256Hex(code);
    const [linked] = await db.asOwner(c.get('owner').id, (tx) => tx<OwnedAgentRow[]>`
      select agent_id, agent_name, mode, linked_at from api.redeem_owner_link_code(${codeHash})`);
    return c.json(ownedAgent(linked));
  });

  app.get('/owner/agents', async (c) => {
    const rows = await db.asOwner(c.get('owner').id, (tx) => tx<OwnedAgentRow[]>`
      select agent_id, agent_name, mode, linked_at from api.owned_agents()`);
    return c.json({ data: rows.map(ownedAgent) });
  });

  // Approval alerts on the owner's own browsers (a task of any of their agents waits for them).
  app.get('/owner/push', async (c) => {
    const [{ subscriptions }] = await db.asOwner(c.get('owner').id, (tx) => tx<{ subscriptions: number }[]>`
      select api.owner_push_subscriptions() as subscriptions`);
    return c.json({ vapid_public_key: deps.config.push.vapid?.publicKey ?? null, subscriptions });
  });

  app.post('/owner/push-subscriptions', async (c) => {
    const input = await validate(PushSubscriptionSchema, await readJson(c));
    if (!deps.config.push.vapid) throw new ApiError(503, 'push_unavailable', 'Push alerts are not configured on this server');
    const problem = pushEndpointProblem(input.endpoint, deps.config.push.serviceHosts);
    if (problem) throw badRequest('validation_error', `endpoint: ${problem}`);
    const [row] = await db.asOwner(c.get('owner').id, (tx) => tx<{ id: string; endpoint: string }[]>`
      select id, endpoint from api.save_owner_push_subscription(${input.endpoint}, ${input.keys.p256dh}, ${input.keys.auth})`);
    return c.json({ subscription_id: row.id, endpoint: row.endpoint }, 201);
  });

  app.delete('/owner/push-subscriptions', async (c) => {
    const query = await validate(PushSubscriptionQuery, c.req.query());
    const [{ removed }] = await db.asOwner(c.get('owner').id, (tx) => tx<{ removed: boolean }[]>`
      select api.delete_owner_push_subscription(${query.endpoint}) as removed`);
    return c.json({ removed });
  });

  return app;
}
