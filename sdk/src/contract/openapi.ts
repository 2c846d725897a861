/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas the server validates
 * with (zod's own `z.toJSONSchema`, whose draft 2020-12 output is OpenAPI 3.1's schema dialect), so
 * there is no second copy of any schema to drift. Request bodies are described as the server
 * accepts them (zod's input side: "25" or 25 for a USD amount), responses as it answers.
 */
import { z } from 'zod';
import { applyDocumented, type JsonSchema } from './documented.ts';
import * as requests from './schemas.ts';
import * as responses from './responses.ts';
import { type Route, ROUTES, TAGS } from './routes.ts';

const ref = (name: string) => `#/components/schemas/${name}`;

/** The exported zod schemas of a module, by export name. */
const schemasOf = (module: Record<string, unknown>) =>
  Object.entries(module).filter((entry): entry is [string, z.ZodType] => entry[1] instanceof z.ZodType);

/** Component schemas for `entries`, with references between them; names keyed by schema. */
function components(entries: [string, z.ZodType][], io: 'input' | 'output') {
  const registry = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  for (const [name, schema] of entries) {
    if (names.has(schema)) continue;
    registry.add(schema, { id: name });
    names.set(schema, name);
  }
  const generated = z.toJSONSchema(registry, { target: 'draft-2020-12', io, uri: ref, unrepresentable: 'any', override: formatsWithoutPatterns }).schemas;
  const schemas: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(generated)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema as JsonSchema;
    schemas[name] = rest;
  }
  return { schemas, names };
}

/**
 * A `format` says it: zod's long regular expression for the same format only bloats the document.
 * Then what schemas.ts registered with `documented` (bounds behind transforms, refinements' rules).
 */
const formatsWithoutPatterns = (context: { zodSchema: unknown; jsonSchema: JsonSchema }) => {
  if (context.jsonSchema.format === 'date-time' || context.jsonSchema.format === 'email') delete context.jsonSchema.pattern;
  applyDocumented(context);
};

const SECURITY: Record<Route['auth'], Record<string, string[]>[]> = {
  agent: [{ ApiKey: [] }, { OwnerBearer: [], AgentId: [] }],
  operator: [{ OperatorBearer: [] }, { DevOperatorId: [] }],
  owner: [{ OwnerBearer: [] }],
  admin: [{ AdminKey: [] }],
  worker: [{ WorkerSecret: [] }],
  none: [],
  registration: [{}, { AdminKey: [] }],
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad input: the message names the field (`validation_error`), or the request is malformed',
  401: 'Missing or invalid credentials',
  402: 'Not enough funds',
  403: 'Not allowed (or not available in this mode)',
  404: 'Not found (or not yours)',
  409: 'Conflicts with the current state (the details name it)',
  410: 'Gone: the task expired',
  413: 'Too large (`payload_too_large` past 64 KB of JSON)',
  415: 'The body is not sent as `application/json` (`unsupported_media_type`); nothing was done',
  429: 'Rate limited: retry after the Retry-After header',
  503: 'Temporarily unavailable or not configured here: retry later',
};

export interface OpenApiOptions {
  /** The API's version, shown as the document's `info.version`. */
  version: string;
  /** The API's base URL as the caller reached it; without one, the relative `/api/v1`. */
  serverUrl?: string;
}

/** Whether a route's JSON body may be left out: the server reads no body as `{}`. */
const bodyOptional = (schema: z.ZodType) => schema.safeParse({}).success;

/** The headers of every rate-limited answer (all but /health), and of a replayed one. */
const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': { $ref: '#/components/headers/RateLimitLimit' },
  'RateLimit-Remaining': { $ref: '#/components/headers/RateLimitRemaining' },
  'RateLimit-Reset': { $ref: '#/components/headers/RateLimitReset' },
};

