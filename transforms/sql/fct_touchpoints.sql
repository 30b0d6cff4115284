-- Every interaction of every customer across channels and systems, in one shape: orders, support
-- contacts and survey answers, email activity, web/app events and sign-ups. Anonymous interactions
-- (no customer) are kept with a null customer_id. The journey stage comes from configuration.
-- Built in int_touchpoints__sequenced, whose row order (customer, then time) it keeps.
with sequenced as (
    select * from int_touchpoints__sequenced
),

final as (
    select
        touchpoint_id,
        customer_id,
        occurred_at,
        occurred_date_local,
        channel,
        system,
        touchpoint_type,
        journey_stage,
        reference_id,
        sku,
        amount
    from sequenced
)

select * from final
