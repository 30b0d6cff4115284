-- every pair of records sharing a usable key value, with the name, birth-date and middle-initial levels the
-- guards use
select a.key_type, a.key_value, a.key_priority, a.rid as rid_a, b.rid as rid_b,
       sb_name_level(l.name_key, l.name_partial, r.name_key, r.name_partial, $name_close) as name,
       sb_birth_level(l.birth_date, r.birth_date) as birth_date,
       -- middle initials (both present): two family members often share a first-name stem and an id copied
       -- between them (Patricia B. / Patrick C.)
       case when l.middle_name is null or r.middle_name is null then null
            when left(l.middle_name, 1) = left(r.middle_name, 1) then 'agree' else 'different' end as middle
from int_identity__usable_keys as a
join int_identity__usable_keys as b
  on a.key_type = b.key_type and a.key_value = b.key_value and a.rid < b.rid
join int_identity__records as l on l.rid = a.rid
join int_identity__records as r on r.rid = b.rid
