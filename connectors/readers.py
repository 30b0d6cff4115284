"""Read one export file of any supported format into an all-string Arrow table with lineage columns.

Every value is kept as text (None when absent): typing is staging's job, so that a bad value can be
quarantined with its original text instead of failing the read or being silently coerced
(a phone number read as an integer loses its leading zero).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import functools
import gc
import io
import json
import sqlite3
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from connectors.config import SourceConfig
from connectors.masking import redact


class ExportError(Exception):
    """A whole export file could not be read; the message names the file, the line and the problem."""

    def __init__(self, file: str, problem: str, line: int | None = None):
        # the problem may quote the file's content (a parser's message): personal-looking values as their shape
        problem = redact(problem)
        self.file, self.problem, self.line = file, problem, line
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {problem}")


def read_export(path: Path, source: SourceConfig, display_name: str, notes: list[str] | None = None) -> pa.Table:
    """Read one file of `source` into an all-string table with lineage columns appended. What was read
    but not taken (e.g. a workbook's unselected sheets) is appended to `notes`, one sentence each."""
    readers = {
        "csv": _read_csv,
        "json": _read_json,
        "jsonl": _read_jsonl,
        "excel": functools.partial(_read_excel, notes=notes if notes is not None else []),
        "parquet": _read_parquet,
        "sqlite": _read_sqlite,
    }
    try:
        with _gc_paused():
            table = readers[source.format](path, source, display_name)
    except ExportError:
        raise
    except UnicodeDecodeError as exc:
        line = _first_undecodable_line(path, source.encoding)
        raise ExportError(display_name, f"cannot be decoded as {source.encoding}: {exc.reason}", line=line) from None
    except FileNotFoundError:
        raise ExportError(display_name, "was removed before it could be read") from None
    except RecursionError:
        raise ExportError(display_name, "is nested too deeply to read (objects or lists inside each other "
                                        "thousands of levels deep)") from None
    except csv.Error as exc:  # Python's csv reader (the fallback that locates a line): e.g. a field over its limit
        raise ExportError(display_name, f"cannot be read as csv: {exc}") from None
    except (OSError, ValueError, pa.ArrowException, sqlite3.Error) as exc:
        raise ExportError(display_name, f"cannot be read as {source.format}: {exc}") from None
    except Exception as exc:
        if type(exc).__module__ != "python_calamine":  # e.g. a CSV renamed .xlsx: "invalid Zip archive"
            raise
        raise ExportError(display_name, f"cannot be read as {source.format}: {exc}") from None
    return _with_lineage(table, source, display_name)


@contextlib.contextmanager
def _gc_paused():
    """Python's cyclic garbage collector off while a file is read: the Python readers build one object per value
    (json.loads, rows as dicts), none of them in a cycle (freed by reference counting alone), and each batch of
    allocations started a collection that walked them all: 22% of reading a 20 MB JSON export (54k tickets,
    0.6 CPU s at 100k customers). Restored as it was, whatever happens."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def export_header(path: Path, source: SourceConfig, display_name: str) -> list[str]:
    """The column names of one export file: a CSV's first line only (cheap on any size), other formats read."""
    if source.format != "csv":
        return [c for c in read_export(path, source, display_name).column_names if not c.startswith("_source_")
                and c != "_row_number"]
    with open_export(path) as fh:
        start = fh.read(2)
    encoding = "utf-16" if start in (b"\xff\xfe", b"\xfe\xff") else source.encoding
    try:
        with _open_text(path, encoding, newline="") as fh:
            header = next(csv.reader(fh, delimiter=source.delimiter), None) or []
    except (UnicodeDecodeError, csv.Error, OSError, ValueError) as exc:
        raise ExportError(display_name, f"cannot read its header: {exc}", line=1) from None
    return [h.lstrip("\ufeff").strip() for h in header]


# Compressed exports are read as they stream (never unpacked to disk): by the file name's last suffix.
COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}


