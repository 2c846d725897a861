// Who may do what: every privilege that anon, authenticated and service_role hold (directly or
// through PUBLIC) on every schema, table, column, sequence and function of ours, compared with the
// intended list (helpers/privileges.ts) — on a plain Postgres and on a database with hosted
// Supabase's classic default grants — and nothing at all on objects created later. (Behaviour under RLS, role by
// role, is rls.test.ts's; this file is about privileges.)
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../scripts/lib/migrate.mjs';
import { createHostedDatabase, type HostedDatabase } from './helpers/hosted-database.ts';
import { INTENDED_PRIVILEGES, privileges } from './helpers/privileges.ts';


// `public`'s own USAGE differs by design (PUBLIC on a plain Postgres, the client roles on Supabase).
const ours = (lines: string[]) => lines.filter((line) => !line.startsWith('schema public:'));

/** Objects a later migration might add, created as the role that runs migrations. */
async function createLaterObjects(sql: postgres.Sql | postgres.TransactionSql) {
  await sql.unsafe(`
    create table public.later_table (id bigint generated always as identity primary key, note text);
    create sequence public.later_sequence;
    create function public.later_function() returns integer language sql as 'select 1';
    create function api.later_function() returns integer language sql as 'select 1';
    create function private.later_function() returns integer language sql as 'select 1';
  `);
}
const LATER = /later_/;

describe('privileges on a plain Postgres (the local stack)', () => {
  let sql: postgres.Sql;
  const name = `privs_${randomBytes(5).toString('hex')}`;
  const base = () => `postgres://postgres:postgres@127.0.0.1:${inject('postgresPort')}`;

  beforeAll(async () => {
    const admin = postgres(`${base()}/postgres`, { onnotice: () => {}, max: 1 });
    await admin.unsafe(`create database ${name} template ${inject('templateDatabase')}`);
    await admin.end();
    sql = postgres(`${base()}/${name}`, { onnotice: () => {}, max: 1 });
  });
  afterAll(async () => {
    await sql?.end();
    const admin = postgres(`${base()}/postgres`, { onnotice: () => {}, max: 1 });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('are exactly the intended list', async () => {
    expect(ours(await privileges(sql))).toEqual(INTENDED_PRIVILEGES);
  });

  it('give the client roles nothing on tables, sequences and functions created later', async () => {
    await createLaterObjects(sql);
    expect((await privileges(sql)).filter((line) => LATER.test(line))).toEqual([]);
  });
});

describe('privileges on a database set up like hosted Supabase (classic default grants)', () => {
  let hosted: HostedDatabase;
  let owner: postgres.Sql;

  beforeAll(async () => {
    hosted = await createHostedDatabase(inject('postgresPort'));
    owner = postgres(hosted.ownerUrl, { onnotice: () => {}, max: 1 });
    await migrate(owner);
  }, 60_000);
  afterAll(async () => {
    await owner?.end();
    await hosted?.drop();
  });

  it('are exactly the intended list, although Supabase grants ALL on every new table by default', async () => {
    expect(ours(await privileges(hosted.sql))).toEqual(INTENDED_PRIVILEGES);
  });

  it('give the client roles nothing on objects the owner creates later', async () => {
    await createLaterObjects(owner);
    expect((await privileges(hosted.sql)).filter((line) => LATER.test(line))).toEqual([]);
  });
});
