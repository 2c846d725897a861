// The migrations and the declarative schema (supabase/schemas/) describe one database: built from
// each, the two are identical, so neither can change without the other (`npm run db:diff`).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applySchemas, catalogSnapshot, grantDiff, listSchemaFiles, schemaDiff } from '../scripts/lib/schemas.mjs';

const base = () => `postgresql://postgres:postgres@127.0.0.1:${inject('postgresPort')}`;
const admin = () => postgres(`${base()}/postgres`, { onnotice: () => {}, max: 1 });
const names = { migrated: `drift_m_${randomBytes(4).toString('hex')}`, declared: `drift_d_${randomBytes(4).toString('hex')}` };

describe('the schema files and the migrations', () => {
  let migrated: postgres.Sql;
  let declared: postgres.Sql;

  beforeAll(async () => {
    const sql = admin();
    // The template database is what the migrations build (test/setup/postgres.ts).
    await sql.unsafe(`create database ${names.migrated} template ${inject('templateDatabase')}`);
    await sql.unsafe(`create database ${names.declared}`);
    await sql.end();
    migrated = postgres(`${base()}/${names.migrated}`, { onnotice: () => {}, max: 1 });
    declared = postgres(`${base()}/${names.declared}`, { onnotice: () => {}, max: 1 });
    await applySchemas(declared);
  });

  afterAll(async () => {
    await migrated?.end();
    await declared?.end();
    const sql = admin();
    for (const name of Object.values(names)) await sql.unsafe(`drop database if exists ${name} with (force)`);
    await sql.end();
  });

  it('build databases that a diff engine finds no difference between', async () => {
    expect(await schemaDiff(`${base()}/${names.migrated}`, `${base()}/${names.declared}`)).toBe('');
  });

  it('agree on every function (definition, volatility, security, settings, owner, grants), privilege, column and policy', async () => {
    const [fromMigrations, fromSchemas] = [await catalogSnapshot(migrated), await catalogSnapshot(declared)];
    expect(grantDiff(fromMigrations, fromSchemas)).toBe('');
    for (const part of Object.keys(fromSchemas) as (keyof typeof fromSchemas)[]) {
      expect(fromMigrations[part], `${part} differ`).toEqual(fromSchemas[part]);
    }
  });

  it('define each function exactly once', async () => {
    const defined = (await listSchemaFiles()).flatMap((file: string) =>
      [...readFileSync(file, 'utf8').matchAll(/^create (?:or replace )?function ([\w.]+)\s*\(/gim)].map((m) => m[1].toLowerCase()));
    const [{ count }] = await declared`select count(*)::int as count from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('api', 'private')`;
    expect(defined.filter((name: string, i: number) => defined.indexOf(name) !== i)).toEqual([]);
    expect(defined.filter((name: string) => /^(api|private)\./.test(name)).length).toBe(count);
  });
});
