"""The nightly pipeline's steps as plain functions: each takes a RunSpec, reads and writes files under
the run directory, and returns counts. The Prefect flow only sequences them.

Run directory (<work>/<run_id>/): raw/ (extracted text), staging/ (typed accepted rows, and the original
text of rejected rows, kept as private state for replay), quarantine/ (rejected rows and files set aside,
masked), quality/ (per-source validation counts and freshness, for the quality metrics), int/ (identity
internals), out/ (the new warehouse version with its Data Docs, moved into the warehouse on publish).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from connectors.config import SourceConfig
from flows.config import PipelineConfig, load_config
from connectors.extract import extract_source
from flows import warehouse
from flows.charts import format_value
from flows.report import write_report
from flows.settings import Settings
from flows.db import Database  # TODO(merge): transforms take a Database; wrapped at each call below
from transforms.identity import (
    IdentityGateError, check_stability, evaluate_identity, identity_metric_rows, register_udfs, resolve_customers,
)
from transforms.model import (
    MODELS, append_metrics, build_metrics, build_models, build_quality_metrics, metric_definitions,
    register_survivorship,
)
from transforms.stage import quote, staged_columns, typed_sql
from transforms.validate import (
    build_data_docs,
    ephemeral_context,
    merge_outcomes,
    quarantine_record,
    suite_columns,
    validate_typed,
)

log = logging.getLogger("silobridge.pipeline")

QUARANTINE_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("source", pa.string()), ("system", pa.string()), ("entity", pa.string()),
    ("file", pa.string()), ("row_number", pa.int64()), ("rule", pa.string()), ("severity", pa.string()),
    ("reason", pa.string()), ("record", pa.string()),
])
DATA_DOCS = "data_docs"  # GX Data Docs folder inside each warehouse version
VALIDATION_CHUNK_ROWS = 500_000  # rows per GX validation batch: bounds memory on large sources
IDENTITY_TABLES = ("int_identity__key_customers", "identity_evaluation")
PUBLISHED_IDENTITY_TABLES = ("customer_identities", "identity_guards", "identity_links", "identity_model",
                             "customer_id_map", "customer_id_history")
# the normalised identity records (personal attributes in clear): written once, beside the staged rows, so
# that the models read them during the run and `silobridge explain` reads the published run's privately
IDENTITY_RECORDS_STATE = "_identity_records.parquet"
# customer id changes of a run, as columns customers_<change> of pipeline_runs (README "How customer ids stay stable")
IDENTITY_CHANGES = ("new", "merged", "split", "moved", "removed", "unchanged")


class PipelineError(Exception):
    """A run cannot publish; the message says which source, file, row and rule, and what to do."""


class RunSpec(BaseModel):
    """Everything a step needs to find its inputs and outputs (no secrets, no data)."""

    run_id: str
    run_date: date
    run_dir: Path
    exports_dir: Path
    warehouse_dir: Path
    state_dir: Path
    config_path: Path
    replay_dir: Path | None = None
    sources: list[str] | None = None
    full_refresh: bool = False
    ground_truth_dir: Path | None = None  # demo ground truth: the run scores its identity resolution
    accept_identity_changes: bool = False  # bypass the identity stability gate for this run
    duckdb_threads: int = 2
    duckdb_memory_limit: str = "6GB"
    keep_versions: int = 3

    def config(self) -> PipelineConfig:
        return load_config(self.config_path)

    def connect(self):
        return warehouse.connect(self.duckdb_threads, self.duckdb_memory_limit,
                                 temp_directory=self.run_dir / "duckdb_tmp")

    def path(self, *parts: str) -> Path:
        return self.run_dir.joinpath(*parts)


def new_run_id(now: datetime) -> str:
    """A sortable run id from the start time (UTC)."""
    return now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def make_spec(settings: Settings, run_date: date | None, sources: list[str] | None, full_refresh: bool,
              now: datetime, accept_identity_changes: bool = False) -> RunSpec:
    """The RunSpec of a new run started at `now`."""
    run_id = new_run_id(now)
    return RunSpec(
        run_id=run_id,
        run_date=run_date or now.astimezone(timezone.utc).date(),
        run_dir=settings.work_path / run_id,
        exports_dir=settings.exports_path,
        warehouse_dir=settings.warehouse_path,
        state_dir=settings.state_path,
        config_path=settings.sources_path,
        replay_dir=settings.replay_path,
        sources=sources or None,
        full_refresh=full_refresh,
        ground_truth_dir=settings.ground_truth_path,
        accept_identity_changes=accept_identity_changes,
        duckdb_threads=settings.duckdb_threads,
        duckdb_memory_limit=settings.duckdb_memory_limit,
        keep_versions=settings.keep_versions,
    )


# --------------------------------------------------------------------------------------- extract
def extract_step(spec: RunSpec) -> dict:
    """Read every file of every selected source into raw/<source>.parquet; note files set aside."""
    cfg = spec.config()
    loaded = {} if spec.full_refresh else {
        digest: entry["file"] for digest, entry in warehouse.read_file_ledger(spec.state_dir).items()}
    out = {}
    for src in cfg.select(spec.sources):
        ex = extract_source(src, spec.exports_dir, spec.replay_dir, loaded)
        spec.path("raw").mkdir(parents=True, exist_ok=True)
        pq.write_table(ex.table, spec.path("raw", f"{src.name}.parquet"))
        problems = [{"file": e.file, "line": e.line, "problem": e.problem} for e in ex.file_errors]
        if not ex.files and not ex.file_errors:
            problems.append({"file": src.path, "line": None, "problem": f"no file matches {src.path!r}"})
        spec.path("raw", f"{src.name}.files.json").write_text(json.dumps(
            {"files": ex.rows_per_file, "set_aside": problems, "checksums": ex.checksums},
            ensure_ascii=False, indent=2), encoding="utf-8")
        out[src.name] = {"rows": ex.table.num_rows, "files": len(ex.files), "files_set_aside": len(problems)}
        for p in problems:
            log.warning("%s: file set aside: %s%s: %s", src.name, p["file"],
                        f", line {p['line']}" if p["line"] else "", p["problem"])
    return out


# -------------------------------------------------------------------------------------- validate
def _hold_back_or_fail(src, message: str) -> str:
    """A critical source fails the run with `message`; another source is held back (returns the status)."""
    if src.critical:
        raise PipelineError(f"critical {message}")
    log.warning("%s; the source is held back from this run", message)
    return "held_back"


def validate_step(spec: RunSpec) -> dict:
    """Type and validate each extracted source: accepted rows to staging/, rejected rows to quarantine/;
    GX Data Docs of every source into out/data_docs/.

    Sources are validated after the sources their relations point to. Raises PipelineError when a
    critical source has a file set aside, a row failing a critical rule or too many rejected rows, or
    when a source or one of its files does not reconcile (rows read != accepted + quarantined + held back).
    """
    cfg = spec.config()
    ctx = ephemeral_context()
    out, results = {}, []
    for src in cfg.validation_order(cfg.select(spec.sources)):
        out[src.name], source_results = _validate_source(spec, cfg, src, ctx)
        results += [(src.name, r) for r in source_results]
    build_data_docs(ctx, results, spec.path("out", DATA_DOCS), spec.run_id)
    _write_quality(spec, out)
    return out


def _relation_targets(spec: RunSpec, src: SourceConfig) -> dict[str, tuple[str, Path]]:
    """Field -> (target field, Parquet file of the target's accepted rows): tonight's, else the last
    published ones. Relations whose target has no rows anywhere are left out (not checked)."""
    previous = None if spec.full_refresh else warehouse.current_version(spec.warehouse_dir)
    out = {}
    for name, rel in src.contract.relations.items():
        path = spec.path("staging", f"{rel.source}.parquet")
        # a target without rows tonight (its files set aside) would make every value an orphan
        if (not path.exists() or pq.read_metadata(path).num_rows == 0) and previous is not None:
            path = warehouse.state_file(spec.state_dir, previous.name, rel.source)
        if path.exists() and pq.read_metadata(path).num_rows > 0:
            out[name] = (rel.field, path)
        else:
            log.warning("%s: relation %s -> %s.%s not checked: %s has no accepted rows", src.name, name,
                        rel.source, rel.field, rel.source)
    return out


def _validate_source(spec: RunSpec, cfg: PipelineConfig, src: SourceConfig, ctx) -> tuple[dict, list]:
    files = json.loads(spec.path("raw", f"{src.name}.files.json").read_text(encoding="utf-8"))
    con = spec.connect()
    try:
        warehouse.attach_parquet(con, "raw", spec.path("raw", f"{src.name}.parquet"))
        relations = {}
        for name, (field, path) in _relation_targets(spec, src).items():
            con.execute(f"create view {quote('rel_' + name)} as select distinct cast({quote(field)} as varchar) "
                        f"as value from read_parquet('{warehouse._sql_path(path)}') where {quote(field)} is not null")
            relations[name] = f"rel_{name}"
        sql, params = typed_sql(src, relations=relations)
        con.execute(f"create table typed as {sql}", params)
        rows_in = con.execute("select count(*) from typed").fetchall()[0][0]
        outcomes = []
        # chunks of _row_id (1..rows_in): uniqueness and relations are already flags over the whole source;
        # a chunk holds only the columns the suite reads, the failing rows are fetched whole for their reasons
        cols = ", ".join(quote(c) for c in suite_columns(src))

        def fetch_rows(ids: list[int]) -> pd.DataFrame:
            return con.execute("select * from typed where _row_id in (select unnest($ids)) order by _row_id",
                               {"ids": ids}).df()

        for lo in range(0, max(rows_in, 1), VALIDATION_CHUNK_ROWS):
            chunk = con.execute(f"select {cols} from typed where _row_id > $lo and _row_id <= $hi order by _row_id",
                                {"lo": lo, "hi": lo + VALIDATION_CHUNK_ROWS}).df()
            outcomes.append(validate_typed(chunk, src, spec.run_date, ctx, fetch_rows))
            del chunk
        outcome = merge_outcomes(outcomes)
        rejected = outcome.rejected
        quarantined = len(rejected)
        con.register("rejected", rejected)
        share = quarantined / rows_in if rows_in else 0.0
        status = "loaded"
        if files["set_aside"] and src.critical:
            first = files["set_aside"][0]
            raise PipelineError(
                f"critical source {src.name}: file {first['file']}"
                + (f", line {first['line']}" if first["line"] else "")
                + f" was set aside: {first['problem']}")
        if outcome.critical:
            (f, n, rule, reason), = con.execute(
                "select t._source_file, t._row_number, r.rule, r.reason from rejected r join typed t using (_row_id) "
                "where r.severity = 'critical' order by r._row_id limit 1").fetchall()
            status = _hold_back_or_fail(src, f"source {src.name}: {sum(outcome.critical.values())} row(s) fail "
                                             f"critical rules {sorted(outcome.critical)}; first: {f} row {n}, "
                                             f"{rule}: {reason}")
        elif share > src.max_reject_share:
            top = rejected["rule"].value_counts().head(3).to_dict()
            status = _hold_back_or_fail(src, f"source {src.name}: {quarantined} of {rows_in} rows ({share:.1%}) were "
                                             f"rejected, more than max_reject_share {src.max_reject_share:.0%}; "
                                             f"most frequent rules: {top}")
        accepted = 0
        staged = spec.path("staging", f"{src.name}.parquet")
        if status == "loaded":
            cols = ", ".join(quote(c) for c in staged_columns(src.kind))
            con.execute(f"create view accepted as select {cols} from typed "
                        f"where _row_id not in (select _row_id from rejected) order by _row_id")
            accepted = warehouse.write_parquet(con, "accepted", staged)
        held_back = rows_in - accepted - quarantined if status == "held_back" else 0
        per_file = _file_counts(con, files["files"], staged if status == "loaded" else None, status)
        freshness = _freshness(con, src, spec.run_date) if status == "loaded" else None
        _write_quarantine(spec, src, con)
    finally:
        con.close()
    if rows_in != accepted + quarantined + held_back:
        raise PipelineError(f"source {src.name} does not reconcile: {rows_in} rows read, {accepted} accepted, "
                            f"{quarantined} quarantined, {held_back} held back")
    for name, c in per_file.items():
        if c["rows_in"] != c["accepted"] + c["quarantined"] + c["held_back"]:
            raise PipelineError(f"source {src.name}, file {name} does not reconcile: {c['rows_in']} rows read, "
                                f"{c['accepted']} accepted, {c['quarantined']} quarantined, {c['held_back']} held back")
    if freshness and freshness["stale"]:
        log.warning("%s: stale: %s", src.name, "no accepted rows" if freshness["newest"] is None else
                    f"newest {freshness['field']} is {freshness['newest']}, {freshness['lag_days']:.1f} days before "
                    f"the end of the run date (max {freshness['max_lag_days']:g})")
    return {
        "kind": src.kind, "status": status, "rows_in": rows_in, "accepted": accepted,
        "quarantined": quarantined, "held_back": held_back, "files": files["files"], "file_counts": per_file,
        "checksums": files.get("checksums", {}),
        "files_set_aside": files["set_aside"], "warnings": outcome.warnings,
        "rules": {r.rule: r.failed for r in outcome.rules if r.failed},
        "rule_severity": {r.rule: r.severity for r in outcome.rules if r.failed},
        "freshness": freshness,
    }, outcome.results


def _file_counts(con, read: dict[str, int], staged: Path | None, status: str) -> dict[str, dict]:
    """Per file: rows read (by the extract), accepted (in the staged file), quarantined, held back."""
    quarantined = dict(con.execute("select t._source_file, count(*) from rejected r join typed t using (_row_id) "
                                   "group by all").fetchall())
    typed = dict(con.execute("select _source_file, count(*) from typed group by all").fetchall())
    accepted = dict(con.execute(f"select _source_file, count(*) from read_parquet('{warehouse._sql_path(staged)}') "
                                "group by all").fetchall()) if staged is not None else {}
    out = {}
    for name in sorted(set(read) | set(typed)):
        q = quarantined.get(name, 0)
        out[name] = {"rows_in": read.get(name, 0), "accepted": accepted.get(name, 0), "quarantined": q,
                     "held_back": typed.get(name, 0) - q if status == "held_back" else 0}
    return out


def _freshness(con, src: SourceConfig, run_date: date) -> dict | None:
    """The source's newest accepted record (contract freshness field) against the end of the run date."""
    f = src.contract.freshness
    if f is None:
        return None
    (newest,), = con.execute(f"select max({quote(f.field)}) from accepted").fetchall()
    end = datetime.combine(run_date, datetime.min.time(), tzinfo=timezone.utc) + pd.Timedelta(days=1)
    lag = None if newest is None else (end - newest).total_seconds() / 86400
    return {"field": f.field, "newest": None if newest is None else newest.isoformat(),
            "lag_days": None if lag is None else round(lag, 3), "max_lag_days": f.max_lag_days,
            "stale": lag is None or lag > f.max_lag_days}


def _write_quality(spec: RunSpec, validated: dict) -> None:
    """quality/rules.parquet (source, rule, severity, failed rows) and quality/sources.parquet (counts,
    freshness) for the quality metrics."""
    rules = [{"source": name, "rule": rule, "severity": v["rule_severity"][rule], "failed": n, "rows_in": v["rows_in"]}
             for name, v in validated.items() for rule, n in v["rules"].items()]
    sources = [{"source": name, "status": v["status"], "rows_in": v["rows_in"], "accepted": v["accepted"],
                "quarantined": v["quarantined"], "held_back": v["held_back"],
                "freshness_field": (v["freshness"] or {}).get("field"),
                "lag_days": (v["freshness"] or {}).get("lag_days"),
                "max_lag_days": (v["freshness"] or {}).get("max_lag_days"),
                "stale": (v["freshness"] or {}).get("stale")} for name, v in validated.items()]
    spec.path("quality").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rules, schema=QUALITY_RULES_SCHEMA), spec.path("quality", "rules.parquet"))
    pq.write_table(pa.Table.from_pylist(sources, schema=QUALITY_SOURCES_SCHEMA), spec.path("quality", "sources.parquet"))


