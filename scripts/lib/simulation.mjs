// A seeded simulation of the whole marketplace through the HTTP API: agents and operators acting
// at once (register, deposit, post physical, digital and credential tasks with and without
// Idempotency-Key and retries, cancel, browse, accept in races, start, upload, submit), the
// Guardian judging with a model stand-in that approves, doubts, rejects, answers malformed, refuses
// or fails, agents' reviews, an admin settling disputes, time passing (deadlines, retries, the
// earnings hold), two workers ticking at once, and payouts.
//
// The plan of operations is a pure function of the seed. The clients run it concurrently, so the
// interleaving (and which task an operation lands on) varies from run to run; with one client the
// run is sequential. At checkpoints every client pauses, the SQL invariants are checked
// (api.check_ledger) and every actor's own books are compared with what the API says: each agent's
// tasks, escrow and balance against what its replies told it, each task's share of the escrow
// against its terms, each operator's earnings and payouts
// likewise, and no task the model did not approve was approved by the Guardian.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import jpeg from 'jpeg-js';
import piexif from 'piexifjs';

/** mulberry32: a small seeded generator, so a plan can be replayed from its seed. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How often each kind of operation appears in a plan. */
const WEIGHTS = {
  register_agent: 0.5, register_operator: 0.5, deposit: 9, post: 20, cancel: 4, browse: 5, accept: 14,
  start: 4, submit: 14, review: 8, resolve: 4, time: 3, tick: 9, payout: 4, balance: 1,
  resubmit: 5, appeal: 5, release: 2,
};
const KINDS = Object.keys(WEIGHTS);
const TOTAL_WEIGHT = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);

/** What the model stand-in answers for a task, chosen when the task is posted. */
const VERDICTS = [['approve', 45], ['review', 18], ['reject', 15], ['malformed', 8], ['refusal', 7], ['error', 7]];

const pickWeighted = (table, roll) => {
  let at = roll * table.reduce((a, [, w]) => a + w, 0);
  for (const [value, weight] of table) {
    if (at < weight) return value;
    at -= weight;
  }
  return table[table.length - 1][0];
};

/** The plan: `count` operations, each a kind and six numbers in [0, 1) that fix its parameters. */
export function planOperations(seed, count) {
  const random = seededRandom(seed);
  const plan = [];
  for (let i = 0; i < count; i++) {
    let roll = random() * TOTAL_WEIGHT;
    let kind = KINDS[KINDS.length - 1];
    for (const k of KINDS) {
      if (roll < WEIGHTS[k]) {
        kind = k;
        break;
      }
      roll -= WEIGHTS[k];
    }
    plan.push({ i, kind, r: [random(), random(), random(), random(), random(), random()] });
  }
  return plan;
}

/** A short digest of a plan, printed so two runs can be seen to follow the same one. */
export const planDigest = (plan) => createHash('sha256').update(JSON.stringify(plan)).digest('hex').slice(0, 16);

/** A set that picks a member by a number in [0, 1) in O(1), in insertion order. */
class PickSet {
  items = [];
  index = new Map();
  add(item) {
    if (this.index.has(item)) return;
    this.index.set(item, this.items.length);
    this.items.push(item);
  }
  delete(item) {
    const at = this.index.get(item);
    if (at === undefined) return;
    const last = this.items.pop();
    if (last !== item) {
      this.items[at] = last;
      this.index.set(last, at);
    }
    this.index.delete(item);
  }
  pick(roll) {
    return this.items.length === 0 ? undefined : this.items[Math.floor(roll * this.items.length)];
  }
  get size() {
    return this.items.length;
  }
}

const FINAL = new Set(['COMPLETED', 'CANCELLED', 'EXPIRED']);
const NY = { lat: 40.7128, lng: -74.006 };
const cents = (usd) => Math.round(Number(usd) * 100);
const usd = (c) => (c / 100).toFixed(2);

/** A small JPEG, with EXIF GPS and capture time when given (what a phone camera writes). */
function photo({ lat, lng, takenAt } = {}) {
  const base = Buffer.from(jpeg.encode({ data: Buffer.alloc(16 * 16 * 4, 120 + Math.floor(Math.random() * 100)), width: 16, height: 16 }, 80).data);
  if (lat === undefined) return base;
  const exif = { '0th': {}, Exif: {}, GPS: {} };
  exif.Exif[piexif.ExifIFD.DateTimeOriginal] = takenAt.toISOString().replace('T', ' ').slice(0, 19).replace(/-/g, ':');
  exif.GPS[piexif.GPSIFD.GPSLatitudeRef] = lat >= 0 ? 'N' : 'S';
  exif.GPS[piexif.GPSIFD.GPSLatitude] = piexif.GPSHelper.degToDmsRational(Math.abs(lat));
  exif.GPS[piexif.GPSIFD.GPSLongitudeRef] = lng >= 0 ? 'E' : 'W';
  exif.GPS[piexif.GPSIFD.GPSLongitude] = piexif.GPSHelper.degToDmsRational(Math.abs(lng));
  return Buffer.from(piexif.insert(piexif.dump(exif), base.toString('binary')), 'binary');
}

