"""Staging types and the GX validation suite, on tiny inline tables."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pyarrow as pa
import pytest

from connectors.config import SourceConfig
from flows.db import Database
from tests.helpers import connect
from transforms.stage import FORMULA_RE, create_typed, formula_sql, prepared_sql, trimmed, typed_sql
from transforms.validate import build_suite, quarantine_record, re2_pattern, validate_table


def raw_table(rows: list[dict]) -> pa.Table:
    n = len(rows)
    cols = {k: pa.array([r.get(k) for r in rows], pa.string()) for k in rows[0]}
    cols |= {"attributes": pa.nulls(n, pa.string()), "_source_system": pa.array(["pos"] * n), "_source_entity": pa.array(["transactions"] * n),
             "_source_file": pa.array(["pos/t.csv"] * n), "_row_number": pa.array(range(1, n + 1), pa.int64())}
    return pa.table(cols)


POS = SourceConfig(
    system="pos", entity="transactions", kind="order_lines", format="csv", path="x", timezone="Asia/Taipei",
    columns={"order_id": "a", "line_no": "b", "ordered_at": "c", "sku": "d", "quantity": "e",
             "unit_list_price": "f", "unit_price_paid": "g", "loyalty_id": "h"},
    constants={"channel": "store", "currency": "TWD"},
    formats={"ordered_at": "%Y/%m/%d %H:%M:%S"},
    contract={"ranges": {"quantity": {"min": 1}}},
)
RUN_DATE = date(2026, 11, 20)


def typed(source: SourceConfig, rows: list[dict]):
    con = connect()
    con.register("raw", raw_table(rows))
    sql, params = typed_sql(source)
    return con.execute(sql, params).df()


def validated(source: SourceConfig, rows: list[dict], run_date: date = RUN_DATE):
    """(the validation outcome, the typed frame) of the rows, through the pipeline's SQL pass."""
    db = Database(connect(), step="test")
    db.register("raw", raw_table(rows))
    create_typed(db, source)
    # with the texts of the rejected rows (validate_table's `raw_texts`), as the quarantine reads them
    return validate_table(db, source, run_date), db.df("typed", "select * from typed left join raw_texts "
                                                                "using (_row_id) order by _row_id")


def line(**kw) -> dict:
    base = {"order_id": "T1", "line_no": "1", "ordered_at": "2026/11/20 10:00:00", "sku": "SKU-1",
            "quantity": "2", "unit_list_price": "1,290.00", "unit_price_paid": "1290", "loyalty_id": None,
            "channel": "store", "currency": "TWD"}
    return base | kw


def test_local_time_becomes_utc_and_money_parses():
    df = typed(POS, [line()])
    row = df.iloc[0]
    assert row["ordered_at"].to_pydatetime() == datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
    assert float(row["unit_list_price"]) == 1290.0
    assert row["quantity"] == 2 and row["_key_rank"] == 1 and not row["_unparsed__ordered_at"]


def test_iso_offsets_epoch_ms_and_lists():
    web = SourceConfig(system="analytics", entity="events", kind="web_events", format="jsonl", path="x",
                       timezone="Asia/Taipei", formats={"event_at": "epoch_ms"},
                       columns={"event_id": "a", "event_at": "b", "device_id": "c", "event_type": "d", "channel": "e"})
    df = typed(web, [{"event_id": "e1", "event_at": "1763596800000", "device_id": "d", "event_type": "login",
                      "channel": "web"}])
    assert df.iloc[0]["event_at"].to_pydatetime() == datetime(2025, 11, 20, 0, 0, tzinfo=timezone.utc)
    shop = POS.model_copy(update={"formats": {}})
    df = typed(shop, [line(ordered_at="2026-11-20T14:03:00+08:00"), line(line_no="2", ordered_at="2026-11-20T06:03:00Z"),
                      line(line_no="3", ordered_at="2026-11-20T14:03:00")])
    assert {t.to_pydatetime() for t in df["ordered_at"]} == {datetime(2026, 11, 20, 6, 3, tzinfo=timezone.utc)}
    camp = SourceConfig(system="marketing", entity="campaigns", kind="campaigns", format="csv", path="x",
                        columns={"campaign_id": "a", "valid_channels": "b", "valid_from": "c", "valid_to": "d"})
    df = typed(camp, [{"campaign_id": "C1", "valid_channels": "web; store;;", "valid_from": "2026-11-01",
                       "valid_to": "2026-11-30"}])
    assert list(df.iloc[0]["valid_channels"]) == ["web", "store"]
    assert df.iloc[0]["valid_to"].date() == date(2026, 11, 30)


