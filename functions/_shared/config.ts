import ipaddr from 'ipaddr.js';
import { z } from 'zod';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce.number().int().positive();

const EnvSchema = z.object({
  // No default here: on Supabase the mode must be stated (see loadConfig).
  HUMANOPS_MODE: z.enum(['test', 'live']).optional(),
  SUPABASE_DB_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  DB_POOLER_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  HUMANOPS_ADMIN_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  HUMANOPS_HOST: z.string().default('127.0.0.1'),
  HUMANOPS_PORT: z.coerce.number().int().min(0).max(65535).default(54321),
  ALLOW_DEV_OPERATOR_ID_HEADER: flag.optional(),
  RATE_LIMIT_ENABLED: flag.default(true),
  RATE_LIMIT_PER_MINUTE: positiveInt.default(100),
  RATE_LIMIT_UPLOADS_PER_MINUTE: positiveInt.default(10),
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: positiveInt.default(1000),
  TRUST_PROXY_HEADERS: flag.optional(),
  TRUSTED_PROXY_HOPS: positiveInt.default(1),
  DB_POOL_SIZE: positiveInt.optional(),
  DB_PREPARED_STATEMENTS: flag.optional(),
  DB_STATEMENT_TIMEOUT_MS: positiveInt.default(8_000),
  TICK_BUDGET_MS: z.coerce.number().int().min(5_000).default(45_000),
  GUARDIAN_JOB_MAX_BYTES: positiveInt.default(25 * 1024 * 1024),
  GUARDIAN_IMAGE_SOURCE: z.enum(['url', 'base64']).optional(),
  LOG_REQUESTS_PER_10S: z.coerce.number().int().min(0).default(50),
  SB_REGION: z.string().optional(),
  CORS_ALLOWED_ORIGINS: z.string().optional(),
  CLERK_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  CLERK_ISSUER: z.string().min(1).optional(),
  CLERK_AUTHORIZED_PARTIES: z.string().optional(),
  CLERK_AUDIENCE: z.string().optional(),
  STORAGE_BACKEND: z.enum(['local', 'supabase']).optional(),
  HUMANOPS_STORAGE_DIR: z.string().min(1).optional(),
  STORAGE_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SUPABASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
  SUPABASE_SECRET_KEYS: z.string().min(1).optional(),
  UPLOAD_MAX_BYTES: positiveInt.default(10 * 1024 * 1024),
  SIGNED_URL_TTL_SECONDS: positiveInt.default(3600),
  WORKER_SECRET: z.string().min(24, 'must be at least 24 characters').optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_MODEL: z.string().min(1).default('claude-sonnet-4-5'),
  ANTHROPIC_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  ANTHROPIC_TIMEOUT_MS: positiveInt.default(60_000),
  GUARDIAN_APPROVE_THRESHOLD: z.coerce.number().int().min(1).max(100).default(90),
  GUARDIAN_REVIEW_THRESHOLD: z.coerce.number().int().min(0).max(100).default(50),
  GUARDIAN_GPS_RADIUS_KM: z.coerce.number().positive().default(1),
  GUARDIAN_MAX_ATTEMPTS: positiveInt.default(5),
  EARNINGS_HOLD_SECONDS: z.coerce.number().int().min(0).optional(),
  UNSTARTED_HOLD_PHYSICAL_SECONDS: positiveInt.default(7_200),
  UNSTARTED_HOLD_DIGITAL_SECONDS: positiveInt.optional(),
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: flag.optional(),
  WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
  WEBHOOK_RESENDS_PER_MINUTE: positiveInt.default(10),
  VAPID_PUBLIC_KEY: z.string().regex(/^[A-Za-z0-9_-]{87}$/, 'must be a P-256 public key, 65 bytes uncompressed, base64url').optional(),
  // Never echoed in an error: a malformed key is reported by name only (see loadConfig).
  VAPID_PRIVATE_KEY: z.string().optional(),
  VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)\S+$/, 'must be a mailto: or https: URL').optional(),
  PUSH_HOURLY_CAP: positiveInt.default(6),
  PUSH_TIMEOUT_MS: positiveInt.default(10_000),
  PUSH_SERVICE_HOSTS: z.string().optional(),
  BASE_RPC_URL: z.url({ protocol: /^https?$/ }).optional(),
  BASE_CHAIN_ID: positiveInt.default(8453),
  USDC_CONTRACT_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address').default('0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'),
  BASE_MIN_CONFIRMATIONS: positiveInt.default(12),
  DEPOSIT_XPUB: z.string().regex(/^[xt]pub[1-9A-HJ-NP-Za-km-z]{100,112}$/, 'must be a BIP-32 extended public key (xpub…)').optional(),
  // Never echoed in an error: a malformed key is reported by name only (see loadConfig).
  PAYOUT_PRIVATE_KEY: z.string().optional(),
  PAYOUT_ADDRESS_COOLDOWN_SECONDS: z.coerce.number().int().min(0).optional(),
  PAYOUT_DAILY_CAP_USD: z.coerce.number().int().min(10).default(1000),
  BASE_EXPLORER_URL: z.url({ protocol: /^https?$/ }).default('https://basescan.org'),
});

