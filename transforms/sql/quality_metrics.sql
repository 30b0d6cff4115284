-- quality / valid_share, quarantined_rows, freshness_lag_days: per source validated in this run,
-- on the as-of date (not a metric_*.sql file: it reads the run's validation counts, quality_sources and
-- quality_rules, not the warehouse tables).
-- valid_share: accepted rows / rows read (dimension source, and `all`).
-- quarantined_rows: rows failing the rule / rows read (dimension source|rule; warn rules are counted too:
--   detail holds the rule's severity, only reject and critical rules send rows to quarantine).
-- freshness_lag_days: days between the source's newest record (contract `freshness` field) and the end
--   of the as-of date (numerator, denominator 1); detail `stale` when over the contract's max_lag_days.
with sources as (
    select * from quality_sources
),

rules as (
    select * from quality_rules
),

valid_share as (
    select 'valid_share' as metric, source as dimension, accepted as numerator, rows_in as denominator,
           status <> 'loaded' as held_back
    from sources
    union all
    select 'valid_share', 'all', sum(accepted), sum(rows_in), false
    from sources
    having count(*) > 0
),

by_rule as (
    select 'quarantined_rows' as metric, source || '|' || rule as dimension, failed as numerator,
           rows_in as denominator, severity
    from rules
),

freshness as (
    select 'freshness_lag_days' as metric, source as dimension, lag_days as numerator, 1 as denominator,
           case when stale then 'stale: more than ' || max_lag_days || ' days' end as detail
    from sources
    where freshness_field is not null and status = 'loaded'
),

final as (
    select 'quality' as family, metric, cast($as_of_date as date) as metric_date, dimension, numerator,
           denominator, case when held_back then 'held back' end as detail
    from valid_share
    union all
    select 'quality', metric, cast($as_of_date as date), dimension, numerator, denominator, severity
    from by_rule
    union all
    select 'quality', metric, cast($as_of_date as date), dimension, numerator, denominator, detail
    from freshness
)

select * from final
