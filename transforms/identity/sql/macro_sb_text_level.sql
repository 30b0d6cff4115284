create or replace macro sb_text_level(a, b, close) as
    case when a is null or b is null then null
         when a = b then 'exact'
         when jaro_winkler_similarity(a, b) >= close then 'close'
         else 'different' end