/** 48 hours: how long a changed payout address waits before payouts go to it (live mode's floor). */
export const PAYOUT_ADDRESS_COOLDOWN_SECONDS = 48 * 3600;

export type Mode = 'test' | 'live';

/**
 * Test mode's deposit key when DEPOSIT_XPUB is not set: the m/44'/60'/0'/0 xpub of the public
 * BIP-39 test mnemonic `abandon abandon … abandon about`. Anyone can derive its private keys, so
 * addresses from it are for trying the deposit flow on a test chain, never for real funds.
 */
export const TEST_DEPOSIT_XPUB =
  'xpub6EF8jXqFeFEW5bwMU7RpQtHkzE4KJxcqJtvkCjJumzW8CPpacXkb92ek4WzLQXjL93HycJwTPUAcuNxCqFPKKU5m5Z2Vq4nCyh5CyPeBFFr';

export interface Config {
  mode: Mode;
  databaseUrl: string;
  adminKey: string | undefined;
  host: string;
  port: number;
  /** `X-Operator-Id` is a local-development shortcut: test mode on loopback only, never when reachable from outside. */
  allowDevOperatorIdHeader: boolean;
  /**
   * Per minute and route: `perMinute` per API key, operator, or anonymous address;
   * `anonymousPerMinute` for all anonymous callers together where no address can be trusted.
   */
  rateLimit: { enabled: boolean; perMinute: number; uploadsPerMinute: number; anonymousPerMinute: number };
  /** Take the client IP from X-Forwarded-For (behind Supabase's gateway) rather than the socket. */
  trustProxyHeaders: boolean;
  /**
   * How many proxies in front of us append to X-Forwarded-For: the client is the entry that many
   * places from the right, the last one no client can write.
   */
  trustedProxyHops: number;
  /** Supabase's edge runtime (it sets SB_REGION): stricter defaults apply there. */
  onSupabase: boolean;
  /**
   * The API's public base URL when the request cannot tell it: on Supabase requests arrive as
   * /api/v1/… without the /functions/v1 they were sent to, so it is `SUPABASE_URL`/functions/v1/api/v1.
   * Elsewhere undefined: the base URL is the one the request reached.
   */
  apiBaseUrl?: string;
  /**
   * The database: on Supabase the Supavisor transaction pooler (DB_POOLER_URL), a pool of 2 per
   * isolate that lets go of idle connections quickly, no prepared statements, and a statement
   * timeout on every transaction.
   */
  db: { poolSize: number; prepare: boolean; idleTimeoutSeconds: number; statementTimeoutMs: number };
  /** How long one worker tick may work, so it ends well inside the platform's wall clock. */
  tickBudgetMs: number;
  /** Request log lines per 10 s before the rest are only counted (Supabase keeps 100 per 10 s). */
  requestLogsPer10s: number;
  /** Browser origins allowed to call the API (`*`: any); preflights from others get no CORS headers. */
  cors: { allowedOrigins: string[] };
  /** Verifying operators' Clerk session tokens (locally: the stack's own issuer). */
  operatorAuth: { jwksUrl: string | undefined; issuer: string | undefined; authorizedParties: string[]; audiences: string[] };
  /** Where proof files go: a folder with HMAC-signed URLs locally, Supabase Storage in production. */
  storage:
    | { backend: 'local'; dir: string | undefined; signingSecret: string | undefined }
    | { backend: 'supabase'; url: string; serviceKey: string };
  uploads: { maxBytes: number; signedUrlTtlSeconds: number };
  /** The secret that protects the worker route (pg_cron/pg_net or the local ticker calls it). */
  workerSecret: string | undefined;
  guardian: {
    apiKey: string | undefined;
    model: string;
    baseUrl: string | undefined;
    timeoutMs: number;
    /** Confidence at or above which the Guardian approves; at or above `reviewThreshold`, manual review. */
    approveThreshold: number;
    reviewThreshold: number;
    gpsRadiusKm: number;
    maxAttempts: number;
    /** Bytes of proof images one job may read from storage; images past it are not attached. */
    jobMaxBytes: number;
    /**
     * How images reach the model: `url`, short-lived signed URLs the model fetches (the default
     * with Supabase Storage), or `base64` inline (the default with the local folder, whose URLs
     * point at this machine and are out of the model's reach).
     */
    imageSource: 'url' | 'base64';
  };
  /** How long completed tasks' rewards stay pending before they can be withdrawn. */
  earningsHoldSeconds: number;
  /** How long an accepted task may wait unstarted before it goes back to the feed (digital: null, no limit). */
  unstartedHold: { physicalSeconds: number; digitalSeconds: number | null };
  /**
   * Webhooks to loopback/private addresses: allowed in test mode on a server only this machine can
   * reach, unless turned off; never in live mode, on Supabase, or when listening beyond loopback.
   */
  webhooks: {
    allowPrivateAddresses: boolean;
    timeoutMs: number;
    /** Resends an agent may ask for per minute: each makes a delivery due at once. */
    resendsPerMinute: number;
  };
  /**
   * Web Push: the VAPID key pair and subject (push is off without them), the most new-task alerts
   * an operator gets an hour, and the push services a subscription may point at (null: any https
   * host, for test mode on this machine only).
   */
  push: {
    vapid: { publicKey: string; privateKey: string; subject: string } | undefined;
    hourlyCap: number;
    timeoutMs: number;
    serviceHosts: string[] | null;
  };
  chain: {
    rpcUrl: string | undefined;
    chainId: number;
    usdcAddress: string;
    minConfirmations: number;
    depositXpub: string | undefined;
    /** The xpub is test mode's public one (TEST_DEPOSIT_XPUB): addresses are marked test-only. */
    testDepositKey: boolean;
    /** Where a transaction is shown: `${explorerUrl}/tx/${hash}`. */
    explorerUrl: string;
  };
  payouts: {
    /** The hot wallet's key (0x + 64 hex): a secret, never logged. Without it live payouts answer 503. */
    privateKey: `0x${string}` | undefined;
    /** How long a changed payout address waits before payouts go to it (48 h; shorter only in test mode). */
    addressCooldownSeconds: number;
    /** Most an operator may pay out in 24 hours, in cents. */
    dailyCapCents: number;
  };
}

