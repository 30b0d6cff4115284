-- one link per record pair: the highest-priority key that links them; a contested value links only
-- records that agree on name or birth date (and not differ on the middle initial)
select rid_a, rid_b, arg_min(key_type, key_priority) as key_type,
       list(distinct key_type order by key_type) as key_types
from int_identity__key_pairs as p
where not exists (select 1 from int_identity__contested as c
                  where c.key_type = p.key_type and c.key_value = p.key_value)
   or ((name in ('exact', 'close', 'partial') or birth_date = 'exact')
       and coalesce(name, '') <> 'different' and coalesce(birth_date, '') <> 'different'
       and coalesce(middle, '') <> 'different')
group by rid_a, rid_b
