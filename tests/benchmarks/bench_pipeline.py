"""Benchmark the nightly pipeline's steps on generated demo data, without Prefect.

Usage (from the repository root):

    .venv/bin/python tests/benchmarks/bench_pipeline.py [--customers 20000] [--days 30] [--seed 7] [--keep DIR]
                                                        [--next-night] [--bound]

What it does:
  1. generates the demo exports (flows.demo.generator.generate, end date 2026-11-20) into
     <root>/data/demo, in a child process so that the generator's memory does not count against the
     pipeline, and reports that time separately;
  2. copies data/sources.yaml to <root>/data/ and points SILOBRIDGE_DATA_DIR there (as tests/conftest.py does);
  3. runs the night through flows.steps.run.run_night (the steps and order of the nightly flow), in this
     process, with run date 2026-11-20, and prints per step: wall seconds, CPU seconds, peak RSS, RSS
     after, and the step's summary (flows.steps.summary.describe);
  4. prints rows in, rows/second, and the sizes of the published warehouse parquet files;
  5. measures the floor on the same export files, in a child process: the least any pipeline must do,
     DuckDB converting each export file to Parquet (`COPY (select * from read_csv(...)) TO ... (FORMAT
     parquet)`, `read_json` for JSON and JSON Lines; an encoding DuckDB cannot decode without a downloaded
     extension, e.g. big5, is read by pyarrow's CSV reader instead), and prints each step's CPU as a
     multiple of the floor's CPU. The last line is
     `floor ratio: <x>x (pipeline <cpu> CPU s / floor <cpu> CPU s, <rows> rows, peak <GiB> GiB)`, the first
     night's (an empty warehouse: everything is new, the identity model is trained);
  6. with --bound, after the first night: what the pipeline's own passes cost with no logic, in a child process:
     each staged file of the night (the validate step's accepted rows) and each published Parquet file
     (models, identity tables, metrics) read and written again by DuckDB with the pipeline's writer settings
     (zstd level 1), no typing, rule, join, sort or window; printed with the floor as `bound ratio: ...`, the
     least these steps could cost however their logic were written (see README "Speed");
  7. with --next-night, before that line: the next night (run date +1 day) on the same exports, on top of the
     first night's warehouse, as a scheduled night runs (the identity model reused), its steps and
     `next night floor ratio: ...`.

Peak RSS: on Linux >= 4.0 the process's peak RSS is reset before each step (write "5" to
/proc/self/clear_refs), so the peak column is that step's own peak. Where that is not possible the
column is the process peak so far (getrusage ru_maxrss) and is labelled so.

<root> is a temporary directory removed at the end, or DIR with --keep (then nothing is removed; if DIR
holds an earlier benchmark's data generated with the same arguments, the demo is reused and only the
warehouse and work directories are cleared).

Not a pytest test: the file name does not match test_*.py, so pytest does not collect it.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RUN_DATE = date(2026, 11, 20)  # the demo's end date
MARKER = "bench_params.json"
# Path settings that must not leak in from the environment (they could point at a real warehouse).
PATH_SETTINGS = ("DATA_DIR", "SOURCES_FILE", "EXPORTS_DIR", "GROUND_TRUTH_DIR", "WAREHOUSE_DIR", "WORK_DIR")

GENERATE_CODE = """
import json, sys
from datetime import date
from flows.demo.generator import generate
out, customers, days, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
counts = generate(out, customers=customers, days=days, seed=seed, end_date=date(2026, 11, 20))
print(json.dumps(counts))
"""

# The floor, run in a child process on the export files: argv[1] a JSON list of [path, format, encoding,
# delimiter], argv[2] an output directory. Prints {"cpu": s, "wall": s, "peak_mib": MiB, "files": n}.
FLOOR_CODE = r"""
import json, resource, sys, time
from pathlib import Path
import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

def q(s):
    return "'" + str(s).replace("'", "''") + "'"

