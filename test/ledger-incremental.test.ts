// The incremental ledger check (api.verify_ledger_incremental): it reads only what was written
// since the last clean check, names what is wrong there, and moves its watermark only when clean.
// Breaks are made in rolled-back transactions, as the full check's tests do.
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;

beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent('incremental');
  await stack.deposit(agent, 500);
});
afterAll(() => stack?.stop());

class Rollback extends Error {}

const incremental = (sql: postgres.Sql | postgres.TransactionSql) =>
  sql<{ problem: string; subject: string }[]>`select problem, subject from api.verify_ledger_incremental()`;
const watermark = async () =>
  Number((await stack.sql`select through_posting_id from ledger_checks where problems = 0 order by id desc limit 1`)[0]?.through_posting_id ?? 0);

/** What the incremental check names after `tamper`, all rolled back (the watermark too). */
async function problemsAfter(tamper: (tx: postgres.TransactionSql) => Promise<unknown>) {
  let problems: { problem: string; subject: string }[] = [];
  await stack.sql
    .begin(async (tx) => {
      await tamper(tx);
      problems = await incremental(tx);
      throw new Rollback();
    })
    .catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
  return [...new Set(problems.map((p) => p.problem))].sort();
}

const depositAccount = async (tx: postgres.TransactionSql) =>
  (await tx`select id, balance from ledger_accounts where agent_id = ${agent.id} and kind = 'agent_deposit'`)[0] as { id: string; balance: string };
const revenue = async (tx: postgres.TransactionSql) => (await tx`select id from ledger_accounts where kind = 'platform_revenue'`)[0].id as string;

describe('the incremental ledger check', () => {
  it('passes what the money functions wrote, and moves its watermark past it', async () => {
    expect(await incremental(stack.sql)).toEqual([]);
    const before = await watermark();
    expect((await stack.createTask(agent)).status).toBe(201);
    expect(await incremental(stack.sql)).toEqual([]);
    const [{ last }] = await stack.sql`select max(id)::bigint as last from ledger_postings`;
    expect(await watermark()).toBe(Number(last));
    expect(Number(last)).toBe(before + 2); // the escrow entry: deposit out, escrow in
    expect(await stack.sql`select problem from api.verify_ledger()`).toEqual([]);
  });

  it("names a new escrow posting that is not tagged with its entry's task", async () => {
    const task = (await stack.createTask(agent)).body.task_id as string;
    expect(await incremental(stack.sql)).toEqual([]);
    const untagged = await problemsAfter(async (tx) => {
      const [escrow] = await tx`select id from ledger_accounts where agent_id = ${agent.id} and kind = 'agent_escrow'`;
      await tx`select private.post_entry('task_refund', array[${escrow.id}, ${(await depositAccount(tx)).id}]::bigint[], array[-100, 100]::bigint[], ${agent.id}, ${task})`;
      await tx`set local session_replication_role = replica`; // switches off the append-only triggers
      await tx`update ledger_postings set task_id = null where id = (select max(id) from ledger_postings where task_id = ${task})`;
    });
    expect(untagged).toEqual(['task escrow differs from its postings']);
  });

  it('names a cached balance that drifted on an account written since the last check', async () => {
    expect(await problemsAfter(async (tx) => {
      const deposit = await depositAccount(tx);
      await tx`select private.post_entry('payout', array[${deposit.id}, ${await revenue(tx)}]::bigint[], array[-100, 100]::bigint[])`;
      await tx`update ledger_accounts set balance = balance + 1 where id = ${deposit.id}`;
    })).toEqual(['cached balance differs from postings']);
  });

  it('names a posting that does not follow the one before it, and an entry that does not balance', async () => {
    expect(await problemsAfter(async (tx) => {
      await tx`set local session_replication_role = replica`; // switches off the append-only and balance triggers
      const deposit = await depositAccount(tx);
      const [{ id }] = await tx`insert into ledger_entries (kind) values ('payout') returning id`;
      const [{ version }] = await tx`update ledger_accounts set balance = balance - 100, version = version + 1 where id = ${deposit.id} returning version`;
      await tx`insert into ledger_postings (entry_id, account_id, amount, balance_before, balance_after, account_version)
               values (${id}, ${deposit.id}, -100, ${Number(deposit.balance) + 7}, ${Number(deposit.balance) - 93}, ${version})`;
    })).toEqual(['cached balance differs from postings', 'entry does not balance', 'posting does not follow the one before it']);
  });

  it('keeps its watermark while a problem stands, so the next check looks again', async () => {
    const before = await watermark();
    await stack.sql.begin(async (tx) => {
      const deposit = await depositAccount(tx);
      await tx`select private.post_entry('payout', array[${deposit.id}, ${await revenue(tx)}]::bigint[], array[-100, 100]::bigint[])`;
      await tx`update ledger_accounts set balance = balance + 1 where id = ${deposit.id}`;
      expect((await incremental(tx)).map((p) => p.problem)).toEqual(['cached balance differs from postings']);
      const [check] = await tx`select through_posting_id, problems from ledger_checks order by id desc limit 1`;
      expect({ through: Number(check.through_posting_id), problems: check.problems }).toEqual({ through: before, problems: 1 });
      throw new Rollback();
    }).catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
  });

  it('is callable by the service role only', async () => {
    for (const role of ['anon', 'authenticated']) {
      const error = await stack.sql.begin(async (tx) => {
        await tx.unsafe(`set local role ${role}`);
        await tx`select * from api.verify_ledger_incremental()`;
      }).catch((e) => e);
      expect(error?.code, role).toBe('42501');
    }
  });
});
