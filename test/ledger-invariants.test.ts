// The ledger's invariants in SQL (api.verify_ledger / api.check_ledger): a marketplace with tasks in
// every state satisfies all of them, and each one, broken on purpose in a rolled-back transaction,
// is reported by its name — and only the invariants that the break really violates are.
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Operator, type Stack, startStack } from './helpers/stack.ts';

const ADMIN_KEY = 'admin-key-for-tests-0123456789';

let stack: Stack;
let agent: Agent;
let operator: Operator;
const task: Record<string, string> = {};

const simulate = (id: string, body: unknown) => stack.call('POST', `/sandbox/tasks/${id}/simulate`, { key: agent.key, body });
const resolve = (id: string, body: unknown) => stack.call('POST', `/admin/tasks/${id}/resolve`, { headers: { 'x-admin-key': ADMIN_KEY }, body });
const digitalTask = { task_type: 'CONTENT_REVIEW', reward_usd: 20, location: undefined, proof_requirements: ['Written assessment'] };

async function post(name: string, overrides: Record<string, unknown> = {}) {
  const reply = await stack.createTask(agent, overrides);
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  task[name] = reply.body.task_id;
  return task[name];
}

async function sandboxSubmitted(name: string, decision: string, confidence: number) {
  const id = await post(name);
  expect((await simulate(id, { action: 'accept' })).status).toBe(200);
  expect((await simulate(id, { action: 'submit', verdict: { decision, confidence } })).status).toBe(200);
  return id;
}

beforeAll(async () => {
  stack = await startStack({ env: { HUMANOPS_ADMIN_KEY: ADMIN_KEY, EARNINGS_HOLD_SECONDS: '0' } });
  agent = await stack.registerAgent('invariants');
  await stack.deposit(agent, 2000);
  operator = await stack.registerOperator();

  await post('pending');
  await post('accepted');
  await simulate(task.accepted, { action: 'accept' });
  await post('cancelled');
  await stack.call('POST', `/tasks/${task.cancelled}/cancel`, { key: agent.key });
  await post('expired');
  await simulate(task.expired, { action: 'expire' });
  await sandboxSubmitted('manualReview', 'MANUAL_REVIEW', 70);
  await sandboxSubmitted('disputed', 'REJECT', 20);
  await sandboxSubmitted('completed', 'APPROVE', 95);
  for (const [name, body] of [['split', { resolution: 'split', operator_usd: 10 }], ['refunded', { resolution: 'refund' }], ['paid', { resolution: 'pay' }]] as const) {
    await sandboxSubmitted(name, 'REJECT', 20);
    expect((await resolve(task[name], body)).status).toBe(200);
  }

  // A real operator's task: accepted, submitted, approved by the agent, earnings released (no
  // hold here), part of them paid out.
  const id = await post('operatorPaid', digitalTask);
  await stack.call('POST', `/operator/tasks/${id}/accept`, { headers: operator.auth });
  await stack.call('POST', `/operator/tasks/${id}/submit`, { headers: operator.auth, body: { confirmation_text: 'Reviewed and compliant' } });
  expect((await stack.call('POST', `/tasks/${id}/verify`, { key: agent.key, body: { decision: 'APPROVE' } })).status).toBe(200);
  await stack.tick();
  expect((await stack.call('POST', '/operator/payout', { headers: operator.auth, body: { amount_usd: 12 } })).status).toBe(200);
  // And one of its completed tasks still on hold (released_at not yet set), for the pending books.
  const held = await post('operatorPending', digitalTask);
  await stack.call('POST', `/operator/tasks/${held}/accept`, { headers: operator.auth });
  await stack.call('POST', `/operator/tasks/${held}/submit`, { headers: operator.auth, body: { confirmation_text: 'Reviewed and compliant' } });
  expect((await stack.call('POST', `/tasks/${held}/verify`, { key: agent.key, body: { decision: 'APPROVE' } })).status).toBe(200);
});
afterAll(() => stack?.stop());

class Rollback extends Error {}

/** The problems verify_ledger reports after `tamper` runs (as the database owner), all rolled back. */
async function problemsAfter(tamper: (tx: postgres.TransactionSql) => Promise<unknown>) {
  let problems: { problem: string; subject: string }[] = [];
  await stack.sql
    .begin(async (tx) => {
      await tamper(tx);
      problems = (await tx`select problem, subject from api.verify_ledger()`) as never;
      throw new Rollback();
    })
    .catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
  expect(await stack.sql`select problem, subject from api.verify_ledger()`).toEqual([]);
  return [...new Set(problems.map((p) => p.problem))].sort();
}

