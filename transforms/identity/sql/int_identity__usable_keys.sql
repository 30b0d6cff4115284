-- strong key values that survive the cap on records per value and are not role mailboxes
select * from int_identity__all_keys
where key_records <= $cap and not (key_type = 'email' and sb_is_role_email(key_value))
