import ipaddr from 'ipaddr.js';
import { z } from 'zod';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce.number().int().positive();

const EnvSchema = z.object({
  HUMANOPS_MODE: z.enum(['test', 'live']).default('test'),
  SUPABASE_DB_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  HUMANOPS_ADMIN_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  HUMANOPS_HOST: z.string().default('127.0.0.1'),
  HUMANOPS_PORT: z.coerce.number().int().min(0).max(65535).default(54321),
  ALLOW_DEV_OPERATOR_ID_HEADER: flag.optional(),
  RATE_LIMIT_ENABLED: flag.default(true),
  RATE_LIMIT_PER_MINUTE: positiveInt.default(100),
  RATE_LIMIT_UPLOADS_PER_MINUTE: positiveInt.default(10),
  TRUST_PROXY_HEADERS: flag.optional(),
  TRUSTED_PROXY_HOPS: positiveInt.default(1),
  DB_POOL_SIZE: positiveInt.default(10),
  DB_PREPARED_STATEMENTS: flag.default(true),
  SB_REGION: z.string().optional(),
  CLERK_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  CLERK_ISSUER: z.string().min(1).optional(),
  CLERK_AUTHORIZED_PARTIES: z.string().optional(),
  CLERK_AUDIENCE: z.string().optional(),
  STORAGE_BACKEND: z.enum(['local', 'supabase']).default('local'),
  HUMANOPS_STORAGE_DIR: z.string().min(1).optional(),
  STORAGE_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SUPABASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
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
  EARNINGS_HOLD_SECONDS: z.coerce.number().int().min(0).default(7 * 86_400),
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: flag.optional(),
  WEBHOOK_TIMEOUT_MS: positiveInt.default(10_000),
  BASE_RPC_URL: z.url({ protocol: /^https?$/ }).optional(),
  BASE_CHAIN_ID: positiveInt.default(8453),
  USDC_CONTRACT_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address').default('0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'),
  BASE_MIN_CONFIRMATIONS: positiveInt.default(12),
  DEPOSIT_XPUB: z.string().regex(/^[xt]pub[1-9A-HJ-NP-Za-km-z]{100,112}$/, 'must be a BIP-32 extended public key (xpub…)').optional(),
});

export type Mode = 'test' | 'live';

export interface Config {
  mode: Mode;
  databaseUrl: string;
  adminKey: string | undefined;
  host: string;
  port: number;
  /** `X-Operator-Id` is a local-development shortcut; never honoured in live mode. */
  allowDevOperatorIdHeader: boolean;
  rateLimit: { enabled: boolean; perMinute: number; uploadsPerMinute: number };
  /** Take the client IP from X-Forwarded-For (behind Supabase's gateway) rather than the socket. */
  trustProxyHeaders: boolean;
  /**
   * How many proxies in front of us append to X-Forwarded-For: the client is the entry that many
   * places from the right, the last one no client can write.
   */
  trustedProxyHops: number;
  db: { poolSize: number; prepare: boolean };
  /** Verifying operators' Clerk session tokens (locally: the stack's own issuer). */
  operatorAuth: { jwksUrl: string | undefined; issuer: string | undefined; authorizedParties: string[]; audiences: string[] };
  /** Where proof files go: a folder with HMAC-signed URLs locally, Supabase Storage in production. */
  storage:
    | { backend: 'local'; dir: string | undefined; signingSecret: string | undefined }
    | { backend: 'supabase'; url: string; serviceRoleKey: string };
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
  };
  /** How long completed tasks' rewards stay pending before they can be withdrawn. */
  earningsHoldSeconds: number;
  /**
   * Webhooks to loopback/private addresses: allowed in test mode on a server only this machine can
   * reach, unless turned off; never in live mode, on Supabase, or when listening beyond loopback.
   */
  webhooks: { allowPrivateAddresses: boolean; timeoutMs: number };
  chain: {
    rpcUrl: string | undefined;
    chainId: number;
    usdcAddress: string;
    minConfirmations: number;
    depositXpub: string | undefined;
  };
}

