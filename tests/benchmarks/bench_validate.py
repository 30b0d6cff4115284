"""Benchmark validation (typing + the GX contract suite + quarantine) against DuckDB's own scan of the same data.

Usage (from the repository root):

    .venv/bin/python tests/benchmarks/bench_validate.py [--rows 10000000] [--keep DIR]

What it does:
  1. writes <rows> shop order lines as the extract step leaves them (raw/shop__orders.parquet: every value
     text, canonical field names, lineage columns), with one bad row in 1,000 (negative quantity, unknown currency, unknown SKU,
     duplicate key, timestamp in the future), and a 200-SKU product list for the relation;
  2. in a child process each (so that peak RSS is each one's own):
     - scan:     DuckDB reads the raw Parquet and aggregates every column (count, count distinct of the
                 key, min/max of each column): DuckDB's own scan of the same data;
     - typing:   the staging SQL alone (transforms.stage.typed_sql into a table), no GX;
     - validate: flows.steps.validate.validate_step on that raw file with the repository's shop__orders contract
                 (typing, the GX suite evaluated in one SQL pass, quarantine, staging Parquet, Data Docs);
  3. prints seconds, peak RSS (ru_maxrss of the child) and the ratio to the scan.

Not a pytest test (the file name does not match test_*.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RAW_SQL = """
copy (
    select
        'O' || lpad(cast(case when i % 1000 = 4 then i - 1 else i end as varchar), 9, '0') as order_id,
        '1' as line_no,
        strftime(timestamp '2026-10-21 00:00:00' + to_seconds(i % 2592000)
                 + case when i % 1000 = 5 then interval 400 day else interval 0 day end, '%Y-%m-%dT%H:%M:%S') || '+08:00' as ordered_at,
        ['web', 'ios', 'android'][1 + i % 3] as channel,
        'U' || lpad(cast(i % 200000 as varchar), 7, '0') as login_id,
        case when i % 1000 = 3 then 'SKU-9999' else 'SKU-' || lpad(cast(i % 200 as varchar), 4, '0') end as sku,
        case when i % 1000 = 1 then '-1' else cast(1 + i % 5 as varchar) end as quantity,
        cast(100 + i % 900 as varchar) || '.00' as unit_list_price,
        cast(90 + i % 900 as varchar) || '.00' as unit_price_paid,
        case when i % 7 = 0 then 'PROMO' || (i % 10) end as discount_code,
        case when i % 1000 = 2 then 'USD' else 'TWD' end as currency,
        'shop' as _source_system, 'orders' as _source_entity, 'shop/orders.csv' as _source_file,
        cast(i as bigint) as _row_number
    from range(1, $rows + 1) t(i)
) to '{path}' (format parquet, compression zstd)
"""

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
mode, root = sys.argv[2], Path(sys.argv[3])
start = time.perf_counter()
out = {}
if mode == "scan":
    import duckdb
    con = duckdb.connect(); con.execute("set threads = 2")
    cols = [r[0] for r in con.execute("describe select * from read_parquet($p)", {"p": str(root / "raw" / "shop__orders.parquet")}).fetchall()]
    aggs = ", ".join(f'min("{c}"), max("{c}"), count("{c}")' for c in cols)
    con.execute(f"select count(*), count(distinct order_id), {aggs} from read_parquet($p)", {"p": str(root / "raw" / "shop__orders.parquet")}).fetchall()
elif mode == "typing":
    from flows.db import Database, parquet_source
    from flows.config import load_config
    from transforms.stage import typed_sql
    src = next(s for s in load_config(root / "sources.yaml").sources if s.name == "shop__orders")
    db = Database.connect()
    db.view_over_parquet("raw", root / "raw" / "shop__orders.parquet")
    db.run("rel_sku", "create view rel_sku as select sku as value from " + parquet_source(root / "products.parquet"))
    sql, params = typed_sql(src, relations={"sku": "rel_sku"})
    db.run("typed", f"create table typed as {sql}", params)
    out["rows"] = db.count("typed")
else:
    from datetime import date
    from flows.steps.spec import RunSpec
    from flows.steps.validate import validate_step
    spec = RunSpec(run_id="bench", run_date=date(2026, 11, 20), run_dir=root / "run", exports_dir=root,
                            warehouse_dir=root / "warehouse", state_dir=root / "state", config_path=root / "sources.yaml",
                            sources=["shop__orders"])
    v = validate_step(spec)["shop__orders"]
    out = {k: v[k] for k in ("rows_in", "accepted", "quarantined", "held_back", "rules")}
out["seconds"] = round(time.perf_counter() - start, 2)
out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def prepare(root: Path, rows: int) -> None:
    import duckdb
    import yaml

    (root / "run" / "raw").mkdir(parents=True, exist_ok=True)
    (root / "raw").mkdir(exist_ok=True)
    cfg = yaml.safe_load((REPO / "data" / "sources.yaml").read_text(encoding="utf-8"))
    orders = next(s for s in cfg["sources"] if s["system"] == "shop" and s["entity"] == "orders")
    products = next(s for s in cfg["sources"] if s["system"] == "erp" and s["entity"] == "products")
    (root / "sources.yaml").write_text(yaml.safe_dump({"sources": [products, orders]}), encoding="utf-8")
    con = duckdb.connect()
    con.execute("set threads = 2")
    raw = root / "raw" / "shop__orders.parquet"
    con.execute(RAW_SQL.replace("{path}", str(raw)), {"rows": rows})
    con.execute(f"copy (select 'SKU-' || lpad(cast(i as varchar), 4, '0') as sku from range(0, 200) t(i)) "
                f"to '{root / 'products.parquet'}' (format parquet)")
    con.close()
    # the validate step reads what the extract step wrote, and the relation's target from tonight's staging
    shutil.copyfile(raw, root / "run" / "raw" / "shop__orders.parquet")
    (root / "run" / "raw" / "shop__orders.files.json").write_text(json.dumps(
        {"files": {"shop/orders.csv": rows}, "set_aside": [], "checksums": {}}), encoding="utf-8")
    (root / "run" / "staging").mkdir(exist_ok=True)
    shutil.copyfile(root / "products.parquet", root / "run" / "staging" / "erp__products.parquet")


def child(mode: str, root: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(REPO), mode, str(root)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="silobridge-bench-validate-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        prepare(root, args.rows)
        size = (root / "raw" / "shop__orders.parquet").stat().st_size / 2**20
        print(f"{args.rows:,} raw order lines ({size:.0f} MiB Parquet) written in {time.perf_counter() - t:.1f}s")
        results = {mode: child(mode, root) for mode in ("scan", "typing", "validate")}
        base = results["scan"]["seconds"]
        print(f"{'step':<10}{'seconds':>9}{'x scan':>8}{'peak RSS MiB':>14}")
        for mode, r in results.items():
            print(f"{mode:<10}{r['seconds']:>9.1f}{r['seconds'] / base:>8.1f}{r['peak_rss_mib']:>14,}")
        v = results["validate"]
        print(f"validate: {v['rows_in']:,} rows in, {v['accepted']:,} accepted, {v['quarantined']:,} quarantined, "
              f"{v['held_back']:,} held back; failing rules {v['rules']}; "
              f"{v['rows_in'] / v['seconds']:,.0f} rows/s")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