def open_export(path: Path) -> io.BufferedIOBase:
    """The bytes of an export file, decompressed on the fly: `.gz`, `.bz2`, `.zst`, or a `.zip` holding one
    file; other files as they are."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            archive.close()
            raise ValueError(f"a .zip export must hold exactly one file; this one holds {len(members)}")
        return archive.open(members[0])
    if suffix in COMPRESSED:
        return io.BufferedReader(pa.input_stream(str(path), compression=COMPRESSED[suffix]))
    return path.open("rb")


@contextlib.contextmanager
def _arrow_input(path: Path):
    """What Arrow's readers take: the path itself, which they read natively and decompress by its suffix
    (.gz, .bz2, .zst), or the one member of a .zip as a stream."""
    if path.suffix.lower() != ".zip":
        yield str(path)
        return
    with open_export(path) as fh:
        yield fh


def _open_text(path: Path, encoding: str, newline: str | None = None) -> io.TextIOWrapper:
    return io.TextIOWrapper(open_export(path), encoding=encoding, newline=newline)


def _with_lineage(table: pa.Table, source: SourceConfig, display_name: str) -> pa.Table:
    n = table.num_rows
    # built by Arrow, not from Python lists: a list of n references converted value by value cost 1.7 CPU s per
    # 2.7M rows (the 100k-customer benchmark), pa.repeat and numpy 0.06
    return (
        table.append_column("_source_system", _repeat(source.system, n))
        .append_column("_source_entity", _repeat(source.entity, n))
        .append_column("_source_file", _repeat(display_name, n))
        .append_column("_row_number", pa.array(np.arange(1, n + 1, dtype=np.int64)))
    )


def _repeat(value: str, n: int) -> pa.Array:
    """A string column holding `value` n times, built from its buffers (the value's bytes n times and evenly
    spaced offsets): 30x cheaper than pa.repeat, which copies the value row by row (0.55 of the 100k
    benchmark's 5.8 CPU s reading its events)."""
    data = value.encode("utf-8")
    if (n + 1) * len(data) >= 2**31:  # beyond a string array's 32-bit offsets
        return pa.repeat(pa.scalar(value, pa.string()), n)
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(len(data))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))


def _string_table(columns: list[str], rows: Iterable[dict[str, str | None]]) -> pa.Table:
    schema = pa.schema([(c, pa.string()) for c in columns])
    return pa.Table.from_pylist(list(rows), schema=schema)


def _text(value: object) -> str | None:
    """Render one scalar or nested value as text (nested values as compact JSON)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


class _Prefix(io.RawIOBase):
    """The first `size` bytes of a stream (an export without its footer), for Arrow's CSV reader."""

    def __init__(self, raw: io.BufferedIOBase, size: int):
        self.raw, self.left = raw, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        data = self.raw.read(min(len(buffer), self.left))
        buffer[:len(data)] = data
        self.left -= len(data)
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


FOOTER_TAIL = 1 << 16  # bytes at the end of a file where a footer is looked for


def footer_start(path: Path, encoding: str, delimiter: str, width: int, max_lines: int) -> tuple[int, int]:
    """(byte offset where the footer starts, footer lines) of a CSV export: the trailing lines, at most
    `max_lines` of them not blank, whose field count is not the header's `width`. (file size, 0) when the file
    ends with a row. A line with the header's width is a row, never footer; nor is a line with an odd number of
    quotes: it ends a quoted value that spans lines (the file's last row)."""
    size, tail = 0, b""
    if path.suffix.lower() not in (*COMPRESSED, ".zip"):
        size = path.stat().st_size
        with path.open("rb") as fh:
            fh.seek(max(0, size - FOOTER_TAIL))
            tail = fh.read()
    else:
        with open_export(path) as fh:  # compressed: streamed through once, keeping the last bytes
            while chunk := fh.read(1 << 20):
                size += len(chunk)
                tail = (tail + chunk)[-FOOTER_TAIL:]
    codec = codecs.lookup(encoding).name
    if codec.startswith("utf-16"):
        with open_export(path) as fh:
            bom = fh.read(2)
        codec = "utf-16-be" if bom == b"\xfe\xff" else "utf-16-le"
        tail = tail[len(tail) % 2:]
    text = tail.decode(codec, "replace")
    lines = text.splitlines(keepends=True)
    if size > len(tail):
        lines = lines[1:]  # the first line of the tail may be cut: never footer
    cut, found = len(lines), 0
    while cut > 0:
        line = lines[cut - 1]
        if line.strip():
            fields = next(csv.reader([line], delimiter=delimiter), [])
            if found == max_lines or len(fields) == width or line.count('"') % 2:
                break
            found += 1
        cut -= 1
    if not found:
        return size, 0
    footer = "".join(lines[cut:]).encode(codec)
    return size - len(footer), found


