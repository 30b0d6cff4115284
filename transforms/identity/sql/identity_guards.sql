select key_type, sb_hash(key_value) as value_hash, any_value(key_records) as records, reason
from (
    select key_type, key_value, key_records,
           'shared by more records than max_records_per_key (' || $cap || ')' as reason
    from int_identity__all_keys where key_records > $cap
    union all
    select key_type, key_value, key_records, 'role mailbox (info@, service@...), not a person'
    from int_identity__all_keys where key_type = 'email' and sb_is_role_email(key_value) and key_records <= $cap
    union all
    select key_type, key_value, key_records,
           'shared by different people (names or birth dates disagree): links only records that agree'
    from int_identity__contested
)
group by key_type, key_value, reason
order by key_type, value_hash, reason
