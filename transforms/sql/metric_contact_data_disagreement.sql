-- metric: consistency/contact_data_disagreement_share
-- Per attribute (dimension "email", "phone") and overall ("all"). Among unified customers whose records
-- in at least two systems state that attribute, numerator: customers whose systems state different
-- values (after normalisation: email trimmed and lower-cased, phone in E.164). Denominator: those
-- customers. "all": customers disagreeing on email or phone / customers with either stated in two systems.
with multi_system as (
    -- only customers with records in two or more systems can disagree; normalising (Python UDFs) only
    -- their records keeps this metric cheap
    select customer_id from customer_identities group by customer_id having count(distinct system) >= 2
),

records as (
    select i.customer_id, r.system, sb_email(r.email) as email, sb_phone(r.phone, r.region) as phone
    from customer_identities as i
    join multi_system as m using (customer_id)
    join int_identity__records as r using (rid)
    where r.email is not null or r.phone is not null
),

per_customer as (
    select
        customer_id,
        count(distinct system) filter (where email is not null) as email_systems,
        count(distinct email) as emails,
        count(distinct system) filter (where phone is not null) as phone_systems,
        count(distinct phone) as phones
    from records
    group by customer_id
),

flags as (
    select
        email_systems >= 2 as email_compared,
        email_systems >= 2 and emails > 1 as email_differs,
        phone_systems >= 2 as phone_compared,
        phone_systems >= 2 and phones > 1 as phone_differs
    from per_customer
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
