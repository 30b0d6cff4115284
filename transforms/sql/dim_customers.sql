-- One row per unified customer: a golden record by recency (newest non-null value wins),
-- personal identifiers only as keyed hashes or masked display forms.
with identities as (
    select * from customer_identities
),

records as (
    select * from int_identity__records
),

joined as (
    select
        i.customer_id,
        r.system,
        r.seen_at,
        r.account_type,
        r.full_name,
        r.birth_date,
        r.city,
        r.postcode,
        sb_email(r.email) as email_norm,
        sb_phone(r.phone, r.region) as phone_norm,
        sb_id(r.loyalty_id) as loyalty_id,
        sb_id(r.login_id) as login_id
    from identities as i
    join records as r using (rid)
),

final as (
    select
        customer_id,
        count(*) as source_records,
        list(distinct system order by system) as systems,
        count(distinct system) as system_count,
        first(account_type order by seen_at desc nulls last, account_type) filter (where account_type is not null) as account_type,
        sb_mask_name(first(full_name order by seen_at desc nulls last, full_name) filter (where full_name is not null)) as display_name,
        sb_hash(first(email_norm order by seen_at desc nulls last, email_norm) filter (where email_norm is not null)) as email_hash,
        sb_hash(first(phone_norm order by seen_at desc nulls last, phone_norm) filter (where phone_norm is not null)) as phone_hash,
        count(distinct email_norm) as distinct_emails,
        count(distinct phone_norm) as distinct_phones,
        year(first(birth_date order by seen_at desc nulls last, birth_date) filter (where birth_date is not null)) as birth_year,
        first(city order by seen_at desc nulls last, city) filter (where city is not null) as city,
        first(postcode order by seen_at desc nulls last, postcode) filter (where postcode is not null) as postcode,
        first(loyalty_id order by seen_at desc nulls last, loyalty_id) filter (where loyalty_id is not null) as loyalty_id,
        first(login_id order by seen_at desc nulls last, login_id) filter (where login_id is not null) as login_id,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at
    from joined
    group by customer_id
)

select * from final order by customer_id
