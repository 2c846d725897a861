/** For agents: finding operators near a place, and rating the one who did a task. */
import { Hono } from 'hono';
import { notFound } from '../../_shared/errors.ts';
import { ID_PATTERN, OperatorSearchQuery, RateTaskSchema } from '../../_shared/schemas.ts';
import type { AppEnv, Deps } from '../context.ts';
import { iso, readJson, validate } from '../http.ts';
import { requireAgent } from '../middleware/agent-auth.ts';

export function operatorSearchRoutes(deps: Deps) {
  const { db } = deps;
  const app = new Hono<AppEnv>();
  app.use('/operators/*', requireAgent(deps));

  app.get('/operators/search', async (c) => {
    const q = await validate(OperatorSearchQuery, c.req.query());
    const rows = await db.asAgent(c.get('agent'), (tx) => tx<{
      operator_id: string; name: string; city: string; country: string; skills: string[];
      rating: string | null; rating_count: number; completed_tasks: string; distance_km: number;
    }[]>`
      select * from api.search_operators(${q.lat}, ${q.lng}, ${q.radius_km}, ${q.task_type ?? null}, ${q.min_rating ?? null}, ${q.limit})`);
    return c.json({
      data: rows.map((o) => ({
        operator_id: o.operator_id,
        name: o.name,
        location: { city: o.city, country: o.country },
        skills: o.skills,
        rating: o.rating === null ? null : Number(o.rating),
        rating_count: o.rating_count,
        completed_tasks: Number(o.completed_tasks),
        distance_km: o.distance_km,
      })),
    });
  });

  // The tasks router authenticates /tasks/*.
  app.post('/tasks/:id/rate', async (c) => {
    const id = c.req.param('id');
    const input = await validate(RateTaskSchema, await readJson(c));
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const [rating] = await db.asAgent(c.get('agent'), (tx) => tx<{ task_id: string; operator_id: string; rating: number; comment: string | null; created_at: Date }[]>`
      select * from api.rate_task(${id}, ${input.rating}, ${input.comment ?? null})`);
    return c.json({ task_id: rating.task_id, operator_id: rating.operator_id, rating: rating.rating, comment: rating.comment, created_at: iso(rating.created_at) }, 201);
  });

  return app;
}
