-- every strong identifier value of a record, with how many records carry it and its type's priority
with records as (
    select * from int_identity__records
),
keys as (
    select rid, 'email' as key_type, email_norm as key_value from records
    union all select rid, 'phone', phone_norm from records
    union all select rid, 'loyalty_id', loyalty_norm from records
    union all select rid, 'login_id', login_norm from records
    union all
    -- the identifiers the sources map (`identifiers: {national_id: SSN}`) that identity.keys lists, as
    -- int_identity__records normalised them (the probabilistic model compares the same values); `$.name`
    -- unquoted (names are [a-z][a-z0-9_]*), as Spark's get_json_object reads paths
    select r.rid, k.name, json_extract_string(r.identifiers_norm, '$.' || k.name)
    from records as r
    cross join (select unnest($key_types) as name) as k
    where r.identifiers_norm is not null and k.name not in ('email', 'phone', 'loyalty_id', 'login_id')
),
final as (
    select distinct rid, key_type, key_value,
           count(distinct rid) over (partition by key_type, key_value) as key_records,
           list_position($key_types, key_type) as key_priority
    from keys
    where key_value is not null and list_contains($key_types, key_type)
      -- a mapped identifier of one repeated character (000000000, XXXX) is a placeholder
      and (key_type in ('email', 'phone', 'loyalty_id', 'login_id') or length(replace(key_value, left(key_value, 1), '')) > 0)
)
select * from final
