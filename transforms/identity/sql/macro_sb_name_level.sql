create or replace macro sb_name_level(a, ap, b, bp, close) as
    case when a is null or b is null then null
         when ap or bp then
             case when (ap and bp and a = b)
                    or (ap and not bp and sb_part_of(a, b))
                    or (bp and not ap and sb_part_of(b, a))
                  then 'partial' else 'different' end
         when a = b then 'exact'
         -- close: a typo (similar overall AND at most 2 edits, i.e. one Chinese character, which is 3 bytes
         -- to DuckDB's byte-wise edit distance: a shared family name at the front of "campbell edward" /
         -- "campbell jessica" makes Jaro-Winkler high on its own), or the same characters in another order
         when (jaro_winkler_similarity(a, b) >= close
               and damerau_levenshtein(a, b) <= case when regexp_matches(a, '\p{Han}') then 3 else 2 end)
           or sb_chars(a) = sb_chars(b) then 'close'
         else 'different' end
