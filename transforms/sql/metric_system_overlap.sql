-- metric: integration/system_overlap
-- One row per ordered pair of systems (dimension "a|b"). Numerator: unified customers present in both a
-- and b. Denominator: unified customers present in a. Value: the share of a's customers that b also
-- knows (the overlap matrix, read by row).
with customer_systems as (
    select distinct customer_id, system from customer_identities
),

pairs as (
    select a.system as system_a, b.system as system_b, count(*) as both_count
    from customer_systems as a
    join customer_systems as b on a.customer_id = b.customer_id and a.system <> b.system
    group by a.system, b.system
),

per_system as (
    select system, count(*) as customers from customer_systems group by system
),

final as (
    select a.system as system_a, b.system as system_b, coalesce(p.both_count, 0) as numerator, a.customers as denominator
    from per_system as a
    cross join per_system as b
    left join pairs as p on p.system_a = a.system and p.system_b = b.system
    where a.system <> b.system
)

select
    'integration' as family,
    'system_overlap' as metric,
    null::date as metric_date,
    system_a || '|' || system_b as dimension,
    numerator,
    denominator,
    null as detail
from final
order by dimension
