-- metric: consistency/handoffs_per_case (per case, lower is better)
-- Per channel of the case's first contact and overall ("all"), over the cases of fct_support_cases
-- (contacts about the same product and topic within the case window, across channels). Numerator:
-- hand-offs, i.e. transfers between agents plus switches of contact channel within a case. Denominator:
-- cases. Value: average hand-offs per case.
--
-- metric: consistency/reidentifications_per_case (per case, lower is better)
-- Per first-contact channel and overall. Numerator: times customers had to identify themselves again
-- within a case (every contact after the first and every transfer between agents). Denominator: cases.
-- Value: average re-identifications per case.
--
-- metric: consistency/first_contact_resolution_rate (higher is better)
-- Per first-contact channel and overall. Numerator: resolved (or closed) cases that needed a single
-- contact. Denominator: resolved (or closed) cases.
--
-- metric: consistency/hours_to_resolution (hours, lower is better)
-- Per first-contact channel and overall. Numerator: hours from a case's first contact to its
-- resolution, summed over resolved (or closed) cases with a resolution time. Denominator: those cases.
-- Value: mean hours to resolution.
--
-- metric: consistency/wait_minutes_per_case (minutes, lower is better)
-- Per first-contact channel and overall. Numerator: minutes customers waited in queues, summed over all
-- contacts of all cases. Denominator: cases. Value: average total wait per case in minutes.
with cases as (
    select
        first_channel as channel,
        channel_switches + transfers as handoffs,
        reidentifications,
        total_wait_seconds,
        coalesce(status in ('resolved', 'closed'), false) as resolved,
        coalesce(first_contact_resolution, false) as first_contact_resolution,
        case when coalesce(status in ('resolved', 'closed'), false) then hours_to_resolution end as hours_to_resolution
    from fct_support_cases
),

per_channel as (
    select
        coalesce(channel, 'all') as dimension,
        count(*) as cases,
        sum(handoffs) as handoffs,
        sum(reidentifications) as reidentifications,
        count(*) filter (where first_contact_resolution) as first_contact_resolved,
        count(*) filter (where resolved) as resolved_cases,
        sum(total_wait_seconds) / 60.0 as wait_minutes,
        sum(hours_to_resolution) as resolution_hours,
        count(hours_to_resolution) as timed_cases
    from cases
    group by grouping sets ((channel), ())
),

final as (
    select 'handoffs_per_case' as metric, dimension, coalesce(handoffs, 0) as numerator, cases as denominator
    from per_channel
    union all
    select 'reidentifications_per_case', dimension, coalesce(reidentifications, 0), cases from per_channel
    union all
    select 'first_contact_resolution_rate', dimension, first_contact_resolved, resolved_cases from per_channel
    union all
    select 'hours_to_resolution', dimension, coalesce(resolution_hours, 0), timed_cases from per_channel
    union all
    select 'wait_minutes_per_case', dimension, coalesce(wait_minutes, 0), cases from per_channel
)

select
    'consistency' as family,
    metric,
    null::date as metric_date,
    dimension,
    numerator,
    denominator,
    null as detail
from final
order by metric, dimension
