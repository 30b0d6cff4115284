-- metric: integration/linked_to_other_system_share (higher is better)
-- Per system and overall ("all"). Numerator: identity records of the system whose unified customer also
-- has a record in at least one other system. Denominator: all identity records of the system.
with identities as (
    select customer_id, system from customer_identities
),

customer_systems as (
    select customer_id, count(distinct system) as system_count from identities group by customer_id
),

joined as (
    select i.system, cs.system_count from identities as i join customer_systems as cs using (customer_id)
),

final as (
    select
        coalesce(system, 'all') as dimension,
        count(*) filter (where system_count > 1) as numerator,
        count(*) as denominator
    from joined
    group by grouping sets ((system), ())
)

select
    'integration' as family,
    'linked_to_other_system_share' as metric,
    null::date as metric_date,
    dimension,
    numerator,
    denominator,
    null as detail
from final
order by dimension
