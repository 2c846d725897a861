/** Looking at proof and deciding on it. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Context } from '../server.ts';
import { guarded, ok } from '../results.ts';

export function registerReviewTools(server: McpServer, { client }: Context) {
  server.registerTool('check_verification_status', {
    title: 'Check verification status',
    description: 'The AI Guardian\'s verdict on a task: decision (APPROVE, MANUAL_REVIEW, REJECT), confidence 0–100, reasoning, and each requirement met or not. Free.',
    inputSchema: { task_id: z.string() },
    outputSchema: z.looseObject({ task_id: z.string(), status: z.string(), decision: z.string().nullable(), confidence: z.number().nullable(), reasoning: z.string().nullable(), requirement_results: z.array(z.unknown()) }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  }, ({ task_id }) => guarded(async () => {
    const task = await client.tasks.retrieve(task_id);
    const verdict = task.guardian_result;
    return ok({
      task_id, status: task.status, decision: verdict?.decision ?? null, confidence: verdict?.confidence ?? null,
      reasoning: verdict?.reasoning ?? null, requirement_results: verdict?.requirement_results ?? [],
    }, verdict ? `Guardian: ${verdict.decision} at ${verdict.confidence}.` : `Not verified yet (${task.status}).`);
  }));

  server.registerTool('get_proof_photos', {
    title: 'Get proof photos',
    description: 'The photos or screenshots an operator submitted, as images you can look at before verify_task. Free.',
    inputSchema: { task_id: z.string() },
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  }, ({ task_id }) => guarded(async (): Promise<CallToolResult> => {
    const photos = await client.tasks.proofPhotos(task_id);
    if (photos.length === 0) return { content: [{ type: 'text', text: `${task_id} has no proof photos.` }] };
    return {
      content: [
        { type: 'text', text: `${photos.length} proof image(s) for ${task_id}:` },
        ...photos.map((p) => ({ type: 'image' as const, data: Buffer.from(p.data).toString('base64'), mimeType: p.contentType })),
      ],
    };
  }));

  server.registerTool('verify_task', {
    title: 'Approve or reject proof',
    description: 'Decide on a task the Guardian left for manual review (or still SUBMITTED), or settle one the Guardian DISPUTED. APPROVE completes it and pays the operator from escrow (irreversible). REJECT needs a reason the operator will read (say what the proof is missing, in plain words): it disputes the task with the funds held in escrow, and the operator may resubmit new proof once before the deadline (you hear task.resubmitted and judge again; a second rejection stands, and the operator may then appeal to an admin). On a task the Guardian disputed, REJECT confirms the dispute: while the operator may still act (resubmit before the deadline, or appeal within 48 hours of its new proof being disputed) it records your reason and refund_at, when reward and fee come back to you unless the operator acts first; after that it refunds at once. Look at get_proof_photos / check_verification_status first.',
    inputSchema: {
      task_id: z.string(),
      decision: z.enum(['APPROVE', 'REJECT']),
      reason: z.string().min(1).max(1000).optional().describe('Required with REJECT: what the proof is missing, for the operator'),
    },
    outputSchema: z.looseObject({ task_id: z.string(), status: z.string(), message: z.string() }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  }, ({ task_id, decision, reason }) => guarded(async () => {
    if (decision === 'REJECT' && !reason?.trim()) {
      return { isError: true, content: [{ type: 'text' as const, text: 'REJECT needs a reason: say what the proof is missing, in words the operator can act on, and call verify_task again.' }] };
    }
    const result = decision === 'REJECT' ? await client.tasks.verify(task_id, 'REJECT', reason!) : await client.tasks.verify(task_id, 'APPROVE');
    return ok(result, result.message);
  }));
}
