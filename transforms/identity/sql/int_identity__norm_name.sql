select full_name, sb_name_key(full_name) as name_key, sb_family(full_name) as family_key
from (select distinct full_name from int_identity__located where full_name is not null)
