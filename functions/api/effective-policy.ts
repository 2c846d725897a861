/**
 * The policy a key actually follows: the account default narrowed by the key's own policy. A key's
 * policy can only take away: a limit is the lower of the two, task types those both allow, credential
 * tasks only if neither refuses them. Regions cannot be intersected as a list (a circle inside a
 * country), so a task must lie in one of the account's regions and one of the key's (create_task
 * checks both); `allowed_regions` shows the key's when it names any, else the account's.
 */
import { CATEGORIES, TASK_DOMAINS, TASK_TYPES } from '../_shared/categories.ts';
import { centsToUsd } from '../_shared/money.ts';

/** A stored policy row (public.spending_policies), as postgres.js returns it. */
export interface PolicyRow {
  key_id: string | null;
  max_reward_cents: string | null;
  daily_limit_cents: string | null;
  monthly_limit_cents: string | null;
  allowed_task_types: string[] | null;
  allowed_regions: unknown[] | null;
  allow_credential_tasks: boolean | null;
  approval_threshold_cents: string | null;
  updated_at: Date | null;
}

const lower = (a: string | null | undefined, b: string | null | undefined) => {
  const values = [a, b].filter((v): v is string => v !== null && v !== undefined).map(Number);
  return values.length ? centsToUsd(Math.min(...values)) : null;
};

/** The task types a filter list (types and whole domains) lets through. */
const typesAllowedBy = (filters: string[]) =>
  new Set(TASK_TYPES.filter((type) => filters.includes(type) || filters.includes(CATEGORIES[type].domain)));

/** Types both lists allow, written back as whole domains where a domain is allowed entirely. */
function narrowTypes(account: string[] | null, own: string[] | null): string[] | null {
  if (!account || !own) return account ?? own;
  const fromAccount = typesAllowedBy(account);
  const both = [...typesAllowedBy(own)].filter((type) => fromAccount.has(type));
  const whole = TASK_DOMAINS.filter((domain) => TASK_TYPES.every((t) => CATEGORIES[t].domain !== domain || both.includes(t)));
  return [...whole, ...both.filter((type) => !whole.includes(CATEGORIES[type].domain))];
}

/** The effective policy of a key with its own policy `own` (if any) under the account default `account` (if any). */
export function effectivePolicy(account: PolicyRow | undefined, own: PolicyRow | undefined) {
  const credential = [account?.allow_credential_tasks, own?.allow_credential_tasks];
  return {
    max_reward_usd: lower(account?.max_reward_cents, own?.max_reward_cents),
    daily_limit_usd: lower(account?.daily_limit_cents, own?.daily_limit_cents),
    monthly_limit_usd: lower(account?.monthly_limit_cents, own?.monthly_limit_cents),
    allowed_task_types: narrowTypes(account?.allowed_task_types ?? null, own?.allowed_task_types ?? null),
    allowed_regions: own?.allowed_regions ?? account?.allowed_regions ?? null,
    allow_credential_tasks: credential.includes(false) ? false : credential.includes(true) ? true : null,
    approval_threshold_usd: lower(account?.approval_threshold_cents, own?.approval_threshold_cents),
  };
}

/** The effective policy of every key of an agent, from all its stored policies. */
export function effectivePolicies(rows: PolicyRow[]) {
  const account = rows.find((r) => r.key_id === null);
  return (keyId: string) => effectivePolicy(account, rows.find((r) => r.key_id === keyId));
}
