// The attacks of an outside security review, each performed against the real stack (Postgres,
// the Deno API, HTTP), and what they achieve now: nothing.
import { request } from 'node:http';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Operator, type Stack, operatorToken, startStack } from './helpers/stack.ts';
import { makeJpeg } from './helpers/images.ts';

/** Resident memory of a process, in MB. */
async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/**
 * POSTs a chunked body (no Content-Length) of up to `totalBytes`, 64 KB at a time, and stops
 * sending as soon as the server answers. Returns the answer and how much was sent by then.
 */
function chunkedPost(url: string, path: string, headers: Record<string, string>, totalBytes: number, prefix = '') {
  return new Promise<{ status: number; body: any; sent: number }>((resolve, reject) => {
    const target = new URL(`${url}${path}`);
    const req = request(target, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode!, body: JSON.parse(text), sent });
      });
    });
    req.on('error', (error) => (answered ? undefined : reject(error)));
    const pump = () => {
      if (prefix && sent === 0) sent += Buffer.byteLength(prefix), req.write(prefix);
      while (!answered && sent < totalBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe('memory exhaustion with chunked bodies', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { UPLOAD_MAX_BYTES: String(1024 * 1024) } });
  });
  afterAll(() => stack?.stop());

  it('three parallel 300 MB chunked POSTs to /agents/register get 413 after 64 KB, and memory stays flat', async () => {
    const before = await rssMb(stack.pid);
    const replies = await Promise.all([1, 2, 3].map(() =>
      chunkedPost(stack.url, '/agents/register', { 'content-type': 'application/json' }, 300 * 1024 * 1024, '{"name":"')));
    for (const reply of replies) {
      expect(reply.status).toBe(413);
      expect(reply.body).toEqual({ error: 'Request body is larger than 64 KB', code: 'payload_too_large' });
      expect(reply.sent).toBeLessThan(32 * 1024 * 1024);
    }
    expect(await rssMb(stack.pid) - before).toBeLessThan(64);
  });

  it('a 200 MB chunked multipart upload from an unregistered identity is refused before its body is read', async () => {
    const before = await rssMb(stack.pid);
    const token = await operatorToken('op_never_registered');
    const reply = await chunkedPost(stack.url, '/operator/upload', {
      authorization: `Bearer ${token}`,
      'content-type': 'multipart/form-data; boundary=xyz',
    }, 200 * 1024 * 1024, '--xyz\r\ncontent-disposition: form-data; name="file"; filename="a.jpg"\r\ncontent-type: image/jpeg\r\n\r\n');
    expect(reply.status).toBe(403);
    expect(reply.body.code).toBe('operator_not_registered');
    expect(reply.sent).toBeLessThan(32 * 1024 * 1024);
    expect(await rssMb(stack.pid) - before).toBeLessThan(64);
  });

  it('a registered operator\'s chunked upload over the cap gets 413 before multipart parsing', async () => {
    const operator: Operator = await stack.registerOperator();
    const reply = await chunkedPost(stack.url, '/operator/upload', {
      ...operator.auth,
      'content-type': 'multipart/form-data; boundary=xyz',
    }, 200 * 1024 * 1024, '--xyz\r\ncontent-disposition: form-data; name="file"; filename="a.jpg"\r\ncontent-type: image/jpeg\r\n\r\n');
    expect(reply.status).toBe(413);
    expect(reply.body).toEqual({ error: 'Files may be at most 1 MB', code: 'file_too_large' });
    expect(reply.sent).toBeLessThan(32 * 1024 * 1024);
  });

  it('a chunked JSON body within the limit is still read whole', async () => {
    const agent: Agent = await stack.registerAgent('chunked');
    const reply = await chunkedPost(stack.url, '/agents/keys', { 'content-type': 'application/json', 'x-api-key': agent.key }, 0, '{"name":"chunked key"}');
    expect(reply.status).toBe(201);
  });
});

