// What a JSON route reads: a body sent as application/json (415 for anything else, before anything
// is written), and strings Postgres can store (a NUL character is a 400 that names its field).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, physicalTask, type Stack, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent();
  await stack.deposit(agent, 500);
});
afterAll(() => stack?.stop());

/** POSTs `body` exactly as given, with no Content-Type header at all (fetch always sets one for a string). */
function postWithoutContentType(path: string, body: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(`${stack.url}${path}`, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const tasksOf = async (a: Agent) => (await stack.sql`select count(*)::int as n from tasks where agent_id = ${a.id}`)[0].n;

describe('JSON routes take JSON sent as application/json', () => {
  it('refuses a task posted as text/plain, form-encoded or without a Content-Type with 415, and posts nothing', async () => {
    const task = JSON.stringify(physicalTask());
    const before = (await stack.call('GET', '/agents/balance', { key: agent.key })).body;
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      const reply = await stack.call('POST', '/tasks', { key: agent.key, raw: task, headers: { 'content-type': type } });
      expect(reply.status, type).toBe(415);
      expect(reply.body).toEqual({ error: expect.stringContaining('Content-Type: application/json'), code: 'unsupported_media_type' });
    }
    const bare = await postWithoutContentType('/tasks', task, { 'x-api-key': agent.key });
    expect(bare).toEqual({ status: 415, body: { error: expect.any(String), code: 'unsupported_media_type' } });
    expect(await tasksOf(agent)).toBe(0);
    expect((await stack.call('GET', '/agents/balance', { key: agent.key })).body).toEqual(before);

    // The same request as JSON goes through, with or without a charset.
    for (const type of ['application/json', 'Application/JSON; charset=utf-8']) {
      expect((await stack.call('POST', '/tasks', { key: agent.key, raw: task, headers: { 'content-type': type } })).status, type).toBe(201);
    }
  });

  it('refuses a registration as a form (what `curl -d` sends by default), and registers nobody', async () => {
    const [{ n: agents }] = await stack.sql`select count(*)::int as n from agents`;
    const reply = await stack.call('POST', '/agents/register', { raw: '{"name":"form","email":"form@example.com"}', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(reply.status).toBe(415);
    expect((await stack.sql`select count(*)::int as n from agents`)[0].n).toBe(agents);
  });

  it('takes no body, or an empty one whatever its type, where the body is optional', async () => {
    const posted = (await stack.createTask(agent)).body.task_id;
    const bare = await postWithoutContentType(`/tasks/${posted}/cancel`, '', { 'x-api-key': agent.key });
    expect(bare.status).toBe(200);
    const other = (await stack.createTask(agent)).body.task_id;
    const empty = await stack.call('POST', `/tasks/${other}/cancel`, { key: agent.key, raw: '', headers: { 'content-type': 'text/plain' } });
    expect(empty.status).toBe(200);
  });
});

describe('a NUL character', () => {
  it('is a 400 validation_error naming its field, wherever the string is, and nothing is written', async () => {
    const before = await tasksOf(agent);
    for (const [body, field] of [
      [physicalTask({ title: 'a\u0000b' }), 'title'],
      [physicalTask({ proof_requirements: ['fine', 'not\u0000fine'] }), 'proof_requirements.1'],
      [physicalTask({ location: { lat: 40.7, lng: -74, address: '1 Main\u0000 St' } }), 'location.address'],
    ] as const) {
      const reply = await stack.call('POST', '/tasks', { key: agent.key, body });
      expect(reply.status, field).toBe(400);
      expect(reply.body).toEqual({
        error: `${field}: must not contain NUL characters (\\u0000)`,
        code: 'validation_error',
        details: { issues: [{ field, message: 'must not contain NUL characters (\\u0000)' }] },
      });
    }
    expect(await tasksOf(agent)).toBe(before);
    const key = await stack.call('POST', '/agents/keys', { key: agent.key, body: { name: '\u0000' } });
    expect(key.body).toMatchObject({ code: 'validation_error', error: 'name: must not contain NUL characters (\\u0000)' });
  });

  it('in a query parameter is named too', async () => {
    const reply = await stack.call('GET', '/tasks?cursor=%00', { key: agent.key });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('cursor: must not contain NUL characters (\\u0000)');
  });
});
