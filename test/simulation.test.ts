// The short seeded simulation of the whole marketplace (scripts/lib/simulation.mjs): about 2,000
// operations by agents, operators, an admin, the Guardian with a model stand-in and two workers,
// through the HTTP API, with the SQL invariants and every actor's books checked at checkpoints.
// HUMANOPS_SIM_SEED replays another seed; the long run is `npm run simulate`.
import { randomBytes } from 'node:crypto';
import { encryptForAgent, generateKeyPair } from '@humanops/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDigest, planOperations, runSimulation, simulationEnv, startModelStandIn } from '../scripts/lib/simulation.mjs';
import { operatorToken, type Stack, startStack } from './helpers/stack.ts';

const seed = Number(process.env.HUMANOPS_SIM_SEED ?? 20261201);
const ops = Number(process.env.HUMANOPS_SIM_OPS ?? 2000);
const adminKey = randomBytes(24).toString('hex');

let stack: Stack;
let standIn: Awaited<ReturnType<typeof startModelStandIn>>;
beforeAll(async () => {
  standIn = await startModelStandIn();
  stack = await startStack({ env: { ...simulationEnv(standIn), HUMANOPS_ADMIN_KEY: adminKey } });
});
afterAll(async () => {
  await stack?.stop();
  await standIn?.stop();
});

describe('the seeded simulation', () => {
  it('the same seed gives the same plan of operations, another seed another plan', () => {
    expect(planDigest(planOperations(seed, 500))).toBe(planDigest(planOperations(seed, 500)));
    expect(planDigest(planOperations(seed, 500))).not.toBe(planDigest(planOperations(seed + 1, 500)));
    expect(planOperations(seed, 500).slice(0, 100)).toEqual(planOperations(seed, 100));
  });

  it(`${ops} concurrent operations keep every invariant and every actor's books (seed ${seed})`, async () => {
    const result = await runSimulation({
      url: stack.url,
      sql: stack.sql,
      tick: async () => {
        try {
          return { status: 200, body: await stack.tick() };
        } catch (error) {
          return { status: 500, body: String(error) };
        }
      },
      operatorAuth: async (sub: string) => ({ authorization: `Bearer ${await operatorToken(sub)}` }),
      adminKey,
      encryptForAgent,
      generateKeyPair,
      seed,
      plan: planOperations(seed, ops),
      clients: 8,
      checkpointEvery: 500,
    });
    // The seed is in the message: `HUMANOPS_SIM_SEED=<seed> npx vitest run test/simulation.test.ts` replays the plan.
    expect(result.violations.slice(0, 5), `seed ${seed}: ${result.violations.length} violation(s)`).toEqual([]);
    expect(result.invariantChecks).toBeGreaterThanOrEqual(5 * 17);
    // The plan reached every corner: money settled every way, and the model's every kind of answer.
    expect(result.outcomes['post 201']).toBeGreaterThan(200);
    for (const status of ['COMPLETED', 'CANCELLED', 'EXPIRED']) expect(result.tasks[status], status).toBeGreaterThan(5);
    for (const label of ['accept 409', 'resolve 200', 'review 200', 'payout 200', 'cancel 200', 'resubmit 200', 'appeal 200', 'release 200']) {
      expect(result.outcomes[label], label).toBeGreaterThan(0);
    }
    const verdicts = await stack.sql`
      select count(*) filter (where guardian_result->>'model' is not null and guardian_result->>'decision' = 'APPROVE')::int as approved,
             count(*) filter (where guardian_result->>'error' is not null)::int as gave_up,
             count(*) filter (where guardian_result->>'reasoning' like '%declined%')::int as refused
        from tasks`;
    expect(verdicts[0].approved).toBeGreaterThan(0);
    expect(verdicts[0].gave_up).toBeGreaterThan(0);
    expect(verdicts[0].refused).toBeGreaterThan(0);
  }, 600_000);
});
