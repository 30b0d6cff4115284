create or replace macro sb_part_of(part, whole) as (
    -- a given name alone (marketing's first name) against a full name: a word of it, the end of a Chinese
    -- name, a 2+ character run inside it, or the same characters
    contains(' ' || whole || ' ', ' ' || part || ' ')
    or (regexp_matches(part, '\p{Han}') and (ends_with(whole, part) or (length(part) >= 2 and contains(whole, part))
                                             or sb_chars(part) = sb_chars(substr(whole, 2))))
    or sb_chars(part) = sb_chars(whole)
)