export class ConfigError extends Error {}

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
  if (e.HUMANOPS_MODE === 'live' && !e.HUMANOPS_ADMIN_KEY) {
    throw new ConfigError('Invalid configuration: HUMANOPS_ADMIN_KEY is required in live mode');
  }
  if (e.HUMANOPS_MODE === 'live' && (!e.CLERK_JWKS_URL || !e.CLERK_ISSUER)) {
    throw new ConfigError('Invalid configuration: CLERK_JWKS_URL and CLERK_ISSUER are required in live mode');
  }
  const reachableFromOutside = e.SB_REGION !== undefined || !isLoopbackHost(e.HUMANOPS_HOST);
  const list = (value: string | undefined) => (value ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  // Without an azp check, a session token that Clerk issued for any other app on the same
  // instance would sign in here.
  if (e.HUMANOPS_MODE === 'live' && list(e.CLERK_AUTHORIZED_PARTIES).length === 0) {
    throw new ConfigError('Invalid configuration: CLERK_AUTHORIZED_PARTIES (the origins of the operator apps) is required in live mode');
  }
  if (e.GUARDIAN_REVIEW_THRESHOLD >= e.GUARDIAN_APPROVE_THRESHOLD) {
    throw new ConfigError('Invalid configuration: GUARDIAN_REVIEW_THRESHOLD must be below GUARDIAN_APPROVE_THRESHOLD');
  }
  if (e.STORAGE_BACKEND === 'supabase' && (!e.SUPABASE_URL || !e.SUPABASE_SERVICE_ROLE_KEY)) {
    throw new ConfigError('Invalid configuration: STORAGE_BACKEND=supabase needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY');
  }
  return {
    mode: e.HUMANOPS_MODE,
    databaseUrl: e.SUPABASE_DB_URL,
    adminKey: e.HUMANOPS_ADMIN_KEY,
    host: e.HUMANOPS_HOST,
    port: e.HUMANOPS_PORT,
    allowDevOperatorIdHeader: e.HUMANOPS_MODE === 'test' && (e.ALLOW_DEV_OPERATOR_ID_HEADER ?? true),
    rateLimit: {
      enabled: e.RATE_LIMIT_ENABLED,
      perMinute: e.RATE_LIMIT_PER_MINUTE,
      uploadsPerMinute: e.RATE_LIMIT_UPLOADS_PER_MINUTE,
    },
    // On Supabase (SB_REGION is set there) every request arrives through the gateway.
    trustProxyHeaders: e.TRUST_PROXY_HEADERS ?? e.SB_REGION !== undefined,
    trustedProxyHops: e.TRUSTED_PROXY_HOPS,
    db: { poolSize: e.DB_POOL_SIZE, prepare: e.DB_PREPARED_STATEMENTS },
    operatorAuth: {
      jwksUrl: e.CLERK_JWKS_URL,
      issuer: e.CLERK_ISSUER,
      authorizedParties: list(e.CLERK_AUTHORIZED_PARTIES),
      audiences: list(e.CLERK_AUDIENCE),
    },
    storage: e.STORAGE_BACKEND === 'supabase'
      ? { backend: 'supabase', url: e.SUPABASE_URL!, serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY! }
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
    },
    earningsHoldSeconds: e.EARNINGS_HOLD_SECONDS,
    webhooks: {
      // Private receivers are for local development: never in live mode, and never when the
      // server can be reached from outside (hosted on Supabase, or bound beyond loopback), where
      // anyone with a test key could make it probe the internal network.
      allowPrivateAddresses: e.HUMANOPS_MODE === 'test' && !reachableFromOutside && (e.WEBHOOK_ALLOW_PRIVATE_ADDRESSES ?? true),
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
    chain: {
      rpcUrl: e.BASE_RPC_URL,
      chainId: e.BASE_CHAIN_ID,
      usdcAddress: e.USDC_CONTRACT_ADDRESS,
      minConfirmations: e.BASE_MIN_CONFIRMATIONS,
      depositXpub: e.DEPOSIT_XPUB,
    },
  };
}

/** Whether a listen address only accepts connections from this machine. */
function isLoopbackHost(host: string): boolean {
  const plain = host.replace(/^\[|\]$/g, '');
  if (plain === 'localhost') return true;
  return ipaddr.isValid(plain) && ipaddr.process(plain).range() === 'loopback';
}

/** The process environment under Deno or Node. */
export function processEnv(): Record<string, string | undefined> {
  const g = globalThis as { Deno?: { env: { toObject(): Record<string, string> } }; process?: { env: Record<string, string | undefined> } };
  return g.Deno ? g.Deno.env.toObject() : (g.process?.env ?? {});
}
