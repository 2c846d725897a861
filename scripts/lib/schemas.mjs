// The declarative schema: supabase/schemas/*.sql is the desired state of the database, applied in
// lexical order as the Supabase CLI applies `[db.migrations] schema_paths`. Migrations are
// generated from it (scripts/db-diff.mjs) and test/schema-drift.test.ts holds the two together.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient } from '@pgkit/client';
import { run as migra } from '@pgkit/migra';
import { splitStatements } from './migrate.mjs';

export const schemasDir = new URL('../../supabase/schemas/', import.meta.url).pathname;

/** The schema files in the order they apply. */
export async function listSchemaFiles(dir = schemasDir) {
  return (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort().map((f) => join(dir, f));
}

/** Builds the declared schema into an empty database, each file in one transaction. */
export async function applySchemas(sql, { dir = schemasDir } = {}) {
  for (const file of await listSchemaFiles(dir)) {
    const statements = splitStatements(await readFile(file, 'utf8'));
    try {
      await sql.begin(async (tx) => {
        for (const statement of statements) await tx.unsafe(statement);
      });
    } catch (error) {
      error.message = `${file}: ${error.message}`;
      throw error;
    }
  }
}

/**
 * Schemas the diff leaves alone: the migration history, and what extensions and the platform own
 * (pg_cron's and pg_net's tables, Supabase's own schemas on a hosted copy).
 */
const FOREIGN_SCHEMAS = ['supabase_migrations', 'cron', 'net', 'vault', 'storage', 'graphql', 'graphql_public', 'realtime', 'pgsodium', 'pgbouncer'];

/**
 * The statements that take the database at `fromUrl` to the one at `toUrl` (tables, columns,
 * constraints, indexes, views, functions, triggers, policies, extensions and grants), from
 * migra, the diff engine the Supabase CLI runs for `db diff --use-migra`. Empty when they agree.
 */
export async function schemaDiff(fromUrl, toUrl) {
  const from = createClient(fromUrl);
  const to = createClient(toUrl);
  try {
    const migration = await migra(from, to, { unsafe: true, withPrivileges: true, excludeSchema: FOREIGN_SCHEMAS });
    return migration.sql.trim();
  } finally {
    await from.end();
    await to.end();
  }
}

/**
 * What a diff engine does not compare, read from the catalog in a stable order: every function's
 * owner, definition, volatility, security, settings and grants; who may use each schema, table and column;
 * default privileges; column order; RLS switches; comments. Two databases built the same way give
 * equal snapshots.
 */
export async function catalogSnapshot(sql) {
  const ours = `n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast', ${FOREIGN_SCHEMAS.map((s) => `'${s}'`).join(', ')})`;
  // ACLs as sorted "grantee:privilege" lists, the owner's implicit rights made explicit, so NULL
  // (never granted) and an explicit owner-only ACL read the same.
  const acl = (column, kind, owner) => `(select coalesce(array_agg(g.privilege order by g.privilege), '{}') from (
      select coalesce(nullif(a.grantee::regrole::text, '-'), 'PUBLIC') || ':' || a.privilege_type as privilege
        from aclexplode(coalesce(${column}, acldefault((${kind})::"char", ${owner}))) a) g)`;
  const [functions, relations, columns, schemas, defaults, policies, triggers] = await Promise.all([
    sql.unsafe(`
      select p.oid::regprocedure::text as signature, p.proowner::regrole::text as owner,
             pg_get_functiondef(p.oid) as definition, p.provolatile as volatility,
             p.prosecdef as security_definer, p.proconfig as settings, ${acl('p.proacl', "'f'", 'p.proowner')} as acl,
             obj_description(p.oid, 'pg_proc') as comment
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where ${ours} and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
       order by 1`),
    sql.unsafe(`
      select format('%I.%I', n.nspname, c.relname) as relation, c.relkind as kind, c.relpersistence as persistence, c.relrowsecurity as rls,
             c.relforcerowsecurity as forced_rls, ${acl('c.relacl', "case c.relkind when 'S' then 's' else 'r' end", 'c.relowner')} as acl,
             obj_description(c.oid, 'pg_class') as comment
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where ${ours} and c.relkind in ('r', 'v', 'm', 'S', 'p', 'u')
         and not exists (select from pg_depend d where d.objid = c.oid and d.deptype = 'e')
       order by 1`),
    sql.unsafe(`
      select format('%I.%I', n.nspname, c.relname) as relation,
             array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) order by a.attnum) as columns,
             (select coalesce(array_agg(g.privilege order by g.privilege), '{}') from (
                select b.attname || ':' || coalesce(nullif(x.grantee::regrole::text, '-'), 'PUBLIC') || ':' || x.privilege_type as privilege
                  from pg_attribute b, aclexplode(b.attacl) x
                 where b.attrelid = c.oid and b.attnum > 0 and not b.attisdropped) g) as column_acl
        from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
       where ${ours} and c.relkind in ('r', 'v', 'm', 'p', 'u') and a.attnum > 0 and not a.attisdropped
         and not exists (select from pg_depend d where d.objid = c.oid and d.deptype = 'e')
       group by c.oid, n.nspname order by 1`),
    sql.unsafe(`
      select n.nspname as schema, ${acl('n.nspacl', "'n'", 'n.nspowner')} as acl, obj_description(n.oid, 'pg_namespace') as comment
        from pg_namespace n where ${ours} and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast_temp%' order by 1`),
    sql.unsafe(`
      select d.defaclrole::regrole::text as role, coalesce(d.defaclnamespace::regnamespace::text, '') as schema, d.defaclobjtype as kind,
             d.defaclacl::text as acl
        from pg_default_acl d order by 1, 2, 3`),
    sql.unsafe(`
      select schemaname || '.' || tablename as relation, policyname, permissive, roles, cmd, qual, with_check
        from pg_policies where schemaname not in (${FOREIGN_SCHEMAS.map((s) => `'${s}'`).join(', ')}) order by 1, 2`),
    sql.unsafe(`
      select t.tgrelid::regclass::text as relation, t.tgname, pg_get_triggerdef(t.oid) as definition, t.tgenabled as enabled
        from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
       where not t.tgisinternal and ${ours} order by 1, 2`),
  ]);
  const plain = (rows) => rows.map((row) => ({ ...row }));
  return {
    functions: plain(functions), relations: plain(relations), columns: plain(columns), schemas: plain(schemas),
    defaults: plain(defaults), policies: plain(policies), triggers: plain(triggers),
  };
}

/**
 * The GRANT and REVOKE statements on functions and columns that take `from` to `to` (two catalog
 * snapshots): migra compares table privileges but not these. A function new in `to` starts as the
 * default privileges leave it: executable by its owner only.
 */
export function grantDiff(from, to) {
  const before = new Map(from.functions.map((f) => [f.signature, f.acl]));
  const statements = [];
  for (const { signature, owner, acl } of to.functions) {
    const had = new Set(before.get(signature) ?? [`${owner}:EXECUTE`]);
    const has = new Set(acl);
    const role = (entry) => entry.split(':')[0].replace(/^PUBLIC$/, 'public');
    for (const entry of has) if (!had.has(entry)) statements.push(`grant execute on function ${signature} to ${role(entry)};`);
    for (const entry of had) if (!has.has(entry)) statements.push(`revoke execute on function ${signature} from ${role(entry)};`);
  }
  const columnsBefore = new Map(from.columns.map((c) => [c.relation, c.column_acl]));
  for (const { relation, column_acl: acl } of to.columns) {
    const had = new Set(columnsBefore.get(relation) ?? []);
    const has = new Set(acl);
    const parts = (entry) => {
      const [column, grantee, privilege] = entry.split(':');
      return { column, grantee: grantee.replace(/^PUBLIC$/, 'public'), privilege: privilege.toLowerCase() };
    };
    for (const entry of has) {
      if (had.has(entry)) continue;
      const { column, grantee, privilege } = parts(entry);
      statements.push(`grant ${privilege} (${column}) on ${relation} to ${grantee};`);
    }
    for (const entry of had) {
      if (has.has(entry)) continue;
      const { column, grantee, privilege } = parts(entry);
      statements.push(`revoke ${privilege} (${column}) on ${relation} from ${grantee};`);
    }
  }
  return statements.join('\n');
}