QUALITY_RULES_SCHEMA = pa.schema([("source", pa.string()), ("rule", pa.string()), ("severity", pa.string()),
                                  ("failed", pa.int64()), ("rows_in", pa.int64())])
QUALITY_SOURCES_SCHEMA = pa.schema([
    ("source", pa.string()), ("status", pa.string()), ("rows_in", pa.int64()), ("accepted", pa.int64()),
    ("quarantined", pa.int64()), ("held_back", pa.int64()), ("freshness_field", pa.string()),
    ("lag_days", pa.float64()), ("max_lag_days", pa.float64()), ("stale", pa.bool_())])


def _write_quarantine(spec: RunSpec, src: SourceConfig, con) -> None:
    """quarantine/<source>.parquet (masked, for the warehouse) and staging/<source>.rejected.parquet (the
    rejected rows' original text under the export's column names, private state for replay)."""
    set_aside = json.loads(spec.path("raw", f"{src.name}.files.json").read_text(encoding="utf-8"))["set_aside"]
    bad = con.execute("select t.*, r.rule as _rule, r.severity as _severity, r.reason as _reason "
                      "from rejected r join typed t using (_row_id) order by _row_id").df()
    rows = []
    for rec in bad.to_dict("records"):
        rows.append({"run_id": spec.run_id, "source": src.name, "system": src.system, "entity": src.entity,
                     "file": rec["_source_file"], "row_number": int(rec["_row_number"]), "rule": rec["_rule"],
                     "severity": rec["_severity"], "reason": rec["_reason"], "record": quarantine_record(rec, src)})
    for p in set_aside:
        rows.append({"run_id": spec.run_id, "source": src.name, "system": src.system, "entity": src.entity,
                     "file": p["file"], "row_number": p["line"], "rule": "file", "severity": "file",
                     "reason": p["problem"], "record": None})
    spec.path("quarantine").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA), spec.path("quarantine", f"{src.name}.parquet"))
    originals = ", ".join(f"{quote(name + '__raw')} as {quote(col)}" for name, col in src.columns.items())
    con.execute(f"create view rejected_originals as select {originals}, t._source_file as _quarantined_file, "
                f"t._row_number as _quarantined_row, r.rule as _rule, r.reason as _reason "
                f"from rejected r join typed t using (_row_id) order by t._row_id")
    warehouse.write_parquet(con, "rejected_originals", spec.path("staging", f"{src.name}.rejected.parquet"))


