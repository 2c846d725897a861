// Owners: people signed in with the operators' identity provider, linked to agent accounts by a
// one-time code that an owner key makes; an owner session acts only for agents it is linked to,
// checked by the middleware and again in SQL, and an unlink takes effect at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, operatorToken, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

let people = 0;
/** A fresh signed-in person: headers with their session token. */
async function person() {
  const id = `user_owner${++people}${Date.now()}`;
  return { id, auth: { authorization: `Bearer ${await operatorToken(id)}` } };
}
type Person = Awaited<ReturnType<typeof person>>;

const linkCode = async (agent: Agent) => {
  const reply = await stack.call('POST', '/agents/owners/link-code', { key: agent.key });
  expect(reply.status).toBe(201);
  return reply.body.code as string;
};
const link = (who: Person, code: string) => stack.call('POST', '/owner/link', { headers: who.auth, body: { code } });
/** Headers of `who`'s session acting for `agent`. */
const as = (who: Person, agent: Agent) => ({ ...who.auth, 'x-agent-id': agent.id });

describe('link codes', () => {
  it('an owner key makes a code; a signed-in person redeems it once and then owns the agent', async () => {
    const agent = await stack.registerAgent('owned-once');
    const code = await linkCode(agent);
    expect(code).toMatch(/^link_[A-Za-z0-9]{24}$/);
    const alice = await person();
    const linked = await link(alice, code);
    expect(linked.status).toBe(200);
    expect(linked.body).toMatchObject({ agent_id: agent.id, name: 'owned-once', mode: 'test' });

    const bob = await person();
    const again = await link(bob, code);
    expect(again.status).toBe(410);
    expect(again.body.code).toBe('link_code_used');
    expect((await stack.call('GET', '/owner/agents', { headers: bob.auth })).body.data).toEqual([]);
    expect((await stack.call('GET', '/owner/agents', { headers: alice.auth })).body.data.map((a: { agent_id: string }) => a.agent_id)).toEqual([agent.id]);
    const [stored] = await stack.sql`select count(*)::int as n from owner_link_codes where code_hash like ${'%' + code + '%'}`;
    expect(stored.n).toBe(0);
  });

  it('a code expires, and an unknown one links nobody', async () => {
    const agent = await stack.registerAgent('owned-late');
    const code = await linkCode(agent);
    await stack.sql`update owner_link_codes set expires_at = now() - interval '1 second' where agent_id = ${agent.id}`;
    const alice = await person();
    const late = await link(alice, code);
    expect(late.status).toBe(410);
    expect(late.body.code).toBe('link_code_expired');
    const unknown = await link(alice, 'link_nothingLikeThisAtAll00');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('link_code_not_found');
    expect((await stack.sql`select 1 from owner_links where owner_id = ${alice.id}`).length).toBe(0);
    const empty = await stack.call('POST', '/owner/link', { headers: alice.auth, body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('validation_error');
  });

  it('agent-scoped and read keys cannot make link codes, list owners or unlink', async () => {
    const agent = await stack.registerAgent('owned-scopes');
    for (const scopes of [['agent'], ['read']]) {
      const minted = (await stack.call('POST', '/agents/keys', { key: agent.key, body: { scopes } })).body;
      const made = await stack.call('POST', '/agents/owners/link-code', { key: minted.api_key });
      expect(made.status).toBe(403);
      expect(made.body.code).toBe('insufficient_scope');
      expect((await stack.call('GET', '/agents/owners', { key: minted.api_key })).status).toBe(403);
      expect((await stack.call('DELETE', '/agents/owners/user_x', { key: minted.api_key })).status).toBe(403);
    }
    expect((await stack.sql`select 1 from owner_link_codes where agent_id = ${agent.id}`).length).toBe(0);
  });

  it('linking needs a signed-in person: no token, an API key or a forged token is a 401', async () => {
    const agent = await stack.registerAgent('owned-anon');
    const code = await linkCode(agent);
    expect((await stack.call('POST', '/owner/link', { body: { code } })).status).toBe(401);
    expect((await stack.call('POST', '/owner/link', { key: agent.key, body: { code } })).status).toBe(401);
    const forged = await stack.call('POST', '/owner/link', { headers: { authorization: 'Bearer e30.e30.AAAA' }, body: { code } });
    expect(forged.status).toBe(401);
    // The code is still good for the person it was meant for.
    expect((await link(await person(), code)).status).toBe(200);
  });
});

describe('owner sessions', () => {
  it('act only for linked agents: another agent is a 403, its task a 404, in the middleware and in SQL', async () => {
    const mine = await stack.registerAgent('owner-mine');
    const theirs = await stack.registerAgent('owner-theirs');
    await stack.deposit(mine, 100);
    await stack.deposit(theirs, 100);
    const their = (await stack.createTask(theirs)).body.task_id;
    const alice = await person();
    expect((await link(alice, await linkCode(mine))).status).toBe(200);

    const balance = await stack.call('GET', '/agents/balance', { headers: as(alice, mine) });
    expect(balance.body).toEqual({ deposit_balance: 100, escrow_balance: 0, currency: 'USD' });
    const other = await stack.call('GET', '/agents/balance', { headers: as(alice, theirs) });
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('not_an_owner');
    expect((await stack.call('GET', `/tasks/${their}`, { headers: as(alice, mine) })).status).toBe(404);
    expect((await stack.call('POST', `/tasks/${their}/cancel`, { headers: as(alice, mine) })).status).toBe(404);
    expect((await stack.call('GET', '/tasks', { headers: as(alice, mine) })).body.data).toEqual([]);
    expect((await stack.call('GET', '/agents/balance', { headers: alice.auth })).status).toBe(401);

    // SQL itself refuses claims naming an agent the person is not linked to.
    const asClaims = (agentId: string) => stack.sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: agentId, role: 'authenticated', humanops_role: 'owner', humanops_owner: alice.id })}, true),
                      set_config('role', 'authenticated', true)`;
      return {
        agent: (await tx`select api.current_agent_id() as id`)[0].id,
        tasks: (await tx`select id from public.tasks`).map((t) => t.id),
      };
    });
    expect(await asClaims(theirs.id)).toEqual({ agent: null, tasks: [] });
    expect((await asClaims(mine.id)).agent).toBe(mine.id);
  });

  it('carry an owner key\'s powers: approve a held task, set policies, make keys; never post a task', async () => {
    const agent = await stack.registerAgent('owner-powers');
    await stack.deposit(agent, 100);
    const alice = await person();
    await link(alice, await linkCode(agent));
    const headers = as(alice, agent);
    const bot = (await stack.call('POST', '/agents/keys', { headers, body: { name: 'bot', scopes: ['agent'] } }));
    expect(bot.status).toBe(201);
    const policy = await stack.call('PUT', `/agents/keys/${bot.body.id}/policy`, { headers, body: { approval_threshold_usd: 10 } });
    expect(policy.status).toBe(200);
    const held = await stack.createTask({ id: agent.id, key: bot.body.api_key }, { reward_usd: 20 });
    expect(held.body.status).toBe('PENDING_APPROVAL');
    const approved = await stack.call('POST', `/tasks/${held.body.task_id}/approve`, { headers });
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('PENDING');
    const [event] = await stack.sql`select actor from task_events where task_id = ${held.body.task_id} and to_status = 'PENDING'`;
    expect(event.actor).toBe(`owner:${alice.id}`);
    const posted = await stack.call('POST', '/tasks', { headers, body: { title: 'x' } });
    expect(posted.status).toBe(401);
  });

  it('many-to-many: one person owns two agents, one agent has two owners; owners list and unlink them', async () => {
    const first = await stack.registerAgent('owner-many-1');
    const second = await stack.registerAgent('owner-many-2');
    const alice = await person();
    const bob = await person();
    await link(alice, await linkCode(first));
    await link(alice, await linkCode(second));
    await link(bob, await linkCode(first));
    expect((await stack.call('GET', '/owner/agents', { headers: alice.auth })).body.data.map((a: { agent_id: string }) => a.agent_id))
      .toEqual([first.id, second.id]);
    const owners = await stack.call('GET', '/agents/owners', { headers: as(bob, first) });
    expect(owners.status).toBe(200);
    expect(owners.body.data.map((o: { owner_id: string }) => o.owner_id)).toEqual([alice.id, bob.id]);
    expect((await stack.call('GET', '/agents/owners', { key: second.key })).body.data.map((o: { owner_id: string }) => o.owner_id)).toEqual([alice.id]);
    // An owner session may invite another owner too.
    expect((await stack.call('POST', '/agents/owners/link-code', { headers: as(bob, first) })).status).toBe(201);
    const missing = await stack.call('DELETE', '/agents/owners/user_nobody', { key: first.key });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('owner_not_found');
  });

  it('unlinking removes access at once, even for a session already in use', async () => {
    const agent = await stack.registerAgent('owner-unlinked');
    const alice = await person();
    const bob = await person();
    await link(alice, await linkCode(agent));
    await link(bob, await linkCode(agent));
    expect((await stack.call('GET', '/agents/balance', { headers: as(alice, agent) })).status).toBe(200);

    const unlinked = await stack.call('DELETE', `/agents/owners/${encodeURIComponent(alice.id)}`, { headers: as(bob, agent) });
    expect(unlinked.status).toBe(200);
    expect(unlinked.body).toEqual({ unlinked: true });
    const after = await stack.call('GET', '/agents/balance', { headers: as(alice, agent) });
    expect(after.status).toBe(403);
    expect(after.body.code).toBe('not_an_owner');
    expect((await stack.call('GET', '/owner/agents', { headers: alice.auth })).body.data).toEqual([]);
    // Bob unlinks himself; the key still works.
    expect((await stack.call('DELETE', `/agents/owners/${encodeURIComponent(bob.id)}`, { headers: as(bob, agent) })).status).toBe(200);
    expect((await stack.call('GET', '/agents/balance', { headers: as(bob, agent) })).status).toBe(403);
    expect((await stack.call('GET', '/agents/balance', { key: agent.key })).status).toBe(200);
  });
});

describe("what the owner's console reads", () => {
  it('approvals say which key posted, which rule holds and until when; the timeline, credits, spend and fee tier', async () => {
    const agent = await stack.registerAgent('owner-reads');
    await stack.deposit(agent, 100);
    const alice = await person();
    await link(alice, await linkCode(agent));
    const headers = as(alice, agent);
    const bot = (await stack.call('POST', '/agents/keys', { headers, body: { name: 'bot', scopes: ['agent'] } })).body;
    await stack.call('PUT', '/agents/policy', { headers, body: { approval_threshold_usd: 40 } });
    await stack.call('PUT', `/agents/keys/${bot.id}/policy`, { headers, body: { approval_threshold_usd: 25 } });
    const held = (await stack.createTask({ id: agent.id, key: bot.api_key }, { reward_usd: 30 })).body.task_id;

    const approvals = await stack.call('GET', '/agents/approvals', { headers });
    expect(approvals.status).toBe(200);
    const [waiting] = approvals.body.data;
    expect(waiting).toMatchObject({
      task_id: held, reward_usd: 30, platform_fee_usd: 5.4, total_escrow_usd: 35.4,
      proof_requirements: ['Photo of storefront sign', 'GPS-stamped image'],
      key: { id: bot.id, name: 'bot' },
      held_by: { rule: 'approval_threshold_usd', threshold_usd: 25, policy: 'key' },
    });
    const window = Date.parse(waiting.approval_expires_at) - Date.parse(waiting.created_at);
    expect(window).toBe(72 * 3_600_000);

    await stack.call('POST', `/tasks/${held}/decline`, { headers });
    expect((await stack.call('GET', '/agents/approvals', { headers })).body.data).toEqual([]);
    const events = (await stack.call('GET', `/tasks/${held}/events`, { headers })).body.data;
    expect(events.map((e: { to_status: string; actor: string }) => [e.to_status, e.actor]))
      .toEqual([['PENDING_APPROVAL', expect.stringMatching(/^agent/)], ['CANCELLED', `owner:${alice.id}`]]);

    const credits = (await stack.call('GET', '/agents/deposits', { headers })).body.data;
    expect(credits).toMatchObject([{ method: 'usdc', amount_usd: 100, status: 'confirmed' }]);

    await stack.createTask(agent, { reward_usd: 10 });
    const spend = (await stack.call('GET', '/agents/spend?days=7', { headers })).body;
    expect(spend.days).toHaveLength(7);
    // Today: the $10 task and its $2 minimum fee; the declined one was refunded and does not count.
    expect(spend.days.at(-1).spent_usd).toBe(12);
    expect(spend.fee_tier).toEqual({ rate_pct: 18, settled_30d_usd: 0, next_rate_pct: 15, next_tier_at_usd: 5000, to_next_tier_usd: 5000 });
    const bad = await stack.call('GET', '/agents/spend?days=400', { headers });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^days: /);
  });
});
