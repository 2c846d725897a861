/** Tier 2 credential tasks: the private key stays in the local key store, never in a tool result. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { CREDENTIAL_CATEGORIES } from '@humanops/sdk';
import type { Context } from '../server.ts';
import { fail, guarded, idempotencyKey, ok } from '../results.ts';
import { awaitingApproval, capsOf, deadline, idempotency, reward } from './tasks.ts';

export function registerCredentialTools(server: McpServer, { client, keys }: Context) {
  server.registerTool('dispatch_credential_task', {
    title: 'Dispatch a credential task',
    description: `Create a Tier 2 task whose result (an account, an API key, a verified phone, a subscription) comes back end-to-end encrypted: a key pair is made here and its private key kept in the local key store (never shown). Categories and caps: ${capsOf(CREDENTIAL_CATEGORIES)}. Escrows reward + fee. Retrieve with retrieve_credential once COMPLETED.`,
    inputSchema: {
      title: z.string().min(1).max(200),
      description: z.string().min(1).max(5000),
      credential_category: z.enum(CREDENTIAL_CATEGORIES),
      reward_usd: reward,
      deadline: deadline.optional(),
      digital_instructions: z.string().max(10_000).optional(),
      callback_url: z.string().url().optional(),
      idempotency_key: idempotency,
    },
    outputSchema: z.looseObject({ task_id: z.string(), status: z.string(), total_escrow: z.number(), key_stored: z.boolean() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  }, (args) => guarded(async () => {
    const { credential_category, idempotency_key: _key, ...rest } = args;
    const { task, privateKey } = await client.dispatchCredentialTask({ ...rest, category: credential_category, idempotencyKey: idempotencyKey('dispatch_credential_task', args) });
    await keys.save(task.task_id, privateKey);
    return ok({ task_id: task.task_id, status: task.status, total_escrow: task.total_escrow, key_stored: true },
      `Dispatched ${task.task_id}; its decryption key is in the local key store.${awaitingApproval(task.status)}`);
  }));

  server.registerTool('retrieve_credential', {
    title: 'Retrieve a credential',
    description: 'Fetch and decrypt the credential a COMPLETED credential task delivered, with the key kept when it was dispatched from this machine. Returns the secret itself: handle it with care. It does not wait: use wait_for_task with until ["COMPLETED"] first.',
    inputSchema: { task_id: z.string() },
    outputSchema: z.looseObject({ task_id: z.string(), credential: z.unknown() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  }, ({ task_id }) => guarded(async () => {
    const privateKey = await keys.load(task_id);
    if (!privateKey) return fail(`No decryption key for ${task_id} in ${keys.dir}.`, 'Only credential tasks dispatched with dispatch_credential_task on this machine can be decrypted here.');
    return ok({ task_id, credential: await client.retrieveCredential(task_id, privateKey, { wait: false }) });
  }));
}
