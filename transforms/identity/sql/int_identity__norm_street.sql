select street, sb_street(street) as street_key
from (select distinct street from int_identity__located where street is not null)
