// Applies supabase/migrations in order and records them the way the Supabase CLI does
// (supabase_migrations.schema_migrations: version, name, statements), so `supabase migration list
// --db-url …` agrees with us. Each file runs in one transaction with its record.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const migrationsDir = new URL('../../supabase/migrations/', import.meta.url).pathname;
export const seedFile = new URL('../../supabase/seed.sql', import.meta.url).pathname;

/**
 * Splits a SQL script into statements at top-level semicolons, leaving quoted strings,
 * identifiers, dollar-quoted bodies and comments intact.
 */
export function splitStatements(script) {
  const statements = [];
  let start = 0;
  let i = 0;
  const push = (end) => {
    const text = script.slice(start, end).trim();
    // A line comment runs to its line's end: with an optional newline, a line of dashes could be
    // split into comments in exponentially many ways, and a failing match took minutes.
    if (text && !/^(--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/|\s)*$/.test(text)) statements.push(text);
  };
  while (i < script.length) {
    const ch = script[i];
    const next = script[i + 1];
    if (ch === '-' && next === '-') {
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end + 1;
    } else if (ch === '/' && next === '*') {
      // Block comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < script.length && depth > 0) {
        if (script[i] === '/' && script[i + 1] === '*') (depth += 1), (i += 2);
        else if (script[i] === '*' && script[i + 1] === '/') (depth -= 1), (i += 2);
        else i += 1;
      }
    } else if (ch === "'" || ch === '"') {
      // E'…' strings also escape with a backslash.
      const backslashes = ch === "'" && /[eE]/.test(script[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(script[i - 2] ?? '');
      i += 1;
      while (i < script.length) {
        if (backslashes && script[i] === '\\') i += 2;
        else if (script[i] === ch && script[i + 1] === ch) i += 2;
        else if (script[i] === ch) break;
        else i += 1;
      }
      i += 1;
    } else if (ch === '$') {
      const tag = /^\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$/.exec(script.slice(i));
      if (tag) {
        const end = script.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? script.length : end + tag[0].length;
      } else {
        i += 1;
      }
    } else if (ch === ';') {
      push(i);
      i += 1;
      start = i;
    } else {
      i += 1;
    }
  }
  push(script.length);
  return statements;
}

/** The migration files, oldest first, as `{ version, name, file }`. */
export async function listMigrations(dir = migrationsDir) {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return files.map((file) => {
    const [, version, name] = /^(\d+)_(.+)\.sql$/.exec(file);
    return { version, name, file: join(dir, file) };
  });
}

/**
 * Applies every migration not yet recorded, then the seed once per change of its content (as
 * `supabase db reset` would on a fresh database). Returns the versions it applied.
 */
export async function migrate(sql, { seed = true, log = () => {} } = {}) {
  await sql.unsafe(`
    create schema if not exists supabase_migrations;
    create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
    alter table supabase_migrations.schema_migrations add column if not exists statements text[];
    alter table supabase_migrations.schema_migrations add column if not exists name text;
    alter table supabase_migrations.schema_migrations add column if not exists created_by text;
    alter table supabase_migrations.schema_migrations add column if not exists idempotency_key text unique;
    create table if not exists supabase_migrations.seed_files (path text not null primary key, hash text not null);
  `);
  const applied = new Set((await sql`select version from supabase_migrations.schema_migrations`).map((r) => r.version));
  const migrations = await listMigrations();
  // A database migrated with files that are gone (the squash into one baseline) would have the
  // baseline applied on top of what it already holds: say so instead of failing halfway.
  const unknown = [...applied].filter((version) => !migrations.some((m) => m.version === version)).sort();
  if (unknown.length) {
    throw new Error(`This database was migrated with migrations that are no longer in supabase/migrations/ (${unknown[0]}` +
      `${unknown.length > 1 ? ` and ${unknown.length - 1} more` : ''}): they were squashed into one baseline. ` +
      'Start from a fresh database (for `npm start`, remove its data dir, .humanops/ by default).');
  }
  const done = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    const script = await readFile(migration.file, 'utf8');
    const statements = splitStatements(script);
    await sql.begin(async (tx) => {
      for (const statement of statements) await tx.unsafe(statement);
      await tx`insert into supabase_migrations.schema_migrations (version, name, statements)
               values (${migration.version}, ${migration.name}, ${statements})`;
    });
    log(`applied migration ${migration.version}_${migration.name}`);
    done.push(migration.version);
  }
  if (seed) {
    const script = await readFile(seedFile, 'utf8');
    const hash = createHash('sha256').update(script).digest('hex');
    const [recorded] = await sql`select hash from supabase_migrations.seed_files where path = 'supabase/seed.sql'`;
    if (!recorded) {
      await sql.begin(async (tx) => {
        for (const statement of splitStatements(script)) await tx.unsafe(statement);
        await tx`insert into supabase_migrations.seed_files (path, hash) values ('supabase/seed.sql', ${hash})`;
      });
      log('applied supabase/seed.sql');
    }
  }
  return done;
}
