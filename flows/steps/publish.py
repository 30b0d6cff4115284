"""Step publish: the quarantine and the run tables into out/, the report, then out/ published atomically with
the run's staged rows (private state for later runs); the run recorded in the ledger."""

from __future__ import annotations

from datetime import datetime, timezone

from flows import warehouse
from flows.report import write_report
from flows.steps.quarantine import write_published_merged, write_published_quarantine
from flows.steps.results import PublishResult, RunSummary
from flows.steps.spec import RunSpec
from flows.steps.validate import DATA_DOCS
from flows.warehouse.ledger import IDENTITY_CHANGES, write_run_tables


def publish_step(spec: RunSpec, summary: RunSummary) -> PublishResult:
    """Write quarantine and run tables into out/ and publish it atomically with the run's staged rows
    (kept as private state for later runs); record the run. Returns the version, report and Data Docs paths."""
    out = spec.path("out")
    record = run_record(spec, summary, status="success")
    with spec.connect("publish") as db:
        write_published_quarantine(db, spec)
        write_published_merged(db, spec)
        ledger = [] if spec.full_refresh else [
            r for r in warehouse.read_run_records(spec.warehouse_dir) if r["run_id"] != spec.run_id]
        write_run_tables(db, [*ledger, record], out)
    # the report is part of the version: published (or not) together with the tables it shows (a version
    # built without the metrics step, as publish_step alone in tests, has nothing to report)
    reported = (out / "metrics.parquet").exists()
    if reported:
        write_report(out)
    # only files of a published load count as loaded (a failed run loads nothing): noted beside the staged
    # rows, recorded once the pointer has moved (again at the next start, if a kill came in between)
    loaded = {digest: {"source": name, "file": file, "run_id": spec.run_id, "run_date": spec.run_date.isoformat()}
              for name, v in summary.get("validate", {}).items() if v["status"] == "loaded"
              for file, digest in v.get("checksums", {}).items()}
    warehouse.note_loaded_files(spec.path("staging"), loaded)
    target = spec.warehouse_dir / "versions" / spec.run_id
    record["warehouse_version"] = str(target)
    record["data_docs"] = str(target / DATA_DOCS / "index.html")
    # the ledger entry is written before the pointer moves: a published run is never missing from it (a kill
    # in between leaves a 'success' entry of an unpublished version, which the next start marks failed)
    version = warehouse.publish(out, spec.warehouse_dir, spec.run_id, spec.keep_versions,
                                state=(spec.path("staging"), spec.state_dir),
                                record=lambda: warehouse.write_run_record(spec.warehouse_dir, record))
    warehouse.record_loaded_files(spec.state_dir, loaded)
    return {"version": str(version), "report": str(version / "report.html") if reported else None,
            "data_docs": record["data_docs"]}


def run_warnings(summary: RunSummary) -> list[str]:
    """The run's warnings, each prefixed with its step: extract's notes (e.g. a workbook's unread sheets), the
    identity model's (cannot train, too few links)."""
    return [*(f"extract: {name}: {note}" for name, counts in sorted(summary.get("extract", {}).items())
              for note in counts.get("notes", [])),
            *(f"identity: {w}" for w in summary.get("identity", {}).get("warnings", []))]


def run_record(spec: RunSpec, summary: RunSummary, status: str, error: str | None = None) -> dict:
    """One row of pipeline_runs as a dict (also the ledger file's content)."""
    validated = summary.get("validate", {})
    identity = summary.get("identity", {})
    return {
        "run_id": spec.run_id,
        "run_date": spec.run_date.isoformat(),
        "started_at": summary.get("started_at"),
        "finished_at": datetime.now(timezone.utc).isoformat(),
        "status": status,
        "error": error,
        "sources_requested": spec.sources,
        "full_refresh": spec.full_refresh,
        "rows_in": sum(v["rows_in"] for v in validated.values()),
        "rows_accepted": sum(v["accepted"] for v in validated.values()),
        "rows_quarantined": sum(v["quarantined"] for v in validated.values()),
        "rows_held_back": sum(v["held_back"] for v in validated.values()),
        "rows_filtered": sum(v.get("filtered", 0) for v in validated.values()),
        "rows_merged": sum(v.get("merged", 0) for v in validated.values()),
        "files_set_aside": sum(len(v["files_set_aside"]) for v in validated.values()),
        "customers": identity.get("customers"),
        "identity_records": identity.get("identity_records"),
        **{f"customers_{k}": (identity.get("changes") or {}).get(k) for k in IDENTITY_CHANGES},
        "identity_model_run_id": (identity.get("model") or {}).get("trained_run_id"),
        "warnings": run_warnings(summary),
        "sources": {
            name: {k: v[k] for k in ("kind", "status", "rows_in", "accepted", "quarantined", "held_back", "files")}
            | {"filtered": v.get("filtered", 0), "filter": v.get("filter"), "merged": v.get("merged", 0),
               "merge_conflicts": v.get("merge_conflicts", {}), "unmapped": v.get("unmapped", []),
               "note": v.get("note"),
               "files_set_aside": [f"{p['file']}: {p['problem']}" for p in v["files_set_aside"]],
               "file_counts": v.get("file_counts", {}), "rules": v.get("rules", {})}
            for name, v in validated.items()
        },
    }
