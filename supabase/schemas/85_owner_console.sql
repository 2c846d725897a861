/**
 * The calling agent's fee tier: the rate its next task pays, the settled spend of the trailing 30
 * UTC days it is priced from (rewards of tasks that completed), and the spend at which the next,
 * lower rate starts (null at the lowest). Read by the owner's console.
 */
create function api.fee_tier()
  returns table (rate_pct integer, settled_cents bigint, next_rate_pct integer, next_tier_at_cents bigint)
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
begin
  settled_cents := (select coalesce(sum(s.reward_cents), 0)::bigint
                      from public.agent_spend_daily s
                     where s.agent_id = v_agent_id and s.day > (now() at time zone 'utc')::date - 30);
  rate_pct := private.fee_rate_pct(settled_cents);
  -- The tiers' edges, as private.fee_rate_pct draws them.
  next_tier_at_cents := case rate_pct when 18 then 500000 when 15 then 2500001 end;
  next_rate_pct := case when next_tier_at_cents is null then null else private.fee_rate_pct(next_tier_at_cents) end;
  return next;
end
$$;
grant execute on function api.fee_tier() to authenticated;