files, out = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])
con = duckdb.connect()
con.execute("set threads = 2")
ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for i, (path, fmt, encoding, delimiter) in enumerate(files):
    target = out / f"{i}.parquet"
    enc = encoding.lower().replace("_", "-")
    if fmt in ("json", "jsonl"):
        con.execute(f"copy (select * from read_json({q(path)})) to {q(target)} (format parquet)")
    elif enc in ("utf-8", "utf8", "utf-8-sig", "utf-16", "latin-1"):
        enc = "utf-8" if enc.startswith("utf-8") or enc == "utf8" else enc
        con.execute(f"copy (select * from read_csv({q(path)}, encoding = {q(enc)}, delim = {q(delimiter)})) "
                    f"to {q(target)} (format parquet)")
    else:
        pq.write_table(pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding=encoding),
                                      parse_options=pacsv.ParseOptions(delimiter=delimiter)), target)
ru1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
print(json.dumps({"cpu": ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime, "wall": t1 - t0,
                  "peak_mib": ru1.ru_maxrss / 1024, "files": len(files)}))
"""

# The passes without logic, in a child process: argv[1] a JSON object mapping a group's name to its Parquet files,
# argv[2] an output directory. Each file is read and written again as Database.write_parquet writes (zstd level 1).
# Prints {group: {"cpu", "wall", "files", "rows"}}.
BOUND_CODE = r"""
import json, resource, sys, time
from pathlib import Path
import duckdb

def q(s):
    return "'" + str(s).replace("'", "''") + "'"

groups, out = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])
con = duckdb.connect()
con.execute("set threads = 2")
result = {}
for name, files in groups.items():
    ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    rows = 0
    for i, path in enumerate(files):
        target = out / f"{name}-{i}.parquet"
        rows += con.execute(f"copy (select * from read_parquet({q(path)})) to {q(target)} "
                            "(format parquet, compression zstd, compression_level 1)").fetchone()[0]
    ru1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    result[name] = {"cpu": ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime, "wall": t1 - t0,
                    "files": len(files), "rows": rows}
print(json.dumps(result))
"""


# ------------------------------------------------------------------------------------- memory
def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux clear_refs 5); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_mib() -> float:
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm / 1024
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru / (1024 * 1024) if sys.platform == "darwin" else ru / 1024


def _rss_mib() -> float | None:
    rss = _status_kib("VmRSS")
    return None if rss is None else rss / 1024


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# -------------------------------------------------------------------------------------- helpers
def _mib(n: float) -> str:
    return f"{n / (1024 * 1024):,.1f} MiB"


def _tree_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    def fmt(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)])


def _prepare_root(args) -> tuple[Path, bool]:
    """The benchmark root and whether its demo data can be reused."""
    params = {"customers": args.customers, "days": args.days, "seed": args.seed, "end_date": RUN_DATE.isoformat()}
    if args.keep is None:
        return Path(tempfile.mkdtemp(prefix="silobridge-bench-")), False
    root = Path(args.keep).resolve()
    marker = root / MARKER
    if marker.exists():
        if json.loads(marker.read_text(encoding="utf-8")) != params:
            sys.exit(f"{root} holds benchmark data generated with other arguments ({marker}); use another DIR")
        for sub in ("warehouse", "work", "state"):
            shutil.rmtree(root / "data" / sub, ignore_errors=True)
        return root, (root / "data" / "demo" / "exports").is_dir()
    if root.exists() and any(root.iterdir()):
        sys.exit(f"--keep {root}: the directory is not empty and is not an earlier benchmark's directory")
    root.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(params), encoding="utf-8")
    return root, False


def _generate(demo: Path, args) -> tuple[float, dict, float]:
    """Generate the demo in a child process: (seconds, rows per file, child's peak RSS in MiB)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", GENERATE_CODE, str(demo), str(args.customers), str(args.days),
                           str(args.seed)], cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(f"demo generation failed (exit {proc.returncode})")
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    ru = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, counts, ru / (1024 * 1024) if sys.platform == "darwin" else ru / 1024


def _floor_files(data: Path, exports: Path) -> list[list[str]]:
    """[path, format, encoding, delimiter] of every export file the configured csv/json/jsonl sources match."""
    from connectors.extract import source_files
    from flows.config import load_config

    out = []
    for src in load_config(data / "sources.yaml").sources:
        if src.format in ("csv", "json", "jsonl"):
            out += [[str(p), src.format, src.encoding, src.delimiter] for p in source_files(src, exports)]
    return out


