/**
 * Operator search can no longer locate a person. It returned the distance to an operator's home
 * location to 10 m, so three searches trilaterated an operator to about a metre; rounding alone
 * would not help, since an agent that moves its search point until a rounded figure (or the
 * radius filter) flips learns the exact distance at that point.
 *
 * So every distance, the radius filter and the order are computed from the centre of a grid cell
 * of 0.02° × 0.02° (about 2.2 km north-south, less east-west away from the equator) that holds
 * the operator, never from its stored coordinates, and reported in whole kilometres (at least 1).
 * The most any number of searches can learn is that cell.
 */

/** The centre of the 0.02° grid cell holding a coordinate. */
create function private.coarse_coordinate(p_degrees double precision) returns double precision
  language sql immutable parallel safe
  set search_path = ''
  as $$ select (floor(p_degrees / 0.02) + 0.5) * 0.02 $$;

create or replace function api.search_operators(
  p_lat double precision, p_lng double precision, p_radius_km double precision,
  p_task_type text default null, p_min_rating numeric default null, p_limit integer default 20
) returns table (
  operator_id text, name text, city text, country text, skills text[], rating numeric, rating_count integer,
  completed_tasks bigint, distance_km double precision
)
  language plpgsql stable
  security definer
  set search_path = ''
  as $$
declare
  v_agent_id text := private.require_agent();
  -- A latitude band first (indexed, widened by a cell), then the distance to the operator's cell.
  v_band double precision := p_radius_km / 111.0 + 0.02;
begin
  return query
    select c.id, c.short_name, c.city, c.country, c.skills, c.rating, c.rating_count, c.completed,
           greatest(1, round(c.distance))::double precision
      from (
        select o.id,
               split_part(o.name, ' ', 1) || coalesce(' ' || nullif(left(split_part(o.name, ' ', 2), 1), '') || '.', '') as short_name,
               o.city, o.country, o.skills,
               case when o.rating_count > 0 then round(o.rating_sum::numeric / o.rating_count, 2) end as rating,
               o.rating_count,
               (select count(*) from public.tasks t where t.operator_id = o.id and t.status = 'COMPLETED') as completed,
               api.distance_km(p_lat, p_lng, private.coarse_coordinate(o.lat), private.coarse_coordinate(o.lng)) as distance
          from public.operators o
         where o.kyc_status = 'VERIFIED'
           and o.lat between p_lat - v_band and p_lat + v_band
           and (p_task_type is null or cardinality(o.skills) = 0 or p_task_type = any (o.skills))
           and (p_min_rating is null or (o.rating_count > 0 and o.rating_sum::numeric / o.rating_count >= p_min_rating))
      ) c
     where c.distance <= p_radius_km
     order by c.distance, c.id
     limit p_limit;
end
$$;
