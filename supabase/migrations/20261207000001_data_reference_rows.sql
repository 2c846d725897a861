/**
 * Hand-written (a diff engine does not carry data rows): the reference rows the schema needs.
 */

/** The states a task can be in. */
insert into public.task_statuses (status) values
  ('PENDING_APPROVAL'), ('PENDING'), ('ACCEPTED'), ('IN_PROGRESS'), ('SUBMITTED'), ('VERIFIED'), ('MANUAL_REVIEW'),
  ('COMPLETED'), ('DISPUTED'), ('CANCELLED'), ('EXPIRED');

/**
 * The task state machine. A task above its key's approval threshold starts in PENDING_APPROVAL
 * and leaves it approved (PENDING), declined (CANCELLED) or unanswered (EXPIRED).
 */
insert into public.task_transitions (from_status, to_status) values
  ('PENDING_APPROVAL', 'PENDING'), ('PENDING_APPROVAL', 'CANCELLED'), ('PENDING_APPROVAL', 'EXPIRED'),
  ('PENDING', 'ACCEPTED'), ('PENDING', 'CANCELLED'), ('PENDING', 'EXPIRED'),
  ('ACCEPTED', 'IN_PROGRESS'), ('ACCEPTED', 'SUBMITTED'), ('ACCEPTED', 'CANCELLED'), ('ACCEPTED', 'EXPIRED'),
  ('IN_PROGRESS', 'SUBMITTED'), ('IN_PROGRESS', 'EXPIRED'),
  ('SUBMITTED', 'VERIFIED'), ('SUBMITTED', 'MANUAL_REVIEW'), ('SUBMITTED', 'DISPUTED'), ('SUBMITTED', 'COMPLETED'),
  ('VERIFIED', 'COMPLETED'),
  ('MANUAL_REVIEW', 'COMPLETED'), ('MANUAL_REVIEW', 'DISPUTED'),
  ('DISPUTED', 'COMPLETED'), ('DISPUTED', 'CANCELLED');

/** The accounts the platform owns: its revenue, and the outside world money comes from and goes to. */
insert into public.ledger_accounts (kind) values
  ('platform_revenue'), ('external_usdc'), ('external_fiat'), ('external_payouts');
