/**
 * The endpoint reference of docs/api.md, written from the OpenAPI document so the two cannot
 * drift: every operation with its parameters, body fields, rules, answers and error statuses; every
 * schema the answers use, field by field; every webhook event. The prose above the reference in
 * docs/api.md is written by hand.
 *
 *   npm run docs:api    rewrites the generated part of docs/api.md
 *
 * test/api-docs.test.ts fails when docs/api.md is not what this writes.
 */
import { VERSION } from '../functions/_shared/version.ts';
import { openApiDocument } from '../sdk/src/contract/openapi.ts';

type Schema = Record<string, any>;
type Document = Record<string, any>;

export const BEGIN = '<!-- The endpoint reference below is generated from the OpenAPI document by `npm run docs:api`: edit sdk/src/contract, not this part. -->';
export const END = '<!-- End of the generated reference. -->';

const METHODS = ['get', 'post', 'put', 'delete'];
const refName = (ref: string) => ref.split('/').pop()!;
const anchor = (name: string) => `#${name.toLowerCase()}`;
const code = (value: unknown) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
const list = (values: unknown[]) => values.map(code).join(', ');
/** A table cell: pipes escaped, one line. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');

const WHO: Record<string, string> = {
  ApiKey: '`X-API-Key` (an agent key)',
  OperatorBearer: '`Authorization: Bearer` (an operator session)',
  DevOperatorId: '`X-Operator-Id` (local development only)',
  AdminKey: '`X-Admin-Key`',
  WorkerSecret: '`X-Worker-Secret`',
};

function who(security: Record<string, string[]>[]): string {
  if (security.length === 0) return 'anyone';
  return security.map((option) => (Object.keys(option).length === 0 ? 'anyone (test mode)' : Object.keys(option).map((name) => WHO[name] ?? name).join(' and '))).join(', or ');
}

function resolve(doc: Document, schema: Schema): Schema {
  return schema.$ref ? doc.components.schemas[refName(schema.$ref)] : schema;
}

function range(low: number | undefined, high: number | undefined, unit: string, exclusiveLow?: number): string | undefined {
  if (exclusiveLow !== undefined) return `more than ${exclusiveLow}${high !== undefined ? ` and at most ${high}` : ''}${unit}`;
  if (low !== undefined && high !== undefined) return `${low} to ${high}${unit}`;
  if (low !== undefined) return `at least ${low}${unit}`;
  if (high !== undefined) return `at most ${high}${unit}`;
  return undefined;
}

/** A schema in a few words: its type and every bound it carries. */
export function typeText(schema: Schema | boolean): string {
  if (schema === true) return 'anything';
  if (schema === false) return 'not allowed';
  if (schema.$ref) return `[${refName(schema.$ref)}](${anchor(refName(schema.$ref))})`;
  if (schema.anyOf || schema.oneOf) {
    const members: Schema[] = schema.anyOf ?? schema.oneOf;
    const nullable = members.some((m) => m.type === 'null');
    return `${members.filter((m) => m.type !== 'null').map(typeText).join(', or ')}${nullable ? ', or null' : ''}`;
  }
  if (schema.const !== undefined) return code(schema.const);
  if (schema.enum) return `one of ${list(schema.enum)}`;
  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const words: string[] = [];
  const main = types.filter((t) => t !== 'null');
  if (main.includes('array')) {
    words.push(`array of ${schema.items ? typeText(schema.items) : 'anything'}`);
    const items = range(schema.minItems, schema.maxItems, ' items');
    if (items) words.push(`(${items})`);
  } else if (main.includes('object')) {
    const properties = Object.keys(schema.properties ?? {});
    words.push(properties.length ? `object { ${properties.map((p) => `${p}${schema.required?.includes(p) ? '' : '?'}`).join(', ')} }` : 'object');
  } else {
    words.push(main.join(' or ') || 'anything');
    if (schema.format) words.push(`(${schema.format})`);
    const length = range(schema.minLength, schema.maxLength, ' characters');
    if (length) words.push(length);
    // zod's integers carry the safe-integer range: no bound worth saying.
    const bound = (value: number | undefined) => (value === undefined || Math.abs(value) === Number.MAX_SAFE_INTEGER ? undefined : value);
    const bounds = range(bound(schema.minimum), bound(schema.maximum), '', schema.exclusiveMinimum);
    if (bounds) words.push(bounds);
    if (schema.pattern && !schema.format) words.push(`matching ${code(schema.pattern)}`);
  }
  if (types.includes('null')) words.push('or null');
  if (schema.default !== undefined) words.push(`(default ${code(schema.default)})`);
  return words.join(' ');
}

