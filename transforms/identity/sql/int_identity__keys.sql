-- the keys that act as keys: usable and uncontested
select k.* from int_identity__usable_keys as k
where not exists (select 1 from int_identity__contested as c
                  where c.key_type = k.key_type and c.key_value = k.key_value)