# ------------------------------------------------------------------------------------------ stage
def stage_step(spec: RunSpec, validated: dict) -> dict:
    """Assemble the run's staged sources: this run's, plus the last published ones of sources not run
    (or held back) tonight, unless full_refresh. Returns rows per staged source."""
    cfg = spec.config()
    previous = None if spec.full_refresh else warehouse.current_version(spec.warehouse_dir)
    staged = {}
    for src in cfg.sources:
        path = spec.path("staging", f"{src.name}.parquet")
        result = validated.get(src.name)
        if result is None or result["status"] == "held_back":
            old = warehouse.state_file(spec.state_dir, previous.name, src.name) if previous else None
            if old is None or not old.exists():
                log.warning("%s: %s and no earlier load to reuse: not in this version", src.name,
                            "not run tonight" if result is None else "held back")
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(old, path)
            old_q = previous / "quarantine.parquet"
            if result is None and old_q.exists():
                kept = pq.read_table(old_q).filter(pa.compute.equal(pa.compute.field("source"), src.name))
                pq.write_table(kept, spec.path("quarantine", f"{src.name}.parquet"))
                old_rejected = old.with_name(f"{src.name}.rejected.parquet")
                if old_rejected.exists():
                    shutil.copyfile(old_rejected, spec.path("staging", old_rejected.name))
            log.info("%s: reusing the rows staged by run %s", src.name, previous.name)
        if path.exists():
            staged[src.name] = pq.read_metadata(path).num_rows
    if not staged:
        raise PipelineError("no source has any staged rows: nothing to publish")
    return staged