/** Rows of `field | required | what` for an object's properties, nested objects as `a.b`. */
function fieldRows(doc: Document, schema: Schema, prefix = ''): string[] {
  const object = resolve(doc, schema);
  const rows: string[] = [];
  for (const [name, property] of Object.entries<Schema>(object.properties ?? {})) {
    const field = `${prefix}${name}`;
    const required = object.required?.includes(name) ? 'yes' : 'no';
    const target = property.$ref ? resolve(doc, property) : property;
    const nested = target.type === 'object' && target.properties;
    const what = [nested ? 'object' : typeText(property), property.description ?? (property.$ref ? target.description : undefined)].filter(Boolean).join('. ');
    rows.push(`| ${code(field)} | ${required} | ${cell(what)} |`);
    if (nested) rows.push(...fieldRows(doc, target, `${field}.`));
  }
  return rows;
}

function fieldTable(doc: Document, schema: Schema): string[] {
  const rows = fieldRows(doc, schema);
  return rows.length ? ['| field | required | what |', '| --- | --- | --- |', ...rows] : ['No fields: send `{}` or nothing.'];
}

/** The words of a `then` (or `else`) of a conditional rule. */
function consequence(then: Schema): string {
  const parts: string[] = [];
  for (const [name, rule] of Object.entries<Schema | boolean>(then.properties ?? {})) {
    if (rule === true) continue;
    if (rule === false) parts.push(`no ${code(name)}`);
    else if (rule.const !== undefined) parts.push(`${code(name)} is ${code(rule.const)}`);
    else if (rule.enum) parts.push(`${code(name)} is one of ${list(rule.enum)}`);
    else if (rule.maximum !== undefined) parts.push(`${code(name)} at most ${rule.maximum}`);
    else if (rule.required) parts.push(`${code(name)} has ${list(rule.required)}`);
  }
  for (const name of then.required ?? []) parts.push(`${code(name)} is required`);
  return parts.join('; ');
}

function condition(test: Schema): string {
  return Object.entries<Schema | boolean>(test.properties ?? {}).map(([name, rule]) =>
    rule === true ? `${code(name)} is given` : rule.const !== undefined ? `${code(name)} is ${code(rule.const)}` : `${code(name)} is one of ${list(rule.enum ?? [])}`).join(' and ');
}

/** The if/then rules of a body schema, one bullet each. */
function rules(schema: Schema): string[] {
  const conditionals = [...(schema.if ? [schema] : []), ...(schema.allOf ?? []).filter((s: Schema) => s.if)];
  return conditionals.map((rule) =>
    `- When ${condition(rule.if)}: ${consequence(rule.then)}${rule.else ? `; otherwise ${consequence(rule.else)}` : ''}.`);
}

function parameterRows(parameters: Schema[]): string[] {
  const own = parameters.filter((p) => !p.$ref);
  if (own.length === 0) return [];
  return ['| parameter | in | required | what |', '| --- | --- | --- | --- |',
    ...own.map((p) => `| ${code(p.name)} | ${p.in} | ${p.required ? 'yes' : 'no'} | ${cell([typeText(p.schema), p.description].filter(Boolean).join('. '))} |`)];
}

function answers(responses: Record<string, Schema>): string[] {
  const lines: string[] = [];
  const errors: string[] = [];
  for (const [status, answer] of Object.entries(responses)) {
    if (answer.$ref) {
      errors.push(status);
      continue;
    }
    const [type, media] = Object.entries<Schema>(answer.content ?? {})[0] ?? [];
    const body = media?.schema?.$ref ? typeText(media.schema) : type === 'application/json' ? 'JSON' : list(Object.keys(answer.content));
    const headers = Object.keys(answer.headers ?? {}).filter((h) => h !== 'X-Request-Id' && !h.startsWith('RateLimit-'));
    lines.push(`- ${status}: ${answer.description}, ${body}${headers.length ? ` (headers ${list(headers)})` : ''}`);
  }
  if (errors.length) lines.push(`- Errors, as \`{ error, code, details? }\`: ${errors.join(', ')}`);
  return lines;
}

