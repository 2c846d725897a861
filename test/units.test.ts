// Fast unit tests: the shared function code and the stack's scripts imported directly under Node,
// no database and no Deno. Importing them here also proves the function code runs outside Deno.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../functions/_shared/config.ts';
import { isP256PublicKey, randomBase62, secretsEqual } from '../functions/_shared/crypto.ts';
import { centsToUsd, usdToCents } from '../functions/_shared/money.ts';
import { VERSION } from '../functions/_shared/version.ts';
import { clientIp } from '../functions/api/middleware/rate-limit.ts';
import { pushEndpointProblem } from '../functions/api/push-step.ts';
import { listMigrations, splitStatements } from '../scripts/lib/migrate.mjs';
import { keptVapidKeys } from '../scripts/lib/vapid.mjs';

const readJson = (relative: string) => JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8'));
const packageJson = readJson('../package.json');
const denoJson = readJson('../deno.json');

describe('usdToCents / centsToUsd', () => {
  it('gives exact cents for JSON numbers', () => {
    expect(usdToCents(25)).toBe(2500);
    expect(usdToCents(25.5)).toBe(2550);
    expect(usdToCents(0.01)).toBe(1);
    expect(usdToCents(10.03)).toBe(1003);
    expect(usdToCents(0)).toBe(0);
    expect(usdToCents(29.5)).toBe(2950);
    expect(usdToCents(1.0000000000000002)).toBe(null); // float noise is not an exact cent amount
  });

  it('gives exact cents for decimal strings', () => {
    expect(usdToCents('100.00')).toBe(10000);
    expect(usdToCents('25')).toBe(2500);
    expect(usdToCents('25.5')).toBe(2550);
    expect(usdToCents('0.01')).toBe(1);
    expect(usdToCents('10.03')).toBe(1003);
    expect(usdToCents(' 7.25 ')).toBe(725);
  });

  it('refuses amounts finer than a cent', () => {
    expect(usdToCents(10.001)).toBe(null);
    expect(usdToCents('1.234')).toBe(null);
    expect(usdToCents('0.001')).toBe(null);
    expect(usdToCents(0.005)).toBe(null);
  });

  it('refuses negatives, NaN and infinities', () => {
    expect(usdToCents(-5)).toBe(null);
    expect(usdToCents(-0.01)).toBe(null);
    expect(usdToCents('-5.00')).toBe(null);
    expect(usdToCents(Number.NaN)).toBe(null);
    expect(usdToCents(Number.POSITIVE_INFINITY)).toBe(null);
    expect(usdToCents(Number.NEGATIVE_INFINITY)).toBe(null);
    expect(usdToCents('NaN')).toBe(null);
    expect(usdToCents('Infinity')).toBe(null);
  });

  it('refuses exponent forms', () => {
    expect(usdToCents(1e-7)).toBe(null);
    expect(usdToCents('1e3')).toBe(null);
    expect(usdToCents('1E3')).toBe(null);
    expect(usdToCents(1e21)).toBe(null);
  });

  it('refuses empty strings and values with junk', () => {
    for (const junk of ['', '   ', '$5', '5$', '5 USD', '1,000.00', '1_000', '0x10', '+5', '.5', '5.', '1.2.3', '12abc', '5.00 ; drop table']) {
      expect(usdToCents(junk), JSON.stringify(junk)).toBe(null);
    }
  });

  it('converts cents back to a USD number', () => {
    expect(centsToUsd(2950)).toBe(29.5);
    expect(centsToUsd('2950')).toBe(29.5); // postgres returns bigint as a string
    expect(centsToUsd(2950n)).toBe(29.5);
    expect(centsToUsd(1)).toBe(0.01);
    expect(centsToUsd(0)).toBe(0);
  });

  it('round-trips every cent value from 0 to 100000', () => {
    const broken: number[] = [];
    for (let cents = 0; cents <= 100_000; cents++) {
      if (usdToCents(centsToUsd(cents)) !== cents) broken.push(cents);
    }
    expect(broken).toEqual([]);
  });
});

