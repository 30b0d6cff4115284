create or replace macro sb_exact_level(a, b) as
    case when a is null or b is null then null when a = b then 'exact' else 'different' end