def _staged_kinds(spec: RunSpec, cfg: PipelineConfig) -> dict[str, tuple[str, Path]]:
    return {s.name: (s.kind, spec.path("staging", f"{s.name}.parquet"))
            for s in cfg.sources if spec.path("staging", f"{s.name}.parquet").exists()}


def _analysis_connection(spec: RunSpec, cfg: PipelineConfig, hash_key: str):
    con = spec.connect()
    warehouse.attach_kinds(con, _staged_kinds(spec, cfg))
    register_udfs(Database(con), hash_key, cfg.identity)  # TODO(merge)
    regions = sorted({(s.system, s.default_region or "TW") for s in cfg.sources})
    con.execute("create table source_regions (system varchar, region varchar)")
    seen = set()
    for system, region in regions:
        if system not in seen:  # one default region per system
            con.execute("insert into source_regions values ($s, $r)", {"s": system, "r": region})
            seen.add(system)
    con.execute("create table journey_stages (touchpoint_type varchar, journey_stage varchar)")
    for tp, stage in sorted(cfg.journey_stages.items()):
        con.execute("insert into journey_stages values ($t, $s)", {"t": tp, "s": stage})
    register_survivorship(Database(con), cfg.identity.survivorship)  # TODO(merge)
    con.execute("create table policy_topics (policy varchar, topic varchar)")
    for policy, topic in sorted(cfg.metrics.policy_topics.items()):
        con.execute("insert into policy_topics values ($p, $t)", {"p": policy, "t": topic})
    return con


