/**
 * Verifies operators' session tokens: `Authorization: Bearer <Clerk session JWT>`.
 *
 * The token's signature is checked with jose against the identity provider's JWKS (Clerk in
 * production, the stack's own issuer locally), then its issuer, time window (`exp` required, `nbf`
 * and `iat` respected, with a small clock tolerance), subject, audience (`aud`) and authorized
 * party (`azp`).
 * Every way a token can be wrong is a 401 `invalid_token` with a message naming the cause; a JWKS
 * that cannot be fetched is a 503 `identity_provider_unavailable` (never a pass, never a 500).
 */
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { CryptoKey, JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import { ApiError } from './errors.ts';

export interface OperatorTokenVerifierOptions {
  /** Where the identity provider publishes its signing keys, e.g. `https://clerk.example.com/.well-known/jwks.json`. */
  jwksUrl: string;
  /** The exact `iss` the tokens carry, e.g. `https://clerk.example.com`. */
  issuer: string;
  /** Accepted `azp` values (Clerk: the origins of our apps). Empty: no `azp` check (live mode refuses to start so). */
  authorizedParties: string[];
  /**
   * Accepted `aud` values. Empty: a token must carry no `aud` (Clerk's session tokens have none; a
   * token with one was made for another service, e.g. by a JWT template, and is refused).
   */
  audiences?: string[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockToleranceSeconds?: number;
  /**
   * After a successful JWKS fetch, how long an unknown `kid` waits before it may trigger another
   * fetch, in seconds (protects the provider from floods of made-up key ids). Default 30.
   */
  jwksCooldownSeconds?: number;
  /** How long one JWKS fetch may take, in seconds. Default 5. */
  jwksTimeoutSeconds?: number;
}

export interface VerifiedOperatorToken {
  sub: string;
  claims: Record<string, unknown>;
}

export type OperatorTokenVerifier = (token: string) => Promise<VerifiedOperatorToken>;

/** Clerk signs session tokens with RS256; ES256 is accepted for providers that use EC keys. */
export const OPERATOR_TOKEN_ALGORITHMS = ['RS256', 'ES256'];

const invalid = (message: string) => new ApiError(401, 'invalid_token', message);

const unavailable = () =>
  new ApiError(
    503,
    'identity_provider_unavailable',
    'Cannot reach the identity provider to verify the operator token; try again shortly',
    undefined,
    { 'Retry-After': '5' },
  );

/** Errors of the key lookup that are about the token (its `kid`/`alg`), not about the provider. */
const TOKEN_KEY_ERRORS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED']);

function claimMessage(claim: string, reason: string): string {
  switch (claim) {
    case 'nbf':
      return reason === 'check_failed' ? 'Operator token is not valid yet' : 'Operator token has an invalid "nbf" claim';
    case 'exp':
      return reason === 'missing' ? 'Operator token has no expiry' : 'Operator token has an invalid "exp" claim';
    case 'iss':
      return reason === 'missing' ? 'Operator token has no issuer' : 'Operator token has the wrong issuer';
    case 'sub':
      return 'Operator token has no subject';
    case 'aud':
      return 'Operator token was issued for another audience';
    default:
      return `Operator token has an invalid "${claim}" claim`;
  }
}

/** Turns anything jose throws into the 401 that names the cause. */
function toInvalidToken(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (!(error instanceof errors.JOSEError)) return invalid('Operator token could not be verified');
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return invalid('Operator token has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = error as errors.JWTClaimValidationFailed;
      return invalid(claimMessage(claim, reason));
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalid('Operator token signature is invalid');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return invalid('Operator token was signed with an unknown key');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return invalid('Operator token algorithm is not allowed');
    case 'ERR_JOSE_NOT_SUPPORTED':
      return invalid('Operator token uses an unsupported algorithm or header');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return invalid('Operator token is malformed');
    default:
      return invalid('Operator token could not be verified');
  }
}

/**
 * Builds the verifier once per process (it caches the provider's keys; an unknown `kid` refetches
 * them, at most once per cooldown). The returned function resolves with the token's `sub` and
 * claims, or throws an ApiError: 401 `invalid_token`, or 503 `identity_provider_unavailable`.
 */
export function createOperatorTokenVerifier(options: OperatorTokenVerifierOptions): OperatorTokenVerifier {
  const { issuer, authorizedParties } = options;
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  const cooldown = options.jwksCooldownSeconds ?? 30;
  const timeout = options.jwksTimeoutSeconds ?? 5;
  if (!issuer) throw new TypeError('createOperatorTokenVerifier: issuer is required');
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) throw new TypeError('createOperatorTokenVerifier: clockToleranceSeconds must be ≥ 0');
  if (!Number.isFinite(cooldown) || cooldown < 0) throw new TypeError('createOperatorTokenVerifier: jwksCooldownSeconds must be ≥ 0');
  if (!Number.isFinite(timeout) || timeout <= 0) throw new TypeError('createOperatorTokenVerifier: jwksTimeoutSeconds must be > 0');
  const url = new URL(options.jwksUrl); // throws at startup on a bad URL, not per request
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('createOperatorTokenVerifier: jwksUrl must be http(s)');

  const jwks = createRemoteJWKSet(url, {
    cooldownDuration: cooldown * 1000,
    timeoutDuration: Math.round(timeout * 1000),
  });

  // A failure to get the key set (network, timeout, non-200, not JSON, unusable keys) is the
  // provider's problem: 503. Only "no key for this kid/alg" is about the token.
  const getKey: JWTVerifyGetKey<CryptoKey> = async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      if (error instanceof errors.JOSEError && TOKEN_KEY_ERRORS.has(error.code)) throw error;
      throw unavailable();
    }
  };

  const audiences = options.audiences ?? [];
  const verifyOptions: JWTVerifyOptions = {
    algorithms: OPERATOR_TOKEN_ALGORITHMS,
    issuer,
    clockTolerance,
    requiredClaims: ['sub', 'exp'],
    ...(audiences.length > 0 ? { audience: audiences } : {}),
  };

  const verifySignatureAndClaims = async (token: string): Promise<JWTPayload> => {
    try {
      return (await jwtVerify(token, getKey, verifyOptions)).payload;
    } catch (error) {
      // A token without `kid` when the set has several keys of its type: try each of them.
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      let last: unknown = error;
      for await (const key of error) {
        try {
          return (await jwtVerify(token, key, verifyOptions)).payload;
        } catch (inner) {
          last = inner;
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) break;
        }
      }
      throw last;
    }
  };

  return async (token: string): Promise<VerifiedOperatorToken> => {
    if (typeof token !== 'string' || token.length === 0) throw invalid('Operator token is malformed');
    let claims: JWTPayload;
    try {
      claims = await verifySignatureAndClaims(token);
    } catch (error) {
      throw toInvalidToken(error);
    }
    if (typeof claims.sub !== 'string' || claims.sub.trim() === '') throw invalid('Operator token has no subject');
    if (audiences.length === 0 && claims.aud !== undefined) throw invalid('Operator token was issued for another audience');
    // jose checks `iat` only for maxTokenAge; a token issued in the future is not valid yet.
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.iat === 'number' && claims.iat > now + clockTolerance) throw invalid('Operator token is not valid yet');
    if (authorizedParties.length > 0) {
      const azp = claims.azp;
      if (typeof azp !== 'string' || azp === '') throw invalid('Operator token does not name the application it was issued for');
      if (!authorizedParties.includes(azp)) throw invalid('Operator token was issued for another application');
    }
    return { sub: claims.sub, claims: claims as Record<string, unknown> };
  };
}