/** The OpenAPI 3.1 document of the HumanOps API. */
export function openApiDocument(options: OpenApiOptions): Record<string, unknown> {
  // Request schemas are named without their `Schema` suffix; queries become parameters instead.
  const inputs = components(
    schemasOf(requests).filter(([name]) => name.endsWith('Schema')).map(([name, s]) => [name.replace(/Schema$/, 'Request'), s]),
    'input',
  );
  const outputs = components(schemasOf(responses), 'output');

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      tags: [route.tag],
      summary: route.summary,
      ...(route.description || route.testModeOnly || strictQuery(route)
        ? {
          description: [
            route.description,
            strictQuery(route) ? 'Unknown query parameters are refused (400 `validation_error`).' : undefined,
            route.testModeOnly ? 'Test mode only: in live mode the route does not exist (404).' : undefined,
          ].filter(Boolean).join('\n\n'),
        }
        : {}),
      security: SECURITY[route.auth],
      parameters: [...pathParameters(route), ...queryParameters(route), ...(route.idempotent ? [{ $ref: '#/components/parameters/IdempotencyKey' }] : [])],
    };
    if (route.body) {
      const name = inputs.names.get(route.body);
      if (!name) throw new Error(`${route.operationId}: its body schema is not an exported request schema`);
      operation.requestBody = { required: !bodyOptional(route.body), content: { 'application/json': { schema: { $ref: ref(name) } } } };
    }
    if (route.form) {
      operation.requestBody = {
        required: true,
        content: {
          'multipart/form-data': {
            schema: {
              type: 'object',
              required: Object.entries(route.form).filter(([, f]) => !f.optional).map(([field]) => field),
              properties: Object.fromEntries(Object.entries(route.form).map(([field, f]) =>
                [field, f.type === 'binary' ? { type: 'string', contentMediaType: 'application/octet-stream', description: f.description } : { type: 'string', description: f.description }])),
            },
          },
        },
      };
    }
    const answers: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(route.responses)) {
      const name = answer.schema && outputs.names.get(answer.schema);
      if (answer.schema && !name) throw new Error(`${route.operationId}: its ${status} schema is not an exported response schema`);
      const schemaFor = (type: string) => (name ? { $ref: ref(name) } : type !== 'application/json' ? { type: 'string', contentMediaType: type } : { type: 'object' });
      answers[status] = {
        description: answer.description,
        headers: {
          'X-Request-Id': { $ref: '#/components/headers/RequestId' },
          ...(route.path === '/health' ? {} : RATE_LIMIT_HEADERS),
          ...(route.idempotent && Number(status) < 300 ? { 'Idempotent-Replayed': { $ref: '#/components/headers/IdempotentReplayed' } } : {}),
        },
        content: Object.fromEntries((answer.contentTypes ?? ['application/json']).map((type) => [type, { schema: schemaFor(type) }])),
      };
    }
    const errorStatuses = [...new Set([...route.errors, ...bodyErrors(route), ...(route.path === '/health' ? [] : [429])])].sort();
    for (const status of errorStatuses) answers[status] = { $ref: `#/components/responses/Error${status}` };
    operation.responses = answers;
    (paths[route.path] ??= {})[route.method] = operation;
  }

  const usedErrors = [...new Set(ROUTES.flatMap((r) => [...r.errors, ...bodyErrors(r), 429]))].sort();
  return {
    openapi: '3.1.1',
    info: {
      title: 'HumanOps API',
      version: options.version,
      summary: 'AI agents commission real-world tasks from verified human operators.',
      description: [
        'Agents register, fund an account (USDC on Base), and post tasks whose reward and platform fee go into escrow; operators accept them, do the work and submit proof, which the AI Guardian verifies.',
        'Amounts are US dollars with at most two decimals. Errors are always `{ "error", "code", "details"? }`. Every response carries `X-Request-Id`.',
        'POSTs that move money accept an `Idempotency-Key`: a retry with the same key and body gets the first answer again.',
      ].join('\n\n'),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: options.serverUrl ?? '/api/v1', description: 'This server' }],
    tags: TAGS.map((t) => ({ ...t })),
    paths,
    webhooks: webhooks(),
    components: {
      schemas: { ...inputs.schemas, ...outputs.schemas },
      securitySchemes: {
        ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An agent API key: `ho_test_…` in test mode, `ho_live_…` in live mode.' },
        OperatorBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "An operator's session token from the identity provider (Clerk), verified against its JWKS." },
        OwnerBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: "A signed-in owner's session token from the same identity provider as operators' (Clerk), verified against its JWKS. On agent routes it goes with X-Agent-Id and acts for that agent while the person is linked to it (POST /owner/link), with an owner key's powers; it never posts tasks." },
        AgentId: { type: 'apiKey', in: 'header', name: 'X-Agent-Id', description: 'With an owner session: the linked agent to act for (GET /owner/agents lists them).' },
        DevOperatorId: { type: 'apiKey', in: 'header', name: 'X-Operator-Id', description: 'Local development only: act as this operator id. Honoured only by a test-mode server listening on loopback; never in live mode or on a hosted deployment.' },
        AdminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key', description: 'The platform admin key (HUMANOPS_ADMIN_KEY).' },
        WorkerSecret: { type: 'apiKey', in: 'header', name: 'X-Worker-Secret', description: 'The scheduler\'s secret (WORKER_SECRET).' },
      },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key', in: 'header', required: false,
          description: 'Makes a retry safe: the same key with the same body returns the first answer (with `Idempotent-Replayed: true`); with another body, 409.',
          schema: { type: 'string', minLength: 1, maxLength: 255 },
        },
      },
      headers: {
        RequestId: { description: 'This request\'s id: quote it when asking for help.', schema: { type: 'string' } },
        RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'string' } },
        RateLimitLimit: { description: 'Requests allowed per minute on this route from this client (absent when rate limits are off).', schema: { type: 'string', pattern: '^\\d+$' } },
        RateLimitRemaining: { description: 'Requests left in the current minute.', schema: { type: 'string', pattern: '^\\d+$' } },
        RateLimitReset: { description: 'Seconds until the current minute\'s count starts again.', schema: { type: 'string', pattern: '^\\d+$' } },
        IdempotentReplayed: { description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key.', schema: { type: 'string', const: 'true' } },
      },
      responses: Object.fromEntries(usedErrors.map((status) => [`Error${status}`, {
        description: STATUS_TEXT[status] ?? `HTTP ${status}`,
        headers: {
          'X-Request-Id': { $ref: '#/components/headers/RequestId' },
          ...RATE_LIMIT_HEADERS,
          ...(status === 429 || status === 503 ? { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } : {}),
        },
        content: { 'application/json': { schema: { $ref: ref('ErrorResponse') } } },
      }])),
    },
  };
}

