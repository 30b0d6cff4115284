"""The run ledger: runs/<run_id>.json (one file per run, failed runs too) and the tables published from it,
pipeline_runs, pipeline_run_sources and pipeline_run_files, with their Arrow schemas."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa

from flows.db import Database

# customer id changes of a run, as columns customers_<change> of pipeline_runs (README "How customer ids stay stable")
IDENTITY_CHANGES = ("new", "merged", "split", "moved", "removed", "unchanged")

# filtered, merged: 0 in runs before filters and merging
_COUNTS = ("rows_in", "accepted", "quarantined", "held_back", "filtered", "merged")
RUNS_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("run_date", pa.string()), ("started_at", pa.string()),
    ("finished_at", pa.string()), ("status", pa.string()), ("error", pa.string()),
    ("full_refresh", pa.bool_()), ("rows_in", pa.int64()), ("rows_accepted", pa.int64()),
    ("rows_quarantined", pa.int64()), ("rows_held_back", pa.int64()), ("rows_filtered", pa.int64()),
    ("rows_merged", pa.int64()), ("files_set_aside", pa.int64()),
    ("customers", pa.int64()), ("identity_records", pa.int64()),
    *((f"customers_{k}", pa.int64()) for k in IDENTITY_CHANGES),
    ("identity_model_run_id", pa.string()),  # the run that trained the probabilistic model's m and u used
    ("warnings", pa.list_(pa.string())),  # what the run could not do as it should (e.g. identity model untrained)
    ("sources_requested", pa.string()),
    ("sources", pa.list_(pa.struct([("source", pa.string()), ("status", pa.string()),
                                    *((c, pa.int64()) for c in _COUNTS)])))])
RUN_SOURCES_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("source", pa.string()), ("status", pa.string()), *((c, pa.int64()) for c in _COUNTS),
    ("filter", pa.string()), ("files", pa.int64()), ("files_set_aside", pa.int64()), ("set_aside_detail", pa.string()),
    ("note", pa.string())])
RUN_FILES_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("source", pa.string()), ("file", pa.string()), *((c, pa.int64()) for c in _COUNTS),
    ("filter", pa.string())])
_RUN_COLUMNS = ("run_id", "run_date", "started_at", "finished_at", "status", "error", "full_refresh", "rows_in",
                "rows_accepted", "rows_quarantined", "rows_held_back", "rows_filtered", "rows_merged", "files_set_aside",
                "customers", "identity_records", *(f"customers_{k}" for k in IDENTITY_CHANGES),
                "identity_model_run_id", "warnings")


def write_run_record(warehouse_dir: Path, record: dict) -> Path:
    """Append one run to the ledger (runs/<run_id>.json), written atomically."""
    runs = warehouse_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / f"{record['run_id']}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_run_records(warehouse_dir: Path) -> list[dict]:
    """Every run in the ledger, oldest first."""
    runs = warehouse_dir / "runs"
    if not runs.exists():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(runs.glob("*.json"))]


def run_tables(records: list[dict]) -> tuple[pa.Table, pa.Table]:
    """(pipeline_runs, pipeline_run_sources) of ledger records."""
    runs, sources = [], []
    for r in records:
        counts = [{"source": name, "status": s["status"], **{k: s.get(k, 0) for k in _COUNTS}}
                  for name, s in sorted((r.get("sources") or {}).items())]
        runs.append({k: r.get(k) for k in _RUN_COLUMNS}
                    | {"sources_requested": ",".join(r.get("sources_requested") or []) or None, "sources": counts})
        for c in counts:
            s = r["sources"][c["source"]]
            sources.append({"run_id": r["run_id"], **c, "filter": s.get("filter"), "files": len(s["files"]),
                            "files_set_aside": len(s["files_set_aside"]),
                            "set_aside_detail": "; ".join(s["files_set_aside"]) or None, "note": s.get("note")})
    return pa.Table.from_pylist(runs, schema=RUNS_SCHEMA), pa.Table.from_pylist(sources, schema=RUN_SOURCES_SCHEMA)


def run_files_table(records: list[dict]) -> pa.Table:
    """pipeline_run_files: one row per run, source and file read (rows in / accepted / quarantined / held back /
    filtered, with the source's filter)."""
    rows = [{"run_id": r["run_id"], "source": name, "file": file, "filtered": 0, "merged": 0, **counts,
             "filter": s.get("filter")}
            for r in records for name, s in sorted((r.get("sources") or {}).items())
            for file, counts in sorted((s.get("file_counts") or {}).items())]
    return pa.Table.from_pylist(rows, schema=RUN_FILES_SCHEMA)


def write_run_tables(db: Database, records: list[dict], out: Path) -> None:
    """pipeline_runs, pipeline_run_sources and pipeline_run_files of `records` into the version in `out`."""
    runs, run_sources = run_tables(records)
    db.register("runs_arrow", runs)
    db.register("run_sources_arrow", run_sources)
    db.register("run_files_arrow", run_files_table(records))
    db.write_parquet("runs_arrow", out / "pipeline_runs.parquet")
    db.write_parquet("run_sources_arrow", out / "pipeline_run_sources.parquet")
    db.write_parquet("run_files_arrow", out / "pipeline_run_files.parquet")
