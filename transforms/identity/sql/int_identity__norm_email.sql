select email, sb_email(email) as email_norm
from (select distinct email from int_identity__located where email is not null)