const account = async (tx: postgres.TransactionSql, where: postgres.PendingQuery<postgres.Row[]>) => {
  const [row] = await tx`select id, balance from ledger_accounts where ${where}`;
  return row as { id: string; balance: string };
};
const depositAccount = (tx: postgres.TransactionSql) => account(tx, tx`agent_id = ${agent.id} and kind = 'agent_deposit'`);
const escrowAccount = (tx: postgres.TransactionSql) => account(tx, tx`agent_id = ${agent.id} and kind = 'agent_escrow'`);
const platformAccount = (tx: postgres.TransactionSql, kind: string) => account(tx, tx`kind = ${kind}`);
const operatorAccount = (tx: postgres.TransactionSql, kind: string) => account(tx, tx`operator_id = ${operator.id} and kind = ${kind}`);
/** A balanced entry through the ledger's own function: legal bookkeeping, wrong business. */
const move = (tx: postgres.TransactionSql, kind: string, from: string, to: string, cents: number, refs: { task?: string; agent?: string; operator?: string } = {}) =>
  tx`select private.post_entry(${kind}, array[${from}, ${to}]::bigint[], array[${-cents}, ${cents}]::bigint[],
                               ${refs.agent ?? null}, ${refs.task ?? null}, ${refs.operator ?? null})`;