export class ConfigError extends Error {}

/**
 * Connections per isolate behind the pooler: each isolate has its own pool, many run at once
 * (API requests and overlapping ticks), and the pooler multiplexes them onto few server connections.
 */
export const POOLED_POOL_SIZE = 2;
/** Seconds an idle connection is kept behind the pooler: isolates come and go, sockets should not linger. */
export const POOLED_IDLE_SECONDS = 5;

/**
 * Browser origins allowed by default where none are configured: locally the operator app, served
 * by `npm start` on the API's own origin (its port, HUMANOPS_PORT) or by a dev server on Vite's
 * port; on Supabase none (the app's origin is the deployer's to state).
 */
export const localAppOrigins = (port: number) => [
  `http://127.0.0.1:${port}`,
  `http://localhost:${port}`,
  'http://127.0.0.1:5173',
  'http://localhost:5173',
];

function allowedOrigins(value: string | undefined, onSupabase: boolean, port: number): string[] {
  if (value === undefined) return onSupabase ? [] : localAppOrigins(port);
  const origins = value.split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      // reported below
    }
    // An origin is scheme://host[:port] exactly as browsers send it: no path, no trailing slash.
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(`Invalid configuration: CORS_ALLOWED_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://app.example.com`);
    }
  }
  return origins;
}

/**
 * The key the function uses for Supabase Storage: the new secret key (`SUPABASE_SECRET_KEYS`, a
 * JSON object of named keys, `default` first) or else the legacy service_role JWT.
 */
