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

from transforms.database import Database
from transforms.identity.tables import build

EVENTS_COLUMNS = ("run_id", "event", "customer_id", "related_customer_id", "records", "detail")
# in order: clusters -> previous ids claimed -> survivors -> new ids -> record assignment
ASSIGN_TABLES = ("int_identity__cluster_records", "int_identity__anchor", "int_identity__claims",
                 "int_identity__survivors", "int_identity__new_ids", "int_identity__label_ids",
                 "int_identity__assigned")

# previous customers whose records changed customer in this run (ids merged away, split, removed, or
# losing or gaining records)
CHANGED_SQL = """
select count(distinct id) from (
    select customer_id as id from int_identity__events where event in ('merged', 'removed')
    union all select related_customer_id from int_identity__events where event in ('merged', 'split')
    union all select customer_id from int_identity__events where event = 'moved'
    union all select related_customer_id from int_identity__events where event = 'moved')
where id in (select customer_id from prev_id_map where status = 'active')"""


class IdentityGateError(RuntimeError):
    """Too many customers changed in one run: the run must not publish."""


def assign_customer_ids(db: Database, run_id: str, has_previous: bool) -> dict[str, int]:
    """Assign ids to this run's clusters; build `customer_id_map` and this run's events; return counts."""
    if not has_previous:
        db.run("customer_ids.prev_identities empty", "create or replace table prev_identities "
               "(customer_id varchar, system varchar, entity varchar, record_id varchar)")
        db.run("customer_ids.prev_id_map empty", "create or replace table prev_id_map (customer_id varchar, "
               "current_customer_id varchar, status varchar, issued_run_id varchar, changed_run_id varchar)")
    params = {"run_id": run_id}
    for table in (*ASSIGN_TABLES, "int_identity__events", "customer_id_map"):
        build(db, table, params)
    counts = dict(db.rows("customer_ids.event counts", "select event, count(*) from int_identity__events group by event"))
    previous = db.scalar("customer_ids.previous", "select count(*) from prev_id_map where status = 'active'")
    changed = db.scalar("customer_ids.changed", CHANGED_SQL)
    customers = db.scalar("customer_ids.customers", "select count(distinct customer_id) from int_identity__label_ids")
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
