-- Each identified customer's touchpoints across systems in time order, with the step number and what
-- changed since the previous step (channel, system, stage), for analysts to filter by customer, stage,
-- channel or system. Anonymous touchpoints (no customer) are left out; they stay in fct_touchpoints.
-- Numbered in int_touchpoints__sequenced, whose row order (customer, then step) it keeps.
with touchpoints as (
    select * from int_touchpoints__sequenced where customer_id is not null
),

final as (
    select
        customer_id,
        step,
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
        previous_channel,
        previous_system,
        previous_stage,
        hours_since_previous,
        coalesce(channel <> previous_channel, false) as channel_changed,
        coalesce(system <> previous_system, false) as system_changed
    from touchpoints
)

select * from final
