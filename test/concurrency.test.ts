import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack, txHash } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  // Earnings are held for a day here, so the test decides when they come due.
  stack = await startStack({ env: { EARNINGS_HOLD_SECONDS: '86400' } });
});
afterAll(() => stack?.stop());

const ledgerProblems = () => stack.sql`select problem, subject from api.verify_ledger()`;

describe('money under concurrency', () => {
  it('30 concurrent posts against a balance that covers 8: exactly 8 succeed, 22 get 402, balances exact', async () => {
    const agent = await stack.registerAgent('crowd');
    await stack.deposit(agent, 8 * 29.5 + 20); // one more task would need $29.50
    const replies = await Promise.all(Array.from({ length: 30 }, () => stack.createTask(agent)));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(8);
    expect(statuses.filter((s) => s === 402)).toHaveLength(22);
    const balance = await stack.call('GET', '/agents/balance', { key: agent.key });
    expect(balance.body).toEqual({ deposit_balance: 20, escrow_balance: 236, currency: 'USD' });
    expect(await stack.sql`select count(*)::int as n from tasks where agent_id = ${agent.id}`).toEqual([{ n: 8 }]);
    expect(await ledgerProblems()).toEqual([]);
  });

  it('posts of one key that arrive together share a transaction, each answered on its own', async () => {
    const agent = await stack.registerAgent('burst');
    await stack.deposit(agent, 3 * 29.5 + 5); // three tasks of $25 + $4.50 fee fit
    const replayKey = { 'Idempotency-Key': 'burst-same-key' };
    const replies = await Promise.all([
      ...Array.from({ length: 10 }, () => stack.createTask(agent)),
      stack.createTask(agent, { reward_usd: 10 }, replayKey),
      stack.createTask(agent, { reward_usd: 10 }, replayKey),
    ]);
    const created = replies.filter((r) => r.status === 201);
    const ids = new Set(created.map((r) => r.body.task_id));
    // Four tasks: three of $29.50 or $10 + fee and the one keyed post, whichever came first; the
    // keyed twin answers its first's task (a replay, or a 402 replayed), never a second task.
    expect(replies[10].body).toEqual(replies[11].body);
    expect(replies.filter((r) => r.status === 402).length + created.length).toBe(12);
    expect(await stack.sql`select count(*)::int as n from tasks where agent_id = ${agent.id}`).toEqual([{ n: ids.size }]);
    const [{ spent }] = await stack.sql`select coalesce(sum(reward_cents + fee_cents), 0)::int as spent from tasks where agent_id = ${agent.id}`;
    const balance = await stack.call('GET', '/agents/balance', { key: agent.key });
    expect(balance.body.escrow_balance * 100).toBe(spent);
    expect(Math.round((balance.body.deposit_balance + balance.body.escrow_balance) * 100)).toBe(3 * 2950 + 500);
    // Shared: tasks written in one transaction carry its start time.
    const [{ shared }] = await stack.sql`
      select count(*)::int as shared from (select created_at from tasks where agent_id = ${agent.id} group by created_at having count(*) > 1) t`;
    expect(shared).toBeGreaterThan(0);
    expect(await ledgerProblems()).toEqual([]);
  });

  it('keeps the ledger exact through thousands of random deposits, posts and cancels run concurrently', async () => {
    let seed = 20261128;
    const random = () => {
      // mulberry32: a seeded generator, so a failure can be replayed.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];

    const agents = await Promise.all(Array.from({ length: 6 }, (_, i) => stack.registerAgent(`prop-${i}`)));
    const deposited = new Map(agents.map((a) => [a.id, 0]));
    const tasks = new Map(agents.map((a) => [a.id, [] as string[]]));
    const outcomes: Record<string, number> = {};
    const operations = 2400;
    const clients = 24;
    let next = 0;

    const runOne = async () => {
      const agent = pick(agents);
      const roll = random();
      let reply;
      if (roll < 0.25) {
        const cents = 500 + Math.floor(random() * 30_000);
        reply = await stack.call('POST', '/agents/deposit/usdc', { key: agent.key, body: { tx_hash: txHash(), amount_usdc: (cents / 100).toFixed(2) } });
        if (reply.status === 200) deposited.set(agent.id, deposited.get(agent.id)! + cents);
      } else if (roll < 0.75) {
        const cents = 1000 + Math.floor(random() * 40_000);
        reply = await stack.createTask(agent, { reward_usd: cents / 100 });
        if (reply.status === 201) tasks.get(agent.id)!.push(reply.body.task_id);
      } else {
        const own = tasks.get(agent.id)!;
        if (own.length === 0) return;
        reply = await stack.call('POST', `/tasks/${pick(own)}/cancel`, { key: agent.key });
      }
      const label = `${roll < 0.25 ? 'deposit' : roll < 0.75 ? 'post' : 'cancel'} ${reply.status}`;
      outcomes[label] = (outcomes[label] ?? 0) + 1;
    };
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next++ < operations) await runOne();
      }),
    );

    // Only these outcomes are legitimate; a 500 or anything else fails the test.
    for (const label of Object.keys(outcomes)) {
      expect(['deposit 200', 'post 201', 'post 402', 'cancel 200', 'cancel 409']).toContain(label);
    }
    expect(outcomes['post 201']).toBeGreaterThan(100);
    expect(outcomes['post 402']).toBeGreaterThan(10);
    expect(outcomes['cancel 200']).toBeGreaterThan(50);

    expect(await ledgerProblems()).toEqual([]);
    for (const agent of agents) {
      const balance = (await stack.call('GET', '/agents/balance', { key: agent.key })).body;
      const inEscrow = await stack.sql`
        select coalesce(sum(reward_cents + fee_cents), 0)::bigint as cents from tasks where agent_id = ${agent.id} and status = 'PENDING'`;
      // Nothing completes in this issue, so nothing is spent: every cent put in is in deposit or escrow.
      expect(Math.round((balance.deposit_balance + balance.escrow_balance) * 100)).toBe(deposited.get(agent.id));
      expect(Math.round(balance.escrow_balance * 100)).toBe(Number(inEscrow[0].cents));
    }
    // Each task's share of its agent's escrow, as post_entry kept it on the task.
    const escrows = await stack.sql`select status, escrow_cents, reward_cents + fee_cents as total from tasks`;
    for (const escrow of escrows) {
      expect(escrow.escrow_cents).toBe(escrow.status === 'PENDING' ? String(escrow.total) : '0');
    }
    const [external] = await stack.sql`select balance from ledger_accounts where kind = 'external_usdc'`;
    const totalDeposited = [...deposited.values()].reduce((a, b) => a + b, 0);
    // The external account mirrors every deposit on this database (this test's and the one before).
    const [{ earlier }] = await stack.sql`
      select coalesce(sum(amount_cents), 0)::bigint as earlier from deposits where agent_id not in ${stack.sql(agents.map((a) => a.id))}`;
    expect(Number(external.balance)).toBe(-(totalDeposited + Number(earlier)));
  }, 600_000); // 2,400 requests: minutes on a loaded 2-core machine, beyond the default 60 s

  it('releases due earnings from many workers at once without a deadlock, each task once', async () => {
    // Eight operators' tasks completed in turn, so by completion time their earnings interleave;
    // releases running at once used to lock operators' accounts in that order and deadlock (40P01,
    // a 503 to the caller), found by the seeded simulation.
    const agent = await stack.registerAgent('release-crowd');
    await stack.deposit(agent, 2000);
    const operators = await Promise.all(Array.from({ length: 8 }, () => stack.registerOperator()));
    const digital = { task_type: 'CONTENT_REVIEW', reward_usd: 10, location: undefined, proof_requirements: ['Written assessment'] };
    const completed: string[] = [];
    for (let round = 0; round < 6; round++) {
      for (const operator of operators) {
        const id = (await stack.createTask(agent, digital)).body.task_id as string;
        expect((await stack.call('POST', `/operator/tasks/${id}/accept`, { headers: operator.auth })).status).toBe(200);
        expect((await stack.call('POST', `/operator/tasks/${id}/submit`, { headers: operator.auth, body: { confirmation_text: 'Reviewed' } })).status).toBe(200);
        await stack.sql`update guardian_jobs set status = 'done' where task_id = ${id}`; // the agent decides
        expect((await stack.call('POST', `/tasks/${id}/verify`, { key: agent.key, body: { decision: 'APPROVE' } })).status).toBe(200);
        completed.push(id);
      }
    }
    // Two days later: all 48 are due. Twelve releases of at most 7 tasks each, all at once.
    await stack.sql`update tasks set completed_at = completed_at - interval '2 days' where id in ${stack.sql(completed)}`;
    const results = await Promise.allSettled(Array.from({ length: 12 }, () =>
      stack.sql.begin(async (tx) => {
        await tx`set local role service_role`;
        const [{ released }] = await tx`select api.release_earnings(interval '1 day', 7) as released`;
        return released as number;
      })));
    const failures = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code);
    expect(failures).toEqual([]);
    // Whatever the first round left (skipped rows locked by a sibling), a later one releases.
    await stack.sql`select api.release_earnings(interval '1 day')`;
    const entries = await stack.sql`
      select task_id, count(*)::int as n from ledger_entries where kind = 'earnings_release' and task_id in ${stack.sql(completed)}
       group by task_id`;
    expect(entries).toHaveLength(48);
    expect(entries.every((e) => e.n === 1)).toBe(true);
    expect(await ledgerProblems()).toEqual([]);
  }, 180_000);
});
