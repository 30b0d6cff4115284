"""Extract one configured source: every matching file, columns mapped to canonical field names."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from connectors.config import SourceConfig, source_files
from connectors.expressions import EXPORT_PREFIX
from connectors.masking import looks_personal, shape
from connectors.readers import ExportError, read_export
from connectors.schemas import LINEAGE, REPLAY_PREFIX


@dataclass
class Extracted:
    """One source's rows, file by file (canonical field names, all text), and what was read or set aside.

    `tables` yields one table per file read, of `schema`; the files, rows, errors and checksums fill as it
    is consumed, so that a source of any size is never held in memory whole."""

    schema: pa.Schema
    tables: Iterator[pa.Table]
    files: list[str] = field(default_factory=list)
    rows_per_file: dict[str, int] = field(default_factory=dict)
    file_errors: list[ExportError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # read but not taken (e.g. a workbook's other sheets)
    checksums: dict[str, str] = field(default_factory=dict)  # file -> sha256 of its bytes

    @property
    def rows(self) -> int:
        """Rows of the files read so far."""
        return sum(self.rows_per_file.values())


def mapped_schema(source: SourceConfig) -> pa.Schema:
    """The schema `map_columns` gives every file of `source`: its fields and constants as text, the export
    columns its expressions and filter reference (`_export__<column>`, text), lineage."""
    names = [*source.columns, *source.constants, *(EXPORT_PREFIX + c for c in source.export_columns)]
    return pa.schema([*((c, pa.string()) for c in names),
                      *((c, pa.int64() if c == "_row_number" else pa.string()) for c in LINEAGE)])




def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def map_columns(table: pa.Table, source: SourceConfig, display_name: str) -> pa.Table:
    """Rename mapped source columns to canonical fields, add constants, keep the columns the expressions and
    the filter reference (as `_export__<column>`, evaluated by the validate step) and lineage; drop the rest."""
    present = [c for c in table.column_names if c not in LINEAGE]
    wanted = list(dict.fromkeys([*source.columns.values(), *source.export_columns]))
    missing = [col for col in wanted if col not in present]
    if (len(missing) == len(wanted) > 1
            and not any(difflib.get_close_matches(col, present, n=1, cutoff=0.5) for col in wanted)):
        # not one mapped column in the first line, nor a name close to one (a renamed header is schema drift):
        # a file without a header row, whose first line is data (personal data: not in the message)
        raise ExportError(display_name, f"has no header row: none of the {len(wanted)} mapped columns is in "
                                        f"its first line ({len(present)} fields, not shown: they may be "
                                        "personal data)", line=1)
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
        arrays.append(table.column(col).cast(pa.string()))
        names.append(canonical)
    for canonical, value in source.constants.items():
        arrays.append(pa.array([value] * n, pa.string()))
        names.append(canonical)
    for col in source.export_columns:
        arrays.append(table.column(col).cast(pa.string()))
        names.append(EXPORT_PREFIX + col)
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
    """Every file of `source` (then its replay files), read and mapped one at a time as `tables` is
    consumed; unreadable files are set aside.

    A file whose bytes equal an earlier file of this delivery, or a file loaded by an earlier run under
    another name (`loaded`: checksum -> file name), is set aside as delivered twice.
    """
    # replay files: CSV (UTF-8, comma) with the export's own column names, whatever the export's format
    replay_source = source.model_copy(update={"format": "csv", "encoding": "utf-8-sig", "delimiter": ","})
    paths = [(p, source, p.relative_to(exports_dir).as_posix(), exports_dir) for p in source_files(source, exports_dir)]
    paths += [(p, replay_source, f"{REPLAY_PREFIX}/{source.name}/{p.name}", replay_dir)
              for p in replay_files(source, replay_dir)]
    schema = mapped_schema(source)
    out = Extracted(schema, iter(()))
    out.tables = _read_files(paths, source, loaded or {}, out)
    return out


def _read_files(paths: list[tuple[Path, SourceConfig, str, Path]], source: SourceConfig, loaded: dict[str, str],
                out: Extracted) -> Iterator[pa.Table]:
    seen: dict[str, str] = {}
    for path, how, display, root in paths:
        try:
            # a symlink (or a glob) must not reach outside the exports directory (or the replay directory)
            if not path.resolve().is_relative_to(root.resolve()):
                raise ExportError(display, "resolves outside the exports directory (a symlink?): not read")
            try:
                digest = file_checksum(path)
            except FileNotFoundError:
                raise ExportError(display, "was removed before it could be read") from None
            table = map_columns(read_export(path, how, display, out.notes), source, display)
            # files without rows are alike (a header, `[]`) without being the same delivery
            if table.num_rows:
                if digest in seen:
                    raise ExportError(display, f"has the same content as {seen[digest]} (the file was delivered twice)")
                earlier = loaded.get(digest)
                if earlier is not None and earlier != display:
                    raise ExportError(display, f"has the same content as {earlier}, loaded by an earlier run "
                                               "(the file was delivered twice)")
                seen[digest] = display
                out.checksums[display] = digest
        except ExportError as exc:
            out.file_errors.append(exc)
            continue
        out.files.append(display)
        out.rows_per_file[display] = table.num_rows
        yield table.cast(out.schema)
