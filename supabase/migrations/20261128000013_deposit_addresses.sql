/**
 * Every agent gets its own USDC deposit address on Base: the non-hardened child `deposit_index`
 * of the platform's extended public key (DEPOSIT_XPUB). The server derives addresses without any
 * private key, and a transfer's recipient names the agent.
 */
alter table public.agents add column deposit_index integer generated always as identity (minvalue 0 start with 0);
alter table public.agents add constraint agents_deposit_index_unique unique (deposit_index);
alter table public.agents add constraint deposit_index_is_not_hardened check (deposit_index between 0 and 2147483647);
