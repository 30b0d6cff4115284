"""Benchmark the journey models and each metric family at a given number of customers (default 1 million).

Usage (from the repository root):

    .venv/bin/python tests/benchmarks/bench_metrics.py [--customers 1000000] [--threads 2] [--memory-limit 6GB]

What it does, all in one in-memory DuckDB connection set up like the pipeline's (flows.db.Database.connect):
  1. synthesises the staged kind tables (kind_customers, kind_order_lines, kind_tickets, ...) for N persons
     in SQL (deterministic, hash-based; no demo generator, which is too slow at this size): CRM contacts
     for 60% of persons, shop accounts 50%, loyalty members 50%, email subscribers 50%, 2 order lines
     per person (60% shop, 40% store), 0.4 tickets per person (some repeats within a week), 3 email
     events and 2 analytics events per person, 50 campaigns, 2,000 SKUs x 4 channel prices, 10 policies;
     5% of CRM contacts carry another email than the shop (contact data disagreement);
  2. resolves identities (transforms.identity.resolve_customers) and builds every model
     (transforms.model.build_models), timed as the preparation the metrics need;
  3. runs every metric file (transforms.model.insert_metric) once, timed, and sums the times per family
     (the family of each file comes from its definition header).
Printed: rows per kind table, seconds per model, seconds and metric rows per metric file, seconds per
family, and the process's peak RSS. Not a pytest test (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from flows.config import load_config  # noqa: E402
from transforms.config import IdentityConfig, MetricsConfig  # noqa: E402
from flows.db import Database  # noqa: E402
from flows.warehouse.staged import empty_kind_sql  # noqa: E402
from transforms.identity import register_udfs, resolve_customers  # noqa: E402
from transforms.model import (  # noqa: E402
    INTERMEDIATE, MODELS, bind, insert_metric, load_sql, metric_definitions, metric_names, register_survivorship,
)
from connectors.schemas import KINDS  # noqa: E402

AS_OF = "2026-11-20"
WINDOW_START = "timestamptz '2026-10-21 00:00:00+00'"

# One INSERT per kind; $n = persons. Person p's identifiers: email p<p>@ex.tw, phone 09<8 digits>,
# login U<p>, loyalty L<p>. h(x, salt) is a deterministic pseudo-random non-negative integer.
SYNTH = {
    "customers": [
        # CRM: 60% of persons; 5% state another email than the shop has
        """select 'crm' as _source_system, 'contacts' as _source_entity, 'C' || p as record_id, 'B2C' as account_type,
                  case when h(p, 'alt') % 20 = 0 then 'alt' || p || '@ex.tw' else 'p' || p || '@ex.tw' end as email,
                  '09' || lpad(cast(p % 100000000 as varchar), 8, '0') as phone, 'Taipei' as city,
                  {start} + to_seconds(cast(h(p, 'c') % 2592000 as bigint)) as created_at
           from range($n) as t(p) where p % 10 < 6""",
        """select 'shop' as _source_system, 'customers' as _source_entity, 'U' || p as record_id,
                  'p' || p || '@ex.tw' as email, {start} + to_seconds(cast(h(p, 's') % 2592000 as bigint)) as created_at,
                  'U' || p as login_id
           from range($n) as t(p) where p % 10 between 3 and 7""",
        """select 'pos' as _source_system, 'members' as _source_entity, 'M' || p as record_id,
                  '09' || lpad(cast(p % 100000000 as varchar), 8, '0') as phone,
                  {start} + to_seconds(cast(h(p, 'm') % 2592000 as bigint)) as created_at, 'L' || p as loyalty_id
           from range($n) as t(p) where p % 10 in (0, 1, 2, 8, 9)""",
        """select 'marketing' as _source_system, 'subscribers' as _source_entity, 'S' || p as record_id,
                  'p' || p || '@ex.tw' as email, {start} + to_seconds(cast(h(p, 'k') % 2592000 as bigint)) as created_at
           from range($n) as t(p) where p % 2 = 0""",
    ],
    "order_lines": [
        # shop lines by shop persons (p % 10 in 3..7), store lines by members (p % 10 in 0,1,2,8,9)
        """select 'shop' as _source_system, 'orders' as _source_entity, 'O' || j as order_id, 1 as line_no,
                  {start} + to_seconds(cast(h(j, 't') % 2592000 as bigint)) as ordered_at,
                  ['web', 'ios', 'android'][1 + h(j, 'ch') % 3] as channel,
                  'U' || ((h(j, 'p') % ($n // 10)) * 10 + 3 + h(j, 'q') % 5) as login_id,
                  'SKU-' || lpad(cast(h(j, 'sku') % 2000 as varchar), 4, '0') as sku, 1 as quantity,
                  100.00 as unit_list_price, case when h(j, 'd') % 10 = 0 then 90.00 else 100.00 end as unit_price_paid,
                  case when h(j, 'd') % 10 = 0 then 'CODE' || (h(j, 'k') % 50) end as discount_code, 'TWD' as currency
           from range(cast($n * 1.2 as bigint)) as t(j)""",
        """select 'pos' as _source_system, 'transactions' as _source_entity, 'P' || j as order_id, 1 as line_no,
                  {start} + to_seconds(cast(h(j, 't') % 2592000 as bigint)) as ordered_at, 'store' as channel,
                  'SKU-' || lpad(cast(h(j, 'sku') % 2000 as varchar), 4, '0') as sku, 1 as quantity,
                  100.00 as unit_list_price, 100.00 as unit_price_paid, 'TWD' as currency,
                  'L' || ((h(j, 'p') % ($n // 10)) * 10 + [0, 1, 2, 8, 9][1 + h(j, 'q') % 5]) as loyalty_id
           from range(cast($n * 0.8 as bigint)) as t(j)""",
    ],
    "tickets": [
        # 0.4 per person; a third of them repeat an earlier ticket's person/product/topic a few days later
        """with base as (
               select j, case when j % 3 = 2 then j - 1 else j end as g from range(cast($n * 0.4 as bigint)) as t(j)
           )
           select 'support' as _source_system, 'tickets' as _source_entity, 'T' || j as record_id,
                  {start} + to_seconds(cast(h(g, 't') % 2332800 as bigint) + (j - g) * 259200) as created_at,
                  ['phone', 'chat', 'email', 'chatbot'][1 + h(j, 'ch') % 4] as channel,
                  case when h(j, 'a') % 10 < 8 then 'p' || (h(g, 'p') % $n) || '@ex.tw' end as email,
                  ['delivery', 'return', 'defect', 'billing', 'product_question'][1 + h(g, 'tp') % 5] as topic,
                  'SKU-' || lpad(cast(h(g, 'sku') % 2000 as varchar), 4, '0') as sku,
                  ['resolved', 'closed', 'open', 'pending'][1 + h(j, 'st') % 4] as status,
                  case when h(j, 'tr') % 4 = 0 then '[{{"from_agent": "A1", "to_agent": "A2"}}]' else '[]' end as transfers,
                  cast(h(j, 'w') % 900 as integer) as wait_seconds,
                  case when h(j, 'cs') % 3 = 0 then cast(1 + h(j, 'cv') % 5 as integer) end as csat,
                  case when h(j, 'st') % 4 < 2
                       then {start} + to_seconds(cast(h(g, 't') % 2332800 as bigint) + (j - g) * 259200 + 3600 * (1 + h(j, 'r') % 48)) end as resolved_at
           from base""",
    ],
    "campaigns": [
        """select 'marketing' as _source_system, 'campaigns' as _source_entity, 'K' || k as campaign_id,
                  'CODE' || k as promo_code, 'SKU-' || lpad(cast(k * 40 as varchar), 4, '0') as sku,
                  ['web', 'ios', 'android', 'store'] as valid_channels,
                  date '2026-10-21' as valid_from, date '2026-11-20' as valid_to
           from range(50) as t(k)""",
    ],
    "marketing_events": [
        """select 'marketing' as _source_system, 'activity' as _source_entity, 'K' || (j % 50) as campaign_id,
                  'S' || (2 * (h(j, 's') % ($n // 2))) as subscriber_id,
                  ['sent', 'sent', 'open', 'click'][1 + h(j, 'e') % 4] as event_type,
                  {start} + to_seconds(cast(j % 2592000 as bigint)) as event_at,
                  'marketing/activity.csv' as _source_file, j + 1 as _row_number
           from range(cast($n * 3 as bigint)) as t(j)""",
    ],
    "web_events": [
        """select 'analytics' as _source_system, 'events' as _source_entity, 'E' || j as event_id,
                  {start} + to_seconds(cast(h(j, 't') % 2592000 as bigint)) as event_at,
                  'd' || (h(j, 'd') % ($n * 8 // 10)) as device_id,
                  case when (h(j, 'd') % ($n * 8 // 10)) % 2 = 0
                       then 'U' || (((h(j, 'd') % ($n * 8 // 10)) // 10) * 10 + 3 + (h(j, 'd') % ($n * 8 // 10)) % 5) end as login_id,
                  ['page_view', 'product_view', 'search', 'add_to_cart', 'checkout'][1 + h(j, 'e') % 5] as event_type,
                  ['web', 'ios', 'android'][1 + h(j, 'c') % 3] as channel
           from range(cast($n * 2 as bigint)) as t(j)""",
    ],
    "prices": [
        """select 'erp' as _source_system, 'prices' as _source_entity, 'SKU-' || lpad(cast(s as varchar), 4, '0') as sku, c as channel,
                  case when s % 100 = 0 and c = 'store' then 110.00 else 100.00 end as price, 'TWD' as currency,
                  date '2025-01-01' as valid_from
           from range(2000) as t(s), unnest(['web', 'ios', 'android', 'store']) as u(c)""",
    ],
    "policies": [
        """select 'erp' as _source_system, 'policies' as _source_entity,
                  case k when 0 then 'online_order_return_in_store' when 1 then 'warranty_months'
                         else 'policy_' || k end as policy, c as channel,
                  case when k < 2 and c = 'store' then 'no' else 'yes' end as value, date '2025-01-01' as valid_from
           from range(10) as t(k), unnest(['web', 'ios', 'android', 'store']) as u(c)""",
    ],
}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthesise(con, n: int) -> dict[str, int]:
    """Create and fill the kind_* tables for n persons; return rows per kind."""
    rows = {}
    con.execute("create or replace macro h(a, b) as cast(hash(a, b) % 1000000007 as bigint)")
    for kind in KINDS:
        con.execute(f"create or replace table kind_{kind} as {empty_kind_sql(kind)}")
        for sql in SYNTH.get(kind, []):
            con.execute(f"insert into kind_{kind} by name {sql.format(start=WINDOW_START)}", {"n": n} if "$n" in sql else {})
        rows[kind] = con.execute(f"select count(*) from kind_{kind}").fetchall()[0][0]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GB")
    args = parser.parse_args()

    cfg = load_config(REPO / "data" / "sources.yaml")
    metrics_cfg: MetricsConfig = cfg.metrics
    con = Database.connect(args.threads, args.memory_limit)._con  # the benchmark builds its own tables with DuckDB
    identity = IdentityConfig(**cfg.identity.model_dump())
    db = Database(con, step="bench")
    register_udfs(db, "bench-key", identity)
    con.execute("create table source_regions (system varchar, region varchar)")
    con.execute("create table source_postcode_keys (system varchar, entity varchar, postcode_key_length integer)")
    con.execute("create table journey_stages (touchpoint_type varchar, journey_stage varchar)")
    for tp, stage in sorted(cfg.journey_stages.items()):
        con.execute("insert into journey_stages values ($t, $s)", {"t": tp, "s": stage})
    register_survivorship(db, identity.survivorship)
    con.execute("create table policy_topics (policy varchar, topic varchar)")
    for policy, topic in sorted(metrics_cfg.policy_topics.items()):
        con.execute("insert into policy_topics values ($p, $t)", {"p": policy, "t": topic})

    print(f"silobridge metric benchmark: {args.customers:,} persons, DuckDB threads={args.threads}, "
          f"memory_limit={args.memory_limit}")
    t = time.perf_counter()
    kinds = synthesise(con, args.customers)
    print(f"\nsynthesised kind tables in {time.perf_counter() - t:.1f}s: "
          + ", ".join(f"{k} {v:,}" for k, v in kinds.items()))

    t = time.perf_counter()
    counts = resolve_customers(db, identity, "bench")
    print(f"identity resolution: {time.perf_counter() - t:.1f}s ({counts['identity_records']:,} records -> "
          f"{counts['customers']:,} customers)")

    params = {"run_id": "bench", "as_of_date": AS_OF, "business_tz": metrics_cfg.business_timezone,
              "case_window_days": metrics_cfg.case_window_days, "repeat_contact_days": metrics_cfg.repeat_contact_days,
              "lookback_days": metrics_cfg.lookback_days, "feedback_days": metrics_cfg.feedback_days,
              "complaint_topics": metrics_cfg.complaint_topics,
              "complete_360_systems": metrics_cfg.complete_360_systems,
              "integrated_min_share": metrics_cfg.integrated_min_share}
    print("\nmodels (journeys and cases; every metric reads them)")
    for name in MODELS:
        t = time.perf_counter()
        rows = build_models_one(con, name, params)
        print(f"  {name:<28} {time.perf_counter() - t:6.1f}s  {rows:>12,} rows")

    con.execute("""create or replace table metrics (
        run_id varchar, as_of_date date, metric_date date, family varchar, metric varchar, dimension varchar,
        numerator double, denominator double, value double, detail varchar)""")
    defs = metric_definitions()
    family_of = {d["file"][:-4]: d["family"] for d in defs.values()}
    per_family: dict[str, float] = {}
    print("\nmetric files")
    for name in metric_names():
        before = con.execute("select count(*) from metrics").fetchall()[0][0]
        t = time.perf_counter()
        insert_metric(db, name, params)
        seconds = time.perf_counter() - t
        after = con.execute("select count(*) from metrics").fetchall()[0][0]
        per_family[family_of[name]] = per_family.get(family_of[name], 0.0) + seconds
        print(f"  {family_of[name]:<12} {name:<38} {seconds:6.2f}s  {after - before:>6,} rows")
    print("\nper family: " + ", ".join(f"{f} {s:.1f}s" for f, s in sorted(per_family.items())))
    print(f"peak RSS of the process: {_peak_mib():,.0f} MiB")
    con.close()


def build_models_one(con, name: str, params: dict) -> int:
    """Build one model, after the intermediate tables it reads (the same SQL and order as
    transforms.model.build_models); return its rows."""
    for table in (*INTERMEDIATE.get(name, ()), name):
        sql = load_sql(table)
        con.execute(f"create or replace table {table} as {sql}", bind(sql, params))
    return con.execute(f"select count(*) from {name}").fetchall()[0][0]


if __name__ == "__main__":
    main()
