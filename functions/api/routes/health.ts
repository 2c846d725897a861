import { Hono } from 'hono';
import { VERSION } from '../../_shared/version.ts';
import type { AppEnv, Deps } from '../context.ts';

/**
 * GET /health: the API is up and can reach its database. With on-chain payouts, also whether the
 * hot wallet could pay the next payout when the worker last looked (`dry`: payouts wait queued).
 */
export function healthRoutes({ db, payoutChain }: Deps) {
  return new Hono<AppEnv>().get('/health', async (c) => {
    try {
      await db.sql`select 1`;
    } catch {
      return c.json({ status: 'degraded', database: 'unreachable', version: VERSION }, 503);
    }
    if (!payoutChain) return c.json({ status: 'ok', database: 'ok', version: VERSION });
    const [wallet] = await db.asService((tx) => tx<{ queued: number; dry_since: Date | null; dry_reason: string | null }[]>`
      select (select count(*)::int from public.payouts p where p.status = 'queued') as queued, w.dry_since, w.dry_reason
        from (select) x left join public.payout_wallets w on w.address = ${payoutChain.address}`);
    return c.json({
      status: 'ok',
      database: 'ok',
      version: VERSION,
      payouts: wallet.dry_since
        ? { hot_wallet: 'dry', queued: wallet.queued, since: wallet.dry_since.toISOString(), reason: wallet.dry_reason }
        : { hot_wallet: 'ok', queued: wallet.queued },
    });
  });
}
