"""Stable customer ids: carry ids over from the previous run and record every change.

Rules (README "How customer ids stay stable"):
- a first run gives each cluster 'C' + the first 16 hex digits of md5 of its first record
  (system|entity|record_id in sort order), so the same inputs give the same ids;
- afterwards each previous id goes to the new cluster holding most of its records (ties: the cluster
  with the smallest first record), so a customer whose records did not change keeps its id and the
  largest part of a split keeps it;
- a cluster that receives several previous ids keeps the oldest (issued first; ties: smallest id) and
  the others become aliases of it ('merged');
- a cluster that receives none gets a new id ('new', or 'split' when its records had an id before);
- a record whose customer changed otherwise is 'moved'.

Inputs: `int_identity__clusters(node, label)`, `int_identity__records`, and, when there is a previous
version, `prev_identities(customer_id, system, entity, record_id)` and
`prev_id_map(customer_id, current_customer_id, status, issued_run_id, changed_run_id)`.
Outputs: `int_identity__assigned(rid, customer_id)`, `customer_id_map`, `int_identity__events` (this run's
rows of `customer_id_history`) and the change counts.
"""

from __future__ import annotations

import duckdb

EVENTS_COLUMNS = ("run_id", "event", "customer_id", "related_customer_id", "records", "detail")


class IdentityGateError(RuntimeError):
    """Too many customers changed in one run: the run must not publish."""


ASSIGN_SQL = """
create or replace table int_identity__cluster_records as
select c.label, r.rid, r.system || '|' || r.entity || '|' || r.record_id as record_key,
       p.customer_id as prev_id
from int_identity__clusters as c
join int_identity__records as r on r.rid = c.node
left join prev_identities as p using (system, entity, record_id);

create or replace table int_identity__anchor as
select label, min(record_key) as anchor, count(*) as records from int_identity__cluster_records group by label;

-- each previous id goes to the cluster that holds most of its records
create or replace table int_identity__claims as
with overlap as (
    select prev_id, label, count(*) as n from int_identity__cluster_records where prev_id is not null group by all
)
select o.prev_id, arg_max(o.label, [o.n, -a.anchor_rank]) as label
from overlap as o
join (select label, row_number() over (order by anchor) as anchor_rank from int_identity__anchor) as a using (label)
group by o.prev_id;

-- the oldest claimed id survives
create or replace table int_identity__survivors as
select c.label, arg_min(c.prev_id, [coalesce(m.issued_run_id, ''), c.prev_id]) as customer_id,
       list(c.prev_id order by c.prev_id) as claimed
from int_identity__claims as c
left join prev_id_map as m on m.customer_id = c.prev_id
group by c.label;

create or replace table int_identity__new_ids as
with fresh as (
    select a.label, a.anchor, 'C' || upper(substr(md5(a.anchor), 1, 16)) as candidate
    from int_identity__anchor as a
    where a.label not in (select label from int_identity__survivors)
)
select label,
       case when candidate in (select customer_id from prev_id_map)
            then 'C' || upper(substr(md5(anchor || '#' || $run_id), 1, 16))
            else candidate end as customer_id
from fresh;

create or replace table int_identity__label_ids as
select label, customer_id, true as carried from int_identity__survivors
union all
select label, customer_id, false from int_identity__new_ids;

create or replace table int_identity__assigned as
select r.rid, l.customer_id
from int_identity__cluster_records as r join int_identity__label_ids as l using (label);
"""

EVENTS_SQL = """
create or replace table int_identity__events as
with prev_records as (
    select prev_id, count(*) as records from int_identity__cluster_records where prev_id is not null group by prev_id
),
label_prev as (
    select label, prev_id, count(*) as n from int_identity__cluster_records where prev_id is not null group by all
),
merged as (
    select $run_id as run_id, 'merged' as event, unnest(list_filter(claimed, lambda x: x <> customer_id)) as customer_id,
           customer_id as related_customer_id
    from int_identity__survivors
),
merged_counts as (
    select m.*, coalesce(p.records, 0) as records, 'alias of ' || m.related_customer_id as detail
    from merged as m left join prev_records as p on p.prev_id = m.customer_id
),
fresh as (
    -- a new cluster split off the previous id it holds most records of, if any
    select n.label, n.customer_id, a.records, first(lp.prev_id order by lp.n desc, lp.prev_id) as split_from
    from int_identity__new_ids as n
    join int_identity__anchor as a using (label)
    left join label_prev as lp using (label)
    group by n.label, n.customer_id, a.records
),
moved as (
    -- records that had a customer before and now belong to another surviving customer
    select r.rid, r.prev_id, l.customer_id
    from int_identity__cluster_records as r
    join int_identity__label_ids as l using (label)
    left join int_identity__survivors as s on list_contains(s.claimed, r.prev_id)
    where l.carried and r.prev_id is not null and l.customer_id <> r.prev_id
      and coalesce(s.customer_id, '') <> l.customer_id
),
removed as (
    select m.customer_id from prev_id_map as m
    where m.status = 'active' and m.customer_id not in (select prev_id from int_identity__claims)
)
select run_id, event, customer_id, related_customer_id, records, detail from merged_counts
union all
select $run_id, case when split_from is null then 'new' else 'split' end, customer_id, split_from, records,
       case when split_from is null then null else 'split off ' || split_from end
from fresh
union all
select $run_id, 'moved', customer_id, prev_id, count(*), 'records moved from ' || prev_id
from moved group by customer_id, prev_id
union all
select $run_id, 'removed', customer_id, null, 0, 'no records left in any source' from removed
"""

