-- metric: consistency/contact_data_disagreement_share (lower is better)
-- Per attribute (dimension "email", "phone") and overall ("all"). Among unified customers whose records
-- in at least two systems state a usable value of that attribute (normalised: email trimmed and
-- lower-cased, phone in E.164; placeholders and values guarded as shared too widely do not count),
-- numerator: customers whose records state more than one different value. Denominator: those customers.
-- "all": customers disagreeing on email or phone / customers with either stated in two systems.
with stated_systems as (
    select
        customer_id,
        system,
        bool_or(list_contains(identifier_types, 'email')) as states_email,
        bool_or(list_contains(identifier_types, 'phone')) as states_phone
    from customer_identities
    group by customer_id, system
),

stated as (
    -- systems per customer counted from one row per (customer, system): one grouping for both identifiers,
    -- not a distinct count each
    select
        customer_id,
        count(system) filter (where states_email) as email_systems,
        count(system) filter (where states_phone) as phone_systems
    from stated_systems
    group by customer_id
),

key_values as (
    select distinct customer_id, key_type, key_value
    from int_identity__key_customers
),

distinct_values as (
    -- the normalised identifier values of each customer, as identity resolution computed them
    select
        customer_id,
        count(key_value) filter (where key_type = 'email') as emails,
        count(key_value) filter (where key_type = 'phone') as phones
    from key_values
    group by customer_id
),

flags as (
    select
        s.email_systems >= 2 as email_compared,
        s.email_systems >= 2 and v.emails > 1 as email_differs,
        s.phone_systems >= 2 as phone_compared,
        s.phone_systems >= 2 and v.phones > 1 as phone_differs
    from stated as s
    left join distinct_values as v using (customer_id)
),

final as (
    select 'email' as dimension, count(*) filter (where email_differs) as numerator,
           count(*) filter (where email_compared) as denominator
    from flags
    union all
    select 'phone', count(*) filter (where phone_differs), count(*) filter (where phone_compared) from flags
    union all
    select 'all', count(*) filter (where email_differs or phone_differs),
           count(*) filter (where email_compared or phone_compared)
    from flags
)

select
    'consistency' as family,
    'contact_data_disagreement_share' as metric,
    null::date as metric_date,
    dimension,
    numerator,
    denominator,
    null as detail
from final
order by dimension
