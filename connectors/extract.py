"""Extract one configured source: every matching file, columns mapped to canonical field names."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from connectors.config import SourceConfig
from connectors.masking import looks_personal, shape
from connectors.readers import ExportError, read_export
from connectors.schemas import LINEAGE, REPLAY_PREFIX


@dataclass
class Extracted:
    """Rows of one source (canonical field names, all text) and the files set aside."""

    table: pa.Table
    files: list[str]
    rows_per_file: dict[str, int]
    file_errors: list[ExportError] = field(default_factory=list)
    checksums: dict[str, str] = field(default_factory=dict)  # file -> sha256 of its bytes




def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_files(source: SourceConfig, exports_dir: Path) -> list[Path]:
    """The files a source's glob matches, in a stable order."""
    return sorted(p for p in exports_dir.glob(source.path) if p.is_file())


def map_columns(table: pa.Table, source: SourceConfig, display_name: str) -> pa.Table:
    """Rename mapped source columns to canonical fields, add constants, keep lineage; drop the rest."""
    present = [c for c in table.column_names if c not in LINEAGE]
    missing = [col for col in dict.fromkeys(source.columns.values()) if col not in present]
    if missing:
        # a header that holds data (a headerless file's first row: emails, phones, dates) is shown by shape only
        if any(looks_personal(c) or sum(ch.isdigit() for ch in c) >= 4 for c in present):
            present = [shape(c) for c in present]
        hints = []
        for col in missing:
            close = difflib.get_close_matches(col, present, n=1, cutoff=0.5)
            hints.append(f"{col!r}" + (f" (closest present: {close[0]!r})" if close else ""))
        raise ExportError(
            display_name,
            f"schema drift: expected column(s) {', '.join(hints)} are missing; found {present}",
            line=1,
        )
    n = table.num_rows
    arrays, names = [], []
    for canonical, col in source.columns.items():
        arrays.append(table.column(col))
        names.append(canonical)
    for canonical, value in source.constants.items():
        arrays.append(pa.array([value] * n, pa.string()))
        names.append(canonical)
    for col in LINEAGE:
        arrays.append(table.column(col))
        names.append(col)
    return pa.table(arrays, names=names)


def replay_files(source: SourceConfig, replay_dir: Path | None) -> list[Path]:
    """Corrected quarantined rows dropped for replay: <replay_dir>/<system__entity>/*.csv, stable order."""
    if replay_dir is None or not (replay_dir / source.name).is_dir():
        return []
    return sorted(p for p in (replay_dir / source.name).glob("*.csv") if p.is_file())


def extract_source(source: SourceConfig, exports_dir: Path, replay_dir: Path | None = None,
                   loaded: dict[str, str] | None = None) -> Extracted:
    """Read and map every file of `source` (then its replay files); unreadable files are set aside.

    A file whose bytes equal an earlier file of this delivery, or a file loaded by an earlier run under
    another name (`loaded`: checksum -> file name), is set aside as delivered twice.
    """
    out: list[pa.Table] = []
    files, rows, errors, sums = [], {}, [], {}
    seen: dict[str, str] = {}
    # replay files: CSV (UTF-8, comma) with the export's own column names, whatever the export's format
    replay_source = source.model_copy(update={"format": "csv", "encoding": "utf-8-sig", "delimiter": ","})
    paths = [(p, source, p.relative_to(exports_dir).as_posix()) for p in source_files(source, exports_dir)]
    paths += [(p, replay_source, f"{REPLAY_PREFIX}/{source.name}/{p.name}") for p in replay_files(source, replay_dir)]
    for path, how, display in paths:
        try:
            # a symlink (or a glob) must not reach outside the exports directory (or the replay directory)
            if not path.resolve().is_relative_to((exports_dir if how is source else replay_dir).resolve()):
                raise ExportError(display, "resolves outside the exports directory (a symlink?): not read")
            digest = file_checksum(path)
            table = map_columns(read_export(path, how, display), source, display)
            # files without rows are alike (a header, `[]`) without being the same delivery
            if table.num_rows:
                if digest in seen:
                    raise ExportError(display, f"has the same content as {seen[digest]} (the file was delivered twice)")
                earlier = (loaded or {}).get(digest)
                if earlier is not None and earlier != display:
                    raise ExportError(display, f"has the same content as {earlier}, loaded by an earlier run "
                                               "(the file was delivered twice)")
                seen[digest] = display
                sums[display] = digest
        except ExportError as exc:
            errors.append(exc)
            continue
        files.append(display)
        rows[display] = table.num_rows
        out.append(table)
    if out:
        table = pa.concat_tables(out)
    else:
        names = [*source.columns, *source.constants]
        table = pa.table(
            {**{c: pa.array([], pa.string()) for c in names},
             **{c: pa.array([], pa.int64() if c == "_row_number" else pa.string()) for c in LINEAGE}}
        )
    return Extracted(table, files, rows, errors, sums)
