/**
 * Hand-written (a diff engine does not carry data rows): the platform's payout clearing account,
 * where a USDC payout's amount waits between its booking and its confirmation on chain.
 */
insert into public.ledger_accounts (kind) values ('payout_clearing');
