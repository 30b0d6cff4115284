-- One row per unified customer: the golden record. Each attribute comes from the most trusted system
-- that has a value for it (identity.survivorship in sources.yaml; unlisted systems rank last), the newest
-- record within that system, and keeps the system and the date it came from (<attribute>_source,
-- <attribute>_as_of). Personal identifiers only as keyed hashes or masked display forms.
-- The choices are made in int_customers__chosen.
with chosen as (
    select * from int_customers__chosen
),

final as (
    select
        customer_id,
        source_records,
        systems,
        system_count,
        account_type.v as account_type,
        sb_mask_name(name.v) as display_name,
        name.s as name_source,
        cast(name.d as date) as name_as_of,
        sb_hash(email.v) as email_hash,
        email.s as email_source,
        cast(email.d as date) as email_as_of,
        sb_hash(phone.v) as phone_hash,
        phone.s as phone_source,
        cast(phone.d as date) as phone_as_of,
        distinct_emails,
        distinct_phones,
        year(birth.v) as birth_year,
        birth.s as birth_date_source,
        address.v.city as city,
        address.v.postcode as postcode,
        address.s as address_source,
        cast(address.d as date) as address_as_of,
        loyalty.v as loyalty_id,
        login.v as login_id,
        first_seen_at,
        last_seen_at
    from chosen
)

select * from final order by customer_id
