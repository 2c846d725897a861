// Every protected route refuses a caller without credentials, whatever order the routers were
// mounted in (a route registered before its guard would answer without it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers/stack.ts';

const T = 'task_00000000000000000000000000000000';
const ROUTES: [string, string, 'agent' | 'operator' | 'admin' | 'worker'][] = [
  ['POST', '/agents/keys', 'agent'], ['GET', '/agents/keys', 'agent'], ['DELETE', '/agents/keys/key_1', 'agent'],
  ['GET', '/agents/balance', 'agent'], ['GET', '/agents/policy', 'agent'], ['PUT', '/agents/policy', 'agent'],
  ['GET', '/agents/keys/key_1/policy', 'agent'], ['PUT', '/agents/keys/key_1/policy', 'agent'],
  ['DELETE', '/agents/keys/key_1/policy', 'agent'], ['GET', '/agents/usage', 'agent'], ['POST', '/agents/deposit/usdc', 'agent'], ['POST', '/agents/deposit', 'agent'],
  ['POST', '/agents/deposit/status', 'agent'], ['GET', '/agents/deposit/address', 'agent'],
  ['POST', '/tasks', 'agent'], ['GET', '/tasks', 'agent'], ['GET', `/tasks/${T}`, 'agent'], ['POST', `/tasks/${T}/cancel`, 'agent'],
  ['POST', `/tasks/${T}/verify`, 'agent'], ['POST', `/tasks/${T}/approve`, 'agent'], ['POST', `/tasks/${T}/decline`, 'agent'], ['POST', `/tasks/${T}/rate`, 'agent'], ['GET', `/tasks/${T}/webhooks`, 'agent'],
  ['POST', `/tasks/${T}/retrieve-credential`, 'agent'], ['POST', '/webhooks/whd_1/resend', 'agent'],
  ['GET', '/operators/search?lat=1&lng=1', 'agent'], ['POST', `/sandbox/tasks/${T}/simulate`, 'agent'],
  ['POST', '/operator/register', 'operator'], ['GET', '/operator/tasks', 'operator'], ['GET', `/operator/tasks/${T}`, 'operator'],
  ['POST', `/operator/tasks/${T}/accept`, 'operator'], ['POST', `/operator/tasks/${T}/start`, 'operator'],
  ['POST', `/operator/tasks/${T}/submit`, 'operator'], ['POST', '/operator/upload', 'operator'], ['GET', '/operator/earnings', 'operator'],
  ['GET', '/operator/me', 'operator'], ['GET', '/operator/my-tasks', 'operator'],
  ['POST', '/operator/payout', 'operator'], ['GET', '/operator/payout/status/payout_1', 'operator'],
  ['POST', '/admin/operators/op_1/kyc', 'admin'], ['POST', `/admin/tasks/${T}/resolve`, 'admin'],
  ['POST', '/internal/tick', 'worker'],
];

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { HUMANOPS_ADMIN_KEY: 'admin-key-for-tests-0123456789' } });
});
afterAll(() => stack?.stop());

describe('every protected route needs its credentials', () => {
  it.each(ROUTES)('%s %s (%s)', async (method, path, kind) => {
    const reply = await stack.call(method, path, { body: method === 'GET' ? undefined : {} });
    expect(reply.status, JSON.stringify(reply.body)).toBe(kind === 'agent' || kind === 'operator' ? 401 : 403);
  });

  it('an agent key is not an operator token, and an operator token is not an agent key', async () => {
    const agent = await stack.registerAgent('crossed');
    const operator = await stack.registerOperator();
    expect((await stack.call('GET', '/operator/earnings', { key: agent.key })).status).toBe(401);
    expect((await stack.call('GET', '/agents/balance', { headers: operator.auth })).status).toBe(401);
  });
});
