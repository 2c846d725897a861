// The migrations apply to a plain Postgres and to one that already has what Supabase provides,
// and are recorded the way the Supabase CLI records them.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { listMigrations, migrate, splitStatements } from '../scripts/lib/migrate.mjs';

const base = () => `postgres://postgres:postgres@127.0.0.1:${inject('postgresPort')}`;
const admin = () => postgres(`${base()}/postgres`, { onnotice: () => {}, max: 1 });
const created: string[] = [];

async function freshDatabase(): Promise<postgres.Sql> {
  const name = `mig_${randomBytes(5).toString('hex')}`;
  const sql = admin();
  await sql.unsafe(`create database ${name}`);
  await sql.end();
  created.push(name);
  return postgres(`${base()}/${name}`, { onnotice: () => {}, max: 1 });
}

afterAll(async () => {
  const sql = admin();
  for (const name of created) await sql.unsafe(`drop database if exists ${name} with (force)`);
  await sql.end();
});

describe('migrations', () => {
  let db: postgres.Sql;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db?.end());

  it('apply in order and are recorded as the Supabase CLI records them', async () => {
    const applied = await migrate(db);
    const files = await listMigrations();
    expect(applied).toEqual(files.map((f: { version: string }) => f.version));
    const rows = await db`select version, name, statements from supabase_migrations.schema_migrations order by version`;
    expect(rows.map((r) => `${r.version}_${r.name}`)).toEqual(files.map((f: { version: string; name: string }) => `${f.version}_${f.name}`));
    const first = await readFile(files[0].file, 'utf8');
    expect(rows[0].statements).toEqual(splitStatements(first));
    expect(await db`select path from supabase_migrations.seed_files`).toEqual([{ path: 'supabase/seed.sql' }]);
  });

  it('applying again changes nothing', async () => {
    expect(await migrate(db)).toEqual([]);
  });

  it('refuse a database migrated with files that are no longer there, and apply nothing', async () => {
    const old = await freshDatabase();
    await migrate(old);
    await old`insert into supabase_migrations.schema_migrations (version, name) values ('20261128000001', 'bootstrap')`;
    await old`delete from supabase_migrations.schema_migrations where version = (select max(version) from supabase_migrations.schema_migrations where version <> '20261128000001')`;
    await expect(migrate(old)).rejects.toThrow(/no longer in supabase\/migrations\/ \(20261128000001\).*fresh database/s);
    const [{ count }] = await old`select count(*)::int as count from supabase_migrations.schema_migrations`;
    expect(count).toBe((await listMigrations()).length);
    await old.end();
  });

  it("leave a provider's existing auth.jwt() alone (as on hosted Supabase)", async () => {
    const hosted = await freshDatabase();
    await hosted.unsafe(`
      create schema auth;
      create function auth.jwt() returns jsonb language sql stable
        as $$ select coalesce(nullif(current_setting('request.jwt.claim', true), ''), nullif(current_setting('request.jwt.claims', true), ''))::jsonb || '{"provider": "hosted"}' $$;
    `);
    await migrate(hosted);
    const [{ claims }] = await hosted.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', '{"sub": "x"}', true)`;
      return tx`select auth.jwt() as claims`;
    });
    expect(claims).toEqual({ sub: 'x', provider: 'hosted' });
    await hosted.end();
  });
});
