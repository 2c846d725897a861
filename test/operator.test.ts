import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Operator, type Stack, futureDeadline, operatorToken, startStack } from './helpers/stack.ts';
import { makeJpeg } from './helpers/images.ts';

let stack: Stack;
let agent: Agent;
beforeAll(async () => {
  // Earnings tests watch the 7-day hold, which test mode leaves out by default.
  stack = await startStack({ env: { EARNINGS_HOLD_SECONDS: '604800' } });
  agent = await stack.registerAgent('employer');
  await stack.deposit(agent, 20_000);
});
afterAll(() => stack?.stop());

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** Real images (they must decode): a small JPEG from jpeg-js and a 1×1 PNG. */
const JPEG = makeJpeg();
const PNG = Uint8Array.from(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64'));

const upload = (operator: Operator, taskId: string, bytes: Uint8Array = JPEG, type = 'image/jpeg', name = 'proof.jpg') =>
  stack.upload(operator, taskId, bytes, { type, name });

const post = (operator: Operator, path: string, body?: unknown) => stack.call('POST', path, { headers: operator.auth, body });
const get = (operator: Operator, path: string) => stack.call('GET', path, { headers: operator.auth });

/** Every task id of a list, read page by page through its next_cursor (`path` already has a query). */
async function idsByCursor(operator: Operator, path: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const reply = await get(operator, `${path}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(reply.status).toBe(200);
    ids.push(...reply.body.data.map((t: { task_id: string }) => t.task_id));
    cursor = reply.body.pagination.next_cursor;
  } while (cursor);
  return ids;
}

async function acceptedTask(operator: Operator, overrides: Record<string, unknown> = {}) {
  const task = await stack.createTask(agent, overrides);
  expect(task.status, JSON.stringify(task.body)).toBe(201);
  const accepted = await post(operator, `/operator/tasks/${task.body.task_id}/accept`);
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
  return task.body.task_id as string;
}

describe('operator identity', () => {
  it('registers with a Bearer token from the issuer, verified at once in test mode', async () => {
    const sub = 'user_jane_1';
    const reply = await stack.call('POST', '/operator/register', {
      headers: { authorization: `Bearer ${await operatorToken(sub)}` },
      body: { name: 'Jane Doe', email: 'jane@example.com', phone: '+1234567890', location: { city: 'New York', country: 'us' }, skills: ['VERIFICATION', 'PHOTO'] },
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({ operator_id: sub, name: 'Jane Doe', kyc_status: 'VERIFIED' });
    const [row] = await stack.sql`select country, skills, lat from operators where id = ${sub}`;
    expect(row).toEqual({ country: 'US', skills: ['VERIFICATION', 'PHOTO'], lat: null });
  });

  it('registering the same identity twice is a 409, not a second operator', async () => {
    const auth = { authorization: `Bearer ${await operatorToken('user_twice')}` };
    const body = { name: 'Twice', email: 't@example.com', location: { city: 'Paris', country: 'FR' } };
    expect((await stack.call('POST', '/operator/register', { headers: auth, body })).status).toBe(201);
    const again = await stack.call('POST', '/operator/register', { headers: auth, body });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('operator_exists');
    expect(await stack.sql`select count(*)::int as n from operators where id = 'user_twice'`).toEqual([{ n: 1 }]);
  });

  it('accepts X-Operator-Id in test mode (the dev shortcut)', async () => {
    const reply = await stack.call('POST', '/operator/register', {
      headers: { 'x-operator-id': 'op_dev_header' },
      body: { name: 'Dev', email: 'd@example.com', location: { city: 'Berlin', country: 'DE' } },
    });
    expect(reply.status).toBe(201);
    expect((await stack.call('GET', '/operator/earnings', { headers: { 'x-operator-id': 'op_dev_header' } })).status).toBe(200);
  });

  it.each([
    [{}, 401, 'Missing Authorization: Bearer <operator token>'],
    [{ authorization: 'Basic abc' }, 401, 'Authorization must be "Bearer <token>"'],
    [{ authorization: 'Bearer not.a.jwt' }, 401, undefined],
    [{ 'x-operator-id': 'bad id!' }, 401, 'X-Operator-Id is not a valid operator id'],
  ])('refuses %j', async (headers, status, error) => {
    const reply = await stack.call('GET', '/operator/earnings', { headers });
    expect(reply.status).toBe(status);
    if (error) expect(reply.body.error).toBe(error);
  });

  it('refuses expired tokens and tokens for another application', async () => {
    const expired = await operatorToken('user_late', { expiresIn: -120 });
    const reply = await stack.call('GET', '/operator/earnings', { headers: { authorization: `Bearer ${expired}` } });
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('invalid_token');
    const foreign = await operatorToken('user_other_app', { azp: 'someone-else' });
    expect((await stack.call('GET', '/operator/earnings', { headers: { authorization: `Bearer ${foreign}` } })).status).toBe(401);
  });

  it.each([
    [{ location: { city: 'NYC', country: 'USA' } }, 'location.country: must be a two-letter country code, e.g. US'],
    [{ location: { city: 'NYC', country: 'US', lat: 40 } }, 'location.lat: lat and lng come together'],
    [{ location: { city: 'NYC', country: 'US', lat: 95, lng: 0 } }, 'location.lat: must be between -90 and 90'],
    [{ skills: ['JUGGLING'] }, 'skills.0: must be one of VERIFICATION'],
    [{ email: 'nope' }, 'email: must be an email address'],
    [{ phone: 'call me' }, 'phone: must be a phone number, e.g. +1234567890'],
    [{ location: undefined }, 'location: is required'],
  ])('refuses registration with %j', async (overrides, error) => {
    const body: Record<string, unknown> = { name: 'Bad', email: 'b@example.com', location: { city: 'NYC', country: 'US' }, ...overrides };
    for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete body[k];
    const reply = await stack.call('POST', '/operator/register', { headers: { 'x-operator-id': 'op_bad_input' }, body });
    expect(reply.status).toBe(400);
    expect(reply.body.error.startsWith(error)).toBe(true);
  });
});

describe('browsing open tasks', () => {
  let near: string;
  let far: string;
  let digital: string;
  let browser: Operator;
  beforeAll(async () => {
    browser = await stack.registerOperator({ skills: [] });
    near = (await stack.createTask(agent, { title: 'Near', location: { lat: 40.72, lng: -74.0, address: 'SoHo' } })).body.task_id;
    far = (await stack.createTask(agent, { title: 'Far', location: { lat: 34.05, lng: -118.24, address: 'LA' } })).body.task_id;
    digital = (await stack.createTask(agent, { title: 'Digital', task_type: 'CAPTCHA_SOLVING', reward_usd: 10, location: undefined })).body.task_id;
  });

  it('lists open tasks with the reference fields', async () => {
    const reply = await get(browser, '/operator/tasks?limit=100');
    expect(reply.status).toBe(200);
    const ids = reply.body.data.map((t: { task_id: string }) => t.task_id);
    expect(ids).toEqual(expect.arrayContaining([near, far, digital]));
    const task = reply.body.data.find((t: { task_id: string }) => t.task_id === near);
    expect(task).toMatchObject({
      task_id: near, title: 'Near', description: expect.any(String), task_type: 'VERIFICATION',
      location: { lat: 40.72, lng: -74, address: 'SoHo' }, reward_usd: 25, deadline: expect.stringMatching(ISO),
      proof_requirements: ['Photo of storefront sign', 'GPS-stamped image'], created_at: expect.stringMatching(ISO),
    });
    expect(reply.body.pagination).toMatchObject({ limit: 100, offset: 0 });
  });

  it('finds physical tasks nearby, nearest first, and keeps digital tasks after them', async () => {
    const reply = await get(browser, '/operator/tasks?lat=40.7128&lng=-74.006&radius_km=10&limit=100');
    const ids = reply.body.data.map((t: { task_id: string }) => t.task_id);
    expect(ids).toContain(near);
    expect(ids).not.toContain(far);
    expect(ids.indexOf(near)).toBeLessThan(ids.indexOf(digital));
    const nearTask = reply.body.data.find((t: { task_id: string }) => t.task_id === near);
    expect(nearTask.distance_km).toBeGreaterThan(0.5);
    expect(nearTask.distance_km).toBeLessThan(1.5);
    const distances = reply.body.data.filter((t: { distance_km?: number }) => t.distance_km !== undefined).map((t: { distance_km: number }) => t.distance_km);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
  });

  it('filters by task type, and by the operator\'s skills when it has some', async () => {
    const captcha = await get(browser, '/operator/tasks?task_type=CAPTCHA_SOLVING&limit=100');
    expect(captcha.body.data.every((t: { task_type: string }) => t.task_type === 'CAPTCHA_SOLVING')).toBe(true);
    const specialist = await stack.registerOperator({ skills: ['CAPTCHA_SOLVING'] });
    const seen = await get(specialist, '/operator/tasks?limit=100');
    expect(seen.body.data.map((t: { task_id: string }) => t.task_id)).toContain(digital);
    expect(seen.body.data.every((t: { task_type: string }) => t.task_type === 'CAPTCHA_SOLVING')).toBe(true);
  });

  it('hides tasks that are taken, cancelled or past their deadline', async () => {
    const taker = await stack.registerOperator();
    const taken = await acceptedTask(taker);
    const cancelled = (await stack.createTask(agent)).body.task_id;
    await stack.call('POST', `/tasks/${cancelled}/cancel`, { key: agent.key });
    const overdue = (await stack.createTask(agent)).body.task_id;
    await stack.sql`update tasks set deadline = now() - interval '1 minute' where id = ${overdue}`;
    const ids = (await get(browser, '/operator/tasks?limit=100')).body.data.map((t: { task_id: string }) => t.task_id);
    for (const hidden of [taken, cancelled, overdue]) expect(ids).not.toContain(hidden);
  });

  it('pages by cursor through open tasks posted within one millisecond, microseconds apart', async () => {
    const poster = await stack.registerAgent('burst-poster');
    await stack.deposit(poster, 200);
    const posted: string[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await stack.createTask(poster, { task_type: 'DATA_VALIDATION', reward_usd: 49.87, location: undefined });
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
      posted.push(reply.body.task_id);
    }
    for (const [i, id] of posted.entries()) {
      await stack.sql`update tasks set created_at = ${`2026-12-07 10:00:00.0001${i}5+00`}::text::timestamptz where id = ${id}`;
    }
    const reader = await stack.registerOperator({ skills: ['DATA_VALIDATION'] });
    const seen = await idsByCursor(reader, '/operator/tasks?task_domain=DIGITAL&min_reward_usd=49.8&limit=1');
    // Other tests' tasks may be listed too; these three come newest first, each once.
    expect(seen.filter((id) => posted.includes(id))).toEqual([...posted].reverse());
  });

  it('pages by cursor near a place: nearest first, then digital tasks, each once, as offset pages do', async () => {
    // Sydney, away from every other test's tasks; 1, 2 and 3 km north of the centre.
    const spot = { lat: -33.8688, lng: 151.2093 };
    const nearby = [];
    for (const km of [3, 1, 2]) {
      const location = { lat: spot.lat + km / 111.2, lng: spot.lng, address: `${km} km north` };
      nearby.push({ km, id: (await stack.createTask(agent, { task_type: 'INSPECTION', location })).body.task_id });
    }
    const reader = await stack.registerOperator({ skills: ['INSPECTION', 'DATA_VALIDATION'] });
    await stack.createTask(agent, { task_type: 'DATA_VALIDATION', reward_usd: 10, location: undefined });
    const query = `lat=${spot.lat}&lng=${spot.lng}&radius_km=5`;

    const byCursor: { task_id: string; distance_km?: number }[] = [];
    let cursor: string | null = null;
    do {
      const reply = await get(reader, `/operator/tasks?${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(reply.status).toBe(200);
      byCursor.push(...reply.body.data);
      cursor = reply.body.pagination.next_cursor;
    } while (cursor);
    const byOffset: { task_id: string }[] = [];
    for (let offset = 0; ; offset += 2) {
      const reply = await get(reader, `/operator/tasks?${query}&limit=2&offset=${offset}`);
      if (reply.body.data.length === 0) break;
      byOffset.push(...reply.body.data);
    }
    expect(byCursor.map((t) => t.task_id)).toEqual(byOffset.map((t) => t.task_id));
    expect(new Set(byCursor.map((t) => t.task_id)).size).toBe(byCursor.length);
    expect(byCursor.slice(0, 3).map((t) => t.task_id)).toEqual([...nearby].sort((a, b) => a.km - b.km).map((t) => t.id));
    expect(byCursor.slice(0, 3).map((t) => Math.round(t.distance_km!))).toEqual([1, 2, 3]);
    expect(byCursor.slice(3).every((t) => t.distance_km === undefined)).toBe(true);
    expect(byCursor.length).toBeGreaterThan(3);
  });

  it.each([
    ['cursor=abc', 'cursor: must be the next_cursor of a previous page'],
    ['cursor=abc&offset=20', 'offset: cannot be combined with cursor'],
    ['lat=40', 'lat: lat and lng come together'],
    ['radius_km=5', 'radius_km: needs lat and lng'],
    ['lat=100&lng=0', 'lat: must be between -90 and 90'],
    ['lat=x&lng=0', 'lat: must be a number'],
    ['lat=&lng=', 'lat: must be a number'],
    ['lat=0x10&lng=1', 'lat: must be a number'],
    ['task_type=NOPE', 'task_type: must be one of'],
    ['color=red', 'color: is not a known field'],
  ])('refuses ?%s', async (query, error) => {
    const reply = await get(browser, `/operator/tasks?${query}`);
    expect(reply.status).toBe(400);
    expect(reply.body.error.startsWith(error)).toBe(true);
  });

  it('needs a registered operator', async () => {
    const reply = await stack.call('GET', '/operator/tasks', { headers: { 'x-operator-id': 'op_stranger' } });
    expect(reply.status).toBe(403);
    expect(reply.body.code).toBe('operator_not_registered');
  });

  it('counts open tasks up to 100 and says when the total is capped', async () => {
    const few = await get(browser, '/operator/tasks?lat=-33.8688&lng=151.2093&radius_km=5&task_type=INSPECTION');
    expect(few.body.pagination).toMatchObject({ total: 3, total_exact: true });
    // 101 more open tasks of one type, posted through create_task in one transaction.
    await stack.sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: agent.id, role: 'authenticated', humanops_role: 'agent' })}, true)`;
      await tx`select api.create_task('Check a sign', 'Photo of the sign', 'DELIVERY', 'PHYSICAL', 'PHOTO', 51.5, -0.12, 'London',
                                      1000, now() + interval '1 day', array['Photo']) from generate_series(1, 101)`;
    });
    const many = await get(browser, '/operator/tasks?task_type=DELIVERY&limit=1');
    expect(many.body.pagination).toMatchObject({ limit: 1, total: 100, total_exact: false, has_more: true });
  });
});

describe('accepting', () => {
  it('claims a task and answers as the reference shows', async () => {
    const operator = await stack.registerOperator();
    const task = await stack.createTask(agent);
    const reply = await post(operator, `/operator/tasks/${task.body.task_id}/accept`);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ task_id: task.body.task_id, status: 'ACCEPTED', accepted_at: expect.stringMatching(ISO) });
    const detail = await stack.call('GET', `/tasks/${task.body.task_id}`, { key: agent.key });
    expect(detail.body).toMatchObject({ status: 'ACCEPTED', operator: { id: operator.id }, accepted_at: reply.body.accepted_at });
  });

  it('exactly one of 20 racing operators wins; the others get 409', async () => {
    const operators = await Promise.all(Array.from({ length: 20 }, () => stack.registerOperator()));
    const task = await stack.createTask(agent);
    const replies = await Promise.all(operators.map((o) => post(o, `/operator/tasks/${task.body.task_id}/accept`)));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual(Array(19).fill('task_unavailable'));
    const winner = operators[replies.findIndex((r) => r.status === 200)];
    const [row] = await stack.sql`select operator_id, status from tasks where id = ${task.body.task_id}`;
    expect(row).toEqual({ operator_id: winner.id, status: 'ACCEPTED' });
    expect(await stack.sql`select count(*)::int as n from task_events where task_id = ${task.body.task_id} and to_status = 'ACCEPTED'`).toEqual([{ n: 1 }]);
  });

  it('is a 410 past the deadline', async () => {
    const operator = await stack.registerOperator();
    const task = await stack.createTask(agent);
    await stack.sql`update tasks set deadline = now() - interval '1 second' where id = ${task.body.task_id}`;
    const reply = await post(operator, `/operator/tasks/${task.body.task_id}/accept`);
    expect(reply.status).toBe(410);
    expect(reply.body.code).toBe('task_expired');
  });

  it('needs KYC: a PENDING or REJECTED operator gets 403', async () => {
    const operator = await stack.registerOperator();
    const task = await stack.createTask(agent);
    for (const status of ['PENDING', 'REJECTED']) {
      await stack.sql`update operators set kyc_status = ${status} where id = ${operator.id}`;
      const reply = await post(operator, `/operator/tasks/${task.body.task_id}/accept`);
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ code: 'kyc_required', details: { kyc_status: status } });
    }
  });

  it('is a 404 for an unknown task and a 409 for a cancelled one', async () => {
    const operator = await stack.registerOperator();
    expect((await post(operator, '/operator/tasks/task_00000000000000000000000000000000/accept')).status).toBe(404);
    const task = await stack.createTask(agent);
    await stack.call('POST', `/tasks/${task.body.task_id}/cancel`, { key: agent.key });
    expect((await post(operator, `/operator/tasks/${task.body.task_id}/accept`)).status).toBe(409);
  });

  it('start moves ACCEPTED to IN_PROGRESS, once, for the holder only', async () => {
    const holder = await stack.registerOperator();
    const other = await stack.registerOperator();
    const taskId = await acceptedTask(holder);
    expect((await post(other, `/operator/tasks/${taskId}/start`)).status).toBe(404);
    const started = await post(holder, `/operator/tasks/${taskId}/start`);
    expect(started.status).toBe(200);
    expect(started.body).toEqual({ task_id: taskId, status: 'IN_PROGRESS', started_at: expect.stringMatching(ISO) });
    expect((await post(holder, `/operator/tasks/${taskId}/start`)).status).toBe(409);
  });
});

describe('uploads and submission', () => {
  it('stores a sniffed image under the operator and task and hands out a signed URL that works', async () => {
    const operator = await stack.registerOperator();
    const taskId = await acceptedTask(operator);
    const reply = await upload(operator, taskId, PNG, 'image/jpeg', 'lies.jpg');
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      url: expect.stringContaining('/api/v1/storage/proofs/'),
      path: expect.stringMatching(new RegExp(`^${operator.id}/${taskId}/[A-Za-z0-9_-]+\\.png$`)),
      content_type: 'image/png',
      size: PNG.length,
    });
    const file = await fetch(reply.body.url);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(PNG);
    const tampered = await fetch(reply.body.url.replace(/signature=([0-9a-f])/, (_: string, c: string) => `signature=${c === 'a' ? 'b' : 'a'}`));
    expect(tampered.status).toBe(403);
  });

  it('refuses what is not an image, whatever its declared type, and files over the cap', async () => {
    const operator = await stack.registerOperator();
    const taskId = await acceptedTask(operator);
    const text = await upload(operator, taskId, new TextEncoder().encode('GIF89a not really'), 'image/jpeg', 'x.jpg');
    expect(text.status).toBe(400);
    expect(text.body.code).toBe('unsupported_file_type');
    const huge = new Uint8Array(10 * 1024 * 1024 + 1);
    huge.set(JPEG);
    const big = await upload(operator, taskId, huge);
    expect(big.status).toBe(413);
    expect(await stack.sql`select count(*)::int as n from proof_files where task_id = ${taskId}`).toEqual([{ n: 0 }]);
  });

  it('only the holder can upload for a task, and only while it is being worked on', async () => {
    const holder = await stack.registerOperator();
    const other = await stack.registerOperator();
    const taskId = await acceptedTask(holder);
    expect((await upload(other, taskId)).status).toBe(404);
    const open = (await stack.createTask(agent)).body.task_id;
    expect((await upload(holder, open)).status).toBe(404);
  });

  it('submits photo proof: SUBMITTED, a Guardian job queued, and the agent sees signed photo URLs', async () => {
    const operator = await stack.registerOperator();
    const taskId = await acceptedTask(operator);
    const first = await upload(operator, taskId);
    const second = await upload(operator, taskId, PNG, 'image/png', 'b.png');
    const reply = await post(operator, `/operator/tasks/${taskId}/submit`, { photos: [first.body.url, second.body.path], notes: 'Sign confirmed at location' });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      task_id: taskId, status: 'SUBMITTED', submitted_at: expect.stringMatching(ISO),
      message: 'Proof submitted. AI Guardian verification in progress.',
    });
    expect(await stack.sql`select task_id, status from guardian_jobs where task_id = ${taskId}`).toEqual([{ task_id: taskId, status: 'queued' }]);
    const detail = await stack.call('GET', `/tasks/${taskId}`, { key: agent.key });
    expect(detail.body.status).toBe('SUBMITTED');
    expect(detail.body.proof).toMatchObject({ notes: 'Sign confirmed at location', submittedAt: reply.body.submitted_at });
    expect(detail.body.proof.photos).toHaveLength(2);
    for (const url of detail.body.proof.photos) expect((await fetch(url)).status).toBe(200);
    expect((await post(operator, `/operator/tasks/${taskId}/submit`, { photos: [first.body.path] })).status).toBe(409);
  });

  it('refuses photos this platform did not issue for this task', async () => {
    const operator = await stack.registerOperator();
    const taskId = await acceptedTask(operator);
    const elsewhere = await acceptedTask(operator);
    const foreign = await upload(operator, elsewhere);
    for (const photos of [['https://evil.example.com/photo.jpg'], [foreign.body.path]]) {
      const reply = await post(operator, `/operator/tasks/${taskId}/submit`, { photos });
      expect(reply.status).toBe(400);
      expect(reply.body.code).toBe('unknown_photo');
    }
    const [row] = await stack.sql`select status from tasks where id = ${taskId}`;
    expect(row.status).toBe('ACCEPTED');
  });

  it('applies each proof type\'s rules', async () => {
    const operator = await stack.registerOperator();
    const photoTask = await acceptedTask(operator);
    expect((await post(operator, `/operator/tasks/${photoTask}/submit`, { notes: 'no photo' })).body.error)
      .toBe('photos: VERIFICATION tasks need at least one photo uploaded with POST /operator/upload');

    const screenshot = await acceptedTask(operator, { task_type: 'CAPTCHA_SOLVING', reward_usd: 10, location: undefined });
    expect((await post(operator, `/operator/tasks/${screenshot}/submit`, {})).status).toBe(400);

    const confirmation = await acceptedTask(operator, { task_type: 'CONTENT_REVIEW', reward_usd: 20, location: undefined });
    expect((await post(operator, `/operator/tasks/${confirmation}/submit`, {})).body.error).toBe('confirmation_text: is required for CONTENT_REVIEW tasks');
    const confirmed = await post(operator, `/operator/tasks/${confirmation}/submit`, { confirmation_text: 'Reviewed: compliant', reference_url: 'https://example.com/ref' });
    expect(confirmed.status).toBe(200);
    const detail = await stack.call('GET', `/tasks/${confirmation}`, { key: agent.key });
    expect(detail.body.proof).toMatchObject({ photos: [], confirmation_text: 'Reviewed: compliant', reference_url: 'https://example.com/ref' });

    expect((await post(operator, `/operator/tasks/${photoTask}/submit`, { photos: ['x'], secret: 1 })).body.error).toBe('secret: is not a known field');
  });

  it('another operator cannot see or submit a held task', async () => {
    const holder = await stack.registerOperator();
    const other = await stack.registerOperator();
    const taskId = await acceptedTask(holder);
    expect((await get(other, `/operator/tasks/${taskId}`)).status).toBe(404);
    expect((await get(holder, `/operator/tasks/${taskId}`)).body).toMatchObject({ task_id: taskId, status: 'ACCEPTED' });
    expect((await post(other, `/operator/tasks/${taskId}/submit`, { confirmation_text: 'mine' })).status).toBe(404);
  });

  it('is a 410 once the deadline has passed', async () => {
    const operator = await stack.registerOperator();
    const taskId = await acceptedTask(operator, { task_type: 'CONTENT_REVIEW', reward_usd: 20, location: undefined });
    await stack.sql`update tasks set deadline = now() - interval '1 second' where id = ${taskId}`;
    expect((await post(operator, `/operator/tasks/${taskId}/submit`, { confirmation_text: 'late' })).status).toBe(410);
  });
});

describe('earnings, payouts and ratings', () => {
  it('pays the operator on completion, holds it as pending, releases it, and pays out from available', async () => {
    const operator = await stack.registerOperator();
    const taskId = await acceptedTask(operator, { task_type: 'CONTENT_REVIEW', reward_usd: 20, location: undefined });
    await post(operator, `/operator/tasks/${taskId}/submit`, { confirmation_text: 'done' });
    await stack.sql`select private.complete_task(${taskId}, 'guardian')`;

    let earnings = await get(operator, '/operator/earnings');
    expect(earnings.body).toEqual({
      pending_balance: 20, available_balance: 0, total_earned: 20, currency: 'USD', earnings_hold_seconds: 604800, payout_method: 'test',
      recent_tasks: [{ task_id: taskId, title: 'Verify storefront signage', reward_usd: 20, status: 'COMPLETED', completed_at: expect.stringMatching(ISO) }],
    });
    expect(await stack.sql`select api.release_earnings()`).toEqual([{ release_earnings: 0 }]);
    expect(await stack.sql`select api.release_earnings(interval '0 seconds')`).toEqual([{ release_earnings: 1 }]);
    expect(await stack.sql`select api.release_earnings(interval '0 seconds')`).toEqual([{ release_earnings: 0 }]);
    earnings = await get(operator, '/operator/earnings');
    expect(earnings.body).toMatchObject({ pending_balance: 0, available_balance: 20, total_earned: 20 });

    const tooMuch = await post(operator, '/operator/payout', { amount_usd: 20.01 });
    expect(tooMuch.status).toBe(402);
    expect(tooMuch.body.code).toBe('insufficient_available_balance');
    const tooLittle = await post(operator, '/operator/payout', { amount_usd: 9.99 });
    expect(tooLittle.status).toBe(400);
    expect(tooLittle.body.error).toBe('amount_usd: must be at least $10.00');

    const payout = await post(operator, '/operator/payout', { amount_usd: 15, payoneer_payee_id: 'payee_123' });
    expect(payout.status).toBe(200);
    const testPayout = {
      payout_id: expect.stringMatching(/^payout_/), status: 'completed', amount_usd: 15, method: 'test', address: null, tx_hash: null,
      explorer_url: null, failure: null, created_at: expect.stringMatching(ISO), completed_at: expect.stringMatching(ISO),
    };
    expect(payout.body).toEqual({ ...testPayout, message: 'Payout completed (test mode)' });
    expect((await get(operator, '/operator/earnings')).body).toMatchObject({ available_balance: 5 });
    const status = await get(operator, `/operator/payout/status/${payout.body.payout_id}`);
    expect(status.body).toEqual({ ...testPayout, payout_id: payout.body.payout_id });
    expect((await get(operator, '/operator/payouts')).body.data).toEqual([status.body]);
    const stranger = await stack.registerOperator();
    expect((await get(stranger, `/operator/payout/status/${payout.body.payout_id}`)).status).toBe(404);

    const [revenue] = await stack.sql`select balance from ledger_accounts where kind = 'platform_revenue'`;
    expect(Number(revenue.balance)).toBeGreaterThanOrEqual(200);
    expect(await stack.sql`select problem from api.verify_ledger()`).toEqual([]);
  });

  it('lets the agent rate a completed task once, and agents find rated operators nearby', async () => {
    const operator = await stack.registerOperator({ name: 'Maria Lopez', location: { city: 'Madrid', country: 'ES', lat: 40.4168, lng: -3.7038 }, skills: ['PHOTO'] });
    const taskId = await acceptedTask(operator, { task_type: 'PHOTO', location: { lat: 40.42, lng: -3.7, address: 'Sol' } });
    expect((await stack.call('POST', `/tasks/${taskId}/rate`, { key: agent.key, body: { rating: 5 } })).status).toBe(409);
    const photo = await upload(operator, taskId);
    await post(operator, `/operator/tasks/${taskId}/submit`, { photos: [photo.body.path] });
    await stack.sql`select private.complete_task(${taskId}, 'guardian')`;

    const rated = await stack.call('POST', `/tasks/${taskId}/rate`, { key: agent.key, body: { rating: 4, comment: 'Good photos' } });
    expect(rated.status).toBe(201);
    expect(rated.body).toEqual({ task_id: taskId, operator_id: operator.id, rating: 4, comment: 'Good photos', created_at: expect.stringMatching(ISO) });
    expect((await stack.call('POST', `/tasks/${taskId}/rate`, { key: agent.key, body: { rating: 1 } })).body.code).toBe('already_rated');
    expect((await stack.call('POST', `/tasks/${taskId}/rate`, { key: agent.key, body: { rating: 6 } })).body.error).toBe('rating: must be a whole number from 1 to 5');

    const found = await stack.call('GET', '/operators/search?lat=40.4&lng=-3.7&radius_km=10&task_type=PHOTO', { key: agent.key });
    expect(found.status).toBe(200);
    expect(found.body.data).toEqual([{
      operator_id: operator.id, name: 'Maria L.', location: { city: 'Madrid', country: 'ES' }, skills: ['PHOTO'],
      rating: 4, rating_count: 1, completed_tasks: 1, distance_km: expect.any(Number),
    }]);
    expect(JSON.stringify(found.body)).not.toContain('example.com');
    expect((await stack.call('GET', '/operators/search?lat=40.4&lng=-3.7&radius_km=10&min_rating=4.5', { key: agent.key })).body.data).toEqual([]);
    expect((await stack.call('GET', '/operators/search?lat=40.4&lng=-3.7&radius_km=10&task_type=DELIVERY', { key: agent.key })).body.data).toEqual([]);
    expect((await stack.call('GET', '/operators/search?lat=10&lng=10&radius_km=10', { key: agent.key })).body.data).toEqual([]);
    expect((await stack.call('GET', '/operators/search?lng=10', { key: agent.key })).status).toBe(400);
    expect((await stack.call('GET', '/operators/search?lat=1&lng=1')).status).toBe(401);
  });
});

describe('payout Idempotency-Key', () => {
  /** An operator with $50 available: two completed tasks, their earnings released at once. */
  async function paidOperator() {
    const operator = await stack.registerOperator();
    for (let i = 0; i < 2; i++) {
      const taskId = await acceptedTask(operator, { task_type: 'CONTENT_REVIEW', reward_usd: 25, location: undefined });
      await post(operator, `/operator/tasks/${taskId}/submit`, { confirmation_text: 'done' });
      await stack.sql`select private.complete_task(${taskId}, 'guardian')`;
    }
    await stack.sql`select api.release_earnings(interval '0 seconds')`;
    expect((await get(operator, '/operator/earnings')).body).toMatchObject({ available_balance: 50 });
    return operator;
  }
  const payout = (operator: Operator, amount_usd: number, key: string) =>
    stack.call('POST', '/operator/payout', { headers: { ...operator.auth, 'idempotency-key': key }, body: { amount_usd } });
  const moved = async (operator: Operator) => ({
    payouts: (await stack.sql`select count(*)::int as n from payouts where operator_id = ${operator.id}`)[0].n,
    entries: (await stack.sql`select count(*)::int as n from ledger_entries where operator_id = ${operator.id} and kind = 'payout'`)[0].n,
    available: (await get(operator, '/operator/earnings')).body.available_balance,
  });

  it('pays once for a retry with the same key and replays the first answer', async () => {
    const operator = await paidOperator();
    const first = await payout(operator, 10, 'payout-1');
    const retry = await payout(operator, 10, 'payout-1');
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await moved(operator)).toEqual({ payouts: 1, entries: 1, available: 40 });
  });

  it('refuses the same key with another amount and moves nothing', async () => {
    const operator = await paidOperator();
    expect((await payout(operator, 10, 'payout-2')).status).toBe(200);
    const other = await payout(operator, 20, 'payout-2');
    expect(other.status).toBe(409);
    expect(other.body).toEqual({ error: 'This Idempotency-Key was already used with a different request', code: 'idempotency_key_reused' });
    expect(await moved(operator)).toEqual({ payouts: 1, entries: 1, available: 40 });
  });

  it('10 concurrent requests under one key make one payout', async () => {
    const operator = await paidOperator();
    const replies = await Promise.all(Array.from({ length: 10 }, () => payout(operator, 10, 'burst')));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(replies.map((r) => r.body.payout_id)).size).toBe(1);
    expect(await moved(operator)).toEqual({ payouts: 1, entries: 1, available: 40 });
    expect(await stack.sql`select problem from api.verify_ledger()`).toEqual([]);
  });

  it("keeps each operator's keys its own, apart from agents', and does not remember a failure", async () => {
    const [mine, theirs] = [await paidOperator(), await paidOperator()];
    expect((await stack.createTask(agent, {}, { 'idempotency-key': 'shared' })).status).toBe(201);
    const tooMuch = await payout(mine, 60, 'shared');
    expect(tooMuch.status).toBe(402);
    const first = await payout(mine, 10, 'shared');
    const second = await payout(theirs, 10, 'shared');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body.payout_id).not.toBe(first.body.payout_id);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(await moved(mine)).toEqual({ payouts: 1, entries: 1, available: 40 });
    expect(await moved(theirs)).toEqual({ payouts: 1, entries: 1, available: 40 });
  });
});

describe('row-level security for operators', () => {
  it('through the same claims supabase-js would carry, an operator reads open tasks and its own, nothing else', async () => {
    const holder = await stack.registerOperator();
    const other = await stack.registerOperator();
    const mine = await acceptedTask(holder);
    const theirs = await acceptedTask(other);
    const rows = await stack.sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify({ sub: holder.id, role: 'authenticated' })}, true), set_config('role', 'authenticated', true)`;
      return {
        tasks: await tx`select id, status, operator_id from public.tasks`,
        operators: await tx`select id from public.operators`,
        accounts: await tx`select operator_id from public.ledger_accounts`,
        agents: await tx`select id from public.agents`,
      };
    });
    const ids = rows.tasks.map((t) => t.id);
    expect(ids).toContain(mine);
    expect(ids).not.toContain(theirs);
    expect(rows.tasks.every((t) => t.operator_id === holder.id || (t.status === 'PENDING' && t.operator_id === null))).toBe(true);
    expect(rows.operators).toEqual([{ id: holder.id }]);
    expect(new Set(rows.accounts.map((a) => a.operator_id))).toEqual(new Set([holder.id]));
    expect(rows.agents).toEqual([]);
  });
});

