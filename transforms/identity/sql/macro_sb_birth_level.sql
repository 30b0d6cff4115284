create or replace macro sb_birth_level(a, b) as
    case when a is null or b is null then null
         when a = b then 'exact'
         when damerau_levenshtein(strftime(a, '%Y%m%d'), strftime(b, '%Y%m%d')) <= 1
           or (year(a) = year(b) and month(a) = day(b) and day(a) = month(b)) then 'close'
         else 'different' end
