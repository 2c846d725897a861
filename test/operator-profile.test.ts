// Being found: an operator edits their profile (PATCH /operator/me), and agents find them near
// their home area through GET /operators/search, within the operator's own travel radius.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type Operator, type Stack, operatorToken, startStack } from './helpers/stack.ts';

let stack: Stack;
let agent: Agent;
beforeAll(async () => {
  stack = await startStack();
  agent = await stack.registerAgent('finder');
});
afterAll(() => stack?.stop());

const patch = (operator: Operator, body: unknown) => stack.call('PATCH', '/operator/me', { headers: operator.auth, body });
const me = async (operator: Operator) => (await stack.call('GET', '/operator/me', { headers: operator.auth })).body;
const search = async (query: string) => {
  const reply = await stack.call('GET', `/operators/search?${query}`, { key: agent.key });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.data.map((o: { operator_id: string }) => o.operator_id) as string[];
};

/** Registered as the app registers: a city, a country and coordinates rounded to about a kilometre. */
const appOperator = (location: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  stack.registerOperator({ name: 'Ana Ruiz', location, skills: [], ...extra });

describe('PATCH /operator/me', () => {
  it('changes what it names and nothing else, and GET /operator/me shows the change', async () => {
    const operator = await appOperator({ city: 'Madrid', country: 'ES', lat: 40.42, lng: -3.7 });
    const before = await me(operator);
    const reply = await patch(operator, { name: 'Ana Ruiz Gil', phone: '+34 600 123 456', skills: ['PHOTO', 'DELIVERY', 'PHOTO'], travel_radius_km: 15 });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toEqual({
      ...before, name: 'Ana Ruiz Gil', phone: '+34 600 123 456', skills: ['PHOTO', 'DELIVERY'], travel_radius_km: 15,
    });
    expect(await me(operator)).toEqual(reply.body);

    const moved = await patch(operator, { location: { city: 'Valencia', country: 'es', lat: 39.47, lng: -0.38 } });
    expect(moved.body.location).toEqual({ city: 'Valencia', country: 'ES', lat: 39.47, lng: -0.38 });
    expect(moved.body.name).toBe('Ana Ruiz Gil');

    const cleared = await patch(operator, { phone: null, travel_radius_km: null, location: { city: 'Valencia', country: 'ES' } });
    expect(cleared.body).toMatchObject({ phone: null, travel_radius_km: null, location: { city: 'Valencia', country: 'ES', lat: null, lng: null } });
  });

  it('a body with several problems is one 400 that lists every one of them, and changes nothing', async () => {
    const operator = await appOperator({ city: 'Lisbon', country: 'PT', lat: 38.72, lng: -9.14 });
    const before = await me(operator);
    const reply = await patch(operator, {
      name: '  ', phone: 'call me', skills: ['JUGGLING'], travel_radius_km: 0.5, location: { city: 'Porto', country: 'Portugal', lat: 41.15 }, age: 30,
    });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('validation_error');
    const fields = reply.body.details.issues.map((issue: { field: string }) => issue.field).sort();
    expect(fields).toEqual(['age', 'location.country', 'location.lat', 'name', 'phone', 'skills.0', 'travel_radius_km']);
    for (const field of ['name: must not be empty', 'phone: must be a phone number', 'location.country: must be a two-letter country code', 'age: is not a known field']) {
      expect(reply.body.error).toContain(field);
    }
    expect(await me(operator)).toEqual(before);
  });

  it('refuses an empty change, coordinates without their pair, and a radius beyond 500 km, changing nothing', async () => {
    const operator = await appOperator({ city: 'Rome', country: 'IT', lat: 41.9, lng: 12.5 });
    const before = await me(operator);
    for (const body of [{}, { location: { city: 'Rome', country: 'IT', lng: 12.5 } }, { travel_radius_km: 501 }, { name: 'x'.repeat(101) }, { travel_radius_km: '10' }]) {
      const reply = await patch(operator, body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.code).toBe('validation_error');
    }
    expect((await patch(operator, {})).body.error).toBe('Request body: must change at least one of name, phone, location, skills, travel_radius_km');
    expect(await me(operator)).toEqual(before);
  });

  it('is for registered operators with a token: 401 without one, 403 before registering', async () => {
    expect((await stack.call('PATCH', '/operator/me', { body: { name: 'Nobody' } })).status).toBe(401);
    const unregistered = await stack.call('PATCH', '/operator/me', {
      headers: { authorization: `Bearer ${await operatorToken('user_not_yet_registered')}` }, body: { name: 'Nobody' },
    });
    expect(unregistered.status).toBe(403);
    expect(unregistered.body.code).toBe('operator_not_registered');
    expect(await stack.sql`select count(*)::int as n from operators where id = 'user_not_yet_registered'`).toEqual([{ n: 0 }]);
  });

  it('an agent cannot edit an operator profile with its key', async () => {
    expect((await stack.call('PATCH', '/operator/me', { key: agent.key, body: { name: 'Agent' } })).status).toBe(401);
  });
});

describe('being found by agents', () => {
  it('an operator registered with coarse coordinates is found near their city, and not far from it', async () => {
    const operator = await appOperator({ city: 'Seville', country: 'ES', lat: 37.39, lng: -5.98 });
    expect(await search('lat=37.3886&lng=-5.9823&radius_km=10')).toContain(operator.id);
    expect(await search('lat=37.8882&lng=-4.7794&radius_km=25')).not.toContain(operator.id); // Córdoba, 120 km away
  });

  it('a travel radius keeps an operator out of searches from farther away, and moving home moves where they are found', async () => {
    const operator = await appOperator({ city: 'Bilbao', country: 'ES', lat: 43.26, lng: -2.93 });
    const fromSanSebastian = 'lat=43.3183&lng=-1.9812&radius_km=100'; // about 77 km away
    expect(await search(fromSanSebastian)).toContain(operator.id);
    expect((await patch(operator, { travel_radius_km: 20 })).status).toBe(200);
    expect(await search(fromSanSebastian)).not.toContain(operator.id);
    expect(await search('lat=43.263&lng=-2.935&radius_km=5')).toContain(operator.id);

    expect((await patch(operator, { location: { city: 'San Sebastián', country: 'ES', lat: 43.32, lng: -1.98 } })).status).toBe(200);
    expect(await search(fromSanSebastian)).toContain(operator.id);
    expect(await search('lat=43.263&lng=-2.935&radius_km=5')).not.toContain(operator.id);
  });

  it('registration takes a travel radius too', async () => {
    const operator = await appOperator({ city: 'Zaragoza', country: 'ES', lat: 41.65, lng: -0.88 }, { travel_radius_km: 5 });
    expect((await me(operator)).travel_radius_km).toBe(5);
    expect(await search('lat=41.65&lng=-0.88&radius_km=50')).toContain(operator.id);
    expect(await search('lat=41.9&lng=-0.88&radius_km=50')).not.toContain(operator.id); // about 28 km north
  });
});
