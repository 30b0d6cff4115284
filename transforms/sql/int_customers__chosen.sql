-- The golden record's choices (dim_customers.sql): per customer, each attribute's surviving value with its
-- system and date, and the counts. A table of its own: at a million customers, aggregating and then
-- projecting, hashing and sorting in one statement took 1.4x the CPU of the two apart (79.6 vs 57.7 CPU s;
-- why DuckDB's plan of the one statement costs more was not found; at 100k the two cost the same).
-- The distinct counts are a second aggregate over the narrow columns, joined to the choices: in one aggregate
-- with the arg_mins, DuckDB's hash tables for both spilled at a million customers (3.7M records, memory limit
-- 5GB): 64.9 CPU s, against 39.3 apart (19.6 for the choices alone; at 100k 2.6-3.0 either way). It joins the
-- records to their customers a second time, for the four columns it counts (not the width of `joined`).
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
        case when not r.name_partial then r.full_name end as full_name,
        r.birth_date,
        r.city,
        r.postcode,
        r.email_norm,
        r.phone_norm,
        r.loyalty_norm as loyalty_id,
        r.login_norm as login_id,
        coalesce(s.name_rank, 1000) as name_rank,
        coalesce(s.email_rank, 1000) as email_rank,
        coalesce(s.phone_rank, 1000) as phone_rank,
        coalesce(s.birth_date_rank, 1000) as birth_date_rank,
        coalesce(s.address_rank, 1000) as address_rank,
        coalesce(s.account_type_rank, 1000) as account_type_rank,
        coalesce(s.loyalty_id_rank, 1000) as loyalty_id_rank,
        coalesce(s.login_id_rank, 1000) as login_id_rank
    from identities as i
    join records as r using (rid)
    left join survivorship as s on s.system = r.system
),

distinct_values as (
    select
        i.customer_id,
        list(distinct r.system order by r.system) as systems,
        count(distinct r.system) as system_count,
        count(distinct r.email_norm) as distinct_emails,
        count(distinct r.phone_norm) as distinct_phones
    from identities as i
    join records as r using (rid)
    group by i.customer_id
),

chosen as (
    -- per attribute: (value, system, date) of the best-ranked, newest record that has a value; ties (same
    -- rank and date) go to the first system, then the smallest value, so every run picks the same one
    select
        customer_id,
        count(*) as source_records,
        arg_min({'v': account_type, 's': system, 'd': seen_at}, {'rank': account_type_rank, 'newest': -coalesce(epoch(seen_at), 0), 'system': system, 'value': account_type}) filter (where account_type is not null) as account_type,
        arg_min({'v': full_name, 's': system, 'd': seen_at}, {'rank': name_rank, 'newest': -coalesce(epoch(seen_at), 0), 'system': system, 'value': full_name}) filter (where full_name is not null) as name,
        arg_min({'v': email_norm, 's': system, 'd': seen_at}, {'rank': email_rank, 'newest': -coalesce(epoch(seen_at), 0), 'system': system, 'value': email_norm}) filter (where email_norm is not null) as email,
        arg_min({'v': phone_norm, 's': system, 'd': seen_at}, {'rank': phone_rank, 'newest': -coalesce(epoch(seen_at), 0), 'system': system, 'value': phone_norm}) filter (where phone_norm is not null) as phone,
        arg_min({'v': birth_date, 's': system, 'd': seen_at}, {'rank': birth_date_rank, 'newest': -coalesce(epoch(seen_at), 0), 'system': system, 'value': birth_date}) filter (where birth_date is not null) as birth,
        -- the address's value nullable (never null here, by the filter): a struct field that cannot be null trips
        -- Spark's Arrow output when the whole aggregate is null
        arg_min({'v': case when city is not null or postcode is not null then {'city': city, 'postcode': postcode} end, 's': system, 'd': seen_at}, {'rank': address_rank, 'newest': -coalesce(epoch(seen_at), 0), 'system': system, 'value': {'city': city, 'postcode': postcode}})
            filter (where city is not null or postcode is not null) as address,
        arg_min({'v': loyalty_id, 's': system, 'd': seen_at}, {'rank': loyalty_id_rank, 'newest': -coalesce(epoch(seen_at), 0), 'system': system, 'value': loyalty_id}) filter (where loyalty_id is not null) as loyalty,
        arg_min({'v': login_id, 's': system, 'd': seen_at}, {'rank': login_id_rank, 'newest': -coalesce(epoch(seen_at), 0), 'system': system, 'value': login_id}) filter (where login_id is not null) as login,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at
    from joined
    group by customer_id
)

select c.customer_id, c.source_records, d.systems, d.system_count, c.account_type, c.name, c.email, c.phone, c.birth,
       c.address, c.loyalty, c.login, d.distinct_emails, d.distinct_phones, c.first_seen_at, c.last_seen_at
from chosen as c
join distinct_values as d using (customer_id)
