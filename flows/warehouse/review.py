"""Clerical review's files: the queue exported from the published `identity_review` for a data steward to label,
and the labels imported into the private state (<state>/review_labels.csv, 0600), where every later run reads
them (they survive reruns and full refreshes: the state is not the warehouse)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from connectors.masking import masked
from flows.warehouse.catalog import Catalog
from flows.warehouse.private import private_dir
from transforms.identity.clerical import LABELS

LABELS_FILE = "review_labels.csv"
KEY_COLUMNS = ["system_a", "entity_a", "record_id_a", "system_b", "entity_b", "record_id_b"]
EXPORT_COLUMNS = [*KEY_COLUMNS, "customer_id_a", "customer_id_b", "same_customer", "match_probability",
                  "match_weight", "reason", "evidence", "label"]


class ReviewFileError(ValueError):
    """A label file that cannot be imported: names the file, the line and the bad value (masked by shape)."""


def labels_path(state_dir: Path) -> Path:
    return state_dir / LABELS_FILE


def read_labels(state_dir: Path) -> list[tuple[str, ...]]:
    """The stored labels: (system_a, entity_a, record_id_a, system_b, entity_b, record_id_b, label) rows."""
    path = labels_path(state_dir)
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [tuple(row[c] for c in [*KEY_COLUMNS, "label"]) for row in csv.DictReader(f)]


def export_review(warehouse_dir: Path, state_dir: Path, out: Path) -> int:
    """Write the published review queue to `out` (CSV, EXPORT_COLUMNS; `label` holds the stored label, blank
    when undecided). Returns the number of pairs."""
    with Catalog.open(warehouse_dir) as catalog:
        rows = catalog.identity_review()
    stored = {_pair_key(r[:6]): r[6] for r in read_labels(state_dir)}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            writer.writerow([*row[:-1], row[-1] or stored.get(_pair_key(row[:6]), "")])
    return len(rows)


def import_labels(state_dir: Path, file: Path) -> dict[str, int]:
    """Merge the labels of `file` (a review export, `label` filled in: match / non-match / blank) into the
    stored labels; a blank label withdraws an earlier one. Raises ReviewFileError naming the file, line and
    value at the first bad row (nothing is stored then). Returns counts: match, non-match, withdrawn, stored."""
    with file.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in [*KEY_COLUMNS, "label"] if c not in (reader.fieldnames or [])]
        if missing:
            raise ReviewFileError(f"{file}, line 1: missing column(s) {', '.join(missing)} "
                                  "(import the file `silobridge review export` wrote, with its label column filled in)")
        decisions: dict[tuple, str] = {}
        for row in reader:
            line = reader.line_num
            label = (row.get("label") or "").strip().lower()
            if label not in (*LABELS, ""):
                raise ReviewFileError(f"{file}, line {line}: label {masked(row['label'][:40])!r} is not one of "
                                      f"{', '.join(LABELS)} or blank")
            keys = tuple((row.get(c) or "").strip() for c in KEY_COLUMNS)
            if not all(keys):
                empty = [c for c, v in zip(KEY_COLUMNS, keys) if not v]
                raise ReviewFileError(f"{file}, line {line}: empty {', '.join(empty)}: a label needs both records' keys")
            if keys[:3] == keys[3:]:
                raise ReviewFileError(f"{file}, line {line}: both sides are the same record")
            pair = _pair_key(keys)
            if pair in decisions and decisions[pair] != label:
                raise ReviewFileError(f"{file}, line {line}: this pair was labelled {decisions[pair] or 'blank'!r} "
                                      f"on an earlier line and {label or 'blank'!r} here")
            decisions[pair] = label
    stored = {_pair_key(r[:6]): r[6] for r in read_labels(state_dir)}
    withdrawn = sum(1 for pair, label in decisions.items() if not label and pair in stored)
    for pair, label in decisions.items():
        if label:
            stored[pair] = label
        else:
            stored.pop(pair, None)
    _write_labels(state_dir, stored)
    return {"match": sum(1 for v in decisions.values() if v == "match"),
            "non-match": sum(1 for v in decisions.values() if v == "non-match"),
            "withdrawn": withdrawn, "stored": len(stored)}


def _pair_key(keys) -> tuple[str, ...]:
    """The pair's two record keys in a fixed order (a label does not depend on which side a record is on)."""
    a, b = tuple(keys[:3]), tuple(keys[3:6])
    return (*min(a, b), *max(a, b))


def _write_labels(state_dir: Path, labels: dict[tuple, str]) -> None:
    """Write the labels atomically, readable by the owner only (record keys are the installation's private data)."""
    private_dir(state_dir)
    path = labels_path(state_dir)
    tmp = path.with_name(f".{LABELS_FILE}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*KEY_COLUMNS, "label"])
        for pair in sorted(labels):
            writer.writerow([*pair, labels[pair]])
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
