select phone, region, sb_phone(phone, region) as phone_norm
from (select distinct phone, region from int_identity__located where phone is not null)
