-- Numbers the events written before task_events.seq existed, in the order they were written, and
-- gives each task the seq of its last event (the columns' default, 1, is right only for a task
-- that never moved).
update public.task_events e
   set seq = n.seq
  from (select ev.id, row_number() over (partition by ev.task_id order by ev.id) as seq from public.task_events ev) n
 where n.id = e.id and e.seq <> n.seq;

update public.tasks t
   set last_event_seq = c.n
  from (select ev.task_id, count(*) as n from public.task_events ev group by ev.task_id) c
 where c.task_id = t.id and t.last_event_seq <> c.n;
