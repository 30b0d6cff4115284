-- key values shared by records that disagree on name, birth date or middle initial (a family email, an id
-- copied between family members)
select key_type, key_value, count(distinct rid_a) + 1 as key_records
from int_identity__key_pairs
group by key_type, key_value
having bool_or(name = 'different' or birth_date = 'different' or middle = 'different')