def _read_csv(path: Path, source: SourceConfig, display_name: str) -> pa.Table:
    with open_export(path) as fh:
        start = fh.read(2)
    if start in (b"\xff\xfe", b"\xfe\xff") and not source.encoding.lower().startswith("utf-16"):
        # a UTF-16 file (its byte order mark says so) whatever the configured encoding: Excel's "Unicode text"
        source = source.model_copy(update={"encoding": "utf-16"})
    with _open_text(path, source.encoding, newline="") as fh:
        header = next(csv.reader(fh, delimiter=source.delimiter), None)
    if not header:
        raise ExportError(display_name, "is empty (no header row)", line=1)
    header = [h.lstrip("\ufeff").strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise ExportError(display_name, f"header repeats column(s) {dupes}", line=1)
    end = footer_start(path, source.encoding, source.delimiter, len(header), source.footer_lines)[0] \
        if source.footer_lines else None
    try:
        with (_arrow_input(path) if end is None else contextlib.closing(_Prefix(open_export(path), end))) as raw:
            table = pacsv.read_csv(
                raw,
                read_options=pacsv.ReadOptions(encoding=source.encoding, column_names=header, skip_rows=1),
                parse_options=pacsv.ParseOptions(delimiter=source.delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types={h: pa.string() for h in header},
                    strings_can_be_null=True,
                    null_values=[""],
                    quoted_strings_can_be_null=True,
                ),
            )
    except pa.ArrowInvalid as exc:
        # Arrow reports ragged rows as "Expected N columns, got M: <row text>" without the line; the row
        # text may hold personal data, so only the shape reaches the message, with the line found by csv.
        if "invalid UTF8" in str(exc) or "decode" in str(exc).lower():
            line = _first_undecodable_line(path, source.encoding)
            raise ExportError(display_name, f"cannot be decoded as {source.encoding}", line=line) from None
        line, fields = _first_ragged_line(path, source, len(header))
        msg = str(exc).split(":")
        shape = (f"Expected {len(header)} columns, got {fields}" if fields is not None else
                 msg[1].strip() if len(msg) > 1 and "Expected" in msg[1] else "malformed CSV")
        footer = (f"; footer_lines: {source.footer_lines} skips at most {source.footer_lines} such line(s) at the "
                  "end of a file" if source.footer_lines else "")
        raise ExportError(display_name, f"{shape} (delimiter {source.delimiter!r}{footer})", line=line) from None
    return table


def _first_ragged_line(path: Path, source: SourceConfig, width: int) -> tuple[int | None, int | None]:
    """(physical line, number of fields) of the first CSV record whose width differs from the header's."""
    with _open_text(path, source.encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=source.delimiter)
        start = 1
        for record in reader:
            if len(record) != width and any(record):
                return start, len(record)
            start = reader.line_num + 1
    return None, None


def _first_undecodable_line(path: Path, encoding: str) -> int | None:
    """The 1-based line of the first bytes that do not decode in `encoding` (None if all decode)."""
    with open_export(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return lineno
            except LookupError:
                return None
    return None


def _flatten(record: object, prefix: str = "") -> dict[str, str | None]:
    """Flatten nested objects into dotted keys; lists stay as JSON text."""
    if not isinstance(record, dict):
        return {prefix or "value": _text(record)}
    out: dict[str, str | None] = {}
    for key, value in record.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(_flatten(value, name))
        else:
            out[name] = _text(value)
    return out


def _records_table(records: list[dict[str, str | None]]) -> pa.Table:
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(rec))
    return _string_table(list(columns), records)


class _RepeatedKey(Exception):
    """A JSON object names the same key twice (which value counts differs between readers)."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """json's object_pairs_hook: the object as a dict; a repeated key raises _RepeatedKey."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        raise _RepeatedKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return out


def _repeated(key: str) -> str:
    return f"repeats key {key!r} within one object (readers disagree on which value counts)"


def _read_json(path: Path, source: SourceConfig, display_name: str) -> pa.Table:
    with _open_text(path, source.encoding) as fh:
        text = fh.read()
    if not text.strip():
        raise ExportError(display_name, "is empty", line=1)
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except _RepeatedKey as exc:
        raise ExportError(display_name, _repeated(exc.args[0])) from None
    except json.JSONDecodeError as exc:
        raise ExportError(display_name, f"is not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise ExportError(display_name, "expected a JSON array of records or an object holding one array")
        data = lists[0]
    if not isinstance(data, list):
        raise ExportError(display_name, "expected a JSON array of records")
    if data and all(isinstance(r, dict) for r in data):
        # the records as JSON Lines through Arrow's reader, as a .jsonl export is read, with the same fallback:
        # 54,480 tickets (the 100k benchmark) 2.47 -> 1.64 CPU s; flattening each in Python took 70% of it
        try:
            lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in data).encode("utf-8")
            return _native_json_lines(lambda: contextlib.nullcontext(pa.BufferReader(lines)),
                                      functools.partial(_at_path, data))
        except (pa.ArrowException, _NotExact, UnicodeEncodeError):  # a lone surrogate has no UTF-8
            pass
    return _records_table([_flatten(r) for r in data])


def _read_jsonl(path: Path, source: SourceConfig, display_name: str) -> pa.Table:
    """JSON Lines through Arrow's native reader; the Python reader when Arrow cannot give the same text
    (a broken line, whose number only the Python reader finds; values Arrow would render differently)."""
    try:
        if source.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise _NotExact(source.encoding)
        if _may_nest_deeply(path):
            raise _NotExact("nested deeper than Arrow's parser can take")
        return _read_jsonl_native(path)
    except (pa.ArrowException, _NotExact):
        return _read_jsonl_python(path, source, display_name)


class _NotExact(Exception):
    """Arrow's reading of a JSON Lines file would not give the text the Python reader gives."""


# Arrow's JSON parser recurses per nesting level and crashes the process (segfault) somewhere between 5,000 and
# 20,000 levels; Python's raises RecursionError at ~1,000. A line that may nest deeper goes to the Python reader.
NATIVE_MAX_OPENERS = 2_000


def _may_nest_deeply(path: Path, block: int = 1 << 24) -> bool:
    """Whether some line of the file holds more than NATIVE_MAX_OPENERS `[`/`{` (an upper bound of its
    nesting depth). Lines are found with numpy, block by block; only lines long enough to hold that many
    are counted."""
    carry = b""
    with open_export(path) as fh:
        while chunk := fh.read(block):
            data = carry + chunk
            buf = np.frombuffer(data, dtype=np.uint8)
            ends = np.flatnonzero(buf == 10)
            starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else np.array([], dtype=np.int64)
            for a, b in zip(starts[ends - starts > NATIVE_MAX_OPENERS], ends[ends - starts > NATIVE_MAX_OPENERS]):
                line = data[a:b]
                if line.count(b"[") + line.count(b"{") > NATIVE_MAX_OPENERS:
                    return True
            carry = data[ends[-1] + 1:] if len(ends) else data
            if len(carry) > NATIVE_MAX_OPENERS and carry.count(b"[") + carry.count(b"{") > NATIVE_MAX_OPENERS:
                return True
    return False


def _read_jsonl_native(path: Path) -> pa.Table:
    """A UTF-8 JSON Lines file as an all-string table, read by Arrow (`_native_json_lines`)."""
    return _native_json_lines(lambda: _arrow_input(path))


def _native_json_lines(opened: Callable[[], contextlib.AbstractContextManager],
                       values: Callable[[list[str]], list] | None = None) -> pa.Table:
    """JSON Lines (`opened()`: a context giving what Arrow's reader takes, each time anew) as an all-string
    table, read by Arrow: nested objects flattened to dotted names, numbers and booleans as the Python reader
    writes them (`_text`), lists as compact JSON. Where Arrow's types lose the original text (a list of floats
    or objects), the column is rendered from `values(path)` (the records' values at that key path, when the
    caller holds the parsed records), else _NotExact is raised."""
    with opened() as raw:
        table = pajson.read_json(raw)
    if table.num_rows == 0:
        raise _NotExact("no rows")
    if values is not None and _dotted_key(table.schema):
        raise _NotExact("a key holds a dot: its flattened name is no key path")
    # Arrow infers timestamps from date-like strings: read those columns again as the strings they were
    temporal = [f.name for f in table.schema if pa.types.is_temporal(f.type)]
    if temporal:
        schema = pa.schema([(name, pa.string()) for name in temporal])
        with opened() as raw:
            table = pajson.read_json(raw, parse_options=pajson.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="infer"))
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    columns = []
    for i, name in enumerate(table.column_names):
        try:
            columns.append(_text_column(table.column(i)))
        except _NotExact:
            if values is None:
                raise
            # no key holds a dot (checked above): the flattened name splits into the key path
            columns.append(pa.array([_text(v) for v in values(name.split("."))], pa.string()))
    return pa.table(columns, names=table.column_names)


