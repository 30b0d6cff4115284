"""The identity, model and metrics steps on DuckDB and on Spark, over the same night's staged tables.

    .venv/bin/python tests/benchmarks/bench_spark.py --customers 20000 [--days 30] [--master local[2]]
    .venv/bin/python tests/benchmarks/bench_spark.py --exports /tmp/idspeed/b1m/data/demo [--identity]

Generates the demo exports into a temporary directory (or copies kept ones: `--exports`, a demo directory with
exports/ and ground_truth/; the original is not touched), runs the night on DuckDB through the metrics step
(flows.steps.run.run_night, unpublished), then runs the steps again with engine spark on a copy of the run
directory: model and metrics over DuckDB's identity tables, or, with `--identity`, identity too (the
probabilistic linker is on only then: without it, identity is not measured). Prints each step's wall seconds on
both engines, the Spark session's start, and whether the written tables agree (rows per table).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
RUN_DATE = date(2026, 11, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--exports", type=Path, help="a kept demo directory (exports/, ground_truth/), copied")
    parser.add_argument("--identity", action="store_true", help="the identity step on Spark too")
    parser.add_argument("--keep", type=Path, help="keep both engines' run directories here (DIR/duckdb_run, "
                        "DIR/spark_run) to compare their tables; default: a temporary directory, removed")
    args = parser.parse_args()

    from flows.demo.generator import generate
    from tests.conftest import demo_data_dir

    root = args.keep or Path(tempfile.mkdtemp(prefix="silobridge-bench-spark-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        exports = args.exports
        if exports is None:
            exports = root / "exports"
            generate(exports, customers=args.customers, days=args.days, seed=7, end_date=RUN_DATE)
        data = demo_data_dir(root / "data", exports, probabilistic=args.identity)
        os.environ["SILOBRIDGE_DATA_DIR"] = str(data)
        from flows.settings import Settings
        from flows.spark_db import SparkDatabase
        from flows.steps.identity import identity_step
        from flows.steps.metrics import metrics_step
        from flows.steps.model import model_step
        from flows.steps.run import run_night
        from flows.steps.spec import make_spec

        settings = Settings()
        key = settings.hash_key()
        spec = make_spec(settings, RUN_DATE, None, False, datetime.now(timezone.utc))
        seconds: dict[str, float] = {}

        def timed(step, spec, summary, hash_key):
            if step.name == "publish":
                return {}
            start = time.perf_counter()
            result = step(spec, summary, hash_key)
            seconds[step.name] = time.perf_counter() - start
            return result

        summary = run_night(spec, key, on_step=timed)
        print("DuckDB night (wall s): " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()), flush=True)
        rows_in = sum(c["rows"] for c in summary["extract"].values() if isinstance(c, dict) and "rows" in c)
        start = time.perf_counter()
        SparkDatabase.connect(args.master, step="bench").close()
        session_s = time.perf_counter() - start
        run_dir = shutil.copytree(spec.run_dir, root / "spark_run", symlinks=True)
        on_spark = spec.model_copy(update={"run_dir": run_dir, "engine": "spark", "spark_master": args.master})
        spark_identity_s = None
        if args.identity:
            start = time.perf_counter()
            spark_identity = identity_step(on_spark, key)
            spark_identity_s = time.perf_counter() - start
            print(f"Spark identity: {spark_identity_s:.1f} s", flush=True)
            differing = {k: (summary["identity"].get(k), v) for k, v in spark_identity.items()
                         if k != "seconds" and summary["identity"].get(k) != v}
            same_identity = not differing
            for k, (duck, spark) in differing.items():
                print(f"identity {k}: DuckDB {duck!r} Spark {spark!r}", flush=True)
        start = time.perf_counter()
        spark_models = model_step(on_spark, key)
        spark_model_s = time.perf_counter() - start
        print(f"Spark session start {session_s:.1f} s, model {spark_model_s:.1f} s", flush=True)
        start = time.perf_counter()
        spark_metrics = metrics_step(on_spark, key)
        spark_metrics_s = time.perf_counter() - start
        source = f"exports {args.exports}" if args.exports else f"{args.customers:,} customers, {args.days} days"
        print(f"{source}, {rows_in:,} rows in, {summary['identity']['identity_records']:,} identity records; "
              f"Spark master {args.master}")
        print(f"spark session start: {session_s:.1f} s")
        print("| step | DuckDB s | Spark s |\n| --- | ---: | ---: |")
        if spark_identity_s is not None:
            print(f"| identity | {seconds['identity']:.1f} | {spark_identity_s:.1f} |")
            print(f"identity counts equal: {same_identity}")
        print(f"| model | {seconds['model']:.1f} | {spark_model_s:.1f} |")
        print(f"| metrics | {seconds['metrics']:.1f} | {spark_metrics_s:.1f} |")
        for name in sorted(set(spark_models) | set(summary["model"])):
            if spark_models.get(name) != summary["model"].get(name):
                print(f"model {name}: DuckDB {summary['model'].get(name)} rows, Spark {spark_models.get(name)}")
        same = spark_models == summary["model"] and spark_metrics["rows"] == summary["metrics"]["rows"]
        print(f"rows per model and metric rows equal: {same} ({sum(spark_models.values()):,} model rows)")
        if args.keep:
            print(f"run directories kept: {spec.run_dir} (DuckDB), {run_dir} (Spark)")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