describe('clientIp', () => {
  it('takes the entry the first trusted proxy appended, counting hops from the right', () => {
    expect(clientIp('6.6.6.6, 203.0.113.9', '10.0.0.1', 1)).toBe('203.0.113.9');
    expect(clientIp('6.6.6.6, 203.0.113.9, 10.1.1.1', '10.0.0.1', 2)).toBe('203.0.113.9');
    expect(clientIp(' 2001:db8::1 ', '10.0.0.1', 1)).toBe('2001:db8::1');
    expect(clientIp('::ffff:203.0.113.9', '10.0.0.1', 1)).toBe('203.0.113.9');
  });

  it('takes the socket when proxies are not trusted, unless it is unspecified (Supabase\'s edge gives 0.0.0.0)', () => {
    expect(clientIp('6.6.6.6', '10.0.0.1', null)).toBe('10.0.0.1');
    expect(clientIp(undefined, '127.0.0.1', null)).toBe('127.0.0.1');
    expect(clientIp(undefined, '0.0.0.0', null)).toBeNull();
    expect(clientIp(undefined, '::', null)).toBeNull();
    expect(clientIp(undefined, undefined, null)).toBeNull();
  });

  it('behind proxies, trusts no address when the header is missing or short, the entry is no address, or it is a proxy\'s own', () => {
    expect(clientIp(undefined, '0.0.0.0', 1)).toBeNull();
    expect(clientIp(undefined, '203.0.113.9', 1)).toBeNull(); // the socket is the proxy
    expect(clientIp('203.0.113.9', '10.0.0.1', 2)).toBeNull();
    expect(clientIp('6.6.6.6, not-an-ip', '10.0.0.1', 1)).toBeNull();
    for (const proxy of ['10.1.2.3', '172.16.0.9', '192.168.1.1', '127.0.0.1', '100.64.0.1', '169.254.0.1', 'fd00::1', '0.0.0.0']) {
      expect(clientIp(`6.6.6.6, ${proxy}`, '0.0.0.0', 1), proxy).toBeNull();
    }
  });
});

describe('splitStatements', () => {
  it('splits on top-level semicolons and trims', () => {
    expect(splitStatements('select 1; select 2;\n  select 3  ')).toEqual(['select 1', 'select 2', 'select 3']);
  });

  it('does not split inside single-quoted strings, including doubled-quote escapes', () => {
    expect(splitStatements("insert into t values ('a;b'); select 'it''s; fine'; select 2")).toEqual([
      "insert into t values ('a;b')",
      "select 'it''s; fine'",
      'select 2',
    ]);
    expect(splitStatements("select ''';'; select 2")).toEqual(["select ''';'", 'select 2']);
  });

  it('does not split inside double-quoted identifiers', () => {
    expect(splitStatements('create table "a;b" ("c;""d" int); select 1')).toEqual(['create table "a;b" ("c;""d" int)', 'select 1']);
  });

  it('does not split inside $$ bodies', () => {
    const fn = 'create function f() returns void language plpgsql as $$\nbegin\n  perform 1;\n  perform 2;\nend\n$$';
    expect(splitStatements(`${fn};\nselect f();`)).toEqual([fn, 'select f()']);
  });

  it('does not split inside $tag$ bodies, and $$ inside a tagged body does not end it', () => {
    const fn = "create function g() returns text language sql as $body$ select 'x;' || $$;$$ ; $body$";
    expect(splitStatements(`${fn}; select g();`)).toEqual([fn, 'select g()']);
    const doBlock = 'do $do_block$ begin raise notice \'a;b\'; end $do_block$';
    expect(splitStatements(`${doBlock};select 1`)).toEqual([doBlock, 'select 1']);
  });

  it('leaves positional parameters like $1 alone', () => {
    expect(splitStatements('prepare p as select $1::int; execute p(1)')).toEqual(['prepare p as select $1::int', 'execute p(1)']);
  });

  it('ignores semicolons in -- line comments and /* */ block comments', () => {
    expect(splitStatements('select 1 -- not here; nor here\n+ 1; select /* a;b\n;c */ 2')).toEqual([
      'select 1 -- not here; nor here\n+ 1',
      'select /* a;b\n;c */ 2',
    ]);
    expect(splitStatements("select '--;' ; select '/*;'; select 3")).toEqual(["select '--;'", "select '/*;'", 'select 3']);
  });

  it('drops empty and comment-only statements', () => {
    expect(splitStatements(';;  ;\n-- only a comment;\n;/* block; comment */;  select 1;;\n-- trailing comment')).toEqual(['select 1']);
    expect(splitStatements('')).toEqual([]);
    expect(splitStatements('  \n -- nothing\n /* at all */ ')).toEqual([]);
  });

  // Less common lexical forms PostgreSQL accepts, each with a semicolon inside.
  it('keeps dollar-quote tags that contain digits ($fn1$) intact', () => {
    const fn = 'create function h() returns int language sql as $fn1$ select 1; $fn1$';
    expect(splitStatements(`${fn}; select 2`)).toEqual([fn, 'select 2']);
  });

  it("keeps E'…' strings with backslash-escaped quotes intact", () => {
    expect(splitStatements("select E'it\\'s; here'; select 2")).toEqual(["select E'it\\'s; here'", 'select 2']);
  });

  it('keeps nested /* /* */ */ block comments intact', () => {
    expect(splitStatements('/* a /* b; */ c; */ select 1; select 2')).toEqual(['/* a /* b; */ c; */ select 1', 'select 2']);
  });

  it('splits every real migration into statements that each begin with a SQL keyword', async () => {
    const migrations = await listMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    const keywords = new Set(['create', 'alter', 'drop', 'grant', 'revoke', 'comment', 'do', 'insert', 'update', 'delete', 'select', 'set', 'with', 'truncate']);
    const stripLeadingComments = (s: string) => s.replace(/^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/, '');
    for (const migration of migrations) {
      const statements = splitStatements(readFileSync(migration.file, 'utf8'));
      expect(statements.length, migration.file).toBeGreaterThan(0);
      for (const statement of statements) {
        const body = stripLeadingComments(statement);
        const first = /^[A-Za-z]+/.exec(body)?.[0]?.toLowerCase();
        expect(keywords.has(first ?? ''), `${migration.version}_${migration.name}: statement starts mid-body:\n${statement.slice(0, 300)}`).toBe(true);
        // A cut inside a dollar-quoted body would leave an odd number of its delimiters behind.
        const delimiters = body.match(/\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$/g) ?? [];
        expect(delimiters.length % 2, `${migration.version}_${migration.name}: unbalanced dollar quotes:\n${statement.slice(0, 300)}`).toBe(0);
      }
    }
  });
});

