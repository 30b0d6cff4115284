"""Per-source value formats: number formats (declared, or detected per value when only one reading fits;
an ambiguous value is never guessed), ROC (Minguo) calendar dates and value maps, on tiny inline tables."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from connectors.config import NumberFormat, SourceConfig
from tests.helpers import connect
from tests.test_stage_validate import POS, line, raw_table
from transforms.stage import typed_sql


def typed_rows(source: SourceConfig, rows: list[dict], cols: str) -> list[tuple]:
    con = connect()
    con.register("raw", raw_table(rows))
    sql, params = typed_sql(source)
    return con.execute(f"select {cols} from ({sql}) order by _row_id", params).fetchall()


@pytest.mark.parametrize("text, expected", [
    ("12.50", Decimal("12.50")), ("1,290.00", Decimal("1290.00")), ("1.290,00", Decimal("1290.00")),
    ("801,00", Decimal("801.00")), ("1,234,567", Decimal("1234567.00")), ("NT$ 1,290.50", Decimal("1290.50")),
    ("-3", Decimal("-3.00")),
    ("1,234", None), ("12,345", None), ("1.2.3", None), ("abc", None),
])
def test_undeclared_numbers_are_read_only_when_one_reading_fits(text, expected):
    [(value, unparsed)] = typed_rows(POS, [line(unit_list_price=text)], "unit_list_price, _unparsed__unit_list_price")
    assert value == expected and unparsed == (expected is None)


def test_a_declared_number_format_reads_its_own_convention_and_nothing_else():
    eu = POS.model_copy(update={"number_format": NumberFormat(decimal=",", thousands=".")})
    eu = SourceConfig.model_validate(eu.model_dump())
    texts = ["801,00", "1.234,56", "1.234", "€ 12", "1,234.56", "12.5"]
    got = typed_rows(eu, [line(unit_list_price=t) for t in texts], "unit_list_price")
    assert [r[0] for r in got] == [Decimal("801.00"), Decimal("1234.56"), Decimal("1234.00"), Decimal("12.00"),
                                   None, None]


def test_integers_follow_the_number_format():
    got = typed_rows(POS, [line(quantity=q) for q in ("2", "1,000,000", "1,000")], "quantity")
    assert [r[0] for r in got] == [2, 1000000, None]


def test_roc_calendar_dates_and_timestamps():
    crm = SourceConfig(system="crm", entity="members", kind="customers", format="csv", path="x",
                       timezone="Asia/Taipei", columns={"record_id": "a", "birth_date": "b", "created_at": "c"},
                       formats={"birth_date": "roc", "created_at": "roc"})
    got = typed_rows(crm, [
        {"record_id": "1", "birth_date": "075/06/16", "created_at": "115/11/20 08:30"},
        {"record_id": "2", "birth_date": "75-6-16", "created_at": "115.11.20"},
        {"record_id": "3", "birth_date": "1986-06-16", "created_at": "115/13/01"},
    ], "birth_date, created_at, _unparsed__birth_date, _unparsed__created_at")
    assert got == [
        (date(1986, 6, 16), datetime(2026, 11, 20, 0, 30, tzinfo=timezone.utc), False, False),
        (date(1986, 6, 16), datetime(2026, 11, 19, 16, 0, tzinfo=timezone.utc), False, False),
        (None, None, True, True),
    ]


def test_implausible_birth_dates_are_warned_kept_and_can_be_made_rejects():
    from tests.test_stage_validate import RUN_DATE, validated

    crm = SourceConfig(system="crm", entity="members", kind="customers", format="csv", path="x",
                       columns={"record_id": "a", "birth_date": "b"}, formats={"birth_date": "%Y/%m/%d"})
    # a ROC date read as a Gregorian one (075 -> year 75), a date after the run, two plausible ones
    rows = [{"record_id": str(i), "birth_date": b} for i, b in
            enumerate(["0075/06/16", "1986/06/16", "2030/01/01", "1900/01/01"], 1)]
    outcome, _ = validated(crm, rows)
    assert outcome.warnings == {"plausible:birth_date": 2} and len(outcome.rejected) == 0
    strict = SourceConfig.model_validate(crm.model_dump() | {"contract": {"severity": {"plausible:birth_date": "reject"}}})
    outcome, _ = validated(strict, rows)
    assert outcome.rejected[["_row_id", "rule", "reason"]].values.tolist() == [
        [1, "plausible:birth_date", f"birth_date '9999/99/99' is before 1900-01-01 or after the run date {RUN_DATE}"],
        [3, "plausible:birth_date", f"birth_date '9999/99/99' is before 1900-01-01 or after the run date {RUN_DATE}"]]


def test_epoch_formats_read_days_and_microseconds_and_flag_what_they_cannot_read():
    ga = SourceConfig(system="web", entity="members", kind="customers", format="parquet", path="x",
                      columns={"record_id": "a", "birth_date": "b", "created_at": "c"},
                      formats={"birth_date": "epoch_days", "created_at": "epoch_us"})
    got = typed_rows(ga, [
        {"record_id": "1", "birth_date": "6010", "created_at": "1732060800123456"},
        {"record_id": "2", "birth_date": "-365", "created_at": "0"},
        {"record_id": "3", "birth_date": "1986-06-16", "created_at": "2026-11-20"},
    ], "birth_date, created_at, _unparsed__birth_date, _unparsed__created_at")
    assert got == [
        (date(1986, 6, 16), datetime(2024, 11, 20, 0, 0, 0, 123456, tzinfo=timezone.utc), False, False),
        (date(1969, 1, 1), datetime(1970, 1, 1, tzinfo=timezone.utc), False, False),
        (None, None, True, True),
    ]


@pytest.mark.parametrize("field, fmt, message", [
    ("record_id", "roc", "format 'roc' on 'record_id', which is a string, not a date or timestamp"),
    ("record_id", "%d.%m.%Y", "format '%d.%m.%Y' on 'record_id', which is a string, not a date or timestamp"),
    ("birth_date", "epoch_ms", "format 'epoch_ms' on 'birth_date', a date: dates take epoch_days, iso8601, roc"),
])
def test_a_date_format_is_refused_where_it_cannot_apply(field, fmt, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        SourceConfig(system="crm", entity="m", kind="customers", format="csv", path="x",
                     columns={"record_id": "a", "birth_date": "b"}, formats={field: fmt})


def test_value_maps_turn_vendor_values_into_canonical_ones_and_keep_the_rest():
    mapped = SourceConfig.model_validate(POS.model_dump() | {
        "constants": {"currency": "TWD"}, "columns": POS.columns | {"channel": "ch"},
        "value_maps": {"channel": {"Online Store": "web", "POS": "store"}}})
    got = typed_rows(mapped, [line(channel=c) for c in ("Online Store", "POS", "kiosk")], "channel")
    assert got == [("web",), ("store",), ("kiosk",)]


def test_a_value_map_on_a_number_is_refused():
    with pytest.raises(ValueError, match="value map on 'quantity', which is a integer: map text fields only"):
        SourceConfig.model_validate(POS.model_dump() | {"value_maps": {"quantity": {"one": "1"}}})


def test_a_header_row_repeated_mid_file_is_quarantined_as_one():
    from tests.test_stage_validate import validated

    header = {field: col for field, col in POS.columns.items()} | {"channel": "store", "currency": "TWD"}
    out, _ = validated(POS, [line(), header, line(order_id="T2")])
    got = {int(r["_row_id"]): (r["rule"], r["reason"].split(";")[0]) for r in out.rejected.to_dict("records")}
    assert got == {2: ("header_row", "the row repeats the header ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'): "
                                     "a header row in the middle of the file, not a record")}


def test_a_source_with_one_mapped_column_never_calls_a_value_its_header():
    products = SourceConfig(system="erp", entity="products", kind="products", format="csv", path="x",
                            columns={"sku": "sku"})
    assert typed_rows(products, [{"sku": "sku"}, {"sku": "A1"}], "sku, _header_row") == [("sku", False), ("A1", False)]