def _params(spec: RunSpec, cfg: PipelineConfig) -> dict:
    return {
        "run_id": spec.run_id,
        "as_of_date": spec.run_date.isoformat(),
        "business_tz": cfg.metrics.business_timezone,
        "case_window_days": cfg.metrics.case_window_days,
        "repeat_contact_days": cfg.metrics.repeat_contact_days,
        "lookback_days": cfg.metrics.lookback_days,
        "feedback_days": cfg.metrics.feedback_days,
        "complaint_topics": cfg.metrics.complaint_topics,
        "complete_360_systems": cfg.metrics.complete_360_systems,
        "integrated_min_share": cfg.metrics.integrated_min_share,
    }


# --------------------------------------------------------------------------------------- identity
def identity_step(spec: RunSpec, hash_key: str) -> dict:
    """Resolve identities over the staged sources, carry customer ids over from the published version,
    score against ground truth when there is one; write the identity tables. Fails (PipelineError) when the
    stability gate trips."""
    cfg = spec.config()
    con = _analysis_connection(spec, cfg, hash_key)
    try:
        previous = warehouse.current_version(spec.warehouse_dir)
        has_previous = previous is not None and (previous / "customer_identities.parquet").exists()
        if has_previous:
            warehouse.attach_parquet(con, "prev_identities", previous / "customer_identities.parquet")
            if (previous / "customer_id_map.parquet").exists():
                warehouse.attach_parquet(con, "prev_id_map", previous / "customer_id_map.parquet")
            else:  # a version published before ids were tracked: its ids are the oldest known
                con.execute("create table prev_id_map as select distinct customer_id, customer_id as current_customer_id, "
                            "'active' as status, '' as issued_run_id, '' as changed_run_id from prev_identities")
        counts = resolve_customers(Database(con), cfg.identity, spec.run_id, has_previous)  # TODO(merge)
        if not spec.accept_identity_changes:  # before anything else is built: a gated run stops here
            try:
                check_stability(counts["changes"], cfg.identity.stability.max_changed_share,
                                cfg.identity.stability.min_customers_for_gate)
            except IdentityGateError as exc:
                raise PipelineError(str(exc)) from None
        _identity_history(con, spec, previous if has_previous else None)
        _identity_links(con)
        con.execute("create or replace table identity_evaluation (family varchar, metric varchar, dimension varchar, "
                    "numerator double, denominator double, detail varchar)")
        scores = None
        truth = spec.ground_truth_dir / "identity.csv" if spec.ground_truth_dir else None
        if truth is not None and truth.exists():
            con.execute("create temp table truth as select * from read_csv($p, all_varchar = true)", {"p": str(truth)})
            scores = evaluate_identity(Database(con), cfg.identity)  # TODO(merge)
            if scores["scopes"]["all"]["records"] == 0:  # ground truth of other exports (the demo's): not ours
                log.warning("ground truth at %s names none of tonight's records; identity not scored", truth)
                scores = None
            else:
                con.executemany("insert into identity_evaluation values (?, ?, ?, ?, ?, ?)", identity_metric_rows(scores))
        for table in IDENTITY_TABLES:
            warehouse.write_parquet(con, table, spec.path("int", f"{table}.parquet"))
        for table in PUBLISHED_IDENTITY_TABLES:
            warehouse.write_parquet(con, table, spec.path("out", f"{table}.parquet"))
        warehouse.write_parquet(con, "int_identity__records", spec.path("staging", IDENTITY_RECORDS_STATE))
    finally:
        con.close()
    return counts | {"evaluation": scores}


def _identity_history(con, spec: RunSpec, previous: Path | None) -> None:
    """customer_id_history: the previous version's events plus this run's."""
    earlier = ""
    if previous is not None and (previous / "customer_id_history.parquet").exists():
        warehouse.attach_parquet(con, "prev_history", previous / "customer_id_history.parquet")
        earlier = "union all select * from prev_history where run_id <> $run_id"
    con.execute(f"""
        create or replace table customer_id_history as
        select * from (
            select $run_id as run_id, cast($run_date as date) as run_date, event, customer_id,
                   related_customer_id, records, detail
            from int_identity__events
            {earlier}
        )
        order by run_id, event, customer_id, related_customer_id""",
                {"run_id": spec.run_id, "run_date": spec.run_date.isoformat()})


def _identity_links(con) -> None:
    """identity_links: every accepted link between two records of one customer, by record key."""
    con.execute("""
        create or replace table identity_links as
        select c.customer_id, a.system as system_a, a.entity as entity_a, a.record_id as record_id_a,
               b.system as system_b, b.entity as entity_b, b.record_id as record_id_b,
               l.link_rule, l.key_type as identifier_type, l.match_probability, l.evidence
        from int_identity__links as l
        join int_identity__records as a on a.rid = l.rid_a
        join int_identity__records as b on b.rid = l.rid_b
        join customer_identities as c on c.rid = l.rid_a
        order by c.customer_id, system_a, entity_a, record_id_a, system_b, entity_b, record_id_b""")


def _attach_identity(con, spec: RunSpec) -> None:
    warehouse.attach_parquet(con, "int_identity__records", spec.path("staging", IDENTITY_RECORDS_STATE))
    for table in IDENTITY_TABLES:
        warehouse.attach_parquet(con, table, spec.path("int", f"{table}.parquet"))
    for table in PUBLISHED_IDENTITY_TABLES:
        warehouse.attach_parquet(con, table, spec.path("out", f"{table}.parquet"))


