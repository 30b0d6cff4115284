with customers as (
    select _source_system as system, _source_entity as entity, record_id,
           coalesce(full_name,
                    case when regexp_matches(coalesce(last_name, ''), '\p{Han}')
                         then concat(last_name, first_name)
                         else nullif(trim(concat_ws(' ', first_name, last_name)), '') end) as full_name,
           (full_name is null and last_name is null and first_name is not null) as name_partial,
           first_name, middle_name, last_name,
           email, phone, loyalty_id, login_id, birth_date, street, postcode, city, account_type, identifiers,
           coalesce(updated_at, created_at) as seen_at
    from kind_customers
),
tickets as (
    select _source_system as system, _source_entity as entity, record_id, full_name, false as name_partial,
           null as first_name, null as middle_name, null as last_name, email, phone, loyalty_id, null as login_id, null::date as birth_date, null as street,
           null as postcode, null as city, null as account_type, null as identifiers, created_at as seen_at
    from kind_tickets
),
devices as (
    -- an analytics device is one identity record; it carries a login id only when exactly one
    -- account ever signed in on it (a shared tablet must not join two customers)
    select _source_system as system, 'devices' as entity, device_id as record_id, null as full_name,
           false as name_partial, null as first_name, null as middle_name, null as last_name, null as email,
           null as phone, null as loyalty_id,
           -- one account: its smallest and largest login are the same (cheaper than counting distinct logins)
           case when min(login_id) = max(login_id) then min(login_id) end as login_id,
           null::date as birth_date, null as street, null as postcode, null as city, null as account_type,
           null as identifiers, max(event_at) as seen_at
    from kind_web_events
    group by _source_system, device_id
),
unioned as (
    -- the same columns in the same order in each part (positional: Spark has no `union all by name`)
    select * from customers
    union all select * from tickets
    union all select * from devices
),
final as (
    select row_number() over (order by system, entity, record_id) as rid, u.*,
           coalesce(r.region, 'TW') as region
    from unioned as u
    left join source_regions as r using (system)
)
select * from final