def test_suite_is_built_from_kind_and_configuration():
    suite = build_suite(POS, RUN_DATE)
    rules = [(e.meta["rule"], e.meta["severity"]) for e in suite.expectations]
    assert ("required:ordered_at", "reject") in rules
    assert ("range:quantity", "reject") in rules
    assert ("unique:order_id,line_no", "reject") in rules
    assert ("parse:loyalty_id", "warn") not in rules  # strings always parse


def test_validation_quarantines_with_readable_reasons():
    rows = [
        line(),                                            # fine
        line(quantity="3"),                                # duplicate of row 1's key
        line(order_id="T2", ordered_at="20/11/2026"),      # wrong timestamp format
        line(order_id="T3", ordered_at=None),              # missing
        line(order_id="T4", quantity="-1"),                # range
        line(order_id="T5", line_no="x", quantity="0"),    # two problems
    ]
    out, _ = validated(POS, rows)
    got = {int(r["_row_id"]): (r["rule"], r["reason"]) for r in out.rejected.to_dict("records")}
    assert got == {
        2: ("unique:order_id,line_no", "duplicate key (order_id, line_no); first seen in pos/t.csv row 1"),
        3: ("required:ordered_at", "ordered_at '20/11/2026' is not a valid timestamp (expected %Y/%m/%d %H:%M:%S)"),
        4: ("required:ordered_at", "ordered_at is missing"),
        5: ("range:quantity", "quantity -1 is outside [1, inf]"),
        6: ("required:line_no", "line_no 'x' is not a valid integer; quantity 0 is outside [1, inf]"),
    }
    counts = {r.rule: r.failed for r in out.rules}
    assert counts["required:ordered_at"] == 2 and counts["range:quantity"] == 2


def test_personal_values_are_masked_in_reasons_and_records():
    crm = SourceConfig(system="crm", entity="contacts", kind="customers", format="csv", path="x",
                       columns={"record_id": "Contact ID", "email": "Email", "birth_date": "Birthdate"},
                       formats={"birth_date": "%m/%d/%Y"}, contract={"accepted_values": {"email": ["x"]}})
    out, df = validated(crm, [{"record_id": "003", "email": "Mei.Lin@gmail.com", "birth_date": "13/45/1990"}])
    reason = out.rejected.iloc[0]["reason"]
    assert reason == "email 'xxx.xxx@xxxxx.xxx' is not one of ['x']"
    assert out.warnings == {"parse:birth_date": 1}
    record = json.loads(quarantine_record(df.iloc[0].to_dict(), crm))
    assert record == {"Birthdate": "99/99/9999", "Contact ID": "003", "Email": "xxx.xxx@xxxxx.xxx"}
    assert "Mei" not in reason and "Mei" not in json.dumps(record)


def test_config_rejects_unknown_fields_and_unmapped_required():
    with pytest.raises(ValueError, match="required fields \\['ordered_at'\\]"):
        SourceConfig(system="s", entity="e", kind="order_lines", format="csv", path="x",
                     columns={"order_id": "a", "line_no": "b", "channel": "c", "sku": "d", "quantity": "e",
                              "unit_list_price": "f", "unit_price_paid": "g", "currency": "h"})
    with pytest.raises(ValueError, match="not canonical fields"):
        SourceConfig(system="s", entity="e", kind="products", format="csv", path="x", columns={"sku": "a", "colour": "b"})


