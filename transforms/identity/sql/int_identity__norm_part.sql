-- the name parts the sources give apart (first, middle and last name), normalised once per distinct value
select part, sb_name(part) as part_norm
from (select first_name as part from int_identity__located where first_name is not null
      union select middle_name from int_identity__located where middle_name is not null
      union select last_name from int_identity__located where last_name is not null)
