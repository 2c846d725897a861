/** Operator authentication: a session JWT, or the local X-Operator-Id shortcut. */
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../../_shared/errors.ts';
import { OPERATOR_ID } from '../../_shared/storage.ts';
import type { AppEnv, Deps } from '../context.ts';

/**
 * The operator a request comes from: `Authorization: Bearer <session JWT>` verified against the
 * identity provider's JWKS (Clerk in production, the stack's own issuer locally). `X-Operator-Id`
 * is a local shortcut, honoured only when ALLOW_DEV_OPERATOR_ID_HEADER is on, which live mode
 * never allows. Throws the 401 (or 503) to answer otherwise.
 */
export async function operatorOf(c: Context<AppEnv>, { config, verifyOperatorToken }: Deps): Promise<{ id: string }> {
  const authorization = c.req.header('authorization');
  const devId = c.req.header('x-operator-id');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw new ApiError(401, 'invalid_token', 'Authorization must be "Bearer <token>"');
    if (!verifyOperatorToken) {
      throw new ApiError(503, 'identity_provider_unavailable', 'Operator sign-in is not configured on this server');
    }
    const { sub } = await verifyOperatorToken(match[1]);
    if (!OPERATOR_ID.test(sub)) throw new ApiError(401, 'invalid_token', 'Operator token subject is not a valid operator id');
    return { id: sub };
  }
  if (devId !== undefined) {
    if (!config.allowDevOperatorIdHeader) {
      throw new ApiError(401, 'unauthorized', 'X-Operator-Id is not accepted here; sign in and send Authorization: Bearer <token>');
    }
    if (!OPERATOR_ID.test(devId)) throw new ApiError(401, 'unauthorized', 'X-Operator-Id is not a valid operator id');
    return { id: devId };
  }
  throw new ApiError(401, 'unauthorized', 'Missing Authorization: Bearer <operator token>');
}

/** Operator routes: the caller must be an operator (see operatorOf); the rate limiter may have found out already. */
export function requireOperatorIdentity(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.get('operator')) c.set('operator', await operatorOf(c, deps));
    await next();
  };
}
