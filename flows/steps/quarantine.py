"""The quarantine: rejected rows and files set aside, masked, per source (quarantine/<source>.parquet) and
published as one table; beside it the rejected rows' original text, private state for replay. Likewise the
merged rows (merged/<source>.parquet, published as `merged_rows`): rows folded into an earlier row with the
same key, by file and row number, with the fields whose values differed (names only, no values)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors.config import SourceConfig
from connectors.expressions import EXPORT_PREFIX
from flows.db import Database, quote
from flows.steps.results import SetAside
from flows.steps.spec import RunSpec
from transforms.validate import quarantine_record

QUARANTINE_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("source", pa.string()), ("system", pa.string()), ("entity", pa.string()),
    ("file", pa.string()), ("row_number", pa.int64()), ("rule", pa.string()), ("severity", pa.string()),
    ("reason", pa.string()), ("record", pa.string()),
])


def write_quarantine(db: Database, spec: RunSpec, src: SourceConfig, set_aside: list[SetAside]) -> None:
    """quarantine/<source>.parquet (masked, for the warehouse) and staging/<source>.rejected.parquet (the
    rejected rows' original text under the export's column names, private state for replay), from the
    tables `typed`, `raw_texts` (their texts: transforms.validate.validate_table) and `rejected` in `db`."""
    bad = db.df("rejected rows", "select t.*, x.* exclude (_row_id), r.rule as _rule, r.severity as _severity, "
                                 "r.reason as _reason from rejected r join typed t using (_row_id) "
                                 "join raw_texts x using (_row_id) order by _row_id")
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
    # the export's columns the expressions, keys and filter read (from the extracted rows, `extracted`): a
    # corrected row replayed under the export's column names computes them again
    exported = [c for c in src.export_columns if c not in src.columns.values()]
    originals = ", ".join([*(f"x.{quote(name + '__raw')} as {quote(col)}" for name, col in src.columns.items()),
                           *(f"e.{quote(EXPORT_PREFIX + c)} as {quote(c)}" for c in exported),
                           # the synthetic keys the row had: a replayed row keeps them (connectors.extract)
                           *(f"x.{quote(k + '__raw')} as {quote('_key__' + k)}" for k in src.keys)])
    join = ("join extracted e on e._source_file = t._source_file and e._row_number = t._row_number "
            if exported else "")
    db.run("rejected originals", f"create view rejected_originals as select {originals}, "
                                 "t._source_file as _quarantined_file, t._row_number as _quarantined_row, "
                                 "r.rule as _rule, r.reason as _reason "
                                 f"from rejected r join typed t using (_row_id) join raw_texts x using (_row_id) "
                                 f"{join}order by t._row_id")
    db.write_parquet("rejected_originals", spec.path("staging", f"{src.name}.rejected.parquet"))


MERGED_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("source", pa.string()), ("system", pa.string()), ("entity", pa.string()),
    ("file", pa.string()), ("row_number", pa.int64()), ("kept_file", pa.string()), ("kept_row_number", pa.int64()),
    ("key", pa.string()), ("reason", pa.string()), ("conflicts", pa.list_(pa.string())),
])


def write_merged(db: Database, spec: RunSpec, src: SourceConfig) -> None:
    """merged/<source>.parquet from the table `merged` in `db` (transforms.stage.merged_sql): one row per merged
    row, naming the kept row it was folded into and the fields whose values differed."""
    db.run("merged rows", "create table merged_rows as select $run_id as run_id, $source as source, "
                          "$system as system, $entity as entity, file, row_number, kept_file, kept_row_number, "
                          "$key as key, $reason as reason, conflicts from merged order by _row_id",
           {"run_id": spec.run_id, "source": src.name, "system": src.system, "entity": src.entity,
            "key": ",".join(src.unique_keys),
            "reason": f"repeats the {', '.join(src.unique_keys)} of the kept row: one {src.kind} entity (merge: true)"})
    spec.path("merged").mkdir(parents=True, exist_ok=True)
    db.write_parquet("merged_rows", spec.path("merged", f"{src.name}.parquet"))


def write_published_merged(db: Database, spec: RunSpec) -> None:
    """out/merged_rows.parquet: every source's merged rows of this version, by source, file and row."""
    files = sorted(spec.path("merged").glob("*.parquet")) if spec.path("merged").exists() else []
    if files:
        db.view_over_parquet("merged_files", files)
    else:
        db.register("merged_files", pa.Table.from_pylist([], schema=MERGED_SCHEMA))
    db.run("merged_published", "create view merged_published as select * from merged_files "
                               "order by source, file, row_number")
    db.write_parquet("merged_published", spec.path("out", "merged_rows.parquet"))


def keep_published_merged(spec: RunSpec, previous: Path, source: str) -> None:
    """A source whose rows are the published version's (not run or held back tonight) keeps that version's
    merged rows: they describe the rows it keeps (tonight's repeats of a held-back source are held back)."""
    old_m = previous / "merged_rows.parquet"
    if old_m.exists():
        spec.path("merged").mkdir(parents=True, exist_ok=True)
        pq.write_table(pq.read_table(old_m).filter(pc.equal(pc.field("source"), source)),
                       spec.path("merged", f"{source}.parquet"))


def keep_published_quarantine(spec: RunSpec, previous: Path, source: str, old_rejected: Path) -> None:
    """A source not run tonight keeps its quarantined and merged rows of the published version (and the
    quarantined rows' originals)."""
    keep_published_merged(spec, previous, source)
    old_q = previous / "quarantine.parquet"
    if not old_q.exists():
        return
    kept = pq.read_table(old_q).filter(pc.equal(pc.field("source"), source))
    pq.write_table(kept, spec.path("quarantine", f"{source}.parquet"))
    if old_rejected.exists():
        shutil.copyfile(old_rejected, spec.path("staging", old_rejected.name))


def write_published_quarantine(db: Database, spec: RunSpec) -> None:
    """out/quarantine.parquet: every source's quarantine of this version, by source, file and row."""
    qfiles = sorted(spec.path("quarantine").glob("*.parquet"))
    if qfiles:
        db.view_over_parquet("quarantine_files", qfiles)
    else:
        db.register("quarantine_files", pa.Table.from_pylist([], schema=QUARANTINE_SCHEMA))
    db.run("quarantine", "create view quarantine as select * from quarantine_files order by source, file, row_number")
    db.write_parquet("quarantine", spec.path("out", "quarantine.parquet"))
