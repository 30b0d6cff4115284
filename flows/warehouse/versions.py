"""Warehouse versions: publish a fully written version atomically, find the current one, prune old ones
(and the private state of versions no longer kept)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from flows.db import Database, quote

CATALOG = "warehouse.duckdb"
# the normalised identity records (personal attributes in clear): written once, beside the staged rows, so
# that the models read them during the run and `silobridge explain` reads the published run's privately
IDENTITY_RECORDS_STATE = "_identity_records.parquet"


def current_version(warehouse_dir: Path) -> Path | None:
    """The directory of the published version, or None before the first publish."""
    link = warehouse_dir / "current"
    return link.resolve() if link.exists() else None


def state_file(state_dir: Path, run_id: str, source: str) -> Path:
    """The private copy of one source's staged rows as published by run `run_id`."""
    return state_dir / run_id / "staging" / f"{source}.parquet"


def identity_records_file(state_dir: Path, run_id: str) -> Path:
    """The private copy of the identity records of run `run_id` (for `silobridge explain`)."""
    return state_dir / run_id / "staging" / IDENTITY_RECORDS_STATE


def rejected_file(state_dir: Path, run_id: str, source: str) -> Path:
    """The private copy of one source's quarantined rows' original text as published by run `run_id`."""
    return state_file(state_dir, run_id, source).with_name(f"{source}.rejected.parquet")


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
    tmp_catalog = warehouse_dir / f".{CATALOG}.{run_id}.tmp"
    tmp_catalog.unlink(missing_ok=True)
    _write_catalog(tmp_catalog, target, run_id)
    os.replace(tmp_catalog, warehouse_dir / CATALOG)
    tmp_link = warehouse_dir / f".current.{run_id}.tmp"
    tmp_link.unlink(missing_ok=True)
    os.symlink(Path("versions") / run_id, tmp_link)
    os.replace(tmp_link, warehouse_dir / "current")
    _prune(versions, keep=keep_versions, current=target)
    if state is not None:
        _prune_state(state[1], versions)
    return target


def _write_catalog(path: Path, version: Path, run_id: str) -> None:
    """A DuckDB file with one view per Parquet table of `version` and the version's run id."""
    with Database.connect(database=path, step="publish") as db:
        for table in sorted(p.stem for p in version.glob("*.parquet")):
            db.view_over_parquet(table, version.resolve() / f"{table}.parquet")
        db.run("catalog.version", f"create table {quote('_silobridge_version')} as select $run_id as run_id",
               {"run_id": run_id})


def _prune(versions: Path, keep: int, current: Path) -> None:
    """Delete all but the newest `keep` versions (never the current one)."""
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