describe('loadConfig', () => {
  const DB = 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
  const ADMIN = 'a'.repeat(32);
  // Everything else live mode requires besides the admin key (operator sign-in).
  const LIVE = {
    SUPABASE_DB_URL: DB, HUMANOPS_MODE: 'live', CLERK_JWKS_URL: 'https://clerk.example.com/.well-known/jwks.json', CLERK_ISSUER: 'https://clerk.example.com',
    CLERK_AUTHORIZED_PARTIES: 'https://operators.example.com',
  };

  it('has defaults: test mode, port 54321, the dev operator header allowed, 100 requests a minute', () => {
    const config = loadConfig({ SUPABASE_DB_URL: DB });
    expect(config.mode).toBe('test');
    expect(config.port).toBe(54321);
    expect(config.host).toBe('127.0.0.1');
    expect(config.databaseUrl).toBe(DB);
    expect(config.allowDevOperatorIdHeader).toBe(true);
    expect(config.rateLimit).toEqual({ enabled: true, perMinute: 100, uploadsPerMinute: 10, anonymousPerMinute: 1000 });
    expect(config.tickBudgetMs).toBe(45_000);
    expect(config.adminKey).toBeUndefined();
  });

  it('push: off without VAPID keys, all three or none, the private key never shown; any https push host only in test mode on loopback', () => {
    const keys = keptVapidKeys(mkdtempSync(join(tmpdir(), 'humanops-vapid-'))).env;
    expect(loadConfig({ SUPABASE_DB_URL: DB }).push).toEqual({ vapid: undefined, hourlyCap: 6, timeoutMs: 10_000, serviceHosts: null });
    const on = loadConfig({ SUPABASE_DB_URL: DB, ...keys, PUSH_HOURLY_CAP: '3' }).push;
    expect(on.vapid).toEqual({ publicKey: keys.VAPID_PUBLIC_KEY, privateKey: keys.VAPID_PRIVATE_KEY, subject: 'mailto:push@humanops.localhost' });
    expect(on.hourlyCap).toBe(3);
    expect(() => loadConfig({ SUPABASE_DB_URL: DB, VAPID_PUBLIC_KEY: keys.VAPID_PUBLIC_KEY })).toThrow(ConfigError);
    const secret = 'not-a-key-but-a-secret';
    expect(() => loadConfig({ SUPABASE_DB_URL: DB, ...keys, VAPID_PRIVATE_KEY: secret })).toThrow(/VAPID_PRIVATE_KEY/);
    expect(() => loadConfig({ SUPABASE_DB_URL: DB, ...keys, VAPID_PRIVATE_KEY: secret })).not.toThrow(new RegExp(secret));
    expect(loadConfig({ ...LIVE, HUMANOPS_ADMIN_KEY: ADMIN }).push.serviceHosts).toContain('fcm.googleapis.com');
    expect(pushEndpointProblem('https://fcm.googleapis.com/fcm/send/abc', loadConfig({ ...LIVE, HUMANOPS_ADMIN_KEY: ADMIN }).push.serviceHosts)).toBeNull();
    expect(pushEndpointProblem('https://169.254.169.254/latest', loadConfig({ ...LIVE, HUMANOPS_ADMIN_KEY: ADMIN }).push.serviceHosts)).toMatch(/push service/);
    expect(pushEndpointProblem('https://evil.example/fcm.googleapis.com', ['fcm.googleapis.com'])).toMatch(/push service/);
  });

  it('keeps the local VAPID pair in the data dir: made once, the same on the next start, readable by its owner only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'humanops-vapid-'));
    const first = keptVapidKeys(dir);
    expect(first.made).toBe(true);
    const again = keptVapidKeys(dir);
    expect(again).toMatchObject({ made: false, env: first.env });
    expect(statSync(join(dir, 'vapid.json')).mode & 0o777).toBe(0o600);
    expect(keptVapidKeys(dir, { VAPID_PUBLIC_KEY: 'x' }).env).toEqual({});
  });

  it('payouts: a 48-hour address cool-down, shorter only in test mode; a malformed payout key named, never shown', () => {
    expect(loadConfig({ SUPABASE_DB_URL: DB }).payouts).toEqual({ privateKey: undefined, addressCooldownSeconds: 172_800, dailyCapCents: 100_000 });
    expect(loadConfig({ SUPABASE_DB_URL: DB, PAYOUT_ADDRESS_COOLDOWN_SECONDS: '5' }).payouts.addressCooldownSeconds).toBe(5);
    expect(() => loadConfig({ ...LIVE, HUMANOPS_ADMIN_KEY: ADMIN, PAYOUT_ADDRESS_COOLDOWN_SECONDS: '3600' })).toThrow(/only in test mode/);
    const secret = `0x${'ab'.repeat(31)}zz`;
    let message = '';
    try {
      loadConfig({ SUPABASE_DB_URL: DB, PAYOUT_PRIVATE_KEY: secret });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/PAYOUT_PRIVATE_KEY must be 0x followed by 64 hex digits/);
    expect(message).not.toContain('abab');
  });

  it('accepts postgresql:// URLs and reads numbers and flags from strings', () => {
    const config = loadConfig({ SUPABASE_DB_URL: 'postgresql://u@h/db', HUMANOPS_PORT: '8080', RATE_LIMIT_PER_MINUTE: '7', RATE_LIMIT_ENABLED: 'no' });
    expect(config.port).toBe(8080);
    expect(config.rateLimit.perMinute).toBe(7);
    expect(config.rateLimit.enabled).toBe(false);
  });

  it('in test mode, ALLOW_DEV_OPERATOR_ID_HEADER=false turns the dev operator header off', () => {
    expect(loadConfig({ SUPABASE_DB_URL: DB, ALLOW_DEV_OPERATOR_ID_HEADER: 'false' }).allowDevOperatorIdHeader).toBe(false);
  });

  // Third review (finding 6): a hosted test-mode deployment let anyone be sandbox_operator, who
  // holds every agent's sandbox tasks. The header is for a stack only this machine can reach.
  it('honours the dev operator header only on a test stack that only this machine can reach', () => {
    const allow = (env: Record<string, string>) => loadConfig({ SUPABASE_DB_URL: DB, ...env }).allowDevOperatorIdHeader;
    expect(allow({ HUMANOPS_HOST: 'localhost' })).toBe(true);
    expect(allow({ SB_REGION: 'eu-west-1', HUMANOPS_MODE: 'test', STORAGE_BACKEND: 'local', DB_POOLER_URL: DB })).toBe(false);
    expect(allow({ SB_REGION: 'eu-west-1', HUMANOPS_MODE: 'test', STORAGE_BACKEND: 'local', DB_POOLER_URL: DB, ALLOW_DEV_OPERATOR_ID_HEADER: 'true' })).toBe(false);
    expect(allow({ HUMANOPS_HOST: '0.0.0.0' })).toBe(false);
    expect(allow({ HUMANOPS_HOST: '192.168.1.20', ALLOW_DEV_OPERATOR_ID_HEADER: 'true' })).toBe(false);
  });

  it('refuses live mode without HUMANOPS_ADMIN_KEY', () => {
    expect(() => loadConfig(LIVE)).toThrow(ConfigError);
    expect(() => loadConfig(LIVE)).toThrow(/HUMANOPS_ADMIN_KEY/);
    expect(() => loadConfig({ SUPABASE_DB_URL: DB, HUMANOPS_MODE: 'live' })).toThrow(/HUMANOPS_ADMIN_KEY/);
  });

  it('refuses a too-short admin key, naming the variable', () => {
    expect(() => loadConfig({ ...LIVE, HUMANOPS_ADMIN_KEY: 'short' })).toThrow(/HUMANOPS_ADMIN_KEY/);
  });

  it('refuses live mode without the operator sign-in settings, naming them', () => {
    const { CLERK_JWKS_URL: _jwks, ...noJwks } = LIVE;
    const { CLERK_ISSUER: _issuer, ...noIssuer } = LIVE;
    expect(() => loadConfig({ ...noJwks, HUMANOPS_ADMIN_KEY: ADMIN })).toThrow(/CLERK_JWKS_URL/);
    expect(() => loadConfig({ ...noIssuer, HUMANOPS_ADMIN_KEY: ADMIN })).toThrow(/CLERK_ISSUER/);
    expect(loadConfig({ ...LIVE, HUMANOPS_ADMIN_KEY: ADMIN }).mode).toBe('live');
  });

  it('allows private webhook receivers only in test mode on a server that only this machine can reach', () => {
    const allow = (env: Record<string, string>) => loadConfig({ SUPABASE_DB_URL: DB, ...env }).webhooks.allowPrivateAddresses;
    expect(allow({})).toBe(true);
    expect(allow({ HUMANOPS_HOST: '::1' })).toBe(true);
    expect(allow({ HUMANOPS_HOST: 'localhost' })).toBe(true);
    expect(allow({ SB_REGION: 'eu-west-1', HUMANOPS_MODE: 'test', STORAGE_BACKEND: 'local', DB_POOLER_URL: DB })).toBe(false);
    expect(allow({ HUMANOPS_HOST: '0.0.0.0' })).toBe(false);
    expect(allow({ HUMANOPS_HOST: '192.168.1.20', WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' })).toBe(false);
    expect(allow({ WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false' })).toBe(false);
  });

  it('refuses live mode without CLERK_AUTHORIZED_PARTIES, so the azp check is never silently off', () => {
    const { CLERK_AUTHORIZED_PARTIES: _parties, ...noParties } = LIVE;
    expect(() => loadConfig({ ...noParties, HUMANOPS_ADMIN_KEY: ADMIN })).toThrow(/CLERK_AUTHORIZED_PARTIES/);
    expect(() => loadConfig({ ...LIVE, CLERK_AUTHORIZED_PARTIES: ' , ', HUMANOPS_ADMIN_KEY: ADMIN })).toThrow(/CLERK_AUTHORIZED_PARTIES/);
    expect(loadConfig({ ...noParties, HUMANOPS_MODE: 'test' }).operatorAuth.authorizedParties).toEqual([]);
    expect(loadConfig({ ...LIVE, HUMANOPS_ADMIN_KEY: ADMIN, CLERK_AUDIENCE: 'a, b' }).operatorAuth.audiences).toEqual(['a', 'b']);
  });

  it('never allows the dev operator header in live mode, even when ALLOW_DEV_OPERATOR_ID_HEADER=true', () => {
    for (const value of ['true', '1', 'yes']) {
      const config = loadConfig({ ...LIVE, HUMANOPS_ADMIN_KEY: ADMIN, ALLOW_DEV_OPERATOR_ID_HEADER: value });
      expect(config.mode).toBe('live');
      expect(config.adminKey).toBe(ADMIN);
      expect(config.allowDevOperatorIdHeader).toBe(false);
    }
    expect(loadConfig({ ...LIVE, HUMANOPS_ADMIN_KEY: ADMIN }).allowDevOperatorIdHeader).toBe(false);
  });

  it('refuses an invalid HUMANOPS_MODE, naming the variable', () => {
    expect(() => loadConfig({ SUPABASE_DB_URL: DB, HUMANOPS_MODE: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ SUPABASE_DB_URL: DB, HUMANOPS_MODE: 'production' })).toThrow(/HUMANOPS_MODE/);
  });

  it('refuses a missing or non-postgres database URL, naming the variable', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({})).toThrow(/SUPABASE_DB_URL/);
    expect(() => loadConfig({ SUPABASE_DB_URL: 'mysql://root@localhost/db' })).toThrow(ConfigError);
    expect(() => loadConfig({ SUPABASE_DB_URL: 'mysql://root@localhost/db' })).toThrow(/SUPABASE_DB_URL/);
  });

  it('refuses an invalid flag or port, naming the variable', () => {
    expect(() => loadConfig({ SUPABASE_DB_URL: DB, ALLOW_DEV_OPERATOR_ID_HEADER: 'maybe' })).toThrow(/ALLOW_DEV_OPERATOR_ID_HEADER/);
    expect(() => loadConfig({ SUPABASE_DB_URL: DB, HUMANOPS_PORT: '70000' })).toThrow(/HUMANOPS_PORT/);
  });
});

describe('loadConfig on hosted Supabase (SB_REGION set)', () => {
  const POOLER = 'postgresql://postgres.abcdefghijklmnopqrst:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres';
  const DIRECT = 'postgresql://postgres:pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres';
  const HOSTED = { SUPABASE_DB_URL: DIRECT, DB_POOLER_URL: POOLER, SB_REGION: 'eu-central-1', SUPABASE_URL: 'https://abcdefghijklmnopqrst.supabase.co' };
  const POOLED = { poolSize: 2, prepare: false, idleTimeoutSeconds: 5, statementTimeoutMs: 8000 };
  const LEGACY_KEY = 'eyJhbGciOiJIUzI1NiJ9.legacy-service-role';

  it('refuses to start without a stated mode, saying how to state it', () => {
    expect(() => loadConfig({ ...HOSTED, SUPABASE_SERVICE_ROLE_KEY: LEGACY_KEY })).toThrow(ConfigError);
    expect(() => loadConfig({ ...HOSTED, SUPABASE_SERVICE_ROLE_KEY: LEGACY_KEY })).toThrow(/HUMANOPS_MODE must be set on Supabase.*supabase secrets set HUMANOPS_MODE=live/);
  });

  it('runs test mode only when asked for explicitly', () => {
    expect(loadConfig({ ...HOSTED, SUPABASE_SERVICE_ROLE_KEY: LEGACY_KEY, HUMANOPS_MODE: 'test' }).mode).toBe('test');
  });

  it('refuses to start without the pooled URL: SUPABASE_DB_URL is the direct address there', () => {
    const { DB_POOLER_URL: _pooler, ...direct } = HOSTED;
    expect(() => loadConfig({ ...direct, SUPABASE_SERVICE_ROLE_KEY: LEGACY_KEY, HUMANOPS_MODE: 'test' })).toThrow(/DB_POOLER_URL must be set on Supabase.*6543/);
  });

  it('connects through the pooler with two connections per isolate, a short idle time, no prepared statements, and Supabase Storage', () => {
    const config = loadConfig({ ...HOSTED, SUPABASE_SERVICE_ROLE_KEY: LEGACY_KEY, HUMANOPS_MODE: 'test' });
    expect(config.onSupabase).toBe(true);
    expect(config.databaseUrl).toBe(POOLER);
    expect(config.db).toEqual(POOLED);
    expect(config.guardian.imageSource).toBe('url');
    expect(config.trustProxyHeaders).toBe(true);
    expect(config.storage).toEqual({ backend: 'supabase', url: HOSTED.SUPABASE_URL, serviceKey: LEGACY_KEY });
    expect(config.cors.allowedOrigins).toEqual([]);
  });

  it('prefers the new secret key (SUPABASE_SECRET_KEYS, its default entry) over the legacy service_role key', () => {
    const keys = JSON.stringify({ ci: 'sb_secret_other', default: 'sb_secret_default' });
    const config = loadConfig({ ...HOSTED, HUMANOPS_MODE: 'test', SUPABASE_SECRET_KEYS: keys, SUPABASE_SERVICE_ROLE_KEY: LEGACY_KEY });
    expect(config.storage).toMatchObject({ backend: 'supabase', serviceKey: 'sb_secret_default' });
    const onlyNamed = loadConfig({ ...HOSTED, HUMANOPS_MODE: 'test', SUPABASE_SECRET_KEYS: JSON.stringify({ ci: 'sb_secret_ci' }) });
    expect(onlyNamed.storage).toMatchObject({ serviceKey: 'sb_secret_ci' });
  });

  it('refuses Supabase Storage without a key, and a SUPABASE_SECRET_KEYS that is not a JSON object', () => {
    expect(() => loadConfig({ ...HOSTED, HUMANOPS_MODE: 'test' })).toThrow(/SUPABASE_SECRET_KEYS or SUPABASE_SERVICE_ROLE_KEY/);
    expect(() => loadConfig({ ...HOSTED, HUMANOPS_MODE: 'test', SUPABASE_SECRET_KEYS: 'sb_secret_bare' })).toThrow(/SUPABASE_SECRET_KEYS must be a JSON object/);
    expect(() => loadConfig({ ...HOSTED, HUMANOPS_MODE: 'test', SUPABASE_SECRET_KEYS: '["sb_secret_x"]' })).toThrow(/SUPABASE_SECRET_KEYS must be a JSON object/);
  });

  it('honours explicit pool and storage settings', () => {
    const config = loadConfig({ ...HOSTED, HUMANOPS_MODE: 'test', DB_POOL_SIZE: '1', DB_PREPARED_STATEMENTS: 'true', STORAGE_BACKEND: 'local' });
    expect(config.db).toMatchObject({ poolSize: 1, prepare: true });
    expect(config.storage.backend).toBe('local');
    expect(config.guardian.imageSource).toBe('base64');
  });

  it('turns prepared statements off for a transaction pooler URL (port 6543) anywhere', () => {
    expect(loadConfig({ SUPABASE_DB_URL: POOLER }).db).toEqual(POOLED);
    expect(loadConfig({ SUPABASE_DB_URL: 'postgres://u@127.0.0.1:5432/db' }).db).toEqual({ poolSize: 10, prepare: true, idleTimeoutSeconds: 30, statementTimeoutMs: 8000 });
    expect(loadConfig({ SUPABASE_DB_URL: 'postgres://u@127.0.0.1:5432/db', DB_POOLER_URL: POOLER }).databaseUrl).toBe(POOLER);
  });
});

describe('loadConfig: CORS origins', () => {
  const DB = 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

  it('allows the local operator app by default, and exactly the listed origins when set', () => {
    expect(loadConfig({ SUPABASE_DB_URL: DB }).cors.allowedOrigins).toEqual([
      'http://127.0.0.1:54321', 'http://localhost:54321', 'http://127.0.0.1:5173', 'http://localhost:5173',
    ]);
    const listed = loadConfig({ SUPABASE_DB_URL: DB, CORS_ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:3000' });
    expect(listed.cors.allowedOrigins).toEqual(['https://app.example.com', 'http://localhost:3000']);
    expect(loadConfig({ SUPABASE_DB_URL: DB, CORS_ALLOWED_ORIGINS: '' }).cors.allowedOrigins).toEqual([]);
    expect(loadConfig({ SUPABASE_DB_URL: DB, CORS_ALLOWED_ORIGINS: '*' }).cors.allowedOrigins).toEqual(['*']);
  });

  // Third review (finding 6): the app served by `npm start` on another port was refused by default.
  it('allows the operator app on the port the stack serves it on (HUMANOPS_PORT) by default', () => {
    const origins = loadConfig({ SUPABASE_DB_URL: DB, HUMANOPS_PORT: '8080' }).cors.allowedOrigins;
    expect(origins).toEqual(['http://127.0.0.1:8080', 'http://localhost:8080', 'http://127.0.0.1:5173', 'http://localhost:5173']);
  });

  it('refuses an entry that is not an origin, naming it', () => {
    for (const bad of ['https://app.example.com/', 'https://app.example.com/path', 'app.example.com', 'ftp://files.example.com']) {
      expect(() => loadConfig({ SUPABASE_DB_URL: DB, CORS_ALLOWED_ORIGINS: bad })).toThrow(/CORS_ALLOWED_ORIGINS/);
    }
  });
});

describe('crypto helpers', () => {
  const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  const freshRawKey = async () => {
    const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    return {
      raw: new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)),
      spki: new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey)),
    };
  };

  it('secretsEqual: true for equal secrets, false for different ones or different lengths', async () => {
    expect(await secretsEqual('ho_test_abc', 'ho_test_abc')).toBe(true);
    expect(await secretsEqual('', '')).toBe(true);
    expect(await secretsEqual('ho_test_abc', 'ho_test_abd')).toBe(false);
    expect(await secretsEqual('ho_test_abc', 'ho_test_ab')).toBe(false);
    expect(await secretsEqual('ho_test_abc', 'ho_test_abcd')).toBe(false);
    expect(await secretsEqual('', 'x')).toBe(false);
  });

  it('randomBase62: the requested length, only base62 characters, and not repeating', () => {
    for (const length of [0, 1, 20, 40, 200]) {
      const value = randomBase62(length);
      expect(value).toHaveLength(length);
      expect(value).toMatch(/^[0-9A-Za-z]*$/);
    }
    const many = new Set(Array.from({ length: 100 }, () => randomBase62(40)));
    expect(many.size).toBe(100);
    // Over enough characters the whole alphabet shows up.
    expect(new Set(randomBase62(20_000)).size).toBe(62);
  });

  it('isP256PublicKey accepts the base64 raw export of a fresh ECDH P-256 public key', async () => {
    for (let i = 0; i < 5; i++) {
      const { raw } = await freshRawKey();
      expect(raw).toHaveLength(65);
      expect(await isP256PublicKey(toBase64(raw))).toBe(true);
      // URL-safe base64 without padding is accepted too.
      expect(await isP256PublicKey(Buffer.from(raw).toString('base64url'))).toBe(true);
    }
  });

  it('isP256PublicKey refuses an SPKI export', async () => {
    const { spki } = await freshRawKey();
    expect(await isP256PublicKey(toBase64(spki))).toBe(false);
  });

  it('isP256PublicKey refuses a point that is not on the curve', async () => {
    const { raw } = await freshRawKey();
    const offCurve = raw.slice();
    offCurve[64] ^= 0x01; // flip a bit in the last byte of Y
    expect(await isP256PublicKey(toBase64(offCurve))).toBe(false);
    const offCurve2 = raw.slice();
    offCurve2[40] ^= 0xff; // flip a whole byte inside Y
    expect(await isP256PublicKey(toBase64(offCurve2))).toBe(false);
  });

  it('isP256PublicKey refuses 64- and 66-byte values, a wrong prefix and non-base64 text', async () => {
    const { raw } = await freshRawKey();
    expect(await isP256PublicKey(toBase64(raw.slice(0, 64)))).toBe(false);
    expect(await isP256PublicKey(toBase64(raw.slice(1)))).toBe(false); // X ‖ Y without the 0x04 prefix
    expect(await isP256PublicKey(toBase64(Uint8Array.from([...raw, 0])))).toBe(false);
    const wrongPrefix = raw.slice();
    wrongPrefix[0] = 0x02;
    expect(await isP256PublicKey(toBase64(wrongPrefix))).toBe(false);
    expect(await isP256PublicKey('not base64 at all!')).toBe(false);
    expect(await isP256PublicKey(`${toBase64(raw)}!`)).toBe(false);
    expect(await isP256PublicKey('')).toBe(false);
  });
});

describe('version pins', () => {
  it('every npm: import in deno.json names the version package.json pins', () => {
    const imports: Record<string, string> = denoJson.imports;
    const dependencies: Record<string, string> = { ...packageJson.dependencies, ...packageJson.devDependencies };
    const pinned = Object.entries(imports).filter(([, target]) => target.startsWith('npm:'));
    expect(pinned.length).toBeGreaterThan(0);
    for (const [specifier, target] of pinned) {
      const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)@([^/]+)\/?$/.exec(target);
      expect(match, `${specifier}: ${target} is not npm:<name>@<version>`).not.toBeNull();
      const [, name, version] = match!;
      expect(dependencies[name], `${specifier}: package.json does not depend on ${name}`).toBeDefined();
      expect(version, `${specifier}: deno.json pins ${name}@${version}, package.json ${dependencies[name]}`).toBe(dependencies[name]);
    }
  });

  it('VERSION in functions/_shared/version.ts equals package.json version', () => {
    expect(VERSION).toBe(packageJson.version);
  });
});
