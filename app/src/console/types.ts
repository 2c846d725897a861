/** What the console reads from the API, as the API answers it (docs/api.md). */
export interface OwnedAgent { agent_id: string; name: string; mode: 'test' | 'live'; linked_at: string }
export interface Balance { deposit_balance: number; escrow_balance: number; currency: 'USD' }
export interface TaskSummary { task_id: string; title: string; status: string; task_type: string; reward_usd: number; created_at: string; deadline: string }
export interface TaskPage { data: TaskSummary[]; pagination: { total: number; next_cursor?: string | null; has_more?: boolean } }
export interface PendingApproval {
  task_id: string; title: string; task_type: string; reward_usd: number; platform_fee_usd: number; total_escrow_usd: number;
  proof_requirements: string[]; key: { id: string; name: string | null; key_prefix: string | null } | null;
  held_by: { rule: string; threshold_usd: number; policy: 'key' | 'account' } | null;
  approval_expires_at: string; created_at: string;
}
export interface Policy {
  max_reward_usd: number | null; daily_limit_usd: number | null; monthly_limit_usd: number | null;
  allowed_task_types: string[] | null; allowed_regions: unknown[] | null; allow_credential_tasks: boolean | null;
  approval_threshold_usd: number | null;
}
export interface StoredPolicy extends Policy { key_id: string | null; source?: string }
export interface ApiKey {
  id: string; keyPrefix: string; name: string | null; scopes: string[]; expiresAt: string | null; lastUsed: string | null;
  createdAt: string; policy: Policy;
}
export interface SpendWindow { since: string; spent_usd: number; limit_usd: number | null; remaining_usd: number | null }
export interface KeyUsage { key_id: string; name: string | null; key_prefix: string; day: SpendWindow; month: SpendWindow; policy: string }
export interface Spend {
  days: { day: string; spent_usd: number }[];
  fee_tier: { rate_pct: number; settled_30d_usd: number; next_rate_pct: number | null; next_tier_at_usd: number | null; to_next_tier_usd: number | null };
}
export interface TaskEvent { from_status: string | null; to_status: string; actor: string; at: string }
export interface Delivery {
  delivery_id: string; task_id?: string; event: string; status: string; attempts: number; last_status_code: number | null;
  last_error: string | null; next_attempt_at: string | null; delivered_at: string | null; created_at: string;
}
export interface Deposit { deposit_id: string; method: string; tx_hash: string | null; payment_method: string | null; amount_usd: number; status: string; created_at: string }
