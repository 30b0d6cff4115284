"""Extract one configured source: every matching file, columns mapped to canonical field names."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from connectors.config import SourceConfig, source_files
from connectors.expressions import EXPORT_PREFIX
from connectors.masking import looks_personal, masked, shape
from connectors.readers import ExportError, read_export
from connectors.schemas import ATTRIBUTES, LINEAGE, REPLAY_PREFIX, REPLAYED_KEY


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
    unmapped: dict[str, None] = field(default_factory=dict)  # the files' columns kept only in `attributes`
    not_kept: dict[str, None] = field(default_factory=dict)  # unmapped columns left out by `attributes: [...]`

    @property
    def rows(self) -> int:
        """Rows of the files read so far."""
        return sum(self.rows_per_file.values())


def mapped_schema(source: SourceConfig) -> pa.Schema:
    """The schema `map_columns` gives every file of `source`: its fields and constants as text, the export
    columns its expressions and filter reference (`_export__<column>`, text), lineage."""
    names = [*source.columns, *source.constants, *(EXPORT_PREFIX + c for c in source.export_columns),
             *(REPLAYED_KEY + k for k in source.keys), ATTRIBUTES]
    return pa.schema([*((c, pa.string()) for c in names),
                      *((c, pa.int64() if c == "_row_number" else pa.string()) for c in LINEAGE)])




def unmapped_columns(table: pa.Table, source: SourceConfig) -> tuple[list[str], list[str]]:
    """The columns of an export file that no field, expression, key or filter of `source` uses: (those kept in
    `attributes`, those left out by the source's `attributes:` list)."""
    used = {*source.columns.values(), *source.export_columns, *LINEAGE}
    unmapped = [c for c in table.column_names if c not in used]
    if source.attributes is None:
        return unmapped, []
    return [c for c in unmapped if c in source.attributes], [c for c in unmapped if c not in source.attributes]


def attributes_column(table: pa.Table, columns: list[str]) -> pa.Array:
    """One JSON object per row of `table`: the row's non-empty values of `columns` by column name, each value
    masked as every value analysts see is (masking.masked: an email or phone-like number becomes its shape).
    NULL when there are no such columns. Built per distinct value (exports repeat their values) and joined
    by Arrow, so a large file costs no Python loop over its rows."""
    if not columns:
        return pa.nulls(table.num_rows, pa.string())
    pieces = []
    for col in columns:
        try:
            values = table.column(col).cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # nested values: compact JSON text
            values = pa.array([None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
                               for v in table.column(col).to_pylist()], pa.string())
        enc = pc.dictionary_encode(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
        key = json.dumps(col, ensure_ascii=False)
        texts = pa.array([f"{key}:{json.dumps(masked(v), ensure_ascii=False)}" for v in enc.dictionary.to_pylist()],
                         pa.string())
        pieces.append(texts.take(enc.indices))
    body = pc.binary_join_element_wise(*pieces, ",", null_handling="skip")
    return pc.binary_join_element_wise("{", body, "}", "")


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def map_columns(table: pa.Table, source: SourceConfig, display_name: str) -> pa.Table:
    """Rename mapped source columns to canonical fields, add constants, keep the columns the expressions, keys
    and the filter reference (as `_export__<column>`, evaluated by the validate step), every other column in
    `attributes` (JSON, values masked) and lineage."""
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
        arrays.append(pa.repeat(pa.scalar(value, pa.string()), n))
        names.append(canonical)
    for col in source.export_columns:
        arrays.append(table.column(col).cast(pa.string()))
        names.append(EXPORT_PREFIX + col)
    # a replay file (corrected quarantined rows) holds the mapped columns and the quarantine's own notes only,
    # with the synthetic keys its rows had (`_key__<field>`): a replayed row keeps them
    replayed = display_name.startswith(f"{REPLAY_PREFIX}/")
    for key in source.keys:
        col = f"_key__{key}"
        arrays.append(table.column(col).cast(pa.string()) if replayed and col in table.column_names
                      else pa.nulls(n, pa.string()))
        names.append(REPLAYED_KEY + key)
    arrays.append(attributes_column(table, [] if replayed else unmapped_columns(table, source)[0]))
    names.append(ATTRIBUTES)
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
            read = read_export(path, how, display, out.notes)
            table = map_columns(read, source, display)
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
        if not display.startswith(f"{REPLAY_PREFIX}/"):
            kept, left = unmapped_columns(read, source)
            out.unmapped |= dict.fromkeys(kept)
            out.not_kept |= dict.fromkeys(left)
        yield table.cast(out.schema)
