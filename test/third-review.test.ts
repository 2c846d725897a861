// The third outside review's attacks, each against the real stack, and what they achieve now.
// The finding's number is in each test's name; webhook fairness has its own file
// (webhook-fairness.test.ts), the app's findings are in the app's browser and build tests.
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeJpeg } from './helpers/images.ts';
import { startStorageStandIn } from './helpers/storage-stand-in.ts';
import { type Operator, type Stack, operatorToken, startStack } from './helpers/stack.ts';

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

/** Every file under `dir`, relative to it ([] when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

/** An upload without task_id: it waits, unbound, for the submit that names its task. */
async function uploadUnbound(on: Stack, operator: Operator, bytes: Uint8Array) {
  const form = new FormData();
  form.set('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'proof.jpg');
  const response = await fetch(`${on.url}/operator/upload`, { method: 'POST', headers: operator.auth, body: form });
  return { status: response.status, body: await response.json() };
}

/**
 * Finding 2 against one storage backend: `stored()` lists what the backend holds. The attacks: a
 * KYC-pending and a rejected operator's uploads, and uploads racing past the cap of 50 unbound files.
 */
function refusedUploadsStoreNothing(backend: string, open: () => Promise<{ stack: Stack; stored: () => Promise<string[]>; close(): Promise<void> }>) {
  describe(`finding 2: refused uploads leave ${backend} unchanged`, () => {
    let target: Awaited<ReturnType<typeof open>>;
    beforeAll(async () => {
      target = await open();
    });
    afterAll(() => target?.close());

    it('a KYC-pending or rejected operator\'s uploads are 403 kyc_required, and nothing is stored', async () => {
      const before = await target.stored();
      for (const status of ['PENDING', 'REJECTED']) {
        const operator = await target.stack.registerOperator();
        await target.stack.sql`update operators set kyc_status = ${status} where id = ${operator.id}`;
        const replies = await Promise.all([1, 2, 3, 4, 5].map(() => uploadUnbound(target.stack, operator, makeJpeg())));
        for (const reply of replies) expect(reply).toMatchObject({ status: 403, body: { code: 'kyc_required' } });
      }
      expect(await target.stored()).toEqual(before);
    });

    it('uploads racing past the cap of waiting files: the refused ones leave no file behind', async () => {
      const operator = await target.stack.registerOperator();
      // 45 files already wait (their rows are enough for the count), so 5 of the next 10 fit.
      await target.stack.sql`insert into proof_files (path, operator_id, task_id, content_type, size_bytes)
        select ${operator.id} || '/unbound/seed' || g || '.jpg', ${operator.id}, null, 'image/jpeg', 1 from generate_series(1, 45) g`;
      const before = await target.stored();
      // Holding the operator's row makes every upload pass the early check and write its file before
      // the database counts, one at a time: the race the reviewer won with 56 parallel uploads.
      let release!: () => void;
      const held = target.stack.sql.begin(async (tx) => {
        await tx`select 1 from operators where id = ${operator.id} for update`;
        await new Promise<void>((resolve) => (release = resolve));
      });
      const replies = Promise.all(Array.from({ length: 10 }, () => uploadUnbound(target.stack, operator, makeJpeg())));
      const objects = async () => (await target.stored()).filter((f) => f.startsWith('proofs/') && !before.includes(f)).length;
      await expect.poll(objects, { timeout: 20_000 }).toBe(10);
      release();
      await held;
      const answers = await replies;
      expect(answers.filter((r) => r.status === 201)).toHaveLength(5);
      expect(answers.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual(Array(5).fill('too_many_files'));
      const recorded = await target.stack.sql<{ path: string }[]>`
        select path from proof_files where operator_id = ${operator.id} and path not like '%/seed%' order by path`;
      expect(recorded.map((r) => r.path).sort()).toEqual(answers.filter((r) => r.status === 201).map((r) => r.body.path).sort());
      const added = (await target.stored()).filter((f) => !before.includes(f));
      expect(added.filter((f) => !f.startsWith('proofs-meta/')).map((f) => f.replace(/^proofs\//, '')).sort()).toEqual(recorded.map((r) => r.path));
      // Full now: the next upload is refused before a byte is stored.
      const stored = await target.stored();
      expect(await uploadUnbound(target.stack, operator, makeJpeg())).toMatchObject({ status: 409, body: { code: 'too_many_files' } });
      expect(await target.stored()).toEqual(stored);
    }, 60_000);

    it('unbound files nobody submitted are swept after a day, from the database and from storage', async () => {
      const operator = await target.stack.registerOperator();
      const [old, fresh] = [await uploadUnbound(target.stack, operator, makeJpeg()), await uploadUnbound(target.stack, operator, makeJpeg())];
      expect([old.status, fresh.status]).toEqual([201, 201]);
      await target.stack.sql`update proof_files set created_at = now() - interval '25 hours' where path = ${old.body.path}`;
      expect((await target.stack.tick()).swept_proof_files).toBe(1);
      const left = await target.stack.sql`select path from proof_files where operator_id = ${operator.id}`;
      expect(left.map((r) => r.path)).toEqual([fresh.body.path]);
      const stored = await target.stored();
      expect(stored).toContain(`proofs/${fresh.body.path}`);
      expect(stored.filter((f) => f.includes(old.body.path))).toEqual([]);
    });
  });
}

refusedUploadsStoreNothing('the local storage folder', async () => ({
  stack,
  stored: () => filesUnder(stack.storageDir),
  close: async () => {},
}));

refusedUploadsStoreNothing('the Supabase Storage bucket (stand-in)', async () => {
  const serviceKey = 'service-role-key-for-the-stand-in';
  const standIn = startStorageStandIn(serviceKey);
  await new Promise<void>((resolve) => standIn.server.listen(0, '127.0.0.1', resolve));
  const hosted = await startStack({
    env: {
      STORAGE_BACKEND: 'supabase',
      SUPABASE_URL: `http://127.0.0.1:${(standIn.server.address() as AddressInfo).port}`,
      SUPABASE_SERVICE_ROLE_KEY: serviceKey,
    },
  });
  return {
    stack: hosted,
    stored: async () => [...standIn.objects.keys()].map((key) => `proofs/${key.replace(/^proofs\//, '')}`).sort(),
    close: async () => {
      await hosted.stop();
      await new Promise((resolve) => standIn.server.close(resolve));
    },
  };
});

/** A funded agent, and a second key of it with only the agent scope (its registration key is the owner's). */
async function agentWithBot(name: string) {
  const owner = await stack.registerAgent(name);
  await stack.deposit(owner, 2000);
  const minted = (await stack.call('POST', '/agents/keys', { key: owner.key, body: { name: 'bot', scopes: ['agent'] } })).body;
  return { owner, bot: { id: owner.id, key: minted.api_key as string }, botKeyId: minted.id as string };
}

describe('finding 3: region policies judge every task that carries a place', () => {
  it('a digital task located in Moscow is refused under a Canada-only policy, and never reaches the feed', async () => {
    const { owner } = await agentWithBot('regions-digital');
    await stack.call('PUT', '/agents/policy', { key: owner.key, body: { allowed_regions: [{ country: 'CA' }] } });
    const digital = (location?: Record<string, unknown>) => stack.createTask(owner, {
      task_type: 'CONTENT_REVIEW', reward_usd: 10, proof_requirements: ['Assessment'], location,
    });
    const moscow = await digital({ lat: 55.7558, lng: 37.6173, address: 'Red Square, Moscow' });
    expect(moscow.status).toBe(403);
    expect(moscow.body).toMatchObject({ code: 'policy_violation', details: { rule: 'allowed_regions' } });
    expect(moscow.body.error).toBe("Spending policy: the task's location (55.7558, 37.6173, RU) is outside the allowed regions");
    const operator = await stack.registerOperator();
    const feed = await stack.call('GET', '/operator/tasks?task_domain=DIGITAL&limit=100', { headers: operator.auth });
    expect(JSON.stringify(feed.body)).not.toContain('Red Square');
    // Inside the region it is posted, with its country derived from the coordinates.
    const toronto = await digital({ lat: 43.6532, lng: -79.3832, address: 'Toronto' });
    expect(toronto.status).toBe(201);
    expect(await stack.sql`select location_country from tasks where id = ${toronto.body.task_id}`).toEqual([{ location_country: 'CA' }]);
    // A digital task without a place is in no region: regions do not apply to it (allowed_task_types does).
    expect((await digital()).status).toBe(201);
  });
});

describe("finding 5: a key's policy narrows the account default", () => {
  it('an account default of daily $30 and max $20 still binds a key whose own policy only names PHOTO', async () => {
    const { owner, bot, botKeyId } = await agentWithBot('narrowing');
    await stack.call('PUT', '/agents/policy', { key: owner.key, body: { daily_limit_usd: 30, max_reward_usd: 20 } });
    expect((await stack.call('PUT', `/agents/keys/${botKeyId}/policy`, { key: owner.key, body: { allowed_task_types: ['PHOTO'] } })).status).toBe(200);

    const photo = (reward: number) => stack.createTask(bot, { task_type: 'PHOTO', reward_usd: reward });
    const big = await photo(200);
    expect(big.status).toBe(403);
    expect(big.body.details).toEqual({ rule: 'max_reward', limit_usd: 20, requested_usd: 200 });
    expect((await stack.createTask(bot, { task_type: 'VERIFICATION', reward_usd: 10 })).body.details.rule).toBe('allowed_task_types');
    // $10 + the $2 minimum fee twice is $24; a third would be $36, over the $30 a day.
    expect((await photo(10)).status).toBe(201);
    expect((await photo(10)).status).toBe(201);
    const third = await photo(10);
    expect(third.status).toBe(403);
    expect(third.body.details).toMatchObject({ rule: 'daily_limit', limit_usd: 30, spent_usd: 24 });

    // A key policy cannot widen the default either.
    await stack.call('PUT', `/agents/keys/${botKeyId}/policy`, { key: owner.key, body: { max_reward_usd: 500, daily_limit_usd: 1000 } });
    expect((await photo(15)).body.details).toMatchObject({ rule: 'daily_limit', limit_usd: 30 });

    const effective = {
      max_reward_usd: 20, daily_limit_usd: 30, monthly_limit_usd: null, allowed_task_types: ['PHOTO'], allowed_regions: null,
      allow_credential_tasks: null, approval_threshold_usd: null,
    };
    const keys = (await stack.call('GET', '/agents/keys', { key: owner.key })).body.data;
    expect(keys.find((k: { id: string }) => k.id === botKeyId).policy).toEqual(effective);
    // The owner's key has no policy of its own: the account default is all it follows.
    expect(keys.find((k: { id: string }) => k.id !== botKeyId).policy).toEqual({ ...effective, allowed_task_types: null });
    const usage = (await stack.call('GET', '/agents/usage', { key: owner.key })).body.data;
    const botUsage = usage.find((u: { key_id: string }) => u.key_id === botKeyId);
    expect(botUsage.effective_policy).toEqual(effective);
    expect(botUsage.day).toMatchObject({ spent_usd: 24, limit_usd: 30, remaining_usd: 6 });
  });

  it('task types narrow as sets: a domain in one list and types in the other leave the types of that domain', async () => {
    const { owner, botKeyId } = await agentWithBot('narrowing-types');
    await stack.call('PUT', '/agents/policy', { key: owner.key, body: { allowed_task_types: ['PHYSICAL', 'CONTENT_REVIEW'] } });
    await stack.call('PUT', `/agents/keys/${botKeyId}/policy`, { key: owner.key, body: { allowed_task_types: ['PHOTO', 'DIGITAL'], allow_credential_tasks: true } });
    const keys = (await stack.call('GET', '/agents/keys', { key: owner.key })).body.data;
    expect(keys.find((k: { id: string }) => k.id === botKeyId).policy).toMatchObject({ allowed_task_types: ['PHOTO', 'CONTENT_REVIEW'], allow_credential_tasks: true });
  });
});

describe('finding 6: how precise country borders are', () => {
  it('points a kilometre from the US–Canada border are coded right, a point 300 m inside Canada may not be, and the policy guide says so', async () => {
    const { countryAt } = await import('../functions/_shared/geo.ts');
    const metres = (m: number) => 49 + m / 111_195; // the border follows the 49th parallel here
    for (const lng of [-97.5, -110.7, -118.2]) {
      expect(await countryAt(metres(-1000), lng)).toBe('US');
      expect(await countryAt(metres(1000), lng)).toBe('CA');
    }
    expect(await countryAt(metres(300), -118.2)).toBe('US'); // in Canada, coded as the US: the generalised line
    const guide = readFileSync(new URL('../docs/owners.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(guide).toContain('near a land border a point may be given to the neighbouring country, typically within about 200 m of the line and up to about 500 m');
  });
});
