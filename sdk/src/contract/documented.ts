/**
 * What zod's JSON Schema conversion cannot see: a transform's input rules (a USD amount's bounds,
 * a query string's number) and the conditions of a refinement (which task types need a location).
 * A schema registered here is described by this JSON Schema instead, merged over what zod derives
 * (a key set to `undefined` is removed). The server still validates with the zod schema itself, so
 * each entry restates a rule that lives next to it in schemas.ts.
 */
import type { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

const described = new WeakMap<z.ZodType, JsonSchema>();

/** Describes `schema` in the OpenAPI document with `jsonSchema` (merged over zod's own). */
export function documented<T extends z.ZodType>(schema: T, jsonSchema: JsonSchema): T {
  described.set(schema, { ...described.get(schema), ...jsonSchema });
  return schema;
}

/** The `override` of `z.toJSONSchema` that applies what `documented` registered. */
export function applyDocumented({ zodSchema, jsonSchema }: { zodSchema: unknown; jsonSchema: JsonSchema }): void {
  const extra = described.get(zodSchema as z.ZodType);
  if (!extra) return;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete jsonSchema[key];
    else jsonSchema[key] = value;
  }
}
