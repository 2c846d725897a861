-- Escrow became one account per agent (the next migration). A database that already holds the old
-- per-task escrow accounts cannot be converted by it (their postings carry no task tag), and none
-- was ever deployed: say so plainly instead of failing on a constraint.
do $$
begin
  if exists (select from public.ledger_accounts where kind = 'task_escrow') then
    raise exception 'This database holds per-task escrow accounts from before escrow per agent. '
      'Remove the local data dir (.humanops/ by default) and run npm start again.';
  end if;
end
$$;