def _child(code: str, listing: object, what: str) -> dict:
    """Run `code` in a child process with `listing` (JSON) in a file and a scratch output directory; its last
    line of output, parsed. Exits naming `what` when it fails."""
    with tempfile.TemporaryDirectory(prefix=f"silobridge-{what}-") as tmp:
        path = Path(tmp) / "files.json"
        path.write_text(json.dumps(listing), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-c", code, str(path), tmp], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(f"the {what} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _floor(data: Path, exports: Path) -> dict:
    """Run the floor in a child process on the export files: its CPU s, wall s, peak RSS MiB, files."""
    return _child(FLOOR_CODE, _floor_files(data, exports), "floor")


def _bound(groups: dict[str, list[Path]]) -> dict:
    """Run BOUND_CODE in a child process over `groups` (name -> Parquet files): per group CPU s, wall s, files, rows."""
    return _child(BOUND_CODE, {k: [str(p) for p in v] for k, v in groups.items()}, "bound")


# ------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=20000, help="demo persons (default 20000)")
    ap.add_argument("--days", type=int, default=30, help="demo window in days (default 30)")
    ap.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep everything (default: a temp dir, removed)")
    ap.add_argument("--next-night", action="store_true",
                    help="then run the next night (run date +1 day) on the same exports, as a scheduled night runs "
                         "after the first (the identity model reused), and print its steps and ratio too")
    ap.add_argument("--bound", action="store_true",
                    help="then measure the pipeline's own passes without logic (the staged and published Parquet "
                         "files read and written again by DuckDB) and print them with the floor")
    args = ap.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for key in PATH_SETTINGS:
        if os.environ.pop(f"SILOBRIDGE_{key}", None) is not None:
            print(f"note: ignoring SILOBRIDGE_{key} from the environment")

    root, reuse = _prepare_root(args)
    data = root / "data"
    demo = data / "demo"
    try:
        data.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / "data" / "sources.yaml", data / "sources.yaml")
        os.environ["SILOBRIDGE_DATA_DIR"] = str(data)

        print(f"silobridge pipeline benchmark: {args.customers:,} customers, {args.days} days, seed {args.seed}, "
              f"run date {RUN_DATE}")
        print(f"root {root}{' (kept)' if args.keep else ' (temporary)'}")

        # ---- demo data
        if reuse:
            print("generate: reused the demo data already in the directory")
        else:
            gen_s, counts, gen_peak = _generate(demo, args)
            print(f"generate: {gen_s:.2f} s, {sum(counts.values()):,} rows in {len(counts)} files "
                  f"(child process, peak RSS {gen_peak:,.0f} MiB)")
        n_files, n_bytes = _tree_size(demo / "exports")
        print(f"exports:  {n_files} files, {_mib(n_bytes)}")
        floor = _floor(data, demo / "exports")
        print(f"floor:    {floor['cpu']:.2f} CPU s, {floor['wall']:.2f} s wall, peak RSS {floor['peak_mib']:,.0f} MiB "
              f"(DuckDB read_csv/read_json -> Parquet of the {floor['files']} export files, child process)")

        # ---- imports (timed apart from the steps; Prefect is never imported)
        t0 = time.perf_counter()
        import duckdb
        import pandas
        import pyarrow
        import pyarrow.parquet as pq

        from flows.settings import Settings
        from flows.steps.run import run_night
        from flows.steps.spec import make_spec
        from flows.steps.summary import describe
        import_s = time.perf_counter() - t0

        settings = Settings()
        hash_key = settings.hash_key()
        now = datetime.now(timezone.utc)
        spec = make_spec(settings, RUN_DATE, None, False, now)

        print(f"python {platform.python_version()}, duckdb {duckdb.__version__}, pandas {pandas.__version__}, "
              f"pyarrow {pyarrow.__version__}; {os.cpu_count()} CPUs; duckdb threads {spec.duckdb_threads}, "
              f"memory_limit {spec.duckdb_memory_limit}")
        print(f"imports:  {import_s:.2f} s (duckdb, pandas, pyarrow, flows.steps), RSS {_rss_mib() or 0:,.0f} MiB")
        print()

        # ---- the steps: run_night, the nightly flow's sequence, measured step by step through on_step
        per_step = _reset_peak()
        peak_label = "peak RSS" if per_step else "peak RSS so far"
        rows: list[list[str]] = []
        total_s = total_cpu = 0.0
        failed = None
        floor_cpu = max(floor["cpu"], 1e-9)

        def measured(step, spec, summary, hash_key):
            nonlocal total_s, total_cpu, failed
            gc.collect()
            _reset_peak()
            cpu0, t0 = _cpu_seconds(), time.perf_counter()
            try:
                result = step(spec, summary, hash_key)
            except Exception as exc:  # report what ran, then the error
                failed = (step.name, exc)
                result = None
            secs, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
            peak, after = _peak_mib(), _rss_mib()
            total_s += secs
            total_cpu += cpu
            desc = (f"FAILED: {type(failed[1]).__name__}" if failed
                    else describe(step.name, result).replace(f"{spec.warehouse_dir}{os.sep}", ""))
            rows.append([step.name, f"{secs:.2f}", f"{cpu:.2f}", f"{cpu / secs:.0%}" if secs else "-",
                         f"{cpu / floor_cpu:.1f}x", f"{peak:,.0f}", f"{after:,.0f}" if after is not None else "-", desc])
            if failed:
                raise failed[1]
            return result

        try:
            summary = run_night(spec, hash_key, on_step=measured, started_at=now)
        except Exception:
            if failed is None:
                raise
        top_peak = max((float(r[5].replace(",", "")) for r in rows), default=0.0)
        rows.append(["total", f"{total_s:.2f}", f"{total_cpu:.2f}", f"{total_cpu / total_s:.0%}" if total_s else "-",
                     f"{total_cpu / floor_cpu:.1f}x", f"{top_peak:,.0f}", "", ""])
        rows.append(["floor", f"{floor['wall']:.2f}", f"{floor['cpu']:.2f}",
                     f"{floor['cpu'] / floor['wall']:.0%}" if floor["wall"] else "-", "1.0x",
                     f"{floor['peak_mib']:,.0f}", "", "DuckDB export files -> Parquet"])
        print(_table(["step", "seconds", "cpu s", "cpu/wall", "x floor", f"{peak_label} MiB", "RSS after MiB", "rows"],
                     rows, right={1, 2, 3, 4, 5, 6}))
        if not per_step:
            print("(peak RSS could not be reset per step: the column is the process peak so far)")
        if failed:
            print(f"\nstep {failed[0]} failed: {failed[1]}")
            return 1

        # ---- totals
        rows_in = sum(v["rows"] for v in summary["extract"].values())
        print()
        print(f"rows in: {rows_in:,} (extracted from {n_files} export files); accepted "
              f"{sum(v['accepted'] for v in summary['validate'].values()):,}, quarantined "
              f"{sum(v['quarantined'] for v in summary['validate'].values()):,}")
        print(f"throughput: {rows_in / total_s:,.0f} rows/s over all steps ({total_s:.2f} s)")
        top = max(rows[:-2], key=lambda r: float(r[5].replace(",", "")))
        print(f"highest {peak_label}: {top[5]} MiB (during {top[0]})")
        ident = summary["identity"]
        if ident.get("components") is not None:
            print(f"identity: {ident['identity_records']:,} records -> {ident['customers']:,} customers; "
                  f"{ident['deterministic_links']:,} deterministic links, {ident['candidate_pairs']:,} candidate "
                  f"pairs -> {ident['probabilistic_links']:,} probabilistic links; {ident['components']:,} "
                  f"connected components")
            print("identity phases (s): " + ", ".join(f"{k} {v}" for k, v in ident.get("seconds", {}).items()))
        if ident.get("evaluation"):
            from flows.steps.summary import evaluation_text
            print(f"identity vs ground truth: {evaluation_text(ident['evaluation'])}")
        try:  # the phone normaliser's cache is shared by the identity and model steps (Python UDFs)
            from transforms.normalize import normalize_phone
            ci = normalize_phone.cache_info()
            print(f"normalize_phone cache: {ci.hits:,} hits, {ci.misses:,} misses, size {ci.currsize:,} of {ci.maxsize:,}")
        except (ImportError, AttributeError):
            pass
        if spec.run_dir.exists():
            rf, rb = _tree_size(spec.run_dir)
            print(f"run dir left after publish (intermediates; nightly deletes it): {rf} files, {_mib(rb)}")

        # ---- published warehouse
        version = Path(summary["publish"]["version"])
        files = sorted(version.rglob("*.parquet"))
        wrows = [[str(p.relative_to(version)), f"{pq.read_metadata(p).num_rows:,}", f"{p.stat().st_size / 1024:,.1f}"]
                 for p in files]
        total_bytes = sum(p.stat().st_size for p in files)
        wrows.append(["total", "", f"{total_bytes / 1024:,.1f}"])
        print(f"\npublished warehouse version {version.name}:")
        print(_table(["file", "rows", "KiB"], wrows, right={1, 2}))
        catalog = spec.warehouse_dir / "warehouse.duckdb"
        if catalog.exists():
            print(f"catalog warehouse.duckdb: {catalog.stat().st_size / 1024:,.1f} KiB")
        print()
        first_cpu, first_peak = total_cpu, top_peak
        if args.bound:
            staged = sorted((spec.state_dir / version.name / "staging").glob("*.parquet"))
            # the accepted rows of each source (not the private copies of rejected rows, nor the identity records)
            bound = _bound({"staged": [p for p in staged if not p.name.startswith("_")
                                       and not p.name.endswith(".rejected.parquet")], "published": files})
            b_cpu = floor["cpu"] + sum(g["cpu"] for g in bound.values())
            print("the pipeline's passes without logic (child process, DuckDB, zstd level 1; no typing, rules, joins, "
                  "sorts or windows):")
            print(f"  extract: the floor itself, {floor['cpu']:.2f} CPU s")
            for name, what in (("staged", "the staged rows (validate's write)"),
                               ("published", "every published Parquet file (models, identity tables, metrics)")):
                g = bound[name]
                print(f"  {what}: {g['rows']:,} rows in {g['files']} files read and written again, "
                      f"{g['cpu']:.2f} CPU s, {g['wall']:.2f} s wall")
            print(f"bound ratio: {b_cpu / floor_cpu:.1f}x ({b_cpu:.1f} CPU s / floor {floor['cpu']:.2f} CPU s; the "
                  f"pipeline's {first_cpu:.1f} CPU s is {first_cpu / b_cpu:.1f}x this)")
            print()
        if args.next_night:  # the same steps and table, on top of the first night's warehouse
            rows, total_s, total_cpu = [], 0.0, 0.0
            now = datetime.now(timezone.utc)
            spec = make_spec(settings, date.fromordinal(RUN_DATE.toordinal() + 1), None, False, now)
            nxt = run_night(spec, hash_key, on_step=measured, started_at=now)
            next_peak = max(float(r[5].replace(",", "")) for r in rows)
            rows.append(["total", f"{total_s:.2f}", f"{total_cpu:.2f}", f"{total_cpu / total_s:.0%}",
                         f"{total_cpu / floor_cpu:.1f}x", f"{next_peak:,.0f}", "", ""])
            print(f"next night ({spec.run_date}, the same exports; identity model "
                  f"{'reused' if (nxt['identity'].get('model') or {}).get('reused') else 'trained'}):")
            print(_table(["step", "seconds", "cpu s", "cpu/wall", "x floor", f"{peak_label} MiB", "RSS after MiB",
                          "rows"], rows, right={1, 2, 3, 4, 5, 6}))
            print("next night's identity phases (s): "
                  + ", ".join(f"{k} {v}" for k, v in nxt["identity"].get("seconds", {}).items()))
            print(f"next night floor ratio: {total_cpu / floor_cpu:.1f}x (pipeline {total_cpu:.1f} CPU s / floor "
                  f"{floor['cpu']:.2f} CPU s, peak {next_peak / 1024:.2f} GiB)")
            print()
        print(f"floor ratio: {first_cpu / floor_cpu:.1f}x (pipeline {first_cpu:.1f} CPU s / floor {floor['cpu']:.2f} "
              f"CPU s, {rows_in:,} rows, peak {first_peak / 1024:.2f} GiB)")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
