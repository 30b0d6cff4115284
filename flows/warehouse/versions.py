"""Warehouse versions: publish a fully written version with one atomic pointer move, find the current one,
prune old ones (and the private state of versions no longer kept), and finish or roll back what a killed run
left behind.

The one pointer is the `current` symlink. Each version holds its own catalog (versions/<id>/warehouse.duckdb,
views over versions/<id>/<table>.parquet, paths relative to the warehouse directory), and warehouse.duckdb is a
fixed symlink to current/warehouse.duckdb: moving `current` switches the Parquet files, the catalog and the
report together, by one rename.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from flows.db import Database, quote

log = logging.getLogger("silobridge.pipeline")

CATALOG = "warehouse.duckdb"
# the normalised identity records (personal attributes in clear): written once, beside the staged rows, so
# that the models read them during the run and `silobridge explain` reads the published run's privately
IDENTITY_RECORDS_STATE = "_identity_records.parquet"
# the probabilistic identity model's parameters (m, u, prior) and when it was trained: the next runs reuse them
IDENTITY_MODEL_STATE = "_identity_model.json"
# a reader of a version holds a shared lock on this file; pruning skips a version it cannot lock exclusively
READERS_LOCK = ".readers"
RUN_ID = re.compile(r"^\d{8}T\d{6}\d*Z$")
TRASH = ".trash."


def current_version(warehouse_dir: Path) -> Path | None:
    """The directory of the published version, or None before the first publish."""
    link = warehouse_dir / "current"
    return link.resolve() if link.exists() else None


def state_file(state_dir: Path, run_id: str, source: str) -> Path:
    """The private copy of one source's staged rows as published by run `run_id`."""
    return state_dir / run_id / "staging" / f"{source}.parquet"


def identity_model_file(state_dir: Path, run_id: str) -> Path:
    """The probabilistic identity model stored by run `run_id` (for the next runs to reuse)."""
    return state_dir / run_id / "staging" / IDENTITY_MODEL_STATE


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


def _replace_symlink(link: Path, points_to: Path) -> None:
    """Point `link` at `points_to` (a relative path) by renaming a new symlink over it: atomic for readers."""
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(points_to, tmp)
    os.replace(tmp, link)


def publish(out_dir: Path, warehouse_dir: Path, run_id: str, keep_versions: int = 3,
            state: tuple[Path, Path] | None = None, record: Callable[[], None] | None = None) -> Path:
    """Move a fully written version into the warehouse and switch readers to it with one pointer move.

    In order: the staged rows (`state` = (staged rows directory, state directory)) to <state>/<run_id>/staging;
    `out_dir` to versions/<run_id>, with its catalog; `record()` (the run's ledger entry); then `current` moves.
    A kill before the move leaves the previous version current (`recover` rolls the rest back at the next
    start); after it, the new one. Returns the published version directory.
    """
    versions = warehouse_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    target = versions / run_id
    if target.exists():
        raise FileExistsError(f"warehouse version {target} already exists")
    if state is not None and state[0].exists():
        _move_dir(state[0], state[1] / run_id / "staging")
    _move_dir(out_dir, target)
    write_catalog(warehouse_dir, run_id)
    _link_catalog(warehouse_dir)
    if record is not None:
        record()
    _replace_symlink(warehouse_dir / "current", Path("versions") / run_id)
    prune(warehouse_dir, keep_versions, state[1] if state is not None else None)
    return target


def write_catalog(warehouse_dir: Path, run_id: str) -> None:
    """versions/<run_id>/warehouse.duckdb: one view per Parquet table of the version, by a path relative to
    the warehouse directory, and the version's run id (written beside, then renamed)."""
    version = warehouse_dir / "versions" / run_id
    path = version / CATALOG
    tmp = version / f".{CATALOG}.tmp"
    tmp.unlink(missing_ok=True)
    with Database.connect(database=tmp, step="publish") as db:
        db.run("catalog.search_path", "set file_search_path = $p", {"p": str(warehouse_dir.resolve())})
        for table in sorted(p.stem for p in version.glob("*.parquet")):
            db.view_over_parquet(table, Path("versions") / run_id / f"{table}.parquet")
        db.run("catalog.version", f"create table {quote('_silobridge_version')} as select $run_id as run_id",
               {"run_id": run_id})
    os.replace(tmp, path)
    (version / READERS_LOCK).touch()


