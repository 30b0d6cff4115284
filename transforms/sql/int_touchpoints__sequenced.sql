-- Every interaction of every customer across channels and systems, in one shape (orders, support
-- contacts and survey answers, email activity, web/app events and sign-ups; anonymous ones with a null
-- customer_id; the journey stage from configuration), each numbered within its customer in time order
-- with the previous step's channel, system, stage and time. fct_touchpoints and customer_journeys both
-- select from it in its order (customer, time): the rows are sorted once here, for both, instead of once
-- per model and once more for the journey's window.
with orders as (
    select
        system,
        -- an order none of whose lines is a sale (all cancelled or returned) is no purchase
        case when bool_or(is_sale) then 'order' else 'order_cancelled' end as touchpoint_type,
        order_id as reference_id,
        order_id as touchpoint_key,
        min(ordered_at) as occurred_at,
        -- an order's lines should agree; when they do not, the first line's, so that every run says the same
        first(channel order by line_no, _source_file, _row_number) as channel,
        first(customer_id order by line_no, _source_file, _row_number) as customer_id,
        case when count(distinct sku) = 1 then any_value(sku) end as sku,
        sum(line_amount) filter (where is_sale) as amount
    from fct_orders
    group by system, order_id
),

ticket_customers as (
    select t.*, i.customer_id
    from kind_tickets as t
    left join customer_identities as i
        on i.system = t._source_system and i.entity = t._source_entity and i.record_id = t.record_id
),

support_contacts as (
    select _source_system as system, 'support_contact' as touchpoint_type, record_id as reference_id,
           record_id as touchpoint_key,
           created_at as occurred_at, channel, customer_id, sku, null::decimal(18, 2) as amount
    from ticket_customers
),

surveys as (
    select _source_system as system, 'satisfaction_survey' as touchpoint_type, record_id as reference_id,
           record_id as touchpoint_key,
           coalesce(resolved_at, created_at) as occurred_at, channel, customer_id, sku, csat::decimal(18, 2) as amount
    from ticket_customers
    where csat is not null
),

-- one row per subscriber and per campaign, so that each email event is one touchpoint without a window over
-- the events, which sorted them all (the 197,460 email events at 100k customers: 0.77-0.92 -> 0.54-0.71 CPU s):
-- a subscriber id that several of the system's records hold (not devices) is the customer of the first entity
-- by name, as the window chose; a campaign id that several campaign exports hold names a sku only when they
-- agree on it (the window kept either row, not always the same one)
subscriber_customers as (
    select system, record_id, arg_min(customer_id, entity) as customer_id
    from customer_identities
    where entity <> 'devices'
    group by system, record_id
),

campaign_skus as (
    select campaign_id, case when count(distinct sku) = 1 then any_value(sku) end as sku
    from kind_campaigns
    group by campaign_id
),

email_activity as (
    select
        e._source_system as system,
        'email_' || e.event_type as touchpoint_type,
        e.campaign_id as reference_id,
        -- the event time as DuckDB's text of a UTC timestamp (2026-11-09 02:13:09.5+00), spelled out so that
        -- Spark, whose cast writes no offset, gives the same key
        concat_ws('|', e.campaign_id, e.subscriber_id, e.event_type,
                  regexp_replace(strftime(e.event_at, '%Y-%m-%d %H:%M:%S.%f'), '\.?0+$', '') || '+00') as touchpoint_key,
        e.event_at as occurred_at,
        'email' as channel,
        i.customer_id,
        c.sku,
        null::decimal(18, 2) as amount
    from kind_marketing_events as e
    left join subscriber_customers as i on i.system = e._source_system and i.record_id = e.subscriber_id
    left join campaign_skus as c on c.campaign_id = e.campaign_id
),

web_events as (
    select
        w._source_system as system,
        'web_' || w.event_type as touchpoint_type,
        w.event_id as reference_id,
        w.event_id as touchpoint_key,
        w.event_at as occurred_at,
        w.channel,
        i.customer_id,
        w.sku,
        null::decimal(18, 2) as amount
    from kind_web_events as w
    left join customer_identities as i
        on i.system = w._source_system and i.entity = 'devices' and i.record_id = w.device_id
),

signups as (
    select
        c._source_system as system,
        'signup' as touchpoint_type,
        c.record_id as reference_id,
        c._source_entity || '|' || c.record_id as touchpoint_key,
        c.created_at as occurred_at,
        c._source_system as channel,
        i.customer_id,
        null as sku,
        null::decimal(18, 2) as amount
    from kind_customers as c
    left join customer_identities as i
        on i.system = c._source_system and i.entity = c._source_entity and i.record_id = c.record_id
    where c.created_at is not null
),

-- explicit columns, not `union all by name` (which Spark lacks)
unioned as (
    select system, touchpoint_type, reference_id, touchpoint_key, occurred_at, channel, customer_id, sku, amount from orders
    union all select system, touchpoint_type, reference_id, touchpoint_key, occurred_at, channel, customer_id, sku, amount from support_contacts
    union all select system, touchpoint_type, reference_id, touchpoint_key, occurred_at, channel, customer_id, sku, amount from surveys
    union all select system, touchpoint_type, reference_id, touchpoint_key, occurred_at, channel, customer_id, sku, amount from email_activity
    union all select system, touchpoint_type, reference_id, touchpoint_key, occurred_at, channel, customer_id, sku, amount from web_events
    union all select system, touchpoint_type, reference_id, touchpoint_key, occurred_at, channel, customer_id, sku, amount from signups
),

touchpoints as (
    select
        'TP' || upper(substr(md5(concat_ws('|', u.system, u.touchpoint_type, u.touchpoint_key)), 1, 16)) as touchpoint_id,
        u.customer_id,
        u.occurred_at,
        cast(timezone($business_tz, u.occurred_at) as date) as occurred_date_local,
        u.channel,
        u.system,
        u.touchpoint_type,
        coalesce(j.journey_stage, 'unmapped') as journey_stage,
        u.reference_id,
        u.sku,
        u.amount
    from unioned as u
    left join journey_stages as j using (touchpoint_type)
),

final as (
    select
        *,
        row_number() over w as step,
        lag(channel) over w as previous_channel,
        lag(system) over w as previous_system,
        lag(journey_stage) over w as previous_stage,
        -- whole seconds between the two times, from the epoch: what date_diff('second') of the times
        -- truncated to the second gives (on DuckDB and Spark alike), without a time-zone calendar per row
        -- (date_trunc and date_diff on a timestamptz go through ICU: a third of this model's CPU)
        (floor(epoch(occurred_at)) - floor(epoch(lag(occurred_at) over w))) / 3600.0 as hours_since_previous
    from touchpoints
    window w as (partition by customer_id order by occurred_at, touchpoint_id)
)

select * from final order by customer_id nulls last, step
