/**
 * The sandbox (test mode only; the route does not exist in live mode): an agent developer drives
 * their own task through the lifecycle without a human — a sandbox operator accepts it, submits
 * proof (with a forced Guardian verdict, or for the real Guardian), the deadline passes, webhooks
 * fail. Every action goes through the same SQL functions, ledger moves and webhooks as the real path.
 */
import { Hono } from 'hono';
import { ApiError, notFound } from '../../_shared/errors.ts';
import { ID_PATTERN, SimulateSchema } from '../../_shared/schemas.ts';
import { proofPath } from '../../_shared/storage.ts';
import { OUTCOME } from '../../_shared/guardian/verdict.ts';
import { encryptForAgent } from '../../../sdk/src/e2ee.ts';
import type { AppEnv, Deps } from '../context.ts';
import { readJson, validate } from '../http.ts';
import { requireAgent } from '../middleware/agent-auth.ts';
import { storeProofFile } from '../proof-files.ts';

/** The operator who works sandbox tasks. */
export const SANDBOX_OPERATOR = 'sandbox_operator';

/** A real 1×1 white JPEG (made with jpeg-js), the sandbox's proof photo. */
const SANDBOX_JPEG = Uint8Array.from(atob(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wCEABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2MBERISGBUYLxoaL2NCOEJjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY//AABEIAAEAAQMBEQACEQEDEQH/xAGiAAABBQEBAQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+gEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoLEQACAQIEBAMEBwUEBAABAncAAQIDEQQFITEGEkFRB2FxEyIygQgUQpGhscEJIzNS8BVictEKFiQ04SXxFxgZGiYnKCkqNTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqCg4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2dri4+Tl5ufo6ery8/T19vf4+fr/2gAMAwEAAhEDEQA/APQKAP8A/9k=',
), (c) => c.charCodeAt(0));

/**
 * The sandbox's photo for one task: the same picture with the task named in a JPEG comment, so each
 * task's proof is its own file and the Guardian's reuse check does not refute every one after the first.
 */
function sandboxPhoto(taskId: string): Uint8Array {
  const text = new TextEncoder().encode(`HumanOps sandbox proof for ${taskId}`);
  const segment = new Uint8Array(4 + text.length);
  segment.set([0xff, 0xfe, (text.length + 2) >> 8, (text.length + 2) & 0xff]);
  segment.set(text, 4);
  const photo = new Uint8Array(SANDBOX_JPEG.length + segment.length);
  photo.set(SANDBOX_JPEG.subarray(0, 2)); // SOI, then the comment, then the rest as it was
  photo.set(segment, 2);
  photo.set(SANDBOX_JPEG.subarray(2), 2 + segment.length);
  return photo;
}

export function sandboxRoutes(deps: Deps) {
  const { db, config } = deps;
  const app = new Hono<AppEnv>();
  app.use('/sandbox/*', requireAgent(deps));

  const ensureSandboxOperator = () => db.asService((tx) => tx`
    select 1 from public.operators where id = ${SANDBOX_OPERATOR}
    union all
    select 1 from api.register_operator(${SANDBOX_OPERATOR}, 'Sandbox Operator', 'sandbox@humanops.invalid', null,
                                        'Sandbox', 'US', null, null, '{}'::text[], 'VERIFIED')
     where not exists (select from public.operators where id = ${SANDBOX_OPERATOR})`);

  const submitProof = async (task: { id: string; proof_type: string; task_type: string; agent_public_key: string | null }) => {
    const proof: Record<string, unknown> = { photos: [], notes: 'Submitted by the HumanOps sandbox', confirmation_text: null, reference_url: null, artifact: null };
    if (task.proof_type === 'PHOTO' || task.proof_type === 'SCREENSHOT') {
      if (!deps.storage) throw new ApiError(503, 'storage_unavailable', 'Proof storage is not configured on this server');
      const path = proofPath(SANDBOX_OPERATOR, task.id, 'jpg');
      await storeProofFile({ db, storage: deps.storage }, { operatorId: SANDBOX_OPERATOR, taskId: task.id, path, bytes: sandboxPhoto(task.id), contentType: 'image/jpeg' });
      proof.photos = [path];
    } else if (task.proof_type === 'CONFIRMATION') {
      proof.confirmation_text = 'Sandbox confirmation: the task was done as described.';
    } else {
      // A made-up credential, encrypted for the agent's key exactly as an operator's browser would.
      proof.artifact = await encryptForAgent(task.agent_public_key!, { sandbox: true, api_key: `sk_sandbox_${task.id.slice(5, 21)}` }, { taskId: task.id });
    }
    await db.asOperator(SANDBOX_OPERATOR, (tx) => tx`select api.submit_task(${task.id}, ${tx.json(proof as never)}, ${proof.photos as string[]}::text[])`);
  };

  app.post('/sandbox/tasks/:id/simulate', async (c) => {
    const id = c.req.param('id');
    const input = await validate(SimulateSchema, await readJson(c));
    if (!ID_PATTERN.test(id)) throw notFound('task_not_found', 'Task not found');
    const agentId = c.get('agent').id;
    const [task] = await db.asAgent(c.get('agent'), (tx) => tx<{ id: string; status: string; proof_type: string; task_type: string; operator_id: string | null; proof_requirements: string[]; agent_public_key: string | null }[]>`
      select id, status, proof_type, task_type, operator_id, proof_requirements, agent_public_key from public.tasks where id = ${id} and agent_id = ${agentId}`);
    if (!task) throw notFound('task_not_found', 'Task not found');

    switch (input.action) {
      case 'accept':
        await ensureSandboxOperator();
        await db.asOperator(SANDBOX_OPERATOR, (tx) => tx`select 1 from api.accept_task(${id})`);
        break;
      case 'submit': {
        if (task.operator_id !== SANDBOX_OPERATOR) {
          throw new ApiError(409, 'not_sandbox_task', 'Only a task the sandbox accepted can be submitted by it; simulate "accept" first');
        }
        await submitProof(task);
        if (input.verdict) {
          const { decision, confidence } = input.verdict;
          const verdict = {
            decision,
            confidence,
            reasoning: `Sandbox: forced verdict ${decision} at ${confidence}.`,
            requirement_results: task.proof_requirements.map((requirement) => ({ requirement, met: decision === 'APPROVE', note: 'Sandbox' })),
            checks: [],
            model: 'sandbox',
            verified_at: new Date().toISOString(),
          };
          await db.asService((tx) => tx`
            select api.apply_guardian_verdict(j.id, ${OUTCOME[decision]}, ${tx.json(verdict as never)})
              from public.guardian_jobs j where j.task_id = ${id} and j.status = 'queued'`);
        }
        break;
      }
      case 'expire':
        await db.asService((tx) => tx`select api.sandbox_expire_task(${id})`);
        break;
      case 'fail_webhooks':
        await db.asService((tx) => tx`select api.fail_next_webhooks(${id}, ${input.count})`);
        break;
    }
    const [after] = await db.asAgent(c.get('agent'), (tx) => tx<{ status: string }[]>`select status from public.tasks where id = ${id}`);
    return c.json({ task_id: id, action: input.action, status: after.status, mode: config.mode });
  });

  return app;
}