function operationSection(doc: Document, method: string, path: string, op: Schema): string[] {
  const lines = [`#### ${code(`${method.toUpperCase()} ${path}`)}`, '', `${op.summary}.${op.description ? ` ${op.description.replace(/\n+/g, ' ')}` : ''}`, '', `Who: ${who(op.security)}.`];
  const idempotent = op.parameters.some((p: Schema) => p.$ref?.endsWith('/IdempotencyKey'));
  if (idempotent) lines.push('Takes an `Idempotency-Key`.');
  const parameters = parameterRows(op.parameters);
  if (parameters.length) lines.push('', ...parameters);
  const content = op.requestBody?.content ?? {};
  for (const [type, media] of Object.entries<Schema>(content)) {
    const schema = resolve(doc, media.schema);
    lines.push('', `Body (${code(type)}, ${op.requestBody.required ? 'required' : 'optional'})${media.schema.$ref ? `, ${refName(media.schema.$ref)}` : ''}:`, '');
    if (schema.oneOf) {
      lines.push('One of:');
      for (const variant of schema.oneOf) lines.push('', ...fieldTable(doc, variant));
    } else {
      lines.push(...fieldTable(doc, schema));
    }
    const conditional = rules(schema);
    if (conditional.length) lines.push('', 'Rules:', '', ...conditional);
  }
  lines.push('', 'Answers:', '', ...answers(op.responses), '');
  return lines;
}

/** The generated part of docs/api.md, from `doc`. */
export function renderReference(doc: Document): string {
  const lines: string[] = [BEGIN, '', '## Endpoints', ''];
  for (const tag of doc.tags) {
    const operations = Object.entries<Schema>(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]?.tags?.includes(tag.name)).map((m) => [m, path, item[m]] as const));
    if (operations.length === 0) continue;
    lines.push(`### ${tag.name}`, '', tag.description, '');
    for (const [method, path, op] of operations) lines.push(...operationSection(doc, method, path, op));
  }

  lines.push('## Webhook events', '', 'Each is a POST to the task\'s `callback_url` of [WebhookPayload](#webhookpayload), or for `task.message` of [TaskMessageWebhookPayload](#taskmessagewebhookpayload):', '');
  for (const [event, item] of Object.entries<Schema>(doc.webhooks)) lines.push(`- ${code(event)}: ${item.post.summary}`);
  lines.push('', `Headers: ${webhookHeaders(doc)}.`, '');

  lines.push('## Schemas', '', 'What the answers hold (and the objects inside request bodies), field by field.', '');
  const bodies = new Set(Object.values<Schema>(doc.paths).flatMap((item) => METHODS.flatMap((m) =>
    Object.values<Schema>(item[m]?.requestBody?.content ?? {}).map((media) => media.schema?.$ref && refName(media.schema.$ref)))));
  // By name: the order of the document's components depends on the runtime that built it.
  for (const [name, schema] of Object.entries<Schema>(doc.components.schemas).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (bodies.has(name)) continue;
    lines.push(`### ${name}`, '');
    if (schema.description) lines.push(schema.description, '');
    if (schema.type === 'object' && schema.properties) lines.push(...fieldTable(doc, schema));
    else lines.push(typeText(schema));
    lines.push('');
  }
  lines.push(END);
  return `${lines.join('\n')}\n`;
}

function webhookHeaders(doc: Document): string {
  const first = Object.values<Schema>(doc.webhooks)[0];
  return first.post.parameters.map((p: Schema) => `${code(p.name)}${p.required ? '' : ' (with a callback_secret)'}`).join(', ');
}

/** `markdown` with its generated part replaced by `reference`. */
export function withReference(markdown: string, reference: string): string {
  const start = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (start < 0 || end < start) throw new Error('docs/api.md has no generated part: put the BEGIN and END markers of scripts/api-reference.ts in it');
  return `${markdown.slice(0, start)}${reference}${markdown.slice(end + END.length).replace(/^\n/, '')}`;
}

if ((import.meta as { main?: boolean }).main) {
  const file = new URL('../docs/api.md', import.meta.url);
  const reference = renderReference(openApiDocument({ version: VERSION }));
  // @ts-ignore: run by Deno (npm run docs:api)
  await Deno.writeTextFile(file, withReference(await Deno.readTextFile(file), reference));
}