def _link_catalog(warehouse_dir: Path) -> None:
    """warehouse.duckdb -> current/warehouse.duckdb, once. A warehouse published before versions held their
    catalog gets one in its current version first, so that readers never lose it."""
    link = warehouse_dir / CATALOG
    if link.is_symlink():
        return
    current = current_version(warehouse_dir)
    if current is not None and not (current / CATALOG).exists():
        write_catalog(warehouse_dir, current.name)
    _replace_symlink(link, Path("current") / CATALOG)


def reading(version: Path):
    """Hold a shared lock on a version while reading it (pruning skips it); returns the open lock file to
    close when done (None for a version published without one). Needs read access only."""
    try:
        f = open(version / READERS_LOCK, encoding="utf-8")  # noqa: SIM115 (closing it releases the lock)
    except FileNotFoundError:
        return None
    fcntl.flock(f, fcntl.LOCK_SH)
    return f


def _discard(d: Path) -> bool:
    """Rename `d` to a trash name (atomic: never half a version under its own name), then delete it.
    Returns False, leaving it, when a reader holds it."""
    lock = d / READERS_LOCK
    if lock.exists():
        with open(lock, "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("version %s is being read: pruned at a later run", d.name)
                return False
            trash = d.with_name(f"{TRASH}{d.name}")
            os.rename(d, trash)
    else:
        trash = d.with_name(f"{TRASH}{d.name}")
        os.rename(d, trash)
    shutil.rmtree(trash, ignore_errors=True)
    return True


def prune(warehouse_dir: Path, keep: int, state_dir: Path | None) -> None:
    """Delete all but the newest `keep` versions (never the current one, nor one being read), and the state
    of versions no longer kept (and of runs never published)."""
    versions = warehouse_dir / "versions"
    current = current_version(warehouse_dir)
    dirs = sorted((d for d in versions.iterdir() if d.is_dir() and RUN_ID.match(d.name)), key=lambda d: d.name)
    for old in dirs[:-keep]:
        if current is None or old.resolve() != current:
            _discard(old)
    if state_dir is not None and state_dir.exists():
        kept = {d.name for d in versions.iterdir() if d.is_dir()}
        for d in state_dir.iterdir():
            if d.is_dir() and RUN_ID.match(d.name) and d.name not in kept:
                shutil.rmtree(d, ignore_errors=True)


def recover(warehouse_dir: Path, state_dir: Path, keep: int) -> list[str]:
    """Finish or roll back what an interrupted run left in the warehouse: a version newer than `current` (a
    publish killed before its pointer moved) is rolled back, half-deleted versions and temporary files are
    removed, pruning is finished. Returns the run ids rolled back. Call it holding the warehouse lock."""
    versions = warehouse_dir / "versions"
    if not warehouse_dir.exists():
        return []
    for tmp in [*warehouse_dir.glob(".*.tmp"), *(warehouse_dir / "runs").glob(".*.tmp")]:
        tmp.unlink(missing_ok=True)
    rolled_back = []
    if versions.exists():
        current = current_version(warehouse_dir)
        for d in sorted(versions.iterdir()):
            if d.name.startswith(TRASH) or d.name.endswith(".partial"):
                shutil.rmtree(d, ignore_errors=True)
            elif d.is_dir() and RUN_ID.match(d.name) and (current is None or d.name > current.name):
                log.warning("version %s was never published (its run was interrupted): rolled back", d.name)
                _discard(d)
                rolled_back.append(d.name)
        if current is not None:
            _link_catalog(warehouse_dir)
        prune(warehouse_dir, keep, state_dir)
    for tmp in state_dir.glob(".*.tmp") if state_dir.exists() else []:
        tmp.unlink(missing_ok=True)
    return rolled_back
