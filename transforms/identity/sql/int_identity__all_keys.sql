-- every strong identifier value of a record, with how many records carry it and its type's priority
with records as (
    select * from int_identity__records
),
keys as (
    select rid, 'email' as key_type, email_norm as key_value from records
    union all select rid, 'phone', phone_norm from records
    union all select rid, 'loyalty_id', loyalty_norm from records
    union all select rid, 'login_id', login_norm from records
),
final as (
    select distinct rid, key_type, key_value,
           count(distinct rid) over (partition by key_type, key_value) as key_records,
           list_position($key_types, key_type) as key_priority
    from keys
    where key_value is not null and list_contains($key_types, key_type)
)
select * from final