describe('live mode', () => {
  let live: Stack;
  const adminKey = 'admin-key-for-tests-0123456789';
  beforeAll(async () => {
    live = await startStack({ env: { HUMANOPS_MODE: 'live', HUMANOPS_ADMIN_KEY: adminKey, ALLOW_DEV_OPERATOR_ID_HEADER: 'true' } });
  });
  afterAll(() => live?.stop());

  it('refuses X-Operator-Id whatever the variable says', async () => {
    const reply = await live.call('GET', '/operator/earnings', { headers: { 'x-operator-id': 'op_sneaky' } });
    expect(reply.status).toBe(401);
    expect(reply.body.error).toBe('X-Operator-Id is not accepted here; sign in and send Authorization: Bearer <token>');
  });

  it('starts KYC as PENDING until an admin decides, and refuses payouts', async () => {
    const operator = await live.registerOperator();
    const [row] = await live.sql`select kyc_status from operators where id = ${operator.id}`;
    expect(row.kyc_status).toBe('PENDING');
    const decide = (headers: Record<string, string>, status = 'VERIFIED') =>
      live.call('POST', `/admin/operators/${operator.id}/kyc`, { headers, body: { status } });
    expect((await decide({})).status).toBe(403);
    expect((await decide({ 'x-admin-key': 'wrong-key-wrong-key-wrong' })).status).toBe(403);
    expect((await decide({ 'x-admin-key': adminKey }, 'MAYBE')).status).toBe(400);
    const decided = await decide({ 'x-admin-key': adminKey });
    expect(decided.body).toEqual({ operator_id: operator.id, kyc_status: 'VERIFIED' });
    expect((await live.call('POST', '/admin/operators/op_nobody/kyc', { headers: { 'x-admin-key': adminKey }, body: { status: 'REJECTED' } })).status).toBe(404);

    const payout = await live.call('POST', '/operator/payout', { headers: operator.auth, body: { amount_usd: 10 } });
    expect(payout.status).toBe(503);
    expect(payout.body.code).toBe('payouts_unavailable');
    expect(payout.body.error).toContain('PAYOUT_PRIVATE_KEY (the payout hot wallet) and BASE_RPC_URL');
  });
});

describe("an operator's own tasks", () => {
  it('pages by cursor in the same order as by offset, each task once', async () => {
    const holder = await stack.registerOperator();
    for (let i = 0; i < 3; i++) await acceptedTask(holder);
    const byOffset = [];
    for (let offset = 0; offset < 3; offset++) {
      byOffset.push(...(await get(holder, `/operator/my-tasks?limit=1&offset=${offset}`)).body.data.map((t: { task_id: string }) => t.task_id));
    }
    const byCursor = await idsByCursor(holder, '/operator/my-tasks?limit=1');
    expect(byCursor).toEqual(byOffset);
    expect(new Set(byCursor).size).toBe(3);
  });

  it('pages by cursor through tasks accepted within one millisecond, microseconds apart', async () => {
    const holder = await stack.registerOperator();
    const held: string[] = [];
    for (let i = 0; i < 3; i++) held.push(await acceptedTask(holder));
    for (const [i, id] of held.entries()) {
      await stack.sql`update tasks set accepted_at = ${`2026-12-07 10:00:00.0001${i}5+00`}::text::timestamptz where id = ${id}`;
    }
    const byCursor = await idsByCursor(holder, '/operator/my-tasks?limit=1');
    expect(byCursor).toEqual([...held].reverse());
  });
});