def test_contract_names_only_mapped_fields_known_rules_and_known_sources():
    base = dict(system="s", entity="e", kind="products", format="csv", path="x",
                columns={"sku": "a", "launched_on": "b", "product_name": "c"})
    with pytest.raises(ValueError, match="rule on 'category', which is not mapped"):
        SourceConfig(**base, contract={"not_null": ["category"]})
    with pytest.raises(ValueError, match="timestamp rule on 'launched_on', which is a date, not a timestamp"):
        SourceConfig(**base, contract={"timestamps": {"launched_on": {"not_before": "2000-01-01"}}})
    from flows.config import PipelineConfig

    # rule names come from the contract's GX suite (transforms): checked where the whole file is loaded
    with pytest.raises(ValueError, match=r"severity for rules \['shape:sku'\] that this contract does not have"):
        PipelineConfig(sources=[dict(base, contract={"severity": {"shape:sku": "warn"}})])
    ok = SourceConfig(**base, contract={"shapes": {"product_name": "email"}, "severity": {"shape:product_name": "warn"},
                                        "unique": ["product_name"]})
    suite = build_suite(ok, RUN_DATE)
    assert [(e.meta["rule"], e.meta["severity"]) for e in suite.expectations] == [
        ("header_row", "reject"), ("required:sku", "reject"), ("parse:launched_on", "warn"),
        ("shape:product_name", "warn"),
        ("formula", "reject"), ("field_length", "reject"), ("unique:product_name", "reject")]

    with pytest.raises(ValueError, match="s__e: relation of 'sku' to unknown source 'erp__products'"):
        PipelineConfig(sources=[dict(base, contract={"relations": {"sku": {"source": "erp__products", "field": "sku"}}})])


def test_replayed_rows_come_first_so_a_corrected_row_keeps_its_key():
    t = raw_table([line(quantity="-1"), line(quantity="1")])
    files = ["pos/t.csv", "replay/pos__transactions/fix.csv"]
    t = t.set_column(t.column_names.index("_source_file"), "_source_file", pa.array(files))
    db = Database(connect(), step="test")
    db.register("raw", t)
    create_typed(db, POS)
    df = db.df("typed", "select * from typed order by _row_id")
    assert list(zip(df["_source_file"], df["quantity"], df["_key_rank"])) == [
        ("replay/pos__transactions/fix.csv", 1, 1), ("pos/t.csv", -1, 2)]


def test_row_ids_follow_file_order_and_only_repeated_keys_are_ranked():
    # files arrive out of order; T1/1 is held three times (twice in b.csv), T2/1 once, a line without an order id
    rows = [line(order_id="T1", quantity="3"), line(order_id="T1", quantity="4"), line(order_id=None),
            line(order_id="T1", quantity="1"), line(order_id="T2")]
    t = raw_table(rows)
    files, numbers = ["pos/b.csv", "pos/b.csv", "pos/b.csv", "pos/a.csv", "pos/a.csv"], [1, 2, 3, 1, 2]
    t = t.set_column(t.column_names.index("_source_file"), "_source_file", pa.array(files))
    t = t.set_column(t.column_names.index("_row_number"), "_row_number", pa.array(numbers, pa.int64()))
    db = Database(connect(), step="test")
    db.register("raw", t)
    # rows in b.csv before a.csv: not in _row_id order, so whoever needs the order must sort
    assert create_typed(db, POS) == (5, False)
    got = db.rows("typed", "select _row_id, _source_file, _row_number, order_id, _key_rank, _key_first_file, "
                           "_key_first_row from typed order by _row_id")
    assert got == [
        (1, "pos/a.csv", 1, "T1", 1, "pos/a.csv", 1),
        (2, "pos/a.csv", 2, "T2", 1, "pos/a.csv", 2),
        (3, "pos/b.csv", 1, "T1", 2, "pos/a.csv", 1),
        (4, "pos/b.csv", 2, "T1", 3, "pos/a.csv", 1),
        (5, "pos/b.csv", 3, None, 1, "pos/b.csv", 3),
    ]


def test_typed_rows_read_in_file_order_are_reported_in_order_with_their_keys_ranked():
    # a repeated key in the middle of the rows: ranking it must not move rows (a left join to the ranks did)
    rows = [line(order_id=f"T{i}") for i in range(3000)] + [line(order_id="T5")] + [line(order_id="X")]
    db = Database(connect(), step="test")
    db.register("raw", raw_table(rows))
    assert create_typed(db, POS) == (3002, True)
    assert db.rows("ranked", "select _row_id, _key_rank, _key_first_row from typed where _key_rank > 1") == [(3001, 2, 6)]


