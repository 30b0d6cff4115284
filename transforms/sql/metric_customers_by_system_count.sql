-- metric: integration/customers_by_system_count
-- One row per number of systems (dimension "1", "2", ...). Numerator: unified customers whose records
-- come from exactly that many systems. Denominator: all unified customers (anonymous records included:
-- each is a customer of its own). Value: the share of customers.
with customer_systems as (
    select customer_id, count(distinct system) as system_count from customer_identities group by customer_id
),

final as (
    select system_count, count(*) as numerator, sum(count(*)) over () as denominator
    from customer_systems
    group by system_count
)

select
    'integration' as family,
    'customers_by_system_count' as metric,
    null::date as metric_date,
    cast(system_count as varchar) as dimension,
    numerator,
    denominator,
    null as detail
from final
order by system_count
