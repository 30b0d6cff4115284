"""Connectors: every format into all-text Arrow with lineage; whole-file problems named clearly."""

from __future__ import annotations

import json
import sqlite3

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.config import SourceConfig
from connectors.extract import extract_source, map_columns
from connectors.readers import ExportError, read_export


def src(fmt: str, **kw) -> SourceConfig:
    base = dict(system="crm", entity="contacts", kind="customers", format=fmt, path="*",
                columns={"record_id": "id"})
    return SourceConfig(**(base | kw))


def test_csv_big5_with_chinese_headers_keeps_leading_zeros(tmp_path):
    p = tmp_path / "members.csv"
    p.write_bytes("會員卡號,手機\nL001,0912-345-678\nL002,\n".encode("big5"))
    t = read_export(p, src("csv", encoding="big5", columns={"record_id": "會員卡號"}), "pos/members.csv")
    assert t.column_names == ["會員卡號", "手機", "_source_system", "_source_entity", "_source_file", "_row_number"]
    assert t.column("手機").to_pylist() == ["0912-345-678", None]
    assert t.column("_row_number").to_pylist() == [1, 2]
    assert t.column("_source_file").to_pylist() == ["pos/members.csv"] * 2


def test_csv_bom_quotes_and_newlines_in_fields(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes('\ufeffid,note\n1,"line one\nline two"\n2,"say ""hi"""\n'.encode("utf-8"))
    t = read_export(p, src("csv", encoding="utf-8-sig"), "c.csv")
    assert t.column("id").to_pylist() == ["1", "2"]
    assert t.column("note").to_pylist() == ["line one\nline two", 'say "hi"']


def test_ragged_csv_is_an_export_error_naming_the_file(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,a,b\n1,2,3\n4,5\n", encoding="utf-8")
    with pytest.raises(ExportError) as exc:
        read_export(p, src("csv"), "crm/c.csv")
    assert str(exc.value) == "crm/c.csv, line 3: Expected 3 columns, got 2 (delimiter ',')"


def test_wrong_encoding_is_an_export_error(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes("id,name\n1,王小明\n".encode("big5"))
    with pytest.raises(ExportError, match=r"^c.csv, line 2: cannot be decoded as utf-8"):
        read_export(p, src("csv"), "c.csv")


def test_json_nested_objects_are_flattened_and_lists_kept_as_json(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps([
        {"id": "T1", "customer": {"email": "a@b.tw", "phone": None}, "transfers": [{"to": "A2"}], "wait": 12},
        {"id": "T2", "customer": {"email": None}, "csat": 4.0},
    ]), encoding="utf-8")
    t = read_export(p, src("json"), "t.json")
    rows = t.select(["id", "customer.email", "customer.phone", "transfers", "wait", "csat"]).to_pylist()
    assert rows == [
        {"id": "T1", "customer.email": "a@b.tw", "customer.phone": None, "transfers": '[{"to": "A2"}]',
         "wait": "12", "csat": None},
        {"id": "T2", "customer.email": None, "customer.phone": None, "transfers": None, "wait": None, "csat": "4"},
    ]


def test_truncated_json_names_the_line(tmp_path):
    p = tmp_path / "t.json"
    p.write_text('[\n{"id": "T1"},\n{"id": "T2"', encoding="utf-8")
    with pytest.raises(ExportError) as exc:
        read_export(p, src("json"), "support/t.json")
    assert exc.value.line == 3 and "support/t.json, line 3: is not valid JSON" in str(exc.value)


def test_jsonl_bad_line_names_the_line(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text('{"id": "1"}\n\n{"id": "2"\n', encoding="utf-8")
    with pytest.raises(ExportError) as exc:
        read_export(p, src("jsonl"), "e.jsonl")
    assert exc.value.line == 3


def test_excel_sheet(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Contacts"
    ws.append(["id", "amount", "when"])
    ws.append(["A1", 12.0, "2026-11-20"])
    ws.append(["A2", 3.5, None])
    wb.save(tmp_path / "x.xlsx")
    t = read_export(tmp_path / "x.xlsx", src("excel", sheet="Contacts"), "x.xlsx")
    assert t.select(["id", "amount", "when"]).to_pylist() == [
        {"id": "A1", "amount": "12", "when": "2026-11-20"}, {"id": "A2", "amount": "3.5", "when": None}]


def test_a_workbooks_unselected_sheets_with_data_are_noted_never_dropped_silently(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "Orders"
    wb.active.append(["id"])
    wb.active.append(["A1"])
    returns = wb.create_sheet("Returns")
    for row in (["id", "reason"], ["R1", "size"], ["R2", "late"]):
        returns.append(row)
    wb.create_sheet("Empty")
    wb.save(tmp_path / "book.xlsx")
    notes: list[str] = []
    t = read_export(tmp_path / "book.xlsx", src("excel"), "shop/book.xlsx", notes)
    assert t.column("id").to_pylist() == ["A1"]
    assert notes == ["shop/book.xlsx: sheet 'Returns' (3 non-empty rows) not read: the source reads sheet 'Orders' "
                     "(`sheet:` selects one; configure another source for 'Returns')"]
    notes.clear()
    t = read_export(tmp_path / "book.xlsx", src("excel", sheet="Returns"), "shop/book.xlsx", notes)
    assert t.column("id").to_pylist() == ["R1", "R2"] and len(notes) == 1 and "sheet 'Orders' (2 non-empty" in notes[0]
    ex = extract_source(src("excel", path="*.xlsx"), tmp_path)
    assert sum(tb.num_rows for tb in ex.tables) == 1
    assert ex.notes == ["book.xlsx: sheet 'Returns' (3 non-empty rows) not read: the source reads sheet 'Orders' "
                        "(`sheet:` selects one; configure another source for 'Returns')"]


def test_parquet_typed_columns_are_read_by_their_type(tmp_path):
    import datetime as dt

    pq.write_table(pa.table({
        "id": ["A1", "A2"],
        "born": pa.array([dt.date(1986, 6, 16), None], pa.date32()),
        "born_days": pa.array([6011, None], pa.int32()),
        "at": pa.array([dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.timezone.utc), None], pa.timestamp("us", "UTC")),
        "amount": pa.array([12.5, 3.0], pa.float64()),
    }), tmp_path / "x.parquet")
    t = read_export(tmp_path / "x.parquet", src("parquet"), "x.parquet")
    assert t.select(["born", "born_days", "at", "amount"]).to_pylist() == [
        {"born": "1986-06-16", "born_days": "6011", "at": "2026-11-20T02:30:00+00:00", "amount": "12.5"},
        {"born": None, "born_days": None, "at": None, "amount": "3"}]


def test_parquet_values_become_text(tmp_path):
    pq.write_table(pa.table({"id": [1, 2], "ok": [True, None]}), tmp_path / "x.parquet")
    t = read_export(tmp_path / "x.parquet", src("parquet"), "x.parquet")
    assert t.select(["id", "ok"]).to_pylist() == [{"id": "1", "ok": "true"}, {"id": "2", "ok": None}]


def test_sqlite_dump_table(tmp_path):
    db = tmp_path / "crm.sqlite"
    con = sqlite3.connect(db)
    con.execute("create table contacts (id integer, email text)")
    con.executemany("insert into contacts values (?, ?)", [(7, "a@b.tw"), (8, None)])
    con.commit()
    con.close()
    t = read_export(db, src("sqlite", table="contacts"), "crm.sqlite")
    assert t.select(["id", "email"]).to_pylist() == [{"id": "7", "email": "a@b.tw"}, {"id": "8", "email": None}]
    with pytest.raises(ExportError, match="has no table 'people'"):
        read_export(db, src("sqlite", table="people"), "crm.sqlite")


def test_schema_drift_names_the_closest_column(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("Contact Id,Email Address\n1,a@b.tw\n", encoding="utf-8")
    s = src("csv", columns={"record_id": "Contact ID", "email": "Email"})
    with pytest.raises(ExportError) as exc:
        map_columns(read_export(p, s, "c.csv"), s, "c.csv")
    assert "schema drift" in str(exc.value)
    assert "'Contact ID' (closest present: 'Contact Id')" in str(exc.value)


def test_extract_source_sets_bad_files_aside_and_keeps_the_rest(tmp_path):
    (tmp_path / "a.csv").write_text("id,x\n1,a\n2,b\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("", encoding="utf-8")
    ex = extract_source(src("csv", path="*.csv", constants={"account_type": "B2C"}), tmp_path)
    table = pa.concat_tables(ex.tables)
    assert ex.files == ["a.csv"] and ex.rows_per_file == {"a.csv": 2}
    assert [str(e) for e in ex.file_errors] == ["b.csv, line 1: is empty (no header row)"]
    assert table.column_names == ["record_id", "account_type", "_source_system", "_source_entity",
                                     "_source_file", "_row_number"]
    assert table.column("account_type").to_pylist() == ["B2C", "B2C"]


def test_jsonl_native_reader_gives_the_python_readers_text(tmp_path):
    from connectors.readers import _read_jsonl_python

    p = tmp_path / "e.jsonl"
    p.write_text(
        '{"id": "E1", "ts": 1792599158858, "day": "2026-10-21", "ok": true, "x": 0.1, "tags": ["a", "b"],'
        ' "ctx": {"page": "/", "n": 2}}\n'
        "\n"
        '{"id": "E2", "ts": 1792599158859, "day": "2026-10-22", "ok": false, "x": 3.0, "tags": [],'
        ' "ctx": {}, "y": 1e-07}\n',
        encoding="utf-8")
    t = read_export(p, src("jsonl"), "e.jsonl")
    rows = t.select(["id", "ts", "day", "ok", "x", "tags", "ctx.page", "ctx.n", "y"]).to_pylist()
    assert rows == [
        {"id": "E1", "ts": "1792599158858", "day": "2026-10-21", "ok": "true", "x": "0.1", "tags": '["a", "b"]',
         "ctx.page": "/", "ctx.n": "2", "y": None},
        {"id": "E2", "ts": "1792599158859", "day": "2026-10-22", "ok": "false", "x": "3", "tags": "[]",
         "ctx.page": None, "ctx.n": None, "y": "1e-07"},
    ]
    python = _read_jsonl_python(p, src("jsonl"), "e.jsonl")
    assert t.select(python.column_names).to_pylist() == python.to_pylist()


@pytest.mark.parametrize("line, value", [
    ('{"id": "E1", "v": 12345678901234567890}', "12345678901234567890"),  # beyond int64: all digits kept
    ('{"id": "E1", "v": [1.5, {"a": 1}]}', '[1.5, {"a": 1}]'),  # mixed list: JSON text as written
])
def test_jsonl_values_arrow_cannot_render_take_the_python_reader(tmp_path, line, value):
    p = tmp_path / "e.jsonl"
    p.write_text(line + "\n", encoding="utf-8")
    assert read_export(p, src("jsonl"), "e.jsonl").column("v").to_pylist() == [value]


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".zst", ".zip"])
def test_compressed_exports_are_read_as_they_stream(tmp_path, suffix):
    import bz2
    import gzip
    import zipfile

    body = "Contact ID,Email\n1,a@b.tw\n2,\n"
    p = tmp_path / f"c.csv{suffix}"
    if suffix == ".gz":
        p.write_bytes(gzip.compress(body.encode()))
    elif suffix == ".bz2":
        p.write_bytes(bz2.compress(body.encode()))
    elif suffix == ".zst":
        with pa.output_stream(str(p), compression="zstd") as out:
            out.write(body.encode())
    else:
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("c.csv", body)
    t = read_export(p, src("csv", columns={"record_id": "Contact ID", "email": "Email"}), p.name)
    assert t.select(["Contact ID", "Email"]).to_pylist() == [{"Contact ID": "1", "Email": "a@b.tw"},
                                                            {"Contact ID": "2", "Email": None}]
    assert t.column("_source_file").to_pylist() == [p.name, p.name]


def test_a_zip_of_several_files_is_set_aside_with_a_reason(tmp_path):
    import zipfile

    p = tmp_path / "c.csv.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.csv", "id\n1\n")
        z.writestr("b.csv", "id\n2\n")
    with pytest.raises(ExportError) as exc:
        read_export(p, src("csv"), "crm/c.csv.zip")
    assert str(exc.value) == "crm/c.csv.zip: cannot be read as csv: a .zip export must hold exactly one file; this one holds 2"


def test_utf16_with_a_byte_order_mark_is_read_whatever_the_configured_encoding(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes("id,name\n1,陳大文\n".encode("utf-16"))
    t = read_export(p, src("csv"), "c.csv")
    assert t.select(["id", "name"]).to_pylist() == [{"id": "1", "name": "陳大文"}]


def test_unreadable_files_are_set_aside_with_a_message_not_a_traceback(tmp_path):
    (tmp_path / "x.xlsx").write_text("id,name\n1,a\n", encoding="utf-8")  # a CSV renamed .xlsx
    with pytest.raises(ExportError) as exc:
        read_export(tmp_path / "x.xlsx", src("excel"), "crm/x.xlsx")
    assert str(exc.value).startswith("crm/x.xlsx: cannot be read as excel: invalid Zip archive")
    with pytest.raises(ExportError) as exc:
        read_export(tmp_path / "gone.csv", src("csv"), "crm/gone.csv")
    assert str(exc.value) == "crm/gone.csv: was removed before it could be read"


@pytest.mark.parametrize("setting, message", [
    ("encoding: klingon", "sources.pos__members.encoding: Value error, unknown encoding 'klingon'"),
    ("delimiter: '||'", "sources.pos__members.delimiter: Value error, delimiter '||' must be exactly one character"),
])
def test_unknown_encoding_or_long_delimiter_refused_at_config_load_naming_the_source(tmp_path, setting, message):
    from flows.config import ConfigError, load_config

    p = tmp_path / "sources.yaml"
    p.write_text("sources:\n  - system: pos\n    entity: members\n    kind: customers\n    format: csv\n"
                 f"    path: pos/*.csv\n    {setting}\n    columns: {{record_id: id}}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    assert message in str(exc.value)


def test_json_with_a_repeated_key_is_set_aside_naming_the_key_and_line(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text('{"id": "E1"}\n{"id": "E2", "email": "a@b.tw", "email": "c@d.tw"}\n', encoding="utf-8")
    with pytest.raises(ExportError) as exc:
        read_export(p, src("jsonl"), "e.jsonl")
    assert str(exc.value) == ("e.jsonl, line 2: repeats key 'email' within one object "
                              "(readers disagree on which value counts)")
    p = tmp_path / "t.json"
    p.write_text('[{"id": "T1", "id": "T2"}]', encoding="utf-8")
    with pytest.raises(ExportError) as exc:
        read_export(p, src("json"), "t.json")
    assert str(exc.value) == "t.json: repeats key 'id' within one object (readers disagree on which value counts)"


def test_a_deeply_nested_json_document_is_set_aside(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text('{"id": ' + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    with pytest.raises(ExportError) as exc:
        read_export(p, src("jsonl"), "e.jsonl")
    assert str(exc.value).startswith("e.jsonl: is nested too deeply to read")


def test_a_csv_without_a_header_row_is_set_aside_without_echoing_its_first_row(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("C001,Wang,wang@example.tw\nC002,Lin,lin@example.tw\n", encoding="utf-8")
    s = src("csv", columns={"record_id": "Contact ID", "last_name": "Last Name", "email": "Email"})
    with pytest.raises(ExportError) as exc:
        map_columns(read_export(p, s, "crm/c.csv"), s, "crm/c.csv")
    assert str(exc.value) == ("crm/c.csv, line 1: has no header row: none of the 3 mapped columns is in its "
                              "first line (3 fields, not shown: they may be personal data)")


def test_extract_notes_reach_the_console_line_and_the_runs_warnings():
    from flows.steps.publish import run_warnings
    from flows.steps.summary import describe

    note = "shop/book.xlsx: sheet 'Returns' (3 non-empty rows) not read"
    extract = {"shop__orders": {"rows": 1, "files": 1, "files_set_aside": 0, "notes": [note]},
               "crm__contacts": {"rows": 5, "files": 1, "files_set_aside": 0, "notes": []}}
    assert describe("extract", extract) == f"2 sources, 2 files, 6 rows; NOTE: shop__orders: {note}"
    assert run_warnings({"extract": extract, "identity": {"warnings": ["nothing linked"]}}) == [
        f"extract: shop__orders: {note}", "identity: nothing linked"]