def test_great_expectations_stand_ins_import_the_module_on_first_use():
    import sys

    from transforms.validate import _defer_import

    name = "colorsys"  # small, standard, and imported by nothing this suite runs
    real = sys.modules.pop(name, None)
    try:
        _defer_import(name)
        stand_in = sys.modules[name]
        assert type(stand_in).__name__ == "_Deferred" and "rgb_to_hsv" not in vars(stand_in)
        assert stand_in.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)  # first use: the real module, imported
        assert sys.modules[name] is not stand_in and sys.modules[name].__file__.endswith("colorsys.py")
    finally:
        sys.modules.pop(name, None)
        if real is not None:
            sys.modules[name] = real


def _gx_on_pandas(source: SourceConfig, df, run_date: date = RUN_DATE) -> dict[str, tuple[int, list]]:
    """Rule -> (unexpected count, first failing values) from GX's own pandas engine on the typed frame."""
    import great_expectations as gx

    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = build_suite(source, run_date)
    batch = (ctx.data_sources.add_pandas("pd").add_dataframe_asset("t").add_batch_definition_whole_dataframe("all")
             .get_batch(batch_parameters={"dataframe": df}))
    res = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    return {r.expectation_config.meta["rule"]: (r.result["unexpected_count"], r.result["partial_unexpected_list"])
            for r in res.results}


def test_the_sql_pass_counts_what_gx_on_pandas_counts():
    """Every rule's failing count and first failing values agree with GX's pandas engine, on values where SQL
    and pandas could part: Unicode digits and spaces and a final newline in shapes, nulls, inclusive bounds
    of numbers and instants, accepted values, flags."""
    crm = SourceConfig(
        system="crm", entity="contacts", kind="customers", format="csv", path="x", timezone="UTC",
        columns={"record_id": "id", "email": "e", "phone": "p", "account_type": "t", "created_at": "c",
                 "city": "y"},
        contract={"accepted_values": {"account_type": ["B2C", "B2B"]}, "shapes": {"email": "email", "phone": "phone"},
                  "timestamps": {"created_at": {"not_before": "2000-01-01", "future_days": 1}},
                  "not_null": ["city"], "severity": {"shape:phone": "warn"}})
    values = [
        ("a@b.com", "0912 345 678", "B2C", "2000-01-01T00:00:00Z", "Taipei"),      # fine, lowest instant
        ("a@b.com\n", "０９１２３４５６７８", "B2B", "2026-11-22T00:00:00Z", "x"),  # final newline; full-width; highest
        ("x\u00a0y@b.com", "0912\u3000345678", "b2c", "1999-12-31T23:59:59Z", None),  # NBSP; ideographic space
        ("a@b", "12345", None, "2026-11-22T00:00:01Z", "x"),
        (None, "+886 (2) 2345-6789\n", "", None, "x"),
        ("ａ@ｂ.ｃｏｍ", "0912-345-678x", "B2C", "garbage", "x"),
    ]
    rows = [{"record_id": f"r{i}", "email": e, "phone": p, "account_type": t, "created_at": c, "city": y}
            for i, (e, p, t, c, y) in enumerate(values)]
    out, df = validated(crm, rows)
    gx_counts = _gx_on_pandas(crm, df)
    ours = {r.expectation_config.meta["rule"]: (r.result["unexpected_count"], r.result.get("partial_unexpected_list", []))
            for r in out.results[0].results}
    assert {rule: n for rule, (n, _) in ours.items()} == {rule: n for rule, (n, _) in gx_counts.items()}
    assert {rule: n for rule, (n, _) in ours.items() if n} == {
        "accepted_values:account_type": 1, "shape:email": 2, "shape:phone": 2, "timestamp:created_at": 2,
        "not_null:city": 1, "parse:created_at": 1}
    # the first failing values as GX lists them (masked here for personal fields; compared in clear)
    from transforms.privacy import masked
    from connectors.schemas import KINDS
    for rule, (n, gx_values) in gx_counts.items():
        field = rule.partition(":")[2]
        personal = field in KINDS["customers"] and KINDS["customers"][field].personal
        assert ours[rule][1] == ([masked(str(v), personal) for v in gx_values] if n else []), rule
    assert sorted(out.rejected["_row_id"]) == [3, 4]  # row 2: a final newline and the last instant pass