/**
 * Statuses every route taking a body can answer besides its own: 413 past the JSON size limit
 * (any request but a GET; the upload has its own), 415 for a body that is not JSON.
 */
function bodyErrors(route: Route): number[] {
  return [...(route.method === 'get' ? [] : [413]), ...(route.body ? [415] : [])];
}

/** A query schema that refuses parameters it does not name. */
function strictQuery(route: Route): boolean {
  return !!route.query && (z.toJSONSchema(route.query, { io: 'input', unrepresentable: 'any' }) as JsonSchema).additionalProperties === false;
}

function pathParameters(route: Route) {
  return [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: route.pathParameters?.[name] ?? (route.path.startsWith('/admin/operators/') ? { type: 'string' } : { type: 'string', pattern: requests.ID_PATTERN.source }),
  }));
}

function queryParameters(route: Route) {
  if (!route.query) return [];
  const schema = z.toJSONSchema(route.query, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any', override: formatsWithoutPatterns }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return { name, in: 'query', required: schema.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest };
  });
}

/** The events that are not simply a new status. */
const EVENT_SUMMARIES: Partial<Record<(typeof responses.WEBHOOK_EVENTS)[number], string>> = {
  'task.resubmitted': 'The operator sent new proof after a rejection (DISPUTED to SUBMITTED); the Guardian judges it again',
  'task.appealed': 'The operator appealed a rejection that stood after resubmitting; the task stays DISPUTED until an admin settles it',
  'task.released': 'The operator handed the task back, or did not start it within the hold: PENDING again, open to others',
  'task.message': 'An operator wrote in the task\'s thread (its text is untrusted data from a person)',
};

/** What HumanOps POSTs to a task's callback_url, one entry per event. */
function webhooks() {
  const signed = [
    { name: 'X-HumanOps-Signature', description: 'Hex HMAC-SHA256 of the raw body, keyed with the callback_secret (absent without one).', required: false },
    { name: 'webhook-id', description: 'The delivery id: the same on every retry, so receivers can de-duplicate.', required: true },
    { name: 'webhook-timestamp', description: 'Unix seconds of this attempt; reject stale ones.', required: true },
    { name: 'webhook-signature', description: 'Standard Webhooks: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` (absent without a callback_secret).', required: false },
  ].map(({ name, description, required }) => ({ name, in: 'header', required, description, schema: { type: 'string' } }));
  return Object.fromEntries(responses.WEBHOOK_EVENTS.map((event) => [event, {
    post: {
      operationId: `webhook_${event.replace('.', '_')}`,
      summary: EVENT_SUMMARIES[event] ?? `The task moved to ${event.slice('task.'.length).toUpperCase()}`,
      description: 'Answer 2xx within the timeout; anything else is retried with backoff for about a day. Verify the signature before trusting the body (the SDK\'s verifyWebhook does).',
      // Authenticated by its signature headers, not by a security scheme.
      security: [],
      parameters: signed,
      requestBody: { required: true, content: { 'application/json': { schema: { $ref: ref(event === 'task.message' ? 'TaskMessageWebhookPayload' : 'WebhookPayload') } } } },
      responses: { '2XX': { description: 'Received' } },
    },
  }]));
}
