/**
 * Hand-written (a diff engine does not carry data rows): the operator's new moves.
 * A DISPUTED task goes back to SUBMITTED when its operator resubmits (once, before the deadline),
 * and an ACCEPTED or IN_PROGRESS task back to PENDING when its operator hands it back (or lets
 * the hold pass without starting it).
 */
insert into public.task_transitions (from_status, to_status) values
  ('DISPUTED', 'SUBMITTED'), ('ACCEPTED', 'PENDING'), ('IN_PROGRESS', 'PENDING');
