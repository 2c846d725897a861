/** Admin-only actions, behind X-Admin-Key (refused everywhere when no admin key is configured). */
import { Hono } from 'hono';
import type { MiddlewareHandler } from 'hono';
import { secretsEqual } from '../../_shared/crypto.ts';
import { forbidden } from '../../_shared/errors.ts';
import { KycDecisionSchema, ResolveDisputeSchema } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, readJson, validate } from '../http.ts';
import { centsToUsd } from '../../_shared/money.ts';
import { proofAsShown } from '../proof-shown.ts';

/** X-Admin-Key must match HUMANOPS_ADMIN_KEY, compared in constant time. */
export function requireAdmin({ config }: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const given = c.req.header('x-admin-key');
    if (!config.adminKey || !given || !(await secretsEqual(given, config.adminKey))) {
      throw forbidden('admin_key_required', 'This action requires a valid X-Admin-Key header');
    }
    await next();
  };
}

export function adminRoutes(deps: Deps) {
  const app = new Hono<AppEnv>();
  app.use('/admin/*', requireAdmin(deps));

  /** Settles an operator's KYC review: VERIFIED lets it accept tasks, REJECTED does not. */
  app.post('/admin/operators/:id/kyc', async (c) => {
    const input = await validate(KycDecisionSchema, await readJson(c));
    const [operator] = await deps.db.asService((tx) => tx<{ id: string; kyc_status: string }[]>`
      select id, kyc_status from api.set_operator_kyc(${c.req.param('id')}, ${input.status})`);
    return c.json({ operator_id: operator.id, kyc_status: operator.kyc_status });
  });

  /** Appealed disputes, oldest appeal first: what the admin weighs before settling each. */
  app.get('/admin/appeals', async (c) => {
    const rows = await deps.db.asService((tx) => tx<{
      id: string; title: string; status: string; reward_cents: string; rejections: unknown[]; appeal_note: string;
      appealed_at: Date; first_proof: unknown; proof: unknown; submitted_at: Date | null;
    }[]>`
      select id, title, status, reward_cents, rejections, appeal_note, appealed_at, first_proof, proof, submitted_at
        from public.tasks where status = 'DISPUTED' and appealed_at is not null
       order by appealed_at, id limit 100`);
    const origin = new URL(c.req.url).origin;
    return c.json({
      data: await Promise.all(rows.map(async (row) => ({
        task_id: row.id,
        title: row.title,
        status: row.status,
        reward_usd: centsToUsd(row.reward_cents),
        rejections: row.rejections,
        appeal: { note: row.appeal_note, appealed_at: iso(row.appealed_at) },
        first_proof: await proofAsShown(deps, row.first_proof, null, origin),
        proof: await proofAsShown(deps, row.proof, row.submitted_at, origin),
      }))),
    });
  });

  /** Settles a DISPUTED task (appealed or not): refund the agent, pay the operator, or split the reward. */
  app.post('/admin/tasks/:id/resolve', async (c) => {
    const input = await validate(ResolveDisputeSchema, await readJson(c));
    const [task] = await deps.db.asService((tx) => tx<{ id: string; status: string; dispute_resolution: unknown }[]>`
      select id, status, dispute_resolution from api.resolve_dispute(${c.req.param('id')}, ${input.resolution}, ${input.operator_usd ?? null}, ${input.note ?? null})`);
    return c.json({ task_id: task.id, status: task.status, resolution: task.dispute_resolution });
  });

  return app;
}
