-- Each identified customer's touchpoints across systems in time order, with the step number and what
-- changed since the previous step (channel, system, stage), for analysts to filter by customer, stage,
-- channel or system. Anonymous touchpoints (no customer) are left out; they stay in fct_touchpoints.
with touchpoints as (
    select * from fct_touchpoints where customer_id is not null
),

sequenced as (
    select
        customer_id,
        row_number() over w as step,
        occurred_at,
        occurred_date_local,
        journey_stage,
        touchpoint_type,
        channel,
        system,
        sku,
        amount,
        reference_id,
        touchpoint_id,
        lag(channel) over w as previous_channel,
        lag(system) over w as previous_system,
        lag(journey_stage) over w as previous_stage,
        -- seconds between the truncated times: DuckDB's date_diff counts boundaries crossed, Spark's whole
        -- seconds elapsed; on whole seconds both agree
        date_diff('second', date_trunc('second', lag(occurred_at) over w), date_trunc('second', occurred_at)) / 3600.0
            as hours_since_previous
    from touchpoints
    window w as (partition by customer_id order by occurred_at, touchpoint_id)
),

final as (
    select
        *,
        coalesce(channel <> previous_channel, false) as channel_changed,
        coalesce(system <> previous_system, false) as system_changed
    from sequenced
)

select * from final order by customer_id, step
