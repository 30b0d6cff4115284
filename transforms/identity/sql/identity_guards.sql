-- every strong key value that stopped acting as a key, hashed, with the reason
with all_keys as (
    select * from int_identity__all_keys
),
contested as (
    select * from int_identity__contested
),
oversized as (
    select key_type, key_value, key_records,
           'shared by more records than max_records_per_key (' || $cap || ')' as reason
    from all_keys where key_records > $cap
),
role_mailboxes as (
    select key_type, key_value, key_records, 'role mailbox (info@, service@...), not a person' as reason
    from all_keys where key_type = 'email' and sb_is_role_email(key_value) and key_records <= $cap
),
shared_by_different_people as (
    select key_type, key_value, key_records,
           'shared by different people (names, birth dates or middle initials disagree): links only records that agree' as reason
    from contested
),
final as (
    select key_type, sb_hash(key_value) as value_hash, max(key_records) as records, reason
    from (
        select * from oversized
        union all select * from role_mailboxes
        union all select * from shared_by_different_people
    )
    group by key_type, key_value, reason
)
select * from final order by key_type, value_hash, reason
