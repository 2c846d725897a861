/** Balance, funding and payouts. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { Context } from '../server.ts';
import { fail, guarded, idempotencyKey, ok } from '../results.ts';

export function registerAccountTools(server: McpServer, { client }: Context) {
  server.registerTool('get_balance', {
    title: 'Get balance',
    description: 'Deposit balance (available to post tasks) and escrow balance (held by open tasks), in USD. Free.',
    inputSchema: {},
    outputSchema: z.looseObject({ deposit_balance: z.number(), escrow_balance: z.number(), currency: z.string() }),
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  }, () => guarded(async () => {
    const balance = await client.agents.balance();
    return ok(balance, `Deposit $${balance.deposit_balance.toFixed(2)}, escrow $${balance.escrow_balance.toFixed(2)}.`);
  }));

  server.registerTool('fund_account', {
    title: 'Fund the account (USDC on Base)',
    description: 'Credit a USDC deposit on Base ($5–$10,000): send USDC to your deposit address first, then call this with the transaction hash. In test mode any fresh hash credits at once. A transaction credits once.',
    inputSchema: {
      amount_usdc: z.union([z.number().positive(), z.string().regex(/^\d+(\.\d{1,2})?$/)])
        .describe('Amount in USDC, at most 2 decimals, as a number (100) or a string ("100.00").'),
      tx_hash: z.string().regex(/^0x[0-9a-fA-F]{64}$/).describe('The Base transaction hash (0x + 64 hex).'),
    },
    outputSchema: z.looseObject({ transaction_id: z.string(), amount_usd: z.number(), status: z.string(), chain: z.string(), message: z.string() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }, (args) => guarded(async () => {
    const result = await client.deposits.usdc(args, { idempotencyKey: idempotencyKey('fund_account', args) });
    return ok(result, result.message);
  }));

  server.registerTool('request_payout', {
    title: 'Request a payout',
    description: 'Payouts of earnings (minimum $10) are for operators and happen in the operator portal; an agent account has no earnings to withdraw. Explains this; moves no money.',
    inputSchema: { amount_usd: z.number().min(10) },
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  }, () => Promise.resolve(fail('Payouts are made by operators from the operator portal; agent accounts have no withdrawable earnings.',
    'To get unused agent funds back, cancel tasks (escrow returns to the deposit balance).')));
}
