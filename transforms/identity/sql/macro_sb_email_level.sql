create or replace macro sb_email_level(a, b) as
    case when a is null or b is null then null
         when a = b then 'exact'
         when split_part(a, '@', 1) = split_part(b, '@', 1) or damerau_levenshtein(a, b) <= 2 then 'close'
         else 'different' end
