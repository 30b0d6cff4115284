-- the area key (postcode_key) is cut per record in int_identity__records: its length is per source
select postcode, sb_postcode(postcode) as postcode_norm
from (select distinct postcode from int_identity__located where postcode is not null)