MAP_SQL = """
create or replace table customer_id_map as
with current_ids as (
    select distinct customer_id from int_identity__label_ids
),
prev as (
    select * from prev_id_map
),
merged_now as (
    select customer_id, related_customer_id from int_identity__events where event = 'merged'
),
removed_now as (
    select customer_id from int_identity__events where event = 'removed'
),
carried as (
    -- every id issued before: active ids stay active, new aliases point at their survivor, older
    -- aliases follow their target when that target was merged tonight
    select p.customer_id,
           case when m.customer_id is not null then m.related_customer_id
                when p.status = 'merged' then coalesce(m2.related_customer_id, p.current_customer_id)
                else p.customer_id end as current_customer_id,
           case when m.customer_id is not null then 'merged'
                when r.customer_id is not null then 'removed'
                else p.status end as status,
           p.issued_run_id,
           case when m.customer_id is not null or r.customer_id is not null
                  or (p.status = 'merged' and m2.customer_id is not null) then $run_id
                else p.changed_run_id end as changed_run_id
    from prev as p
    left join merged_now as m on m.customer_id = p.customer_id
    left join merged_now as m2 on m2.customer_id = p.current_customer_id
    left join removed_now as r on r.customer_id = p.customer_id
),
issued as (
    select customer_id, customer_id as current_customer_id, 'active' as status, $run_id as issued_run_id,
           $run_id as changed_run_id
    from current_ids where customer_id not in (select customer_id from prev)
)
select * from carried union all select * from issued
order by customer_id
"""


def assign_customer_ids(con: duckdb.DuckDBPyConnection, run_id: str, has_previous: bool) -> dict[str, int]:
    """Assign ids to this run's clusters; build `customer_id_map` and this run's events; return counts."""
    if not has_previous:
        con.execute("create or replace table prev_identities (customer_id varchar, system varchar, "
                    "entity varchar, record_id varchar)")
        con.execute("create or replace table prev_id_map (customer_id varchar, current_customer_id varchar, "
                    "status varchar, issued_run_id varchar, changed_run_id varchar)")
    for statement in ASSIGN_SQL.split(";\n"):
        if statement.strip():
            con.execute(statement, {"run_id": run_id} if "$run_id" in statement else None)
    con.execute(EVENTS_SQL, {"run_id": run_id})
    con.execute(MAP_SQL, {"run_id": run_id})
    counts = dict(con.execute("select event, count(*) from int_identity__events group by event").fetchall())
    previous = con.execute("select count(*) from prev_id_map where status = 'active'").fetchall()[0][0]
    changed = con.execute("""
        select count(distinct id) from (
            select customer_id as id from int_identity__events where event in ('merged', 'removed')
            union all select related_customer_id from int_identity__events where event in ('merged', 'split')
            union all select customer_id from int_identity__events where event = 'moved'
            union all select related_customer_id from int_identity__events where event = 'moved')
        where id in (select customer_id from prev_id_map where status = 'active')""").fetchall()[0][0]
    customers = con.execute("select count(distinct customer_id) from int_identity__label_ids").fetchall()[0][0]
    return {
        "customers": customers,
        "previous_customers": previous,
        "new": counts.get("new", 0),
        "merged": counts.get("merged", 0),
        "split": counts.get("split", 0),
        "moved": counts.get("moved", 0),
        "removed": counts.get("removed", 0),
        "changed": changed,
        "unchanged": previous - changed,
    }


def check_stability(counts: dict[str, int], max_changed_share: float, min_customers: int) -> None:
    """Raise IdentityGateError when more than `max_changed_share` of the previous customers changed."""
    previous = counts["previous_customers"]
    if previous < max(min_customers, 1):
        return
    share = counts["changed"] / previous
    if share > max_changed_share:
        raise IdentityGateError(
            f"identity gate: {counts['changed']:,} of {previous:,} customers ({share:.1%}) would change in this "
            f"run (merged {counts['merged']}, split {counts['split']}, records moved {counts['moved']}, "
            f"removed {counts['removed']}); the limit is {max_changed_share:.0%} "
            "(identity.stability.max_changed_share). A broken export can do this: check tonight's files. "
            "If the change is expected, raise the limit or run with --accept-identity-changes.")
