create or replace macro sb_chars(x) as list_sort(string_split(replace(x, ' ', ''), ''))