describe('the ledger invariants', () => {
  it('hold for tasks in every state, money settled, released and paid out; each is named in check_ledger', async () => {
    const statuses = await stack.sql`select distinct status from tasks order by status`;
    expect(statuses.map((s) => s.status)).toEqual(['ACCEPTED', 'CANCELLED', 'COMPLETED', 'DISPUTED', 'EXPIRED', 'MANUAL_REVIEW', 'PENDING']);
    const report = await stack.sql`select invariant, violations from api.check_ledger()`;
    const names = await stack.sql`select invariant from api.ledger_invariants()`;
    expect(report.map((r) => r.invariant)).toEqual(names.map((n) => n.invariant));
    expect(report.length).toBe(19);
    expect(report.filter((r) => r.violations !== '0')).toEqual([]);
  });

  it('an entry that does not balance (written around every guard) is named', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`set local session_replication_role = replica`; // switches off the append-only and balance triggers
      const deposit = await depositAccount(tx);
      const [{ id }] = await tx`insert into ledger_entries (kind) values ('earnings_release') returning id`;
      const [{ version }] = await tx`update ledger_accounts set balance = balance + 500, version = version + 1 where id = ${deposit.id} returning version`;
      await tx`insert into ledger_postings (entry_id, account_id, amount, balance_before, balance_after, account_version)
               values (${id}, ${deposit.id}, 500, ${deposit.balance}, ${Number(deposit.balance) + 500}, ${version})`;
    })).toEqual(['entry does not balance', 'ledger does not sum to zero']);
  });

  it('a cached balance that drifted from its postings is named', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`update ledger_accounts set balance = balance + 1 where agent_id = ${agent.id} and kind = 'agent_deposit'`;
    })).toEqual(['cached balance differs from postings', 'ledger does not sum to zero']);
  });

  it('a negative internal balance is named (with its CHECK constraint out of the way)', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`alter table ledger_accounts drop constraint only_external_accounts_go_negative`;
      const deposit = await depositAccount(tx);
      await move(tx, 'payout', deposit.id, (await platformAccount(tx, 'external_payouts')).id, Number(deposit.balance) + 100);
    })).toEqual(['negative internal balance']);
  });

  it('a refund that forgets the fee leaves a final task with escrow and the agent overcharged', async () => {
    expect(await problemsAfter(async (tx) => {
      const [{ fee_cents }] = await tx`select fee_cents from tasks where id = ${task.cancelled}`;
      await move(tx, 'task_escrow', (await depositAccount(tx)).id, (await escrowAccount(tx)).id, Number(fee_cents), { task: task.cancelled, agent: agent.id });
    })).toEqual(['agent charged wrong for a task', 'final task escrow not zero']);
  });

  it('an open task whose escrow was partly refunded is named', async () => {
    expect(await problemsAfter(async (tx) => {
      await move(tx, 'task_refund', (await escrowAccount(tx)).id, (await depositAccount(tx)).id, 100, { task: task.pending, agent: agent.id });
    })).toEqual(['agent charged wrong for a task', 'open task escrow differs from reward + fee']);
  });

  it('a task never paid for, and without events, is named', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`insert into tasks (agent_id, title, description, task_type, task_domain, proof_type, reward_cents, fee_cents, fee_rate_pct, deadline, proof_requirements)
               values (${agent.id}, 'Ghost', 'Never paid for', 'CONTENT_REVIEW', 'DIGITAL', 'CONFIRMATION', 2000, 360, 18, now() + interval '1 day', array['x'])`;
    })).toEqual(['agent charged wrong for a task', 'open task escrow differs from reward + fee', 'task state path not allowed']);
  });

  it('revenue that did not come from a completed task\'s fee is named', async () => {
    expect(await problemsAfter(async (tx) => {
      await move(tx, 'task_settlement', (await depositAccount(tx)).id, (await platformAccount(tx, 'platform_revenue')).id, 100);
    })).toEqual(['platform revenue differs from fees of completed tasks']);
  });

  it('a fee booked against the wrong task is named for both tasks, though revenue adds up', async () => {
    const problems = await problemsAfter(async (tx) => {
      const revenue = (await platformAccount(tx, 'platform_revenue')).id;
      const deposit = (await depositAccount(tx)).id;
      await move(tx, 'task_settlement', deposit, revenue, 100, { task: task.completed });
      await move(tx, 'task_settlement', revenue, deposit, 100, { task: task.paid });
    });
    expect(problems).toEqual(['agent charged wrong for a task', 'task revenue differs from its fee']);
  });

  it('an operator credited other than the task\'s terms is named, with the books that no longer add up', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`update tasks set operator_earnings_cents = operator_earnings_cents - 100 where id = ${task.split}`;
    })).toEqual([
      'agent charged wrong for a task', 'operator books differ from completed tasks', 'operator share differs from the task\'s terms',
    ]);
  });

  it('money reaching an operator outside any task is named', async () => {
    expect(await problemsAfter(async (tx) => {
      await move(tx, 'earnings_release', (await depositAccount(tx)).id, (await operatorAccount(tx, 'operator_available')).id, 100);
    })).toEqual(['operator books differ from completed tasks']);
  });

  it('earnings marked released without moving the money are named', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`update tasks set earnings_released_at = now() where id = ${task.operatorPending}`;
    })).toEqual(['operator pending differs from unreleased earnings']);
  });

  it('a payout without its ledger entry is named', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`insert into payouts (operator_id, amount_cents, method, status) values (${operator.id}, 1000, 'test', 'completed')`;
    })).toEqual(['payouts differ from payout entries']);
  });

  it('a payout shown queued on chain while its money already left (nothing in clearing) is named', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`update payouts set method = 'usdc', status = 'queued', completed_at = null, address = ${`0x${'12'.repeat(20)}`}
                where operator_id = ${operator.id}`;
    })).toEqual(['payout clearing differs from payouts in flight']);
  });

  it('a transfer credited twice is named (with its unique key out of the way)', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`alter table deposits drop constraint deposits_chain_tx_hash_log_index_key`;
      const [d] = await tx`select * from deposits where agent_id = ${agent.id} limit 1`;
      await tx`insert into deposits (agent_id, method, chain, tx_hash, log_index, amount_cents, status)
               values (${agent.id}, 'usdc', 'base', ${d.tx_hash}, ${d.log_index}, ${d.amount_cents}, 'confirmed')`;
      await move(tx, 'deposit', (await platformAccount(tx, 'external_usdc')).id, (await depositAccount(tx)).id, Number(d.amount_cents), { agent: agent.id });
    })).toEqual(['deposit credited more than once']);
  });

  it('a deposit entry without its deposit is named', async () => {
    expect(await problemsAfter(async (tx) => {
      await move(tx, 'deposit', (await platformAccount(tx, 'external_usdc')).id, (await depositAccount(tx)).id, 500, { agent: agent.id });
    })).toEqual(['deposits differ from deposit entries']);
  });

  it("a task's escrow that drifted from the postings tagged with it is named, and so is its agent's escrow", async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`update tasks set escrow_cents = escrow_cents + 1 where id = ${task.pending}`;
    })).toEqual(['agent escrow differs from its tasks', 'open task escrow differs from reward + fee', 'task escrow differs from its postings']);
    // A closed task whose kept sum says it still holds escrow, though its postings net to zero.
    expect(await problemsAfter(async (tx) => {
      await tx`update tasks set escrow_cents = 100 where id = ${task.cancelled}`;
    })).toEqual(['agent escrow differs from its tasks', 'final task escrow not zero', 'task escrow differs from its postings']);
  });

  it('an escrow posting tagged with another task is named for both tasks', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`set local session_replication_role = replica`; // switches off the append-only triggers
      await tx`update ledger_postings set task_id = ${task.paid} where task_id = ${task.pending}`;
    })).toEqual(['task escrow differs from its postings']);
  });

  it("money on an agent's escrow account that belongs to none of its tasks is named", async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`set local session_replication_role = replica`;
      const escrow = await escrowAccount(tx);
      const [{ id }] = await tx`insert into ledger_entries (kind) values ('earnings_release') returning id`;
      const external = await platformAccount(tx, 'external_usdc');
      await tx`update ledger_accounts set balance = balance + 500, version = version + 1 where id = ${escrow.id}`;
      await tx`update ledger_accounts set balance = balance - 500, version = version + 1 where id = ${external.id}`;
      await tx`insert into ledger_postings (entry_id, account_id, amount, balance_before, balance_after, account_version)
               select ${id}, a.id, case when a.id = ${escrow.id} then 500 else -500 end, a.balance - case when a.id = ${escrow.id} then 500 else -500 end, a.balance, a.version
                 from ledger_accounts a where a.id in (${escrow.id}, ${external.id})`;
    })).toEqual(['agent escrow differs from its tasks']);
  });

  it("post_entry refuses an escrow move that names no task, or another agent's task", async () => {
    const refused = async (refs: { task?: string }) => stack.sql.begin(async (tx) => {
      await move(tx, 'task_escrow', (await depositAccount(tx)).id, (await escrowAccount(tx)).id, 100, refs);
    }).then(() => null, (e) => e.message);
    expect(await refused({})).toMatch(/moves escrow of agent agt_\w+ for no task, not one of its tasks/);
    const stranger = await stack.registerAgent('stranger');
    await stack.deposit(stranger, 100);
    const other = (await stack.createTask(stranger)).body.task_id as string;
    expect(await refused({ task: other })).toMatch(/moves escrow of agent agt_\w+ for \w+, not one of its tasks/);
  });

  it('a move the state machine does not allow is named', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`update tasks set status = 'PENDING' where id = ${task.cancelled}`;
      await tx`insert into task_events (task_id, from_status, to_status, actor) values (${task.cancelled}, 'CANCELLED', 'PENDING', 'test')`;
    })).toContain('task state path not allowed');
    expect(await problemsAfter(async (tx) => {
      await tx`update tasks set status = 'DISPUTED' where id = ${task.manualReview}`;
    })).toEqual(['task state path not allowed']);
  });

  it('a history whose events are misnumbered, out of order or missing one is named', async () => {
    // The operator's paid task went PENDING → ACCEPTED → SUBMITTED → COMPLETED, its events numbered 1 to 4.
    const id = task.operatorPaid;
    const seqs = await stack.sql`select seq, to_status from task_events where task_id = ${id} order by seq`;
    expect(seqs.map((e) => `${e.seq}:${e.to_status}`)).toEqual(['1:PENDING', '2:ACCEPTED', '3:SUBMITTED', '4:COMPLETED']);
    expect((await stack.sql`select last_event_seq from tasks where id = ${id}`)[0].last_event_seq).toBe(4);
    const breaks = [
      // two events swapped: each names the state the other left
      (tx: postgres.TransactionSql) => tx`update task_events set seq = 5 - seq where task_id = ${id} and seq in (2, 3)`,
      // one in the middle gone
      (tx: postgres.TransactionSql) => tx`delete from task_events where task_id = ${id} and seq = 2`,
      // two numbered alike, and one numbered past the end
      (tx: postgres.TransactionSql) => tx`update task_events set seq = 2 where task_id = ${id} and seq = 3`,
      (tx: postgres.TransactionSql) => tx`update task_events set seq = 5 where task_id = ${id} and seq = 4`,
      // the task's count of events off by one
      (tx: postgres.TransactionSql) => tx`update tasks set last_event_seq = 3 where id = ${id}`,
      // a step the state machine allows, written without moving the task
      (tx: postgres.TransactionSql) => tx`insert into task_events (task_id, from_status, to_status, actor, seq) values (${task.pending}, 'PENDING', 'ACCEPTED', 'test', 2)`,
    ];
    for (const tamper of breaks) {
      expect(await problemsAfter(tamper), tamper.toString()).toEqual(['task state path not allowed']);
    }
  });

  it('the fast pass clears a clean ledger, flags each group it cannot clear, and amounts too big to weigh go to the exact queries', async () => {
    const suspects = async (tx: postgres.TransactionSql) => (await tx`select * from private.ledger_suspects(${Math.floor(Math.random() * 1e15)})`)[0];
    const clean = { entries: false, accounts: false, task_books: false, agent_escrow: false, state_path: false, revenue: false, books: false };
    expect(await suspects(stack.sql as never)).toEqual(clean);
    const flagged = async (tamper: (tx: postgres.TransactionSql) => Promise<unknown>) => {
      let found: Record<string, boolean> = {};
      await stack.sql.begin(async (tx) => {
        await tamper(tx);
        found = await suspects(tx);
        throw new Rollback();
      }).catch((error) => {
        if (!(error instanceof Rollback)) throw error;
      });
      return Object.keys(found).filter((k) => found[k]).sort();
    };
    expect(await flagged((tx) => tx`update ledger_accounts set balance = balance + 1 where agent_id = ${agent.id} and kind = 'agent_deposit'`)).toEqual(['accounts']);
    expect(await flagged((tx) => tx`update tasks set escrow_cents = escrow_cents + 1 where id = ${task.pending}`)).toEqual(['agent_escrow', 'books', 'task_books']);
    expect(await flagged((tx) => tx`update tasks set status = 'DISPUTED' where id = ${task.manualReview}`)).toEqual(['state_path']);
    expect(await flagged((tx) => tx`update tasks set fee_cents = fee_cents + 1 where id = ${task.completed}`)).toEqual(['books', 'revenue', 'task_books']);
    expect(await flagged((tx) => tx`update deposits set amount_cents = amount_cents + 1 where agent_id = ${agent.id}`)).toEqual(['books', 'task_books']);
    expect(await flagged((tx) => tx`update tasks set earnings_released_at = now() where id = ${task.operatorPending}`)).toEqual(['books', 'task_books']);
    expect(await flagged((tx) => tx`update payouts set amount_cents = amount_cents + 1 where operator_id = ${operator.id}`)).toEqual(['books', 'task_books']);
    // $30 million between two outside accounts: postings beyond what the pass weighs, so their
    // groups are left to the exact queries, which find it all in order.
    const big = async (tx: postgres.TransactionSql) =>
      move(tx, 'earnings_release', (await platformAccount(tx, 'external_usdc')).id, (await platformAccount(tx, 'external_payouts')).id, 3_000_000_000);
    expect(await flagged(big)).toEqual(['accounts', 'books', 'entries', 'task_books']);
    expect(await problemsAfter(big)).toEqual([]);
  });

  it('judge a state added later by its transitions: an open one holds the escrow, a final one holds nothing', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`insert into task_statuses values ('ON_HOLD'), ('WITHDRAWN')`;
      await tx`insert into task_transitions values ('PENDING', 'ON_HOLD'), ('ON_HOLD', 'PENDING'), ('ON_HOLD', 'WITHDRAWN')`;
      await tx`select private.transition_task(${task.pending}, 'ON_HOLD', 'test')`;
    })).toEqual([]);
    expect(await problemsAfter(async (tx) => {
      await tx`insert into task_statuses values ('ON_HOLD'), ('WITHDRAWN')`;
      await tx`insert into task_transitions values ('PENDING', 'ON_HOLD'), ('ON_HOLD', 'PENDING'), ('ON_HOLD', 'WITHDRAWN')`;
      await tx`select private.transition_task(${task.pending}, 'ON_HOLD', 'test')`;
      await tx`select private.transition_task(${task.pending}, 'WITHDRAWN', 'test')`;
    })).toEqual(['agent charged wrong for a task', 'final task escrow not zero']);
  });

  it('are callable by the service role only', async () => {
    for (const role of ['anon', 'authenticated']) {
      for (const fn of ['api.verify_ledger()', 'api.check_ledger()', 'api.ledger_invariants()']) {
        const error = await stack.sql.begin(async (tx) => {
          await tx.unsafe(`set local role ${role}`);
          await tx.unsafe(`select * from ${fn}`);
        }).catch((e) => e);
        expect(error?.code, `${role} ${fn}`).toBe('42501');
      }
    }
    await stack.sql.begin(async (tx) => {
      await tx`set local role service_role`;
      expect((await tx`select * from api.check_ledger()`).length).toBe(19);
    });
  });
});