# ------------------------------------------------------------------------------------------ model
def model_step(spec: RunSpec, hash_key: str) -> dict:
    """Build dim_customers, fct_orders, fct_support_cases and fct_touchpoints into out/."""
    cfg = spec.config()
    con = _analysis_connection(spec, cfg, hash_key)
    try:
        _attach_identity(con, spec)
        rows = build_models(Database(con), _params(spec, cfg))  # TODO(merge)
        for table in rows:
            warehouse.write_parquet(con, table, spec.path("out", f"{table}.parquet"))
    finally:
        con.close()
    return rows


# ---------------------------------------------------------------------------------------- metrics
def metrics_step(spec: RunSpec, hash_key: str) -> dict:
    """Compute this run's metrics and append them to the history of earlier runs (unless full_refresh)."""
    cfg = spec.config()
    con = _analysis_connection(spec, cfg, hash_key)
    try:
        _attach_identity(con, spec)
        for table in MODELS:
            warehouse.attach_parquet(con, table, spec.path("out", f"{table}.parquet"))
        new_rows = build_metrics(Database(con), _params(spec, cfg))  # TODO(merge)
        for table in ("rules", "sources"):
            if spec.path("quality", f"{table}.parquet").exists():
                warehouse.attach_parquet(con, f"quality_{table}", spec.path("quality", f"{table}.parquet"))
            else:  # no source validated in this run (cannot happen in a flow run; keeps the step usable alone)
                schema = QUALITY_RULES_SCHEMA if table == "rules" else QUALITY_SOURCES_SCHEMA
                con.register(f"quality_{table}", pa.Table.from_pylist([], schema=schema))
        new_rows += build_quality_metrics(Database(con), _params(spec, cfg))  # TODO(merge)
        new_rows += append_metrics(Database(con), "select family, metric, null::date as metric_date, dimension, numerator, "
                                        "denominator, detail from identity_evaluation", _params(spec, cfg))
        previous = None if spec.full_refresh else warehouse.current_version(spec.warehouse_dir)
        if previous is not None and (previous / "metrics.parquet").exists():
            warehouse.attach_parquet(con, "previous_metrics", previous / "metrics.parquet")
            con.execute("insert into metrics select * from previous_metrics where run_id <> $r", {"r": spec.run_id})
        con.execute("create view metrics_sorted as select * from metrics order by run_id, family, metric, metric_date, dimension")
        total = warehouse.write_parquet(con, "metrics_sorted", spec.path("out", "metrics.parquet"))
        headline = _headline(con, spec.run_id, spec.run_date)
    finally:
        con.close()
    return {"rows": new_rows, "history_rows": total, "headline": headline}


HEADLINE_SKIP = ["price_spread",  # detail of price_mismatch_sku_share, whose window row lists the SKUs
                 "quarantined_rows", "freshness_lag_days",  # the run summary lists failing rules and stale sources
                 # identity scores have their own table in the run summary, one row per scope
                 "pairwise_precision", "pairwise_recall", "bcubed_precision", "bcubed_recall"]
HEADLINE_DISTRIBUTIONS = ["customers_by_system_count"]  # every dimension shown, in dimension order


def _headline(con, run_id: str, run_date: date) -> list[dict]:
    """One line per metric of this run: the overall figure (dimension 'all'; the whole-window row when
    there is one, else the as-of day's) and up to three notable dimensions (highest value, numerator > 0),
    or every dimension of a distribution."""
    rows = con.execute("""
        select family, metric, dimension, numerator, denominator, value, detail,
               metric_date is null and bool_or(metric_date is not null) over (partition by metric) as whole_window,
               list_contains($dist, metric) as distribution
        from metrics
        where run_id = $r and not list_contains($skip, metric)
        qualify metric_date is null or metric_date = $d
        order by family, metric, metric_date nulls first,
                 case when distribution then try_cast(dimension as integer) end, value desc nulls last, dimension
        """, {"r": run_id, "d": run_date, "skip": HEADLINE_SKIP, "dist": HEADLINE_DISTRIBUTIONS}).fetchall()
    units = {name: d["unit"] for name, d in metric_definitions().items()}
    out: dict[tuple[str, str], dict] = {}
    for family, metric, dimension, num, den, value, detail, whole_window, distribution in rows:
        line = out.setdefault((family, metric), {"family": family, "metric": metric, "unit": units.get(metric, "share"),
                                                 "overall": None, "notable": []})
        if dimension == "all":
            if line["overall"] is None:
                line["overall"] = {"numerator": num, "denominator": den, "value": value, "detail": detail,
                                   "window": whole_window}
        elif distribution or (num and len(line["notable"]) < 3):
            line["notable"].append({"dimension": dimension, "value": value})
    return list(out.values())


def headline_text(line: dict) -> tuple[str, str]:
    """(overall, notable) of a headline line as short strings for the console and the artifact."""
    o = line["overall"]
    unit = line.get("unit", "share")
    overall = ""
    if o is not None and o["value"] is not None:
        counts = (f"{o['numerator']:,.0f} of {o['denominator']:,.0f}" if unit == "share"
                  else f"{o['numerator']:,.1f} / {o['denominator']:,.0f}")
        overall = f"{format_value(o['value'], unit)} ({counts}{', any day of the window' if o['window'] else ''})"
    notable = ", ".join(f"{n['dimension']} {format_value(n['value'], unit, precise=False)}"
                        for n in line["notable"] if n["value"] is not None)
    if o is not None and o.get("detail"):
        notable = ", ".join(x for x in (o["detail"], notable) if x)
    return overall, notable


