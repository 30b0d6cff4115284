"""The one module that reads and writes the warehouse: Parquet files and the DuckDB catalog of views.

Layout under the warehouse directory:
    versions/<run_id>/<table>.parquet   one complete, immutable version per successful run
    current -> versions/<run_id>        symlink swapped atomically on publish
    warehouse.duckdb                    views over the current version, replaced atomically
    runs/<run_id>.json                  the run ledger, one file per run (failed runs too)
A reader either sees the previous version or the new one, never half of a run.

Beside it, in the state directory (not for analysts: personal data in clear):
    <state>/<run_id>/staging/<source>.parquet  the typed rows each source had in that version,
                                               reused for sources not run on a later night
    <state>/<run_id>/staging/<source>.rejected.parquet  the quarantined rows' original text (for replay)
    <state>/loaded_files.json                  ledger of loaded files: content checksum -> first load
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import duckdb

from connectors.schemas import KINDS
from transforms.stage import DUCK_TYPES, quote

log = logging.getLogger(__name__)

CATALOG = "warehouse.duckdb"


def connect(threads: int = 2, memory_limit: str = "6GB", database: str = ":memory:",
            temp_directory: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up for pipeline work (UTC session time zone); it spills to
    `temp_directory` when over the memory limit (DuckDB's default is `.tmp` in the working directory)."""
    con = duckdb.connect(database)
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET memory_limit = $m", {"m": memory_limit})
    if temp_directory is not None:
        con.execute("SET temp_directory = $t", {"t": str(temp_directory)})
    con.execute("SET TimeZone = 'UTC'")
    return con


def write_parquet(con: duckdb.DuckDBPyConnection, relation: str, path: Path) -> int:
    """COPY a table or view to a Parquet file (written beside it, then renamed); return its rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    con.execute(f"COPY (select * from {quote(relation)}) TO '{_sql_path(tmp)}' (FORMAT parquet, COMPRESSION zstd)").fetchall()
    os.replace(tmp, path)
    return con.execute(f"select count(*) from {quote(relation)}").fetchall()[0][0]


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def attach_parquet(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> None:
    """Create view `name` over one Parquet file."""
    con.execute(f"create or replace view {quote(name)} as select * from read_parquet('{_sql_path(path)}')")


def empty_kind_sql(kind: str) -> str:
    """A typed, empty SELECT with the columns of a staged table of `kind`."""
    cols = [f"CAST(NULL AS {DUCK_TYPES[spec.type]}) AS {quote(name)}" for name, spec in KINDS[kind].items()]
    cols += ["NULL::VARCHAR AS _source_system", "NULL::VARCHAR AS _source_entity",
             "NULL::VARCHAR AS _source_file", "NULL::BIGINT AS _row_number"]
    return f"select {', '.join(cols)} where false"


def attach_kinds(con: duckdb.DuckDBPyConnection, staged: dict[str, tuple[str, Path]]) -> None:
    """Create one view `kind_<kind>` per kind: the union of that kind's staged files (empty if none).

    `staged` maps source name -> (kind, parquet path).
    """
    for kind in KINDS:
        paths = [p for k, p in staged.values() if k == kind]
        if paths:
            files = ", ".join(f"'{_sql_path(p)}'" for p in sorted(paths))
            sql = f"select * from read_parquet([{files}], union_by_name = true)"
        else:
            sql = empty_kind_sql(kind)
        con.execute(f"create or replace view {quote('kind_' + kind)} as {sql}")


def current_version(warehouse_dir: Path) -> Path | None:
    """The directory of the published version, or None before the first publish."""
    link = warehouse_dir / "current"
    return link.resolve() if link.exists() else None


def state_file(state_dir: Path, run_id: str, source: str) -> Path:
    """The private copy of one source's staged rows as published by run `run_id`."""
    return state_dir / run_id / "staging" / f"{source}.parquet"


def _move_dir(src: Path, target: Path) -> None:
    """Rename `src` to `target`; across file systems, copy beside the target first, then rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise FileExistsError(f"{target} already exists")
    try:
        os.rename(src, target)
    except OSError:
        partial = target.with_name(f".{target.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(src, partial)
        os.rename(partial, target)


def publish(out_dir: Path, warehouse_dir: Path, run_id: str, keep_versions: int = 3,
            state: tuple[Path, Path] | None = None) -> Path:
    """Move a fully written version into the warehouse and switch readers to it atomically.

    `state` = (staged rows directory, state directory): moved to <state>/<run_id>/staging first, so the
    state of a version exists before the version is visible. Returns the published version directory.
    The DuckDB catalog is rebuilt in a temporary file and renamed over the old one; the `current`
    symlink is replaced with a rename too.
    """
    versions = warehouse_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    target = versions / run_id
    if target.exists():
        raise FileExistsError(f"warehouse version {target} already exists")
    if state is not None and state[0].exists():
        _move_dir(state[0], state[1] / run_id / "staging")
    _move_dir(out_dir, target)
    tables = sorted(p.stem for p in target.glob("*.parquet"))
    tmp_catalog = warehouse_dir / f".{CATALOG}.{run_id}.tmp"
    tmp_catalog.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp_catalog))
    try:
        for table in tables:
            con.execute(f"create view {quote(table)} as select * from read_parquet('{_sql_path(target.resolve() / (table + '.parquet'))}')")
        con.execute("create table _silobridge_version as select $run_id as run_id", {"run_id": run_id})
    finally:
        con.close()
    os.replace(tmp_catalog, warehouse_dir / CATALOG)
    tmp_link = warehouse_dir / f".current.{run_id}.tmp"
    tmp_link.unlink(missing_ok=True)
    os.symlink(Path("versions") / run_id, tmp_link)
    os.replace(tmp_link, warehouse_dir / "current")
    _prune(versions, keep=keep_versions, current=target)
    if state is not None:
        _prune_state(state[1], versions)
    return target


def _prune(versions: Path, keep: int, current: Path) -> None:
    dirs = sorted((d for d in versions.iterdir() if d.is_dir() and not d.name.startswith(".")), key=lambda d: d.name)
    for old in dirs[:-keep]:
        if old.resolve() != current.resolve():
            shutil.rmtree(old, ignore_errors=True)


def _prune_state(state_dir: Path, versions: Path) -> None:
    """Drop the state of versions no longer kept (and of runs that never got published)."""
    if not state_dir.exists():
        return
    kept = {d.name for d in versions.iterdir() if d.is_dir()}
    for d in state_dir.iterdir():
        if d.is_dir() and d.name not in kept:
            shutil.rmtree(d, ignore_errors=True)


LEDGER = "loaded_files.json"


def read_file_ledger(state_dir: Path) -> dict[str, dict]:
    """Checksum -> {source, file, run_id, run_date} of every file a published run loaded."""
    path = state_dir / LEDGER
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def record_loaded_files(state_dir: Path, entries: dict[str, dict]) -> None:
    """Add files to the ledger (the first load of a content is kept), written atomically."""
    ledger = read_file_ledger(state_dir)
    for digest, entry in entries.items():
        ledger.setdefault(digest, entry)
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / f".{LEDGER}.tmp"
    tmp.write_text(json.dumps(ledger, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, state_dir / LEDGER)


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
