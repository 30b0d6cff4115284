"""A source's row filter and expression fields (DuckDB SQL expressions over the export's columns): checked at
config load, computed before typing, filtered rows counted with the filter's text in every count and in the
reconciliation (excluded, never lost). Runs the plain extract and validate steps (no Prefect)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.config import ConfigError, load_config
from flows.steps.extract import extract_step
from flows.steps.policy import PipelineError
from flows.steps.spec import RunSpec
from flows.steps.summary import describe, summary_markdown
from flows.steps.validate import validate_step
from flows.warehouse.ledger import run_files_table, run_tables

FILTER = "\"Order Status\" <> 'Cancelled'"
SOURCES = """
sources:
  - system: shop
    entity: sales
    kind: order_lines
    format: csv
    path: shop/sales*.csv
    timezone: UTC
    max_reject_share: 0.5
    columns: {order_id: Order ID, line_no: Line, ordered_at: Purchase Date, sku: SKU, quantity: Quantity,
              unit_list_price: Unit Price, login_id: Customer ID}
    constants: {channel: web, currency: USD}
    expressions:
      unit_price_paid: PAID
      discount_code: "nullif(upper(trim(Promo)), '')"
    filter: FILTER
"""
HEADER = "Order ID,Line,Customer ID,SKU,Quantity,Unit Price,Total Price,Purchase Date,Order Status,Promo,Rating\n"
SALES_1 = (HEADER
           + "S1,1,C1,A,1,10.00,10.00,2026-11-19,Completed, x1 ,5\n"
           + "S1,2,C1,B,2,5.00,9.00,2026-11-19,Completed,,4\n"
           + "S2,1,C2,A,1,10.00,10.00,2026-11-19,Cancelled,,1\n"
           + "S3,1,C3,B,1,5.00,5.00,2026-11-19,Cancelled,,2\n"
           + "S4,1,C4,B,x,5.00,5.00,2026-11-19,Completed,,3\n")
SALES_2 = (HEADER
           + "S5,1,C5,A,3,10.00,27.00,2026-11-19,Returned,,5\n"
           + "S6,1,C6,A,1,10.00,10.00,2026-11-19,Cancelled,,5\n")
PAID = "round(try_cast(\"Total Price\" as decimal(18, 2)) / try_cast(Quantity as integer), 2)"


def make(tmp_path: Path, paid: str = PAID, filter_: str = FILTER) -> RunSpec:
    exports = tmp_path / "exports" / "shop"
    exports.mkdir(parents=True)
    (exports / "sales-1.csv").write_text(SALES_1, encoding="utf-8")
    (exports / "sales-2.csv").write_text(SALES_2, encoding="utf-8")
    cfg = tmp_path / "sources.yaml"
    cfg.write_text(SOURCES.replace("PAID", f"'{paid.replace(chr(39), chr(39) * 2)}'")
                   .replace("FILTER", f"'{filter_.replace(chr(39), chr(39) * 2)}'"), encoding="utf-8")
    run_id = "20261120T020000000000Z"
    return RunSpec(run_id=run_id, run_date=date(2026, 11, 20), run_dir=tmp_path / "work" / run_id,
                   exports_dir=tmp_path / "exports", warehouse_dir=tmp_path / "warehouse",
                   state_dir=tmp_path / "state", config_path=cfg, replay_dir=tmp_path / "replay")


def test_filtered_rows_are_counted_with_the_filter_text_and_reconcile(tmp_path):
    spec = make(tmp_path)
    extract_step(spec)
    v = validate_step(spec)["shop__sales"]
    assert (v["rows_in"], v["accepted"], v["quarantined"], v["held_back"], v["filtered"]) == (7, 3, 1, 0, 3)
    assert v["filter"] == FILTER
    assert v["file_counts"] == {
        "shop/sales-1.csv": {"rows_in": 5, "accepted": 2, "quarantined": 1, "held_back": 0, "filtered": 2},
        "shop/sales-2.csv": {"rows_in": 2, "accepted": 1, "quarantined": 0, "held_back": 0, "filtered": 1}}
    # the filtered lines are not quarantined: only S4 (quantity 'x') is
    q = pq.read_table(spec.path("quarantine", "shop__sales.parquet")).to_pylist()
    assert [(r["file"], r["row_number"]) for r in q] == [("shop/sales-1.csv", 5)]
    # and every count carries them with the filter's text: the step line, the summary, the ledger tables
    assert describe("validate", {"shop__sales": v}) == (
        "3 rows accepted, 1 quarantined, filtered: shop__sales 3 by '\"Order Status\" <> \\'Cancelled\\''")
    assert "| shop__sales | 3 | `\"Order Status\" <> 'Cancelled'` |" in summary_markdown(
        {"run_id": "r", "run_date": "2026-11-20", "validate": {"shop__sales": v}})
    record = {"run_id": "r", "rows_filtered": 3, "sources": {"shop__sales": {**v, "files_set_aside": []}}}
    runs, sources = run_tables([record])
    assert runs.to_pylist()[0]["rows_filtered"] == 3
    assert runs.to_pylist()[0]["sources"][0]["filtered"] == 3
    assert [(r["source"], r["rows_in"], r["filtered"], r["filter"]) for r in sources.to_pylist()] == [
        ("shop__sales", 7, 3, FILTER)]
    assert [(r["file"], r["filtered"], r["filter"]) for r in run_files_table([record]).to_pylist()] == [
        ("shop/sales-1.csv", 2, FILTER), ("shop/sales-2.csv", 1, FILTER)]
    assert pq.read_table(spec.path("quality", "sources.parquet")).select(["filtered", "filter"]).to_pylist() == [
        {"filtered": 3, "filter": FILTER}]


def test_expression_fields_are_computed_from_the_export_columns(tmp_path):
    spec = make(tmp_path)
    extract_step(spec)
    validate_step(spec)
    got = pq.read_table(spec.path("staging", "shop__sales.parquet"),
                        columns=["order_id", "line_no", "unit_price_paid", "discount_code"]).to_pylist()
    assert sorted((r["order_id"], r["line_no"], r["unit_price_paid"], r["discount_code"]) for r in got) == [
        ("S1", 1, Decimal("10.00"), "X1"), ("S1", 2, Decimal("4.50"), None), ("S5", 1, Decimal("9.00"), None)]
    # only the mapped fields and the columns the expressions and filter use are extracted, prefixed
    raw = pq.read_schema(spec.path("raw", "shop__sales.parquet")).names
    assert {"_export__Total Price", "_export__Quantity", "_export__Promo", "_export__Order Status"} <= set(raw)
    assert not any("Rating" in c for c in raw)


def test_a_filter_that_is_null_for_a_row_filters_it(tmp_path):
    # SQL WHERE semantics: a row is kept only when the filter is true; coalesce() keeps rows without a status
    spec = make(tmp_path, filter_="\"Order Status\" <> 'Cancelled' and Promo is not null")
    extract_step(spec)
    v = validate_step(spec)["shop__sales"]
    assert (v["rows_in"], v["accepted"], v["quarantined"], v["filtered"]) == (7, 1, 0, 6)


def test_an_expression_duckdb_cannot_evaluate_fails_naming_the_source(tmp_path):
    spec = make(tmp_path, paid="cast(Quantity as integer)")
    extract_step(spec)
    with pytest.raises(PipelineError, match=r"source shop__sales: its expressions .* cannot be evaluated on the "
                                            r"export's values \(Conversion Error\); use try_cast"):
        validate_step(spec)


def test_a_filter_naming_a_column_the_export_lacks_sets_the_file_aside(tmp_path):
    spec = make(tmp_path, filter_="\"Order Statu\" <> 'Cancelled'")
    extract_step(spec)
    v = validate_step(spec)["shop__sales"]
    assert v["rows_in"] == 0
    assert "expected column(s) 'Order Statu' (closest present: 'Order Status') are missing" in \
        v["files_set_aside"][0]["problem"]


@pytest.mark.parametrize("where, text, message", [
    ("filter", "select 1", "sources.shop__sales.filter: Value error, 'select 1' must be one expression over the "
                           "export's columns: no statement, query or subquery (select found)"),
    ("filter", "a = 1; drop table x", "sources.shop__sales.filter: Value error, 'a = 1; drop table x' must be one "
                                      "expression, not 2 statements"),
    ("filter", "SKU in (select sku from x)", "sources.shop__sales.filter: Value error, 'SKU in (select sku from x)' "
                                             "must be one expression over the export's columns: no statement, query "
                                             "or subquery"),
    ("paid", "(select max(Quantity) from read_csv('x'))",
     "sources.shop__sales.expressions: Value error, field 'unit_price_paid': "),
    ("paid", "len(read_text('/etc/passwd'))", "function read_text() reads outside the row"),
    ("paid", "Quantity *", "sources.shop__sales.expressions: Value error, field 'unit_price_paid': 'Quantity *' is "
                           "not a DuckDB SQL expression"),
    ("paid", "42", "'42' references no column of the export (use `constants` for a fixed value)"),
])
def test_a_bad_expression_is_refused_at_load_naming_the_source_and_field(tmp_path, where, text, message):
    spec = make(tmp_path, **({"filter_": text} if where == "filter" else {"paid": text}))
    with pytest.raises(ConfigError) as exc:
        load_config(spec.config_path)
    assert message in str(exc.value)


def test_a_field_given_as_a_column_and_an_expression_is_refused(tmp_path):
    spec = make(tmp_path)
    spec.config_path.write_text(spec.config_path.read_text(encoding="utf-8").replace(
        "login_id: Customer ID}", "login_id: Customer ID, discount_code: Promo}"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources.shop__sales: Value error, fields \['discount_code'\] are given "
                                          r"twice"):
        load_config(spec.config_path)


def test_preview_shows_the_filtered_rows_and_the_computed_fields(tmp_path, monkeypatch):
    spec = make(tmp_path)
    monkeypatch.setenv("SILOBRIDGE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SILOBRIDGE_EXPORTS_DIR", "exports")
    res = CliRunner().invoke(app, ["sources", "preview", "shop__sales", "--rows", "5"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "filtered by '\"Order Status\" <> \\'Cancelled\\'': 3 row(s) (counted as filtered, not loaded)" in text
    assert "2 file(s), 7 rows read, 1 would be quarantined" in text
    assert "4.50" in text and "X1" in text
    assert "unmapped columns (not loaded): ['Rating']" in text
    assert spec.config_path.exists()


CUSTOMERS = """
sources:
  - system: crm
    entity: contacts
    kind: customers
    format: csv
    path: crm/contacts*.csv
    timezone: UTC
    columns: {record_id: Id, first_name: Given, middle_name: Middle, last_name: Family}
    expressions:
      street: "No || ' ' || Street"
      full_name: "concat_ws(' ', Given, Middle, Family)"
