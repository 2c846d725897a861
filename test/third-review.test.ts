// The third outside review's attacks, each against the real stack, and what they achieve now.
// The finding's number is in each test's name; webhook fairness has its own file
// (webhook-fairness.test.ts), the app's findings are in the app's browser and build tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, operatorToken, startStack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

describe('finding 6: an identity that never registered', () => {
  it('gets 403 operator_not_registered on its task list and on a payout status, not 200 [] and 404', async () => {
    const stranger = { authorization: `Bearer ${await operatorToken('op_never_registered_3')}` };
    for (const path of ['/operator/my-tasks', '/operator/payout/status/pay_000000000000000000000000']) {
      const reply = await stack.call('GET', path, { headers: stranger });
      expect(reply.status, path).toBe(403);
      expect(reply.body, path).toEqual({ error: 'Register as an operator first (POST /operator/register)', code: 'operator_not_registered' });
    }
    // A registered operator still gets its list and a 404 for a payout it does not have.
    const operator = await stack.registerOperator();
    expect((await stack.call('GET', '/operator/my-tasks', { headers: operator.auth })).status).toBe(200);
    expect((await stack.call('GET', '/operator/payout/status/pay_000000000000000000000000', { headers: operator.auth })).body.code).toBe('payout_not_found');
  });
});
