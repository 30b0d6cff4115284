-- Contacts about the same product and topic by the same customer, each within $case_window_days days
-- of the previous one, form one case (across channels). A contact without any identifier is a customer
-- of its own in customer_identities, so it is a case of its own.
with tickets as (
    select
        t.*,
        i.customer_id,
        coalesce(json_array_length(t.transfers), 0) as transfer_count
    from kind_tickets as t
    left join customer_identities as i
        on i.system = t._source_system and i.entity = t._source_entity and i.record_id = t.record_id
),

sequenced as (
    select
        *,
        coalesce(customer_id, 'ticket:' || record_id) as case_owner,
        lag(created_at) over w as previous_contact_at
    from tickets
    window w as (partition by coalesce(customer_id, 'ticket:' || record_id), coalesce(sku, ''), coalesce(topic, '')
                 order by created_at, record_id)
),

numbered as (
    select
        *,
        sum(case when previous_contact_at is null
                   or created_at - previous_contact_at > to_days(cast($case_window_days as integer))
                 then 1 else 0 end)
            over (partition by case_owner, coalesce(sku, ''), coalesce(topic, '')
                  order by created_at, record_id rows unbounded preceding) as case_seq
    from sequenced
),

with_previous_channel as (
    select
        *,
        lag(channel) over (partition by case_owner, coalesce(sku, ''), coalesce(topic, ''), case_seq
                           order by created_at, record_id) as previous_channel
    from numbered
),

final as (
    select
        'S' || upper(substr(md5(first(record_id order by created_at, record_id)), 1, 16)) as case_id,
        any_value(customer_id) as customer_id,
        any_value(sku) as sku,
        any_value(topic) as topic,
        min(created_at) as opened_at,
        max(created_at) as last_contact_at,
        count(*) as contacts,
        list(record_id order by created_at, record_id) as ticket_ids,
        list(distinct channel order by channel) as channels,
        first(channel order by created_at, record_id) as first_channel,
        count(*) filter (where previous_channel is not null and channel <> previous_channel) as channel_switches,
        -- sums of integers as doubles, written out: DuckDB's sum is a HUGEINT, which its Parquet writer stores as
        -- a DOUBLE (Spark's is a BIGINT); the published type stays what it was
        cast(sum(transfer_count) as double) as transfers,
        -- every further contact and every transfer makes the customer identify themselves again
        cast((count(*) - 1) + sum(transfer_count) as double) as reidentifications,
        cast(sum(coalesce(wait_seconds, 0)) as double) as total_wait_seconds,
        last(status order by created_at, record_id) as status,
        max(resolved_at) filter (where status in ('resolved', 'closed')) as resolved_at,
        avg(csat) as avg_csat
    from with_previous_channel
    group by case_owner, coalesce(sku, ''), coalesce(topic, ''), case_seq
)

select
    *,
    -- minute boundaries crossed (DuckDB's date_diff), written so that Spark, which counts whole minutes elapsed, agrees
    date_diff('minute', date_trunc('minute', opened_at), date_trunc('minute', resolved_at)) / 60.0 as hours_to_resolution,
    contacts = 1 and status in ('resolved', 'closed') as first_contact_resolution
from final
order by opened_at, case_id
