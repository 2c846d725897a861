/** What the app is built from, and what each request carries through Hono's context. */
import type { Config } from '../_shared/config.ts';
import type { Db } from '../_shared/db.ts';
import type { UsdcDepositVerifier } from '../_shared/deposits.ts';

export interface Deps {
  config: Config;
  db: Db;
  usdcVerifier: UsdcDepositVerifier;
}

export interface Agent {
  id: string;
  keyId: string;
}

export interface AppEnv {
  Bindings: { remoteAddr?: { hostname?: string } };
  Variables: { requestId: string; agent: Agent };
}
