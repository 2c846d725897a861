// The third outside review's attacks, each against the real stack, and what they achieve now.
// The finding's number is in each test's name; webhook fairness has its own file
// (webhook-fairness.test.ts), the app's findings are in the app's browser and build tests.
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

