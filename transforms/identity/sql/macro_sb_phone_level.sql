create or replace macro sb_phone_level(a, b) as
    case when a is null or b is null then null
         when a = b then 'exact'
         when damerau_levenshtein(a, b) <= 1 then 'close'
         else 'different' end
