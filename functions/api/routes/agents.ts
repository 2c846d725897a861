/** Agents: registration, API keys and balances. */
import { Hono } from 'hono';
import { randomBase62, secretsEqual, sha256Hex } from '../../_shared/crypto.ts';
import { forbidden, notFound } from '../../_shared/errors.ts';
import type { Mode } from '../../_shared/config.ts';
import { centsToUsd } from '../../_shared/money.ts';
import { CreateKeySchema, ID_PATTERN, RegisterAgentSchema } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, readJson, validate } from '../http.ts';
import { requireAgent } from '../middleware/agent-auth.ts';
import { requesterRecord } from '../requester.ts';
import { effectivePolicies, type PolicyRow } from '../effective-policy.ts';

/** A new secret key (`ho_test_…`/`ho_live_…` + 40 base62 chars), its hash and display prefix. */
async function mintKey(mode: Mode) {
  const key = `ho_${mode}_${randomBase62(40)}`;
  return { key, hash: await sha256Hex(key), prefix: `${key.slice(0, 15)}..` };
}

export function agentRoutes(deps: Deps) {
  const { config, db } = deps;
  const app = new Hono<AppEnv>();

  app.post('/agents/register', async (c) => {
    if (config.mode === 'live') {
      const adminKey = c.req.header('x-admin-key');
      if (!adminKey || !(await secretsEqual(adminKey, config.adminKey!))) {
        throw forbidden('admin_key_required', 'Registration requires a valid X-Admin-Key header');
      }
    }
    const input = await validate(RegisterAgentSchema, await readJson(c));
    const minted = await mintKey(config.mode);
    const [agent] = await db.asService((tx) => tx<{ agent_id: string }[]>`
      select agent_id from api.register_agent(${input.name}, ${input.email}, ${input.company ?? null},
                                              ${config.mode}, ${minted.hash}, ${minted.prefix})`);
    return c.json({ agent_id: agent.agent_id, api_key: minted.key, message: "Save this API key - it won't be shown again." }, 201);
  });

  app.use('/agents/keys/*', requireAgent(deps));
  app.use('/agents/balance', requireAgent(deps));
  app.use('/agents/me', requireAgent(deps));

  /** The calling agent's account and its record as operators see it (their ratings of it included). */
  app.get('/agents/me', async (c) => {
    const agent = c.get('agent');
    const { row, record } = await db.asAgent(agent, async (tx) => {
      const [row] = await tx<{ id: string; name: string; email: string; company: string | null; created_at: Date }[]>`
        select id, name, email, company, created_at from public.agents where id = ${agent.id}`;
      const [{ record }] = await tx<{ record: Record<string, unknown> }[]>`select api.my_requester_record() as record`;
      return { row, record };
    });
    return c.json({
      agent_id: row.id,
      name: row.name,
      email: row.email,
      company: row.company,
      created_at: iso(row.created_at),
      requester_record: requesterRecord(record),
    });
  });

  // Not idempotent by key: the secret is never stored, so a replay could not return it.
  app.post('/agents/keys', async (c) => {
    const input = await validate(CreateKeySchema, await readJson(c));
    const minted = await mintKey(config.mode);
    const [key] = await db.asAgent(c.get('agent'), (tx) => tx<{ id: string; name: string | null; key_prefix: string; scopes: string[]; expires_at: Date | null; created_at: Date }[]>`
      select id, name, key_prefix, scopes, expires_at, created_at
        from api.create_api_key(${input.name ?? null}, ${minted.hash}, ${minted.prefix},
                                ${input.scopes ?? null}::text[], ${input.expires_at ?? null}::timestamptz)`);
    return c.json({
      id: key.id, api_key: minted.key, key_prefix: key.key_prefix, name: key.name, scopes: key.scopes,
      expires_at: iso(key.expires_at), created_at: iso(key.created_at),
    }, 201);
  });

  app.get('/agents/keys', async (c) => {
    const agent = c.get('agent');
    const { keys, policies } = await db.asAgent(agent, async (tx) => ({
      keys: await tx<{ id: string; key_prefix: string; name: string | null; scopes: string[]; expires_at: Date | null; last_used_at: Date | null; created_at: Date }[]>`
        select id, key_prefix, name, scopes, expires_at, last_used_at, created_at
          from public.api_keys
         where revoked_at is null and (expires_at is null or expires_at > now())
         order by created_at, id`,
      policies: await tx<PolicyRow[]>`select * from public.spending_policies where agent_id = ${agent.id}`,
    }));
    const effectiveOf = effectivePolicies(policies);
    return c.json({
      data: keys.map((k) => ({
        id: k.id, keyPrefix: k.key_prefix, name: k.name, scopes: k.scopes, expiresAt: iso(k.expires_at),
        lastUsed: iso(k.last_used_at), createdAt: iso(k.created_at), policy: effectiveOf(k.id),
      })),
    });
  });

  app.delete('/agents/keys/:id', async (c) => {
    const id = c.req.param('id');
    if (!ID_PATTERN.test(id)) throw notFound('key_not_found', 'No active API key with this id');
    await db.asAgent(c.get('agent'), (tx) => tx`select api.revoke_api_key(${id})`);
    return c.json({ revoked: true });
  });

  app.get('/agents/balance', async (c) => {
    // Two balances, the agent's deposit and escrow accounts (O(1), however many tasks are open).
    const [balance] = await db.asAgent(c.get('agent'), (tx) => tx<{ deposit_cents: string; escrow_cents: string }[]>`
      select deposit_cents, escrow_cents from api.agent_balance()`);
    return c.json({ deposit_balance: centsToUsd(balance.deposit_cents), escrow_balance: centsToUsd(balance.escrow_cents), currency: 'USD' });
  });

  return app;
}
