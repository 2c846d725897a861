// Direct SQL tests of the ledger's invariants: what no caller, however privileged, can break.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
let depositAccount: string;
let usdcAccount: string;
beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent('ledger');
  await stack.deposit(agent, 100);
  [{ id: depositAccount }] = await stack.sql`select id from ledger_accounts where agent_id = ${agent.id} and kind = 'agent_deposit'`;
  [{ id: usdcAccount }] = await stack.sql`select id from ledger_accounts where kind = 'external_usdc'`;
});
afterAll(() => stack?.stop());

const errorOf = async (work: Promise<unknown>) => {
  try {
    await work;
  } catch (error) {
    return error as { message: string; code: string };
  }
  throw new Error('expected an error');
};

describe('the ledger', () => {
  it('is append-only: postings and entries cannot be changed or removed, even by the owner', async () => {
    for (const statement of [
      'update ledger_postings set amount = amount * 2',
      'delete from ledger_postings',
      'truncate ledger_postings cascade',
      'update ledger_entries set kind = \'payout\'',
      'delete from ledger_entries',
    ]) {
      const error = await errorOf(stack.sql.unsafe(statement));
      expect(error.message).toMatch(/^The ledger is append-only/);
    }
    expect(await stack.sql`select problem from api.verify_ledger()`).toEqual([]);
  });

  it('refuses an entry that does not balance', async () => {
    const error = await errorOf(stack.sql`
      select private.post_entry('deposit', array[${usdcAccount}, ${depositAccount}]::bigint[], array[-100, 99]::bigint[])`);
    expect(error.message).toMatch(/does not balance/);
  });

  it('refuses postings written around post_entry that do not balance', async () => {
    const error = await errorOf(stack.sql.begin(async (tx) => {
      const [{ id }] = await tx`insert into ledger_entries (kind, agent_id) values ('deposit', ${agent.id}) returning id`;
      await tx`insert into ledger_postings (entry_id, account_id, amount, balance_before, balance_after, account_version)
               values (${id}, ${depositAccount}, 500, 0, 500, 999)`;
    }));
    expect(error.message).toMatch(/^Ledger entry \d+ does not balance: its postings sum to 500/);
  });

  it('never lets an internal balance go negative', async () => {
    const error = await errorOf(stack.sql`
      select private.post_entry('deposit', array[${depositAccount}, ${usdcAccount}]::bigint[], array[-1000000, 1000000]::bigint[])`);
    expect(error.code).toBe('23514');
    expect(error.message).toMatch(/only_external_accounts_go_negative/);
  });

  it('keeps every task and account within its column rules, whoever writes the row', async () => {
    const { body: { task_id: taskId } } = await stack.createTask(agent);
    const refused = async (statement: string, constraint: string) => {
      const error = await errorOf(stack.sql.begin((tx) => tx.unsafe(statement, [taskId])));
      expect(error.code, statement).toBe('23514');
      expect(error.message, statement).toContain(`"${constraint}"`);
    };
    await refused('update tasks set reward_cents = 5 where id = $1', 'task_money_valid');
    await refused('update tasks set escrow_cents = -1 where id = $1', 'task_money_valid');
    await refused("update tasks set title = '' where id = $1", 'task_texts_within_limits');
    await refused("update tasks set proof_requirements = '{}' where id = $1", 'task_texts_within_limits');
    await refused("update tasks set task_type = 'x' where id = $1", 'task_kind_known');
    await refused("update tasks set proof_type = 'VIDEO' where id = $1", 'task_kind_known');
    await refused('update tasks set location_lat = null where id = $1', 'task_place_valid');
    await refused('update tasks set max_distance_m = 5 where id = $1', 'task_place_valid');
    await refused("update tasks set task_domain = 'DIGITAL', max_distance_m = 100 where id = $1", 'task_place_valid');
    await refused("update ledger_accounts set kind = 'agent_savings' where id = (select min(id) from ledger_accounts where agent_id = (select agent_id from tasks where id = $1))", 'account_has_its_owner');
    await refused("update ledger_accounts set kind = 'platform_revenue' where id = (select min(id) from ledger_accounts where agent_id = (select agent_id from tasks where id = $1))", 'account_has_its_owner');
    // A task within every rule passes them all, nulls included (a digital task has no place).
    await stack.sql`update tasks set max_distance_m = 10 where id = ${taskId}`;
    expect(await stack.sql`select problem from api.verify_ledger()`).toEqual([]);
  });

  it('records the balance before and after each posting, and account versions without gaps', async () => {
    await stack.createTask(agent);
    const postings = await stack.sql`
      select amount, balance_before, balance_after, account_version from ledger_postings where account_id = ${depositAccount} order by account_version`;
    expect(postings.map((p) => p.account_version)).toEqual(postings.map((_, i) => String(i + 1)));
    for (let i = 1; i < postings.length; i++) expect(postings[i].balance_before).toBe(postings[i - 1].balance_after);
    expect(await stack.sql`select problem from api.verify_ledger()`).toEqual([]);
  });

  it('verify_ledger reports a cached balance that drifted from its postings', async () => {
    await stack.sql.begin(async (tx) => {
      await tx`update ledger_accounts set balance = balance + 1 where id = ${depositAccount}`;
      const problems = await tx`select problem, subject from api.verify_ledger()`;
      expect(problems).toEqual([
        { problem: 'cached balance differs from postings', subject: String(depositAccount) },
        { problem: 'ledger does not sum to zero', subject: '1' },
      ]);
      throw new Error('roll back');
    }).catch((error) => expect(error.message).toBe('roll back'));
    expect(await stack.sql`select problem from api.verify_ledger()`).toEqual([]);
  });
});
