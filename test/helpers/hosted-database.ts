// A database set up like a hosted Supabase project's (see fixtures/hosted-supabase.sql) in the
// test cluster, with its own owner role that logs in with a password; dropped with its role.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import postgres from 'postgres';

export interface HostedDatabase {
  name: string;
  owner: string;
  /** Connection URL as the owner (what SUPABASE_DB_URL / `db push --db-url` get). */
  ownerUrl: string;
  /** A superuser connection, for assertions. */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

export async function createHostedDatabase(port: number): Promise<HostedDatabase> {
  const suffix = randomBytes(5).toString('hex');
  const name = `hosted_${suffix}`;
  const owner = `hosted_owner_${suffix}`;
  const password = randomBytes(12).toString('hex');
  const base = `postgres://postgres:postgres@127.0.0.1:${port}`;
  const admin = postgres(`${base}/postgres`, { onnotice: () => {}, max: 1 });
  await admin.unsafe(`create role ${owner} login password '${password}' createrole bypassrls nosuperuser`);
  await admin.unsafe(`create database ${name} owner ${owner}`);
  const sql = postgres(`${base}/${name}`, { onnotice: () => {}, max: 4 });
  const setup = await readFile(new URL('../fixtures/hosted-supabase.sql', import.meta.url), 'utf8');
  await sql.unsafe(setup.replaceAll('{{owner}}', owner));
  return {
    name,
    owner,
    ownerUrl: `postgresql://${owner}:${password}@127.0.0.1:${port}/${name}`,
    sql,
    drop: async () => {
      await sql.end();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      // Roles outlive databases: take away what the owner holds elsewhere (default privileges,
      // memberships), then the role.
      await admin.unsafe(`drop owned by ${owner}`);
      await admin.unsafe(`drop role if exists ${owner}`);
      await admin.end();
    },
  };
}