describe('reads before registration', () => {
  let stack: Stack;
  let agent: Agent;
  beforeAll(async () => {
    stack = await startStack();
    agent = await stack.registerAgent('reader');
    await stack.deposit(agent, 100);
  });
  afterAll(() => stack?.stop());

  it('an identity that never registered cannot read an open task\'s details', async () => {
    // The attack as found: GET /operator/tasks/:id answered 200 with the task to any signed-in identity.
    const id = (await stack.createTask(agent)).body.task_id;
    const stranger = { authorization: `Bearer ${await operatorToken('user_signed_up_only')}` };
    for (const path of [`/operator/tasks/${id}`, '/operator/tasks']) {
      const reply = await stack.call('GET', path, { headers: stranger });
      expect(reply.status, path).toBe(403);
      expect(reply.body.code).toBe('operator_not_registered');
    }
  });

  it('an operator awaiting KYC sees no open tasks (403 kyc_required), and a verified one sees no digital instructions', async () => {
    const digital = (await stack.createTask(agent, {
      task_type: 'FORM_FILLING', location: undefined, reward_usd: 20, digital_instructions: 'Use the staging URL https://internal.example',
    })).body.task_id;
    const pending = await stack.registerOperator();
    await stack.sql`update operators set kyc_status = 'PENDING' where id = ${pending.id}`;
    for (const path of [`/operator/tasks/${digital}`, '/operator/tasks']) {
      const reply = await stack.call('GET', path, { headers: pending.auth });
      expect(reply.status, path).toBe(403);
      expect(reply.body).toMatchObject({ code: 'kyc_required' });
    }
    const verified = await stack.registerOperator();
    const open = await stack.call('GET', `/operator/tasks/${digital}`, { headers: verified.auth });
    expect(open.status).toBe(200);
    expect(open.body).toMatchObject({ task_id: digital, title: expect.any(String), digital_instructions: null });
    expect((await stack.call('POST', `/operator/tasks/${digital}/accept`, { headers: verified.auth })).status).toBe(200);
    const held = await stack.call('GET', `/operator/tasks/${digital}`, { headers: verified.auth });
    expect(held.body.digital_instructions).toBe('Use the staging URL https://internal.example');
  });
});

describe('locating operators through search', () => {
  let stack: Stack;
  let agent: Agent;
  beforeAll(async () => {
    stack = await startStack();
    agent = await stack.registerAgent('locator');
  });
  afterAll(() => stack?.stop());

  it('two operators 1.5 km apart in one grid cell answer every search identically, in whole kilometres', async () => {
    // The attack as found: distance_km to 10 m from three search points trilaterated a home to 1.2 m.
    const home = (lat: number, lng: number) => stack.registerOperator({ name: 'Ana Ruiz', location: { city: 'Madrid', country: 'ES', lat, lng } });
    const a = await home(40.4102, -3.7012);
    const b = await home(40.4195, -3.7188);
    const probes = [[40.4102, -3.7012], [40.4195, -3.7188], [40.43, -3.69], [40.39, -3.74], [40.4150, -3.7100]];
    let seen = 0;
    for (const [lat, lng] of probes) {
      for (const radius of [1, 2, 3, 5]) {
        const reply = await stack.call('GET', `/operators/search?lat=${lat}&lng=${lng}&radius_km=${radius}`, { key: agent.key });
        expect(reply.status).toBe(200);
        const found = Object.fromEntries(reply.body.data.map((o: { operator_id: string; distance_km: number }) => [o.operator_id, o.distance_km]));
        expect(found[a.id], `${lat},${lng} r=${radius}`).toBe(found[b.id]);
        if (found[a.id] !== undefined) seen += 1;
        for (const distance of Object.values(found)) {
          expect(Number.isInteger(distance)).toBe(true);
          expect(distance).toBeGreaterThanOrEqual(1);
        }
      }
    }
    expect(seen).toBeGreaterThan(10);
  });
});