function supabaseServiceKey(secretKeys: string | undefined, legacy: string | undefined): string | undefined {
  if (secretKeys === undefined) return legacy;
  let keys: unknown;
  try {
    keys = JSON.parse(secretKeys);
  } catch {
    throw new ConfigError('Invalid configuration: SUPABASE_SECRET_KEYS must be a JSON object of named keys');
  }
  if (!keys || typeof keys !== 'object' || Array.isArray(keys)) {
    throw new ConfigError('Invalid configuration: SUPABASE_SECRET_KEYS must be a JSON object of named keys');
  }
  const named = keys as Record<string, unknown>;
  const key = named.default ?? Object.values(named)[0];
  if (key === undefined) return legacy;
  if (typeof key !== 'string' || !key) throw new ConfigError('Invalid configuration: SUPABASE_SECRET_KEYS holds a key that is not a string');
  return key;
}

/** Supavisor's transaction mode: port 6543 (the session-mode port 5432 keeps prepared statements). */
function usesTransactionPooler(url: string): boolean {
  try {
    return new URL(url).port === '6543';
  } catch {
    return false;
  }
}

/**
 * Reads the configuration from environment variables, validated in one place.
 * Live mode needs HUMANOPS_ADMIN_KEY (registration is admin-only there).
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const onSupabase = Boolean(e.SB_REGION);
  // A hosted project that forgot the mode must not open test mode's doors (open registration,
  // instant fake deposits, X-Operator-Id impersonation) to the internet.
  if (onSupabase && !e.HUMANOPS_MODE) {
    throw new ConfigError(
      'Invalid configuration: HUMANOPS_MODE must be set on Supabase: `supabase secrets set HUMANOPS_MODE=live` ' +
        '(or HUMANOPS_MODE=test for a sandbox project, which opens registration and fakes deposits)',
    );
  }
  const mode = e.HUMANOPS_MODE ?? 'test';
  if (mode === 'live' && !e.HUMANOPS_ADMIN_KEY) {
    throw new ConfigError('Invalid configuration: HUMANOPS_ADMIN_KEY is required in live mode');
  }
  if (mode === 'live' && (!e.CLERK_JWKS_URL || !e.CLERK_ISSUER)) {
    throw new ConfigError('Invalid configuration: CLERK_JWKS_URL and CLERK_ISSUER are required in live mode');
  }
  const reachableFromOutside = e.SB_REGION !== undefined || !isLoopbackHost(e.HUMANOPS_HOST);
  const list = (value: string | undefined) => (value ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  // Without an azp check, a session token that Clerk issued for any other app on the same
  // instance would sign in here.
  if (e.HUMANOPS_MODE === 'live' && list(e.CLERK_AUTHORIZED_PARTIES).length === 0) {
    throw new ConfigError('Invalid configuration: CLERK_AUTHORIZED_PARTIES (the origins of the operator apps) is required in live mode');
  }
  if (e.PAYOUT_PRIVATE_KEY !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(e.PAYOUT_PRIVATE_KEY)) {
    throw new ConfigError('Invalid configuration: PAYOUT_PRIVATE_KEY must be 0x followed by 64 hex digits');
  }
  const cooldown = e.PAYOUT_ADDRESS_COOLDOWN_SECONDS ?? PAYOUT_ADDRESS_COOLDOWN_SECONDS;
  if (mode === 'live' && cooldown < PAYOUT_ADDRESS_COOLDOWN_SECONDS) {
    throw new ConfigError('Invalid configuration: PAYOUT_ADDRESS_COOLDOWN_SECONDS may be shorter than 48 hours (172800) only in test mode');
  }
  if (e.GUARDIAN_REVIEW_THRESHOLD >= e.GUARDIAN_APPROVE_THRESHOLD) {
    throw new ConfigError('Invalid configuration: GUARDIAN_REVIEW_THRESHOLD must be below GUARDIAN_APPROVE_THRESHOLD');
  }
  const storageBackend = e.STORAGE_BACKEND ?? (onSupabase ? 'supabase' : 'local');
  const serviceKey = supabaseServiceKey(e.SUPABASE_SECRET_KEYS, e.SUPABASE_SERVICE_ROLE_KEY);
  if (storageBackend === 'supabase' && (!e.SUPABASE_URL || !serviceKey)) {
    throw new ConfigError(
      'Invalid configuration: STORAGE_BACKEND=supabase needs SUPABASE_URL and SUPABASE_SECRET_KEYS or SUPABASE_SERVICE_ROLE_KEY',
    );
  }
  // SUPABASE_DB_URL is the direct address there: a few dozen connections for the whole project.
  if (onSupabase && !e.DB_POOLER_URL) {
    throw new ConfigError(
      'Invalid configuration: DB_POOLER_URL must be set on Supabase: the transaction pooler\'s URL (Supavisor, port 6543) ' +
        'from Connect → Transaction pooler, with `supabase secrets set DB_POOLER_URL=postgresql://…:6543/postgres`',
    );
  }
  const databaseUrl = e.DB_POOLER_URL ?? e.SUPABASE_DB_URL;
  const behindPooler = onSupabase || e.DB_POOLER_URL !== undefined || usesTransactionPooler(databaseUrl);
  return {
    mode,
    databaseUrl,
    adminKey: e.HUMANOPS_ADMIN_KEY,
    host: e.HUMANOPS_HOST,
    port: e.HUMANOPS_PORT,
    // Anyone who can reach the server could be any operator with it (sandbox_operator, who holds
    // every agent's sandbox tasks, included): only on a test stack only this machine can reach.
    allowDevOperatorIdHeader: mode === 'test' && !reachableFromOutside && (e.ALLOW_DEV_OPERATOR_ID_HEADER ?? true),
    rateLimit: {
      enabled: e.RATE_LIMIT_ENABLED,
      perMinute: e.RATE_LIMIT_PER_MINUTE,
      uploadsPerMinute: e.RATE_LIMIT_UPLOADS_PER_MINUTE,
      anonymousPerMinute: e.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
    },
    // On Supabase (SB_REGION is set there) every request arrives through the gateway.
    trustProxyHeaders: e.TRUST_PROXY_HEADERS ?? onSupabase,
    trustedProxyHops: e.TRUSTED_PROXY_HOPS,
    onSupabase,
    apiBaseUrl: onSupabase && e.SUPABASE_URL ? `${e.SUPABASE_URL.replace(/\/+$/, '')}/functions/v1/api/v1` : undefined,
    // Supabase runs many short-lived isolates, each with its own pool, in front of a transaction
    // pooler that cannot keep prepared statements: two connections each, no prepared statements.
    db: {
      poolSize: e.DB_POOL_SIZE ?? (behindPooler ? POOLED_POOL_SIZE : 10),
      prepare: e.DB_PREPARED_STATEMENTS ?? !behindPooler,
      idleTimeoutSeconds: behindPooler ? POOLED_IDLE_SECONDS : 30,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    },
    tickBudgetMs: e.TICK_BUDGET_MS,
    requestLogsPer10s: e.LOG_REQUESTS_PER_10S,
    cors: { allowedOrigins: allowedOrigins(e.CORS_ALLOWED_ORIGINS, onSupabase, e.HUMANOPS_PORT) },
    operatorAuth: {
      jwksUrl: e.CLERK_JWKS_URL,
      issuer: e.CLERK_ISSUER,
      authorizedParties: list(e.CLERK_AUTHORIZED_PARTIES),
      audiences: list(e.CLERK_AUDIENCE),
    },
    storage: storageBackend === 'supabase'
      ? { backend: 'supabase', url: e.SUPABASE_URL!, serviceKey: serviceKey! }
      : { backend: 'local', dir: e.HUMANOPS_STORAGE_DIR, signingSecret: e.STORAGE_SIGNING_SECRET },
    uploads: { maxBytes: e.UPLOAD_MAX_BYTES, signedUrlTtlSeconds: e.SIGNED_URL_TTL_SECONDS },
    workerSecret: e.WORKER_SECRET,
    guardian: {
      apiKey: e.ANTHROPIC_API_KEY,
      model: e.ANTHROPIC_MODEL,
      baseUrl: e.ANTHROPIC_BASE_URL,
      timeoutMs: e.ANTHROPIC_TIMEOUT_MS,
      approveThreshold: e.GUARDIAN_APPROVE_THRESHOLD,
      reviewThreshold: e.GUARDIAN_REVIEW_THRESHOLD,
      gpsRadiusKm: e.GUARDIAN_GPS_RADIUS_KM,
      maxAttempts: e.GUARDIAN_MAX_ATTEMPTS,
      jobMaxBytes: e.GUARDIAN_JOB_MAX_BYTES,
      imageSource: e.GUARDIAN_IMAGE_SOURCE ?? (storageBackend === 'supabase' ? 'url' : 'base64'),
    },
    // "Payouts are instant in test mode": no hold there unless asked for.
    earningsHoldSeconds: e.EARNINGS_HOLD_SECONDS ?? (e.HUMANOPS_MODE === 'test' ? 0 : 7 * 86_400),
    unstartedHold: { physicalSeconds: e.UNSTARTED_HOLD_PHYSICAL_SECONDS, digitalSeconds: e.UNSTARTED_HOLD_DIGITAL_SECONDS ?? null },
    webhooks: {
      // Private receivers are for local development: never in live mode, and never when the
      // server can be reached from outside (hosted on Supabase, or bound beyond loopback), where
      // anyone with a test key could make it probe the internal network.
      allowPrivateAddresses: mode === 'test' && !reachableFromOutside && (e.WEBHOOK_ALLOW_PRIVATE_ADDRESSES ?? true),
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      resendsPerMinute: e.WEBHOOK_RESENDS_PER_MINUTE,
    },
    push: {
      vapid: vapidKeys(e.VAPID_PUBLIC_KEY, e.VAPID_PRIVATE_KEY, e.VAPID_SUBJECT),
      hourlyCap: e.PUSH_HOURLY_CAP,
      timeoutMs: e.PUSH_TIMEOUT_MS,
      serviceHosts: e.PUSH_SERVICE_HOSTS !== undefined
        ? list(e.PUSH_SERVICE_HOSTS)
        : mode === 'test' && !reachableFromOutside ? null : KNOWN_PUSH_SERVICES,
    },
    chain: {
      rpcUrl: e.BASE_RPC_URL,
      chainId: e.BASE_CHAIN_ID,
      usdcAddress: e.USDC_CONTRACT_ADDRESS,
      minConfirmations: e.BASE_MIN_CONFIRMATIONS,
      depositXpub: e.DEPOSIT_XPUB ?? (e.HUMANOPS_MODE === 'test' ? TEST_DEPOSIT_XPUB : undefined),
      testDepositKey: e.DEPOSIT_XPUB === undefined && e.HUMANOPS_MODE === 'test',
      explorerUrl: e.BASE_EXPLORER_URL.replace(/\/+$/, ''),
    },
    payouts: {
      privateKey: e.PAYOUT_PRIVATE_KEY as `0x${string}` | undefined,
      addressCooldownSeconds: cooldown,
      dailyCapCents: e.PAYOUT_DAILY_CAP_USD * 100,
    },
  };
}

/**
 * The browsers' push services: a subscription must point at one (or at a subdomain of one), so an
 * operator cannot make the worker post to any address it names.
 */
