-- Local seed data, applied once to a fresh local database after the migrations (as
-- `supabase db reset` does). Nothing is needed: in test mode agents register themselves
-- (POST /api/v1/agents/register) and fund their accounts with test deposits.
select 1;
