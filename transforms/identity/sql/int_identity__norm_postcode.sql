select postcode, sb_postcode(postcode) as postcode_norm, left(sb_postcode(postcode), 3) as postcode_key
from (select distinct postcode from int_identity__located where postcode is not null)