# ---------------------------------------------------------------------------------------- publish
def publish_step(spec: RunSpec, summary: dict) -> dict:
    """Write quarantine and run tables into out/ and publish it atomically with the run's staged rows
    (kept as private state for later runs); record the run."""
    out = spec.path("out")
    con = spec.connect()
    try:
        qfiles = sorted(spec.path("quarantine").glob("*.parquet"))
        if qfiles:
            files = ", ".join(f"'{warehouse._sql_path(p)}'" for p in qfiles)
            con.execute(f"create view quarantine as select * from read_parquet([{files}]) "
                        f"order by source, file, row_number")
        else:
            con.register("quarantine_empty", pa.Table.from_pylist([], schema=QUARANTINE_SCHEMA))
            con.execute("create view quarantine as select * from quarantine_empty")
        warehouse.write_parquet(con, "quarantine", out / "quarantine.parquet")
        record = run_record(spec, summary, status="success")
        ledger = [r for r in warehouse.read_run_records(spec.warehouse_dir) if r["run_id"] != spec.run_id]
        if spec.full_refresh:
            ledger = []
        runs, run_sources = _run_tables([*ledger, record])
        con.register("runs_arrow", runs)
        con.register("run_sources_arrow", run_sources)
        con.register("run_files_arrow", _run_files_table([*ledger, record]))
        warehouse.write_parquet(con, "runs_arrow", out / "pipeline_runs.parquet")
        warehouse.write_parquet(con, "run_sources_arrow", out / "pipeline_run_sources.parquet")
        warehouse.write_parquet(con, "run_files_arrow", out / "pipeline_run_files.parquet")
    finally:
        con.close()
    # the report is part of the version: published (or not) together with the tables it shows (a version
    # built without the metrics step, as publish_step alone in tests, has nothing to report)
    reported = (out / "metrics.parquet").exists()
    if reported:
        write_report(out)
    version = warehouse.publish(out, spec.warehouse_dir, spec.run_id, spec.keep_versions,
                                state=(spec.path("staging"), spec.state_dir))
    # only files of a published load count as loaded (a failed run loads nothing)
    warehouse.record_loaded_files(spec.state_dir, {
        digest: {"source": name, "file": file, "run_id": spec.run_id, "run_date": spec.run_date.isoformat()}
        for name, v in summary.get("validate", {}).items() if v["status"] == "loaded"
        for file, digest in v.get("checksums", {}).items()})
    record["warehouse_version"] = str(version)
    record["data_docs"] = str(version / DATA_DOCS / "index.html")
    warehouse.write_run_record(spec.warehouse_dir, record)
    return {"version": str(version), "report": str(version / "report.html") if reported else None,
            "data_docs": record["data_docs"]}


def run_record(spec: RunSpec, summary: dict, status: str, error: str | None = None) -> dict:
    """One row of pipeline_runs as a dict (also the ledger file's content)."""
    validated = summary.get("validate", {})
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
        "files_set_aside": sum(len(v["files_set_aside"]) for v in validated.values()),
        "customers": summary.get("identity", {}).get("customers"),
        "identity_records": summary.get("identity", {}).get("identity_records"),
        **{f"customers_{k}": (summary.get("identity", {}).get("changes") or {}).get(k) for k in IDENTITY_CHANGES},
        "sources": {
            name: {k: v[k] for k in ("kind", "status", "rows_in", "accepted", "quarantined", "held_back", "files")}
            | {"files_set_aside": [f"{p['file']}: {p['problem']}" for p in v["files_set_aside"]],
               "file_counts": v.get("file_counts", {}), "rules": v.get("rules", {})}
            for name, v in validated.items()
        },
    }


def _run_tables(records: list[dict]) -> tuple[pa.Table, pa.Table]:
    runs, sources = [], []
    for r in records:
        counts = [{"source": name, **{k: s[k] for k in ("status", "rows_in", "accepted", "quarantined", "held_back")}}
                  for name, s in sorted((r.get("sources") or {}).items())]
        runs.append({k: r.get(k) for k in (
            "run_id", "run_date", "started_at", "finished_at", "status", "error", "full_refresh", "rows_in",
            "rows_accepted", "rows_quarantined", "rows_held_back", "files_set_aside", "customers",
            "identity_records", *(f"customers_{k}" for k in IDENTITY_CHANGES))} | {"sources_requested": ",".join(r.get("sources_requested") or []) or None,
                                    "sources": counts})
        for c in counts:
            s = r["sources"][c["source"]]
            sources.append({"run_id": r["run_id"], **c, "files": len(s["files"]),
                            "files_set_aside": len(s["files_set_aside"]),
                            "set_aside_detail": "; ".join(s["files_set_aside"]) or None})
    runs_schema = pa.schema([
        ("run_id", pa.string()), ("run_date", pa.string()), ("started_at", pa.string()),
        ("finished_at", pa.string()), ("status", pa.string()), ("error", pa.string()),
        ("full_refresh", pa.bool_()), ("rows_in", pa.int64()), ("rows_accepted", pa.int64()),
        ("rows_quarantined", pa.int64()), ("rows_held_back", pa.int64()), ("files_set_aside", pa.int64()),
        ("customers", pa.int64()), ("identity_records", pa.int64()),
        *((f"customers_{k}", pa.int64()) for k in IDENTITY_CHANGES), ("sources_requested", pa.string()),
        ("sources", pa.list_(pa.struct([("source", pa.string()), ("status", pa.string()), ("rows_in", pa.int64()),
                                        ("accepted", pa.int64()), ("quarantined", pa.int64()),
                                        ("held_back", pa.int64())])))])
    sources_schema = pa.schema([
        ("run_id", pa.string()), ("source", pa.string()), ("status", pa.string()), ("rows_in", pa.int64()),
        ("accepted", pa.int64()), ("quarantined", pa.int64()), ("held_back", pa.int64()),
        ("files", pa.int64()), ("files_set_aside", pa.int64()), ("set_aside_detail", pa.string())])
    return pa.Table.from_pylist(runs, schema=runs_schema), pa.Table.from_pylist(sources, schema=sources_schema)