describe('identity edges', () => {
  let stack: Stack;
  let agent: Agent;
  beforeAll(async () => {
    stack = await startStack();
    agent = await stack.registerAgent('identity');
    await stack.deposit(agent, 100);
  });
  afterAll(() => stack?.stop());

  it('a token minted for another audience does not sign in', async () => {
    const token = await operatorToken('user_other_audience', { extraClaims: { aud: 'https://another-service.example.com' } });
    const reply = await stack.call('POST', '/operator/register', {
      headers: { authorization: `Bearer ${token}` },
      body: { name: 'Eve', email: 'eve@example.com', location: { city: 'Oslo', country: 'NO' } },
    });
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ error: 'Operator token was issued for another audience', code: 'invalid_token' });
  });

  it('an operator whose id holds @ . : | can upload proof and submit, so its task is never stuck', async () => {
    // The attack as found: such ids passed auth and accept, then every upload failed (the path rule was narrower).
    const id = 'auth0|jane.doe@example.com:42';
    const auth = { authorization: `Bearer ${await operatorToken(id)}` };
    expect((await stack.call('POST', '/operator/register', { headers: auth, body: { name: 'Jane', email: 'j@example.com', location: { city: 'NYC', country: 'US' } } })).status).toBe(201);
    const taskId = (await stack.createTask(agent)).body.task_id;
    expect((await stack.call('POST', `/operator/tasks/${taskId}/accept`, { headers: auth })).status).toBe(200);
    const upload = await stack.upload({ id, auth }, taskId, makeJpeg({ lat: 40.7128, lng: -74.006, takenAt: new Date() }));
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    expect(upload.body.path).toMatch(/^id\.[A-Za-z0-9_-]+\/task_[0-9a-f]+\/[A-Za-z0-9]{24}\.jpg$/);
    const submitted = await stack.call('POST', `/operator/tasks/${taskId}/submit`, { headers: auth, body: { photos: [upload.body.url] } });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
  });
});

describe('test mode on a public host', () => {
  let stack: Stack;
  beforeAll(async () => {
    // What a hosted Supabase project sets: the server is reachable from the internet. (Proofs stay
    // in the local folder here: on Supabase the default is Supabase Storage.)
    stack = await startStack({ env: { SB_REGION: 'eu-west-1', STORAGE_BACKEND: 'local' } });
  });
  afterAll(() => stack?.stop());

  it('refuses webhook targets on the internal network, although test mode allows them locally', async () => {
    const agent = await stack.registerAgent('prober');
    await stack.deposit(agent, 100);
    for (const url of ['http://127.0.0.1:5432/', 'http://169.254.169.254/latest/meta-data', 'http://10.0.0.7/', 'https://[::ffff:0:7f00:1]/']) {
      const reply = await stack.createTask(agent, { callback_url: url });
      expect(reply.status, url).toBe(400);
      expect(reply.body.error).toMatch(/^callback_url: must not point to a private/);
    }
  });
});

describe('smaller gaps: proof files and input', () => {
  let stack: Stack;
  let agent: Agent;
  let operator: Operator;
  beforeAll(async () => {
    stack = await startStack();
    agent = await stack.registerAgent('gaps');
    await stack.deposit(agent, 200);
    operator = await stack.registerOperator();
  });
  afterAll(() => stack?.stop());

  const heldTask = async () => {
    const id = (await stack.createTask(agent)).body.task_id;
    expect((await stack.call('POST', `/operator/tasks/${id}/accept`, { headers: operator.auth })).status).toBe(200);
    return id;
  };

  it('JPEG magic bytes in front of HTML are not an image', async () => {
    const id = await heldTask();
    const polyglot = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...new TextEncoder().encode('<html><script>alert(document.cookie)</script></html>')]);
    const reply = await stack.upload(operator, id, polyglot);
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: 'file: must be a JPEG, PNG, WebP or HEIC image that decodes', code: 'unsupported_file_type' });
    expect(await stack.sql`select count(*)::int as n from proof_files where task_id = ${id}`).toEqual([{ n: 0 }]);
  });

  it('the same photo listed three times is refused, not counted three times', async () => {
    const id = await heldTask();
    const photo = await stack.upload(operator, id, makeJpeg({ lat: 40.7128, lng: -74.006, takenAt: new Date() }));
    expect(photo.status).toBe(201);
    const reply = await stack.call('POST', `/operator/tasks/${id}/submit`, { headers: operator.auth, body: { photos: [photo.body.path, photo.body.url, photo.body.path] } });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: 'photos: lists the same file more than once', code: 'duplicate_photo' });
    expect((await stack.call('POST', `/operator/tasks/${id}/submit`, { headers: operator.auth, body: { photos: [photo.body.path] } })).status).toBe(200);
  });

  it.each([
    ['/operators/search?lat=&lng=', 'lat: must be a number; lng: must be a number'],
    ['/operators/search?lat=0x10&lng=1', 'lat: must be a number'],
    ['/operators/search?lat=1&lng=2&limit=0x10', 'limit: must be a number'],
    ['/tasks?limit=0x10', 'limit: must be a number'],
    ['/tasks?offset=%201', 'offset: must be a number'],
  ])('reads %s strictly: %s', async (path, error) => {
    const reply = await stack.call('GET', path, { key: agent.key });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error, code: 'validation_error' });
  });
});
