-- Staged rows of each source against its rows in the models, for the reconciliation past staging
-- (flows.steps.policy.check_models_reconcile): an order line is one row of fct_orders, a customer record
-- or a ticket one row of customer_identities, a web or marketing event one touchpoint (per system: the
-- touchpoints do not name the entity). Reference kinds (products, prices, campaigns, policies) are joined
-- by the models, not held row for row, and are not listed. merged: rows folded into another with a reason.
with staged as (
    select 'order_lines' as kind, _source_system as system, _source_entity as entity, count(*) as staged
    from kind_order_lines group by all
    union all
    select 'customers', _source_system, _source_entity, count(*) from kind_customers group by all
    union all
    select 'tickets', _source_system, _source_entity, count(*) from kind_tickets group by all
    union all
    select 'web_events', _source_system, '*', count(*) from kind_web_events group by all
    union all
    select 'marketing_events', _source_system, '*', count(*) from kind_marketing_events group by all
),

touchpoints as (
    -- one pass over the touchpoints (millions of rows) for both counts
    select
        system,
        count(*) filter (where touchpoint_type like 'web\_%' escape '\') as web,
        count(*) filter (where touchpoint_type like 'email\_%' escape '\') as email
    from fct_touchpoints
    group by system
),

modelled as (
    select 'fct_orders' as model, system, entity, count(*) as modelled from fct_orders group by all
    union all
    select 'customer_identities', system, entity, count(*) from customer_identities
    where entity <> 'devices' group by all
    union all
    select 'fct_touchpoints', system, '*', web from touchpoints
    union all
    select 'fct_touchpoints:email', system, '*', email from touchpoints
),

final as (
    select
        s.kind,
        s.system,
        s.entity,
        case s.kind when 'order_lines' then 'fct_orders'
                    when 'web_events' then 'fct_touchpoints'
                    when 'marketing_events' then 'fct_touchpoints'
                    else 'customer_identities' end as model,
        s.staged,
        coalesce(m.modelled, 0) as modelled,
        0 as merged,
        map()::map(varchar, bigint) as merged_reasons
    from staged as s
    left join modelled as m
        on m.system = s.system and m.entity = s.entity
        and m.model = case s.kind when 'order_lines' then 'fct_orders'
                                  when 'web_events' then 'fct_touchpoints'
                                  when 'marketing_events' then 'fct_touchpoints:email'
                                  else 'customer_identities' end
)

select * from final order by kind, system, entity