def _run_files_table(records: list[dict]) -> pa.Table:
    """pipeline_run_files: one row per run, source and file read (rows in / accepted / quarantined / held back)."""
    rows = [{"run_id": r["run_id"], "source": name, "file": file, **counts}
            for r in records for name, s in sorted((r.get("sources") or {}).items())
            for file, counts in sorted((s.get("file_counts") or {}).items())]
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("run_id", pa.string()), ("source", pa.string()), ("file", pa.string()), ("rows_in", pa.int64()),
        ("accepted", pa.int64()), ("quarantined", pa.int64()), ("held_back", pa.int64())]))


def failing_rules(summary: dict) -> list[tuple[str, str, str, int]]:
    """(source, rule, severity, rows) of every rule that failed in this run, most rows first."""
    out = [(name, rule, v.get("rule_severity", {}).get(rule, ""), n)
           for name, v in summary.get("validate", {}).items() for rule, n in v.get("rules", {}).items()]
    return sorted(out, key=lambda r: (-r[3], r[0], r[1]))


def timed(stage: str, fn, *args) -> dict:
    """Run one step, log its duration and a one-line summary at INFO on the silobridge logger."""
    start = time.perf_counter()
    result = fn(*args)
    log.info("%-9s %s (%.1fs)", stage, describe(stage, result), time.perf_counter() - start)
    return result


def describe(stage: str, result: dict) -> str:
    """A short human summary of a step's counts."""
    if stage == "extract":
        rows = sum(v["rows"] for v in result.values())
        files = sum(v["files"] for v in result.values())
        aside = sum(v["files_set_aside"] for v in result.values())
        return f"{len(result)} sources, {files} files, {rows:,} rows" + (f", {aside} files set aside" if aside else "")
    if stage == "validate":
        acc = sum(v["accepted"] for v in result.values())
        q = sum(v["quarantined"] for v in result.values())
        held = [k for k, v in result.items() if v["status"] == "held_back"]
        return f"{acc:,} rows accepted, {q:,} quarantined" + (f", held back: {held}" if held else "")
    if stage == "stage":
        return f"{len(result)} staged sources, {sum(result.values()):,} rows"
    if stage == "identity":
        ch = result.get("changes") or {}
        return (f"{result['identity_records']:,} identity records -> {result['customers']:,} customers "
                f"({result['deterministic_links']:,} deterministic + {result['probabilistic_links']:,} probabilistic "
                f"links, {result['guards_fired']} key values guarded; ids: {ch.get('new', 0):,} new, "
                f"{ch.get('merged', 0)} merged, {ch.get('split', 0)} split, {ch.get('moved', 0)} moved, "
                f"{ch.get('unchanged', 0):,} unchanged)")
    if stage == "model":
        return ", ".join(f"{k} {v:,}" for k, v in result.items())
    if stage == "metrics":
        return f"{result['rows']:,} metric rows"
    if stage == "publish":
        return f"published {result['version']}"
    return str(result)


def evaluation_text(scores: dict) -> str:
    """One line of identity scores per scope (pairwise precision / recall, B-cubed F1)."""
    return "; ".join(
        f"{scope}: precision {s['precision']:.4f}, recall {s['recall']:.4f}, B-cubed F1 {s['bcubed_f1']:.4f} "
        f"({s['records']:,} records)" for scope, s in scores["scopes"].items())


def summary_markdown(summary: dict) -> str:
    """The run summary published as a Prefect artifact (counts only, no personal data)."""
    lines = [f"# silobridge run {summary['run_id']} (as of {summary['run_date']})", "",
             "| source | status | rows in | accepted | quarantined | held back |", "|---|---|---|---|---|---|"]
    for name, v in sorted(summary.get("validate", {}).items()):
        lines.append(f"| {name} | {v['status']} | {v['rows_in']} | {v['accepted']} | {v['quarantined']} | {v['held_back']} |")
    failing = failing_rules(summary)
    if failing:
        lines += ["", "Failing rules:", "", "| source | rule | severity | rows |", "|---|---|---|---|"]
        lines += [f"| {s} | {r} | {sev} | {n} |" for s, r, sev, n in failing]
    stale = [f"{k} ({v['freshness']['lag_days']} days)" for k, v in sorted(summary.get("validate", {}).items())
             if (v.get("freshness") or {}).get("stale")]
    if stale:
        lines += ["", f"Stale sources: {', '.join(stale)}"]
    ident = summary.get("identity", {})
    lines += ["", f"Identity records: {ident.get('identity_records')}, customers: {ident.get('customers')}",
              *([f"Identity vs ground truth: {evaluation_text(ident['evaluation'])}"] if ident.get("evaluation") else []),
              "",
              "| family | metric | overall | notable |", "|---|---|---|---|"]
    for line in summary.get("metrics", {}).get("headline", []):
        overall, notable = headline_text(line)
        lines.append(f"| {line['family']} | {line['metric']} | {overall} | {notable} |")
    lines += ["", f"Published: {summary.get('publish', {}).get('version')}",
              f"Report: {summary.get('publish', {}).get('report')}",
              f"Data Docs: {summary.get('publish', {}).get('data_docs')}"]
    return "\n".join(lines)
