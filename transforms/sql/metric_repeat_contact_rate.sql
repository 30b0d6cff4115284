-- metric: consistency/repeat_contact_rate (lower is better)
-- Per contact channel and overall. Numerator: support contacts of an identified customer that follow an
-- earlier contact of the same customer about the same product and topic within $repeat_contact_days
-- days. Denominator: support contacts of identified customers (a contact is identified when it carries a
-- usable identifier: email, phone, loyalty id or login id; an anonymous contact cannot be recognised
-- as a repeat).
with contacts as (
    select t.record_id, t.channel, t.created_at, t.sku, t.topic, i.customer_id
    from kind_tickets as t
    join customer_identities as i
        on i.system = t._source_system and i.entity = t._source_entity and i.record_id = t.record_id
    where array_length(i.identifier_types) > 0
),

flagged as (
    select
        *,
        lag(created_at) over (partition by customer_id, coalesce(sku, ''), coalesce(topic, '')
                              order by created_at, record_id) as previous_at
    from contacts
),

final as (
    select
        coalesce(channel, 'all') as dimension,
        count(*) filter (where previous_at is not null
                         and created_at - previous_at <= to_days(cast($repeat_contact_days as integer))) as numerator,
        count(*) as denominator
    from flagged
    group by grouping sets ((channel), ())
)

select
    'consistency' as family,
    'repeat_contact_rate' as metric,
    null::date as metric_date,
    dimension,
    numerator,
    denominator,
    null as detail
from final
order by dimension