export const KNOWN_PUSH_SERVICES = [
  'fcm.googleapis.com', 'updates.push.services.mozilla.com', 'push.services.mozilla.com', 'web.push.apple.com',
  'notify.windows.com',
];

/** The VAPID keys when all three are set; any other partial setting is an error, naming only the variable. */
function vapidKeys(publicKey: string | undefined, privateKey: string | undefined, subject: string | undefined) {
  if (publicKey === undefined && privateKey === undefined && subject === undefined) return undefined;
  if (!publicKey || !privateKey || !subject) throw new ConfigError('VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT come together');
  if (!/^[A-Za-z0-9_-]{43}$/.test(privateKey)) throw new ConfigError('VAPID_PRIVATE_KEY: must be a P-256 private key, 32 bytes base64url');
  return { publicKey, privateKey, subject };
}

/** Whether a listen address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const plain = host.replace(/^\[|\]$/g, '');
  if (plain === 'localhost') return true;
  return ipaddr.isValid(plain) && ipaddr.process(plain).range() === 'loopback';
}

/** The process environment under Deno or Node. */
export function processEnv(): Record<string, string | undefined> {
  const g = globalThis as { Deno?: { env: { toObject(): Record<string, string> } }; process?: { env: Record<string, string | undefined> } };
  return g.Deno ? g.Deno.env.toObject() : (g.process?.env ?? {});
}