"""


def test_names_and_addresses_assembled_from_several_columns_reach_identity(tmp_path):
    # given + middle + family name in three columns, street number and street name in two: the identity
    # records carry them split (given, middle, family) and the street as one normalised key
    exports = tmp_path / "exports" / "crm"
    exports.mkdir(parents=True)
    (exports / "contacts.csv").write_text("Id,Given,Middle,Family,No,Street\nC1,Ann,B,Lee,12,Main Street\n",
                                          encoding="utf-8")
    cfg = tmp_path / "sources.yaml"
    cfg.write_text(CUSTOMERS, encoding="utf-8")
    run_id = "20261120T020000000000Z"
    spec = RunSpec(run_id=run_id, run_date=date(2026, 11, 20), run_dir=tmp_path / "work" / run_id,
                   exports_dir=tmp_path / "exports", warehouse_dir=tmp_path / "warehouse",
                   state_dir=tmp_path / "state", config_path=cfg, replay_dir=tmp_path / "replay")
    extract_step(spec)
    validate_step(spec)
    staged = pq.read_table(spec.path("staging", "crm__contacts.parquet")).to_pylist()
    assert [(r["first_name"], r["middle_name"], r["last_name"], r["full_name"], r["street"]) for r in staged] == [
        ("Ann", "B", "Lee", "Ann B Lee", "12 Main Street")]

    from tests.helpers import kinds_connection, rows
    from transforms.config import IdentityConfig
    from transforms.identity import resolve_customers

    con = kinds_connection({"customers": [{k: r[k] for k in ("_source_system", "_source_entity", "record_id",
                                                             "first_name", "middle_name", "last_name",
                                                             "full_name", "street")} for r in staged]})
    resolve_customers(con, IdentityConfig(), "r1")
    assert rows(con, "select given_name, middle_name, family_name, name_key, street_key from int_identity__records") == [
        ("ann", "b", "lee", "ann b lee", "12 main street")]