def _dotted_key(schema: pa.Schema) -> bool:
    """Whether some field name, at any struct level, holds a dot."""
    fields = list(schema)
    while fields:
        f = fields.pop()
        if "." in f.name:
            return True
        if pa.types.is_struct(f.type):
            fields.extend(f.type)
    return False


def _at_path(records: list[dict], path: list[str]) -> list:
    """Each record's value at key path `path` (None where a key is missing or a step is no object)."""
    out = []
    for value in records:
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out.append(value)
    return out


def _text_column(col: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """One native JSON column as text, exactly as `_text` renders each value."""
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return col.cast(pa.string())
    if pa.types.is_null(t):
        return pa.nulls(len(col), pa.string())
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return pc.cast(col, pa.string())  # "12", "true"/"false": as `_text`
    if pa.types.is_floating(t):  # Python's float repr differs from Arrow's ("1e-07" vs "1e-7")
        values = col.to_pylist()
        # an integer beyond int64 became a float: Python's reader keeps all its digits
        if any(v is not None and v.is_integer() and abs(v) >= 2.0 ** 53 for v in values):
            raise _NotExact("integer beyond float precision")
        return pa.array([_text(v) for v in values], pa.string())
    if pa.types.is_list(t) and (pa.types.is_string(t.value_type) or pa.types.is_integer(t.value_type)
                                or pa.types.is_boolean(t.value_type) or pa.types.is_null(t.value_type)):
        return pa.array([_text(v) for v in col.to_pylist()], pa.string())
    raise _NotExact(f"{t}")


def _read_jsonl_python(path: Path, source: SourceConfig, display_name: str) -> pa.Table:
    records = []
    with _open_text(path, source.encoding) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                records.append(_flatten(json.loads(line, object_pairs_hook=_unique_keys)))
            except _RepeatedKey as exc:
                raise ExportError(display_name, _repeated(exc.args[0]), line=lineno) from None
            except json.JSONDecodeError as exc:
                raise ExportError(display_name, f"is not valid JSON Lines: {exc.msg}", line=lineno) from None
    if not records:
        raise ExportError(display_name, "is empty (no records)", line=1)
    return _records_table(records)


def _read_excel(path: Path, source: SourceConfig, display_name: str, notes: list[str]) -> pa.Table:
    """The sheet `sheet:` names (default: the first); every other sheet holding data is noted, never dropped
    silently (a workbook's second sheet is often a second export)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    sheet_name = source.sheet or book.sheet_names[0]
    if sheet_name not in book.sheet_names:
        raise ExportError(display_name, f"has no sheet {sheet_name!r} (sheets: {book.sheet_names})")
    for other in book.sheet_names:
        if other != sheet_name:
            filled = sum(1 for r in book.get_sheet_by_name(other).to_python() if any(v not in (None, "") for v in r))
            if filled:
                notes.append(f"{display_name}: sheet {other!r} ({filled} non-empty rows) not read: the source reads "
                             f"sheet {sheet_name!r} (`sheet:` selects one; configure another source for {other!r})")
    rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    if not rows:
        raise ExportError(display_name, f"sheet {sheet_name!r} is empty", line=1)
    header = [_text(h) or f"column_{i + 1}" for i, h in enumerate(rows[0])]
    body = [r for r in rows[1:] if any(v not in (None, "") for v in r)]
    return _string_table(header, ({h: (_text(v) if v != "" else None) for h, v in zip(header, r)} for r in body))


def _read_parquet(path: Path, source: SourceConfig, display_name: str) -> pa.Table:
    table = pq.read_table(path)
    columns = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            columns.append(col.cast(pa.string()))
        else:
            columns.append(pa.array([_text(v) for v in col.to_pylist()], pa.string()))
    return pa.table(columns, names=table.column_names)


def _read_sqlite(path: Path, source: SourceConfig, display_name: str) -> pa.Table:
    if not source.table:
        raise ExportError(display_name, "sqlite sources need `table:` in the configuration")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type in ('table','view')")}
        if source.table not in tables:
            raise ExportError(display_name, f"has no table {source.table!r} (tables: {sorted(tables)})")
        cur = con.execute(f'select * from "{source.table.replace(chr(34), chr(34) * 2)}"')
        header = [d[0] for d in cur.description]
        rows = [{h: _text(v) for h, v in zip(header, r)} for r in cur]
    finally:
        con.close()
    return _string_table(header, rows)