def test_shapes_read_as_python_reads_them_in_re2():
    assert re2_pattern(r"^\d\s[^\s]$") == ("^\\p{Nd}[" + _space() + "][^" + _space() + "]\\n?$")
    con = connect()
    matches = [con.execute("select regexp_matches($v, $p)", {"v": v, "p": re2_pattern(r"^[\d\s]{3}$")}).fetchone()[0]
               for v in ("1 2", "１\u30002", "1 2\n", "1\n2", "1 2 ", "12")]
    assert matches == [True, True, True, True, False, False]


def _space() -> str:
    from transforms.validate import _PY_SPACE
    import re
    # the class is exactly Python's whitespace
    spaces = {c for c in range(0x3001) if re.match(r"\s", chr(c))}
    assert spaces == {0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
                      *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000}
    return _PY_SPACE


def test_mapped_identifiers_become_one_json_field_for_identity():
    # `identifiers: {name: export column}` fills the customers' `identifiers` field (JSON, personal), read
    # by identity.probabilistic.identifiers entries without a column; the columns are not in `attributes`
    crm = SourceConfig(system="crm", entity="contacts", kind="customers", format="csv", path="x",
                       columns={"record_id": "id"}, identifiers={"national_id": "SSN", "member_no": "Member No"})
    assert crm.export_columns == ["SSN", "Member No"]
    assert "identifiers" in crm.mapped_fields and crm.expressions == {}
    con = connect()
    con.register("extracted", raw_table([{"record_id": "C1", "_export__SSN": "A123 456", "_export__Member No": "M-7"},
                                         {"record_id": "C2", "_export__SSN": None, "_export__Member No": None}]))
    con.execute(f"create table raw as {prepared_sql(crm, 'extracted')}")
    sql, params = typed_sql(crm)
    df = con.execute(sql, params).df()
    assert [json.loads(v) for v in df.sort_values("record_id").identifiers] == [{"national_id": "A123 456", "member_no": "M-7"},
                                                       {"national_id": None, "member_no": None}]
    with pytest.raises(ValueError, match="identifier name 'National ID'"):
        SourceConfig(system="crm", entity="contacts", kind="customers", format="csv", path="x",
                     columns={"record_id": "id"}, identifiers={"National ID": "SSN"})
    with pytest.raises(ValueError, match="not canonical fields of kind 'order_lines'"):
        SourceConfig(**(POS.model_dump() | {"identifiers": {"national_id": "SSN"}}))


def test_cheap_trim_and_formula_test_agree_with_trim_and_the_regex():
    # 4,000 seeded random short texts over spaces (Zs and others), ASCII and CJK letters and formula starts: the
    # shortcuts give exactly DuckDB's trim and the formula regex (they skip them only where they cannot matter)
    import random

    rng = random.Random(13)
    alphabet = [" ", "\t", "\n", "\r", "\x0c", "\x0b", "\u00a0", "\u3000", "\u2003", "\u200b", "\u1680", "a", "Z", "_",
                "0", "9", "中", "é", "=", "@", "+", "-", "(", "!", "|", ":", "/", "A", "B"]
    texts = [None, "", " ", "=1", " @x", "+cmd|x", "- SUM(", "中 ", " 中", "a\u00a0"] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(4000)]
    con = connect()
    con.register("texts", pa.table({"x": pa.array(texts, pa.string())}))
    differ, trimmed_n, formulas = con.execute(
        f"select count(*) filter (where {trimmed('x')} is distinct from trim(x) "
        f"or ({formula_sql('x')}) is distinct from regexp_matches(x, $formula_re)), "
        f"count(*) filter (where trim(x) <> x), count(*) filter (where regexp_matches(x, $formula_re)) from texts",
        {"formula_re": FORMULA_RE}).fetchone()
    assert differ == 0
    assert trimmed_n > 1000 and formulas > 100  # both sides of each shortcut are exercised
