"""Extract one configured source: every matching file, columns mapped to canonical field names."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from connectors.config import SourceConfig
from connectors.readers import ExportError, read_export
from transforms.schemas import LINEAGE


@dataclass
class Extracted:
    """Rows of one source (canonical field names, all text) and the files set aside."""

    table: pa.Table
    files: list[str]
    rows_per_file: dict[str, int]
    file_errors: list[ExportError] = field(default_factory=list)


def source_files(source: SourceConfig, exports_dir: Path) -> list[Path]:
    """The files a source's glob matches, in a stable order."""
    return sorted(p for p in exports_dir.glob(source.path) if p.is_file())


def map_columns(table: pa.Table, source: SourceConfig, display_name: str) -> pa.Table:
    """Rename mapped source columns to canonical fields, add constants, keep lineage; drop the rest."""
    present = [c for c in table.column_names if c not in LINEAGE]
    missing = [col for col in dict.fromkeys(source.columns.values()) if col not in present]
    if missing:
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


def extract_source(source: SourceConfig, exports_dir: Path) -> Extracted:
    """Read and map every file of `source`; unreadable files are set aside with their error."""
    out: list[pa.Table] = []
    files, rows, errors = [], {}, []
    for path in source_files(source, exports_dir):
        display = path.relative_to(exports_dir).as_posix()
        try:
            table = map_columns(read_export(path, source, display), source, display)
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
    return Extracted(table, files, rows, errors)
