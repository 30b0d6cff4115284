"""The ledger of loaded files (<state>/loaded_files.json): content checksum -> the first published load."""

from __future__ import annotations

import json
import os
from pathlib import Path

LEDGER = "loaded_files.json"
# a run's loaded files, beside its staged rows: recorded in the ledger once its version is current
PENDING = "_loaded_files.json"


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


def note_loaded_files(staging_dir: Path, entries: dict[str, dict]) -> None:
    """Note a run's loaded files beside its staged rows (moved with them into the state on publish)."""
    staging_dir.mkdir(parents=True, exist_ok=True)
    (staging_dir / PENDING).write_text(json.dumps(entries, indent=1, sort_keys=True), encoding="utf-8")


def record_pending_files(state_dir: Path, run_id: str) -> None:
    """Record the loaded files noted by the published run `run_id` (idempotent: first loads are kept)."""
    path = state_dir / run_id / "staging" / PENDING
    if path.exists():
        record_loaded_files(state_dir, json.loads(path.read_text(encoding="utf-8")))
