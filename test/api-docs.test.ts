// docs/api.md and the OpenAPI document cannot drift: the endpoint reference in docs/api.md is what
// scripts/api-reference.ts writes from the document (`npm run docs:api`), it names every operation,
// parameter, body field, status, schema and webhook event of the document, and the prose above it
// names no endpoint the document lacks (but the dLocal webhook, which is coming soon).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEGIN, END, renderReference } from '../scripts/api-reference.ts';
import { openApiDocument } from '../sdk/src/contract/openapi.ts';
import { VERSION } from '../functions/_shared/version.ts';

const doc = openApiDocument({ version: VERSION }) as any;
const markdown = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
const generated = markdown.slice(markdown.indexOf(BEGIN), markdown.indexOf(END) + END.length);
const prose = markdown.slice(0, markdown.indexOf(BEGIN));
const METHODS = ['get', 'post', 'put', 'delete'];
const operations = Object.entries<any>(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => ({ method: m, path, op: item[m] })));

describe('docs/api.md', () => {
  it('holds the reference generated from the document, as `npm run docs:api` writes it', () => {
    expect(markdown).toContain(BEGIN);
    expect(markdown).toContain(END);
    expect(`${generated}\n`, 'docs/api.md is out of date: run npm run docs:api').toBe(renderReference(doc));
  });

  it('names every operation, parameter, body field, status, schema and event of the document, and no other operation', () => {
    const missing: string[] = [];
    const sectionOf = (method: string, path: string) => {
      const start = generated.indexOf(`#### \`${method.toUpperCase()} ${path}\``);
      if (start < 0) return null;
      const next = generated.indexOf('\n#', start + 1);
      return generated.slice(start, next < 0 ? undefined : next);
    };
    const fieldsOf = (schema: any, prefix = ''): string[] => {
      const target = schema?.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema;
      if (!target) return [];
      if (target.oneOf) return target.oneOf.flatMap((variant: any) => fieldsOf(variant, prefix));
      return Object.entries<any>(target.properties ?? {}).flatMap(([name, property]) => {
        const resolved = property.$ref ? doc.components.schemas[property.$ref.split('/').pop()] : property;
        return [`${prefix}${name}`, ...(resolved?.type === 'object' ? fieldsOf(resolved, `${prefix}${name}.`) : [])];
      });
    };
    for (const { method, path, op } of operations) {
      const section = sectionOf(method, path);
      if (!section) {
        missing.push(`${method.toUpperCase()} ${path}`);
        continue;
      }
      for (const parameter of op.parameters.filter((p: any) => p.name)) if (!section.includes(`| \`${parameter.name}\` | ${parameter.in} |`)) missing.push(`${method} ${path}: parameter ${parameter.name}`);
      const body = op.requestBody?.content?.['application/json']?.schema;
      for (const field of fieldsOf(body)) if (!section.includes(`| \`${field}\` |`)) missing.push(`${method} ${path}: field ${field}`);
      for (const status of Object.keys(op.responses)) if (!new RegExp(`\\b${status}\\b`).test(section)) missing.push(`${method} ${path}: status ${status}`);
    }
    for (const [name, schema] of Object.entries<any>(doc.components.schemas)) {
      if (!generated.includes(`### ${name}`) && !generated.includes(`, ${name}:`)) missing.push(`schema ${name}`);
      const heading = generated.indexOf(`### ${name}\n`);
      if (heading >= 0) for (const field of fieldsOf(schema)) if (!generated.slice(heading).split('\n### ')[0].includes(`| \`${field}\` |`)) missing.push(`schema ${name}: field ${field}`);
    }
    for (const event of Object.keys(doc.webhooks)) if (!generated.includes(`- \`${event}\``)) missing.push(`event ${event}`);
    expect(missing).toEqual([]);

    const documented = new Set(operations.map(({ method, path }) => `${method.toUpperCase()} ${path}`));
    const headings = [...generated.matchAll(/^#### `(\w+ \S+)`$/gm)].map((m) => m[1]);
    expect(headings.filter((h) => !documented.has(h))).toEqual([]);
  });

  it('its prose names no endpoint the document lacks, and keeps the dLocal webhook as coming soon', () => {
    const paths = Object.keys(doc.paths).map((p) => new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`));
    const named = [...prose.matchAll(/`(GET|POST|PUT|DELETE) (\/[^`?\s]*)/g)].map(([, method, path]) => ({ method, path: path.replace(/^\/api\/v1/, '').replace(/:(\w+)/g, '{$1}') }));
    expect(named.length).toBeGreaterThan(5);
    const unknown = named.filter(({ method, path }) =>
      !paths.some((p, i) => p.test(path) && doc.paths[Object.keys(doc.paths)[i]][method.toLowerCase()]) && !(method === 'POST' && path === '/webhooks/dlocal'));
    expect(unknown).toEqual([]);
    expect(prose).toMatch(/dLocal: coming soon/);
    expect(prose).toContain('`POST /webhooks/dlocal`');
  });
});
