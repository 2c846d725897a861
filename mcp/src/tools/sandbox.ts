/** Test mode only: try the whole loop without a human. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { Context } from '../server.ts';
import { guarded, ok } from '../results.ts';

export function registerSandboxTools(server: McpServer, { client }: Context) {
  server.registerTool('simulate_task', {
    title: 'Simulate (test mode)',
    description: 'Test mode only: drive one of your tasks without a human. accept → a sandbox operator claims it; submit → it submits proof, with a forced Guardian verdict (decision + confidence) or, without one, for the real Guardian; expire → the deadline passes (refund); fail_webhooks → the next `count` webhook deliveries fail.',
    inputSchema: {
      task_id: z.string(),
      action: z.enum(['accept', 'submit', 'expire', 'fail_webhooks']),
      decision: z.enum(['APPROVE', 'MANUAL_REVIEW', 'REJECT']).optional().describe('With submit: the forced verdict.'),
      confidence: z.number().int().min(0).max(100).optional().describe('With submit and decision.'),
      count: z.number().int().min(1).max(100).optional().describe('With fail_webhooks.'),
    },
    outputSchema: z.looseObject({ task_id: z.string(), action: z.string(), status: z.string() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  }, ({ task_id, action, decision, confidence, count }) => guarded(async () => {
    const params = action === 'submit'
      ? { action, ...(decision ? { verdict: { decision, confidence: confidence ?? (decision === 'APPROVE' ? 95 : decision === 'MANUAL_REVIEW' ? 70 : 20) } } : {}) }
      : action === 'fail_webhooks' ? { action, count: count ?? 1 } : { action };
    const result = await client.sandbox.simulate(task_id, params as never);
    return ok(result, `${task_id} is now ${result.status}.`);
  }));
}
