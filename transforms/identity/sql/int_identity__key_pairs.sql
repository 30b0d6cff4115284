-- every pair of records sharing a usable key value, with the name and birth-date levels the guards use
select a.key_type, a.key_value, a.key_priority, a.rid as rid_a, b.rid as rid_b,
       sb_name_level(l.name_key, l.name_partial, r.name_key, r.name_partial, $name_close) as name,
       sb_birth_level(l.birth_date, r.birth_date) as birth_date
from int_identity__usable_keys as a
join int_identity__usable_keys as b
  on a.key_type = b.key_type and a.key_value = b.key_value and a.rid < b.rid
join int_identity__records as l on l.rid = a.rid
join int_identity__records as r on r.rid = b.rid