/**
 * A stand-in for Anthropic's Messages API that answers each task as its plan says: the task's
 * description carries `sim-verdict:<kind>`. Errors come as 500, 429 and 529 in turn, mostly with
 * `x-should-retry: false` (so a tick does not wait on the SDK's backoff), sometimes retryable at once.
 */
export async function startModelStandIn() {
  let requests = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      requests += 1;
      const send = (status, body, headers = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      let requirements = [];
      let verdict = 'approve';
      try {
        const text = JSON.parse(raw).messages[0].content.find((block) => block.type === 'text').text;
        const data = JSON.parse(text.slice(text.indexOf('<untrusted_data>') + 16, text.indexOf('</untrusted_data>')));
        requirements = data.proof_requirements;
        verdict = /sim-verdict:(\w+)/.exec(data.task.description)?.[1] ?? 'approve';
      } catch {
        return send(400, { type: 'error', error: { type: 'invalid_request_error', message: 'unreadable request' } });
      }
      const message = (content, stopReason) => ({
        id: `msg_sim_${requests}`, type: 'message', role: 'assistant', model: 'claude-sim', content,
        stop_reason: stopReason, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 10 },
      });
      const tool = (input) => send(200, message([{ type: 'tool_use', id: `toolu_${requests}`, name: 'record_verdict', input }], 'tool_use'));
      const judged = (met, confidence) => tool({
        requirement_results: requirements.map((requirement) => ({ requirement, met, note: 'simulated' })),
        confidence, reasoning: `Simulated verdict at ${confidence}.`,
      });
      switch (verdict) {
        case 'approve': return judged(true, 95);
        case 'review': return judged(true, 70);
        case 'reject': return judged(false, 20);
        case 'malformed': return tool({ confidence: 'very high', requirement_results: 'all good' });
        case 'refusal': return send(200, message([], 'refusal'));
        default: {
          const status = [500, 429, 529][requests % 3];
          const retryable = requests % 5 === 0;
          return send(status, { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : 'api_error', message: 'simulated failure' } },
            retryable ? { 'retry-after-ms': '1' } : { 'x-should-retry': 'false' });
        }
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    get requests() {
      return requests;
    },
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The environment the API needs for a simulation (besides its database, issuer and storage). */
export const simulationEnv = (standIn) => ({
  HUMANOPS_MODE: 'test',
  ANTHROPIC_API_KEY: 'sk-ant-simulation',
  ANTHROPIC_BASE_URL: standIn.url,
  ANTHROPIC_TIMEOUT_MS: '5000',
  GUARDIAN_MAX_ATTEMPTS: '3',
  EARNINGS_HOLD_SECONDS: '3600',
  RATE_LIMIT_PER_MINUTE: '100000000',
  RATE_LIMIT_UPLOADS_PER_MINUTE: '100000000',
});

/**
 * Runs `plan` against the API at `url`. `sql` is a superuser connection to its database (time
 * moves, invariants), `tick()` runs the worker once, `operatorAuth(sub)` gives an operator's
 * headers, `adminKey` is the API's X-Admin-Key. Resolves with the figures and every violation found.
 */
export async function runSimulation({ url, sql, tick, operatorAuth, adminKey, encryptForAgent, generateKeyPair, seed, plan, clients = 8, checkpointEvery = 500, log = () => {} }) {
  const started = performance.now();
  const violations = [];
  const outcomes = {};
  const stats = { requests: 0, checkpoints: 0, invariantChecks: 0, bookChecks: 0 };
  const violation = (where, what, detail) => {
    violations.push({ seed, where, what, detail });
    log(`VIOLATION at ${where}: ${what} ${JSON.stringify(detail)}`);
  };

  const call = async (method, path, { body, key, headers = {}, form } = {}) => {
    stats.requests += 1;
    const init = { method, headers: { ...headers } };
    if (key) init.headers['x-api-key'] = key;
    if (form) init.body = form;
    else if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${url}${path}`, init);
    const text = await response.text();
    let parsed = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: reported as is.
    }
    return { status: response.status, body: parsed, replayed: response.headers.get('idempotent-replayed') === 'true' };
  };

  // What the simulated actors know: only what the API told them.
  const agents = [];
  const operators = [];
  const tasks = new Map();
  const byStatus = new Map();
  const setOf = (status) => {
    if (!byStatus.has(status)) byStatus.set(status, new PickSet());
    return byStatus.get(status);
  };
  const learn = (task, status) => {
    if (!status || task.status === status) return;
    setOf(task.status).delete(task.id);
    task.status = status;
    setOf(status).add(task.id);
  };
  const pickTask = (statuses, roll) => {
    const sets = statuses.map(setOf);
    const total = sets.reduce((n, s) => n + s.size, 0);
    if (total === 0) return undefined;
    let at = Math.floor(roll * total);
    for (const s of sets) {
      if (at < s.size) return tasks.get(s.items[at]);
      at -= s.size;
    }
    return undefined;
  };
  const expect = (where, reply, allowed) => {
    const label = `${/^(checkpoint|the end)/.test(where) ? 'books' : where.split(' ')[0]} ${reply.status}`;
    outcomes[label] = (outcomes[label] ?? 0) + 1;
    if (!allowed.includes(reply.status)) violation(where, 'unexpected status', { status: reply.status, body: reply.body });
    return allowed.includes(reply.status);
  };
  const statusFrom409 = (task, reply) => {
    if (reply.status === 409 && reply.body?.details?.status) learn(task, reply.body.details.status);
  };

  const registerAgent = async (where) => {
    const n = agents.length;
    const reply = await call('POST', '/agents/register', { body: { name: `sim-agent-${n}`, email: `sim-agent-${n}@example.com` } });
    if (!expect(where, reply, [201])) return;
    agents.push({ id: reply.body.agent_id, key: reply.body.api_key, deposited: 0, deposits: new Set(), tasks: new Set(), keyPair: await generateKeyPair() });
  };
  const registerOperator = async (where) => {
    const id = `op_sim_${randomBytes(6).toString('hex')}`;
    const auth = await operatorAuth(id);
    const reply = await call('POST', '/operator/register', {
      headers: auth,
      body: { name: `Sim Operator ${operators.length}`, email: `${id}@example.com`, phone: '+1234567890', location: { city: 'New York', country: 'US', ...NY }, skills: [] },
    });
    if (!expect(where, reply, [201])) return;
    operators.push({ id, auth, payouts: new Map() });
  };

  /**
   * Sends the same request once, twice in a row, or twice at once. Only successes are stored under
   * a key (a refusal wrote nothing, so its retry runs afresh and may be refused for a newer reason):
   * every success must be the same answer, and a retry after a success must replay it.
   */
  const canonical = (value) => JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
  const same = (a, b) => a.status === b.status && canonical(a.body) === canonical(b.body);
  const succeeded = (reply) => reply.status >= 200 && reply.status < 300;
  const withRetries = async (where, mode, send) => {
    const replies = mode === 'concurrent' ? await Promise.all([send(), send()]) : [await send()];
    if (mode === 'sequential') replies.push(await send());
    const successes = replies.filter(succeeded);
    for (const other of successes.slice(1)) {
      if (!same(other, successes[0])) violation(where, 'two successes under the same Idempotency-Key differ', { first: successes[0], retry: other });
    }
    if (mode === 'sequential' && succeeded(replies[0]) && !same(replies[1], replies[0])) {
      violation(where, 'a retry after a success under the same Idempotency-Key got another answer', { first: replies[0], retry: replies[1] });
    }
    // The effect, if any took place: a refused first try (402) lets its concurrent or later twin run
    // afresh and succeed once money has arrived, and the actor must learn of that success.
    return successes[0] ?? replies[0];
  };
  const retryMode = (a, b) => (a < 0.5 ? { key: null, mode: 'once' } : { key: `sim-${seed}-${randomBytes(6).toString('hex')}`, mode: b < 0.4 ? 'once' : b < 0.7 ? 'sequential' : 'concurrent' });

  /**
   * Who holds a task as an operation starts. A release racing the operation makes the task no
   * longer the operator's: a 404 then is the right answer, and only then.
   */
  const holder = (task) => ({ operator: task.operator, releases: task.releases ?? 0, racing: (task.releasing ?? 0) > 0 });
  const allowedFor = (task, held, reply, allowed) =>
    (reply.status === 404 && (held.racing || (task.releases ?? 0) !== held.releases || (task.releasing ?? 0) > 0) ? [...allowed, 404] : allowed);

  /** Proof for a task its operator holds, as the app would send it; null when the upload was refused. */
  const proofFor = async (task, held, where, notes) => {
    const { auth } = held.operator;
    const body = { notes, photos: [] };
    if (task.type === 'VERIFICATION' || task.type === 'FORM_FILLING') {
      const form = new FormData();
      form.set('task_id', task.id);
      const bytes = task.type === 'VERIFICATION' ? photo({ lat: task.location.lat, lng: task.location.lng, takenAt: new Date() }) : photo();
      form.set('file', new Blob([bytes], { type: 'image/jpeg' }), 'proof.jpg');
      const upload = await call('POST', '/operator/upload', { headers: auth, form });
      if (!expect(where, upload, allowedFor(task, held, upload, [201, 409]))) return null;
      if (upload.status !== 201) return null;
      body.photos = [upload.body.path];
    } else if (task.type === 'CONTENT_REVIEW') {
      body.confirmation_text = 'The listing is accurate and complete.';
    } else {
      body.artifact = await encryptForAgent(task.agent.keyPair.publicKey, { api_key: `sk_sim_${task.id.slice(5, 17)}` }, { taskId: task.id });
    }
    return body;
  };

  const operations = {
    register_agent: async (op, where) => agents.length < 24 && registerAgent(where),
    register_operator: async (op, where) => operators.length < 24 && registerOperator(where),

    deposit: async ({ r }, where) => {
      const agent = agents[Math.floor(r[0] * agents.length)];
      const amount = 10_000 + Math.floor(r[1] * 290_000);
      const { key, mode } = retryMode(r[2], r[3]);
      const fiat = r[4] < 0.2;
      const body = fiat ? { amount_usd: usd(amount), payment_method: 'card' } : { tx_hash: `0x${randomBytes(32).toString('hex')}`, amount_usdc: usd(amount) };
      const reply = await withRetries(where, mode, () => call('POST', fiat ? '/agents/deposit' : '/agents/deposit/usdc', {
        key: agent.key, headers: key ? { 'idempotency-key': key } : {}, body,
      }));
      if (!expect(where, reply, [200])) return;
      if (cents(reply.body.amount_usd) !== amount) violation(where, 'deposit credited another amount', { amount, reply: reply.body });
      if (!agent.deposits.has(reply.body.transaction_id)) {
        agent.deposits.add(reply.body.transaction_id);
        agent.deposited += amount;
      }
    },

    post: async ({ i, r }, where) => {
      const agent = agents[Math.floor(r[0] * agents.length)];
      const verdict = pickWeighted(VERDICTS, r[1]);
      const shape = r[2];
      const marker = `sim-task:${seed}-${i} sim-verdict:${verdict}`;
      const deadline = new Date(Date.now() + 7 * 86_400_000).toISOString();
      let body;
      if (shape < 0.5) {
        const location = { lat: NY.lat + (r[3] - 0.5) * 0.2, lng: NY.lng + (r[4] - 0.5) * 0.2, address: `${i} Simulated St, NY` };
        body = { title: `Check the storefront (${i})`, description: `Photograph the storefront. ${marker}`, location, reward_usd: usd(1000 + Math.floor(r[5] * 29_000)), deadline, proof_requirements: ['Photo of the storefront sign'], task_type: 'VERIFICATION' };
      } else if (shape < 0.7) {
        body = { title: `Review a listing (${i})`, description: `Read the listing and assess it. ${marker}`, reward_usd: usd(1000 + Math.floor(r[5] * 1500)), deadline, proof_requirements: ['Written assessment of the listing'], task_type: 'CONTENT_REVIEW' };
      } else if (shape < 0.85) {
        body = { title: `Fill in a form (${i})`, description: `Fill in the signup form. ${marker}`, reward_usd: usd(1000 + Math.floor(r[5] * 4000)), deadline, proof_requirements: ['Screenshot of the submitted form'], task_type: 'FORM_FILLING' };
      } else {
        body = { title: `Get an API key (${i})`, description: `Sign up and create an API key. ${marker}`, reward_usd: usd(1000 + Math.floor(r[5] * 19_000)), deadline, proof_requirements: ['The API key of the new account'], task_type: 'API_KEY_PROCUREMENT', agent_public_key: agent.keyPair.publicKey };
      }
      const { key, mode } = retryMode(r[3], r[4]);
      const reply = await withRetries(where, mode, () => call('POST', '/tasks', { key: agent.key, headers: key ? { 'idempotency-key': key } : {}, body }));
      if (!expect(where, reply, [201, 402])) return;
      if (reply.status !== 201) return;
      const reward = cents(body.reward_usd);
      const fee = cents(reply.body.platform_fee);
      if (cents(reply.body.reward_usd) !== reward || cents(reply.body.total_escrow) !== reward + fee) {
        violation(where, 'the escrow told is not reward + fee', { body: reply.body });
      }
      if (tasks.has(reply.body.task_id)) return;
      const task = { id: reply.body.task_id, agent, reward, fee, verdict, type: body.task_type, location: body.location, status: null, operator: null, share: null };
      tasks.set(task.id, task);
      agent.tasks.add(task.id);
      learn(task, reply.body.status);
    },

    cancel: async ({ r }, where) => {
      const task = pickTask(['PENDING', 'ACCEPTED'], r[0]);
      if (!task) return;
      const { key, mode } = retryMode(r[1], r[2]);
      const reply = await withRetries(where, mode, () => call('POST', `/tasks/${task.id}/cancel`, { key: task.agent.key, headers: key ? { 'idempotency-key': key } : {} }));
      if (!expect(where, reply, [200, 409]) || reply.status !== 200) return statusFrom409(task, reply);
      if (cents(reply.body.refunded_usd) !== task.reward + task.fee) violation(where, 'a cancellation refunded other than reward + fee', { task: task.id, reply: reply.body });
      learn(task, 'CANCELLED');
    },

    browse: async ({ r }, where) => {
      if (r[0] < 0.6 && operators.length > 0) {
        const operator = operators[Math.floor(r[1] * operators.length)];
        expect(where, await call('GET', `/operator/tasks?lat=${NY.lat}&lng=${NY.lng}&radius_km=50&limit=20`, { headers: operator.auth }), [200]);
      } else {
        const agent = agents[Math.floor(r[1] * agents.length)];
        expect(where, await call('GET', `/tasks?limit=20&offset=${Math.floor(r[2] * 40)}`, { key: agent.key }), [200]);
      }
    },

    accept: async ({ r }, where) => {
      const task = pickTask(['PENDING'], r[0]);
      if (!task || operators.length === 0) return;
      // Sometimes several operators race for the same task: one at most may win.
      const racers = r[1] < 0.3 ? 2 + Math.floor(r[2] * 3) : 1;
      const chosen = [...new Set(Array.from({ length: racers }, (_, k) => operators[Math.floor(((r[3] + k * 0.37) % 1) * operators.length)]))];
      const replies = await Promise.all(chosen.map((operator) => call('POST', `/operator/tasks/${task.id}/accept`, { headers: operator.auth })));
      const winners = replies.map((reply, k) => (expect(where, reply, [200, 409, 410]) && reply.status === 200 ? chosen[k] : null)).filter(Boolean);
      if (winners.length > 1) violation(where, 'two operators accepted the same task', { task: task.id, winners: winners.map((w) => w.id) });
      if (winners.length === 1) {
        task.operator = winners[0];
        learn(task, 'ACCEPTED');
      } else {
        for (const reply of replies) statusFrom409(task, reply);
      }
    },

    start: async ({ r }, where) => {
      const task = pickTask(['ACCEPTED'], r[0]);
      if (!task?.operator) return;
      const held = holder(task);
      const reply = await call('POST', `/operator/tasks/${task.id}/start`, { headers: held.operator.auth });
      if (expect(where, reply, allowedFor(task, held, reply, [200, 409])) && reply.status !== 404) {
        reply.status === 200 ? learn(task, 'IN_PROGRESS') : statusFrom409(task, reply);
      }
    },

    submit: async ({ r }, where) => {
      const task = pickTask(['ACCEPTED', 'IN_PROGRESS'], r[0]);
      if (!task?.operator) return;
      const held = holder(task);
      const body = await proofFor(task, held, where, 'Done as asked');
      if (!body) return;
      const reply = await call('POST', `/operator/tasks/${task.id}/submit`, { headers: held.operator.auth, body });
      if (expect(where, reply, allowedFor(task, held, reply, [200, 409, 410])) && reply.status !== 404) {
        reply.status === 200 ? learn(task, 'SUBMITTED') : statusFrom409(task, reply);
      }
    },

    resubmit: async ({ r }, where) => {
      // The operator's second chance: new proof for a disputed task, once, before the deadline.
      const task = pickTask(['DISPUTED'], r[0]);
      if (!task?.operator) return;
      const held = holder(task);
      const body = await proofFor(task, held, where, 'Done again, closer this time');
      if (!body) return;
      const reply = await call('POST', `/operator/tasks/${task.id}/resubmit`, { headers: held.operator.auth, body });
      if (!expect(where, reply, [200, 409, 410])) return;
      if (reply.status === 200) {
        if (task.resubmitted) violation(where, 'a task was resubmitted twice', { task: task.id });
        task.resubmitted = true;
        learn(task, 'SUBMITTED');
      } else statusFrom409(task, reply);
    },

    appeal: async ({ r }, where) => {
      // Mostly a task whose second chance was spent (the appeal's case); sometimes any disputed one.
      const spent = setOf('DISPUTED').items.map((id) => tasks.get(id)).filter((t) => t?.resubmitted);
      const task = r[1] < 0.8 && spent.length > 0 ? spent[Math.floor(r[0] * spent.length)] : pickTask(['DISPUTED'], r[0]);
      if (!task?.operator) return;
      const reply = await call('POST', `/operator/tasks/${task.id}/appeal`, { headers: task.operator.auth, body: { note: 'The proof shows the task done.' } });
      if (!expect(where, reply, [200, 409])) return;
      if (reply.status === 200 && !task.resubmitted) violation(where, 'an appeal before any resubmission was accepted', { task: task.id });
      if (reply.status === 409) statusFrom409(task, reply);
    },

    release: async ({ r }, where) => {
      // An operator hands back a task it cannot do: open to others again, nothing paid.
      const task = pickTask(['ACCEPTED', 'IN_PROGRESS'], r[0]);
      if (!task?.operator) return;
      const held = holder(task);
      task.releasing = (task.releasing ?? 0) + 1;
      task.releases = held.releases + 1;
      try {
        const reply = await call('POST', `/operator/tasks/${task.id}/release`, { headers: held.operator.auth, body: {} });
        if (!expect(where, reply, [200, 404, 409])) return;
        if (reply.status === 200 && task.operator === held.operator) {
          task.operator = null;
          learn(task, 'PENDING');
        } else if (reply.status === 409) statusFrom409(task, reply);
      } finally {
        task.releasing -= 1;
      }
    },

    review: async ({ r }, where) => {
      const task = pickTask(['SUBMITTED', 'MANUAL_REVIEW', 'VERIFIED'], r[0]);
      if (!task) return;
      if (r[1] < 0.5) {
        // Look first (and learn what the Guardian decided); else decide at once, racing the Guardian.
        const detail = await call('GET', `/tasks/${task.id}`, { key: task.agent.key });
        if (!expect(where, detail, [200])) return;
        learn(task, detail.body.status);
        if (!['SUBMITTED', 'MANUAL_REVIEW', 'VERIFIED'].includes(task.status)) return;
      }
      const decision = r[2] < 0.7 ? 'APPROVE' : 'REJECT';
      const body = decision === 'REJECT' ? { decision, reason: 'The proof does not show the task done.' } : { decision };
      const reply = await call('POST', `/tasks/${task.id}/verify`, { key: task.agent.key, body });
      if (!expect(where, reply, [200, 409])) return;
      if (reply.status === 200) {
        if (reply.body.status === 'COMPLETED') task.share = task.reward;
        learn(task, reply.body.status);
      } else statusFrom409(task, reply);
    },

    resolve: async ({ r }, where) => {
      const task = pickTask(['DISPUTED'], r[0]);
      // The admin mostly leaves a dispute alone while its operator may still send new proof.
      if (!task || (!task.resubmitted && r[3] < 0.7)) return;
      const body = r[1] < 0.35 ? { resolution: 'refund' } : r[1] < 0.7 ? { resolution: 'pay' } : { resolution: 'split', operator_usd: usd(1 + Math.floor(r[2] * (task.reward - 1))) };
      const reply = await call('POST', `/admin/tasks/${task.id}/resolve`, { headers: { 'x-admin-key': adminKey }, body });
      if (!expect(where, reply, [200, 409]) || reply.status !== 200) return statusFrom409(task, reply);
      if (body.resolution !== 'refund') task.share = body.resolution === 'pay' ? task.reward : cents(body.operator_usd);
      learn(task, reply.body.status);
    },

    time: async ({ r }) => {
      // Time passes: a few open tasks reach their deadline, failed Guardian attempts come due, and
      // an hour of the earnings hold goes by.
      // Each statement locks its rows in id order, so two clients moving time at once cannot
      // deadlock each other (a bulk UPDATE otherwise locks rows in whatever order it meets them).
      const overdue = [0, 1, 2].map((k) => pickTask(['PENDING', 'ACCEPTED', 'IN_PROGRESS'], (r[0] + k * 0.29) % 1)).filter((t) => t && r[1] < 0.6);
      if (overdue.length > 0) {
        await sql`update tasks t set deadline = least(t.deadline, now() - interval '1 second')
                    from (select id from tasks where id in ${sql(overdue.map((t) => t.id))} order by id for update) x where t.id = x.id`;
      }
      await sql`update guardian_jobs j set available_at = now()
                  from (select id from guardian_jobs where status = 'queued' and available_at > now() order by id for update) x
                 where j.id = x.id and j.status = 'queued'`;
      await sql`update tasks t set completed_at = t.completed_at - interval '1 hour'
                  from (select id from tasks where status = 'COMPLETED' and earnings_released_at is null order by id for update) x
                 where t.id = x.id and t.status = 'COMPLETED' and t.earnings_released_at is null`;
    },

    tick: async ({ r }, where) => {
      // Sometimes two workers tick at once.
      const replies = await Promise.all(Array.from({ length: r[0] < 0.3 ? 2 : 1 }, () => tick()));
      for (const reply of replies) expect(where, reply, [200]);
    },

    payout: async ({ r }, where) => {
      if (operators.length === 0) return;
      const operator = operators[Math.floor(r[0] * operators.length)];
      const earnings = await call('GET', '/operator/earnings', { headers: operator.auth });
      if (!expect(where, earnings, [200])) return;
      const available = cents(earnings.body.available_balance);
      if (available < 1000) return;
      const amount = 1000 + Math.floor(r[1] * (available - 1000));
      // Sometimes two payouts race for the same balance: the ledger may not pay more than there is.
      const replies = await Promise.all(Array.from({ length: r[2] < 0.25 ? 2 : 1 }, () => call('POST', '/operator/payout', { headers: operator.auth, body: { amount_usd: usd(amount) } })));
      for (const reply of replies) {
        // The daily payout cap refuses a payout that would take the last 24 hours past it, and only that.
        const capped = reply.status === 403 && reply.body?.code === 'daily_payout_cap_reached';
        if (capped && cents(reply.body.details.paid_out_24h_usd) + amount <= cents(reply.body.details.cap_usd)) {
          violation(where, 'a payout within the daily cap was refused', { amount, details: reply.body.details });
        }
        if (expect(where, reply, capped ? [403] : [200, 402]) && reply.status === 200) operator.payouts.set(reply.body.payout_id, cents(reply.body.amount_usd));
      }
    },

    balance: async ({ r }, where) => {
      const agent = agents[Math.floor(r[0] * agents.length)];
      expect(where, await call('GET', '/agents/balance', { key: agent.key }), [200]);
    },
  };

  /** Every client paused: the SQL invariants, then each actor's books against the API's answers. */
  const checkpoint = async (where) => {
    stats.checkpoints += 1;
    const report = await sql`select invariant, violations, examples from api.check_ledger()`;
    stats.invariantChecks += report.length;
    for (const row of report) if (row.violations !== '0') violation(where, `invariant: ${row.invariant}`, row.examples);

    for (const agent of agents) {
      const listed = new Map();
      for (let offset = 0; ; offset += 100) {
        const page = await call('GET', `/tasks?limit=100&offset=${offset}`, { key: agent.key });
        if (!expect(`${where} books`, page, [200])) break;
        for (const t of page.body.data) listed.set(t.task_id, t);
        if (offset + 100 >= page.body.pagination.total) break;
      }
      stats.bookChecks += 1;
      const missing = [...agent.tasks].filter((id) => !listed.has(id));
      const unknown = [...listed.keys()].filter((id) => !agent.tasks.has(id));
      if (missing.length || unknown.length) violation(where, 'an agent\'s tasks differ from what the API created for it', { agent: agent.id, missing, unknown });
      let escrow = 0;
      let spent = 0;
      for (const [id, t] of listed) {
        const task = tasks.get(id);
        if (!task) continue;
        if (cents(t.reward_usd) !== task.reward) violation(where, 'a task\'s reward changed', { task: id });
        learn(task, t.status);
        if (task.status === 'COMPLETED' && task.share === null) task.share = task.reward; // approved by the Guardian
        if (!FINAL.has(task.status)) escrow += task.reward + task.fee;
        if (task.status === 'COMPLETED') spent += task.fee + task.share;
      }
      const balance = await call('GET', '/agents/balance', { key: agent.key });
      if (!expect(`${where} books`, balance, [200])) continue;
      stats.bookChecks += 1;
      const told = { deposit: cents(balance.body.deposit_balance), escrow: cents(balance.body.escrow_balance) };
      if (told.escrow !== escrow || told.deposit + told.escrow !== agent.deposited - spent) {
        violation(where, 'an agent\'s balance differs from its own books', { agent: agent.id, told, expected: { escrow, deposit: agent.deposited - spent - escrow } });
      }
    }

    // Each task's share of its agent's escrow, as the ledger keeps it on the task, against the terms
    // the task was posted at: all of reward + fee until it is final, nothing after.
    const kept = await sql`select id, status, escrow_cents from tasks where id = any (${[...tasks.keys()]}::text[])`;
    stats.bookChecks += 1;
    for (const row of kept) {
      const task = tasks.get(row.id);
      const expected = FINAL.has(row.status) ? 0 : task.reward + task.fee;
      if (Number(row.escrow_cents) !== expected) violation(where, 'a task\'s escrow differs from its terms', { task: row.id, status: row.status, kept: Number(row.escrow_cents), expected });
    }

    for (const operator of operators) {
      const earnings = await call('GET', '/operator/earnings', { headers: operator.auth });
      if (!expect(`${where} books`, earnings, [200])) continue;
      stats.bookChecks += 1;
      let earned = 0;
      for (const task of tasks.values()) if (task.operator === operator && task.status === 'COMPLETED') earned += task.share;
      const paid = [...operator.payouts.values()].reduce((a, b) => a + b, 0);
      const told = { pending: cents(earnings.body.pending_balance), available: cents(earnings.body.available_balance), earned: cents(earnings.body.total_earned) };
      if (told.earned !== earned || told.pending + told.available + paid !== earned) {
        violation(where, 'an operator\'s earnings differ from its own books', { operator: operator.id, told, paid, earned });
      }
    }

    // The Guardian approves only what the model approved.
    const approved = await sql`select task_id from task_events where to_status = 'COMPLETED' and actor = 'guardian'`;
    stats.bookChecks += 1;
    for (const { task_id } of approved) {
      const task = tasks.get(task_id);
      if (task && task.verdict !== 'approve') violation(where, 'the Guardian approved a task the model did not approve', { task: task_id, verdict: task.verdict });
    }
  };

  // The cast: a few agents with money and a few operators, then the plan.
  for (let k = 0; k < 6; k++) await registerAgent('setup');
  for (let k = 0; k < 6; k++) await registerOperator('setup');
  for (const agent of agents) await operations.deposit({ r: [agents.indexOf(agent) / agents.length + 1e-9, 0.5, 0, 0, 1, 0] }, 'setup deposit');

  const timings = {};
  let checkpointMs = 0;
  for (let from = 0; from < plan.length; from += checkpointEvery) {
    const chunk = plan.slice(from, from + checkpointEvery);
    let next = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (next < chunk.length) {
        const op = chunk[next++];
        const where = `${op.kind} #${op.i}`;
        const began = performance.now();
        try {
          await operations[op.kind](op, where);
          const spent = (timings[op.kind] ??= { n: 0, ms: 0 });
          spent.n += 1;
          spent.ms += performance.now() - began;
        } catch (error) {
          violation(where, 'the operation threw', { error: String(error?.stack ?? error) });
        }
      }
    }));
    const began = performance.now();
    await checkpoint(`checkpoint after op ${from + chunk.length}`);
    checkpointMs += performance.now() - began;
    log(`${from + chunk.length} ops, ${Math.round(performance.now() - started) / 1000} s, ${violations.length} violations`);
  }

  // The end: time passes until the Guardian has judged every submission, then the last check.
  for (let round = 0; round < 20; round++) {
    await sql`update guardian_jobs set available_at = now() where status = 'queued'`;
    expect('drain tick', await tick(), [200]);
    const [{ open }] = await sql`select count(*)::int as open from guardian_jobs where status in ('queued', 'running')`;
    if (open === 0) break;
  }
  await checkpoint('the end');

  const byFinalStatus = {};
  for (const task of tasks.values()) byFinalStatus[task.status] = (byFinalStatus[task.status] ?? 0) + 1;
  return {
    seed,
    ops: plan.length,
    seconds: Math.round(performance.now() - started) / 1000,
    requests: stats.requests,
    checkpoints: stats.checkpoints,
    invariantChecks: stats.invariantChecks,
    bookChecks: stats.bookChecks,
    violations,
    outcomes,
    tasks: byFinalStatus,
    agents: agents.length,
    operators: operators.length,
    msPerOperation: Object.fromEntries(Object.entries(timings).map(([kind, t]) => [kind, Math.round(t.ms / t.n)])),
    checkpointSeconds: Math.round(checkpointMs) / 1000,
  };
}
