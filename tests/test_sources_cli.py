"""`silobridge sources check` and `sources preview`: configuration answered from the real files, without
Prefect (these tests take no Prefect fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

SOURCES = """
sources:
  - system: shop
    entity: sales
    kind: order_lines
    format: csv
    delimiter: ";"
    path: shop/sales*.csv
    number_format: {decimal: ",", thousands: "."}
    value_maps: {channel: {Online: web, Laden: store}}
    constants: {currency: EUR}
    columns: {order_id: Order, line_no: Line, ordered_at: Date, channel: Channel, sku: SKU, quantity: Qty,
              unit_list_price: Price, unit_price_paid: Paid, login_id: Customer}
    formats: {ordered_at: "%d.%m.%Y"}
"""
SALES = ("Order;Line;Date;Channel;SKU;Qty;Price;Paid;Customer;Rating\n"
         "O1;1;20.11.2026;Online;A;1;801,00;801,00;u1;5\n"
         "O1;2;20.11.2026;Online;B;2;1.234,50;1.200,00;u1;4\n"
         "Order;Line;Date;Channel;SKU;Qty;Price;Paid;Customer;Rating\n"
         "O2;1;21.11.2026;Laden;A;x;801,00;801,00;u2;3\n")


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "data"
    (d / "exports" / "shop").mkdir(parents=True)
    (d / "sources.yaml").write_text(SOURCES,
                                    encoding="utf-8")
    (d / "exports" / "shop" / "sales-1.csv").write_text(SALES, encoding="utf-8")
    monkeypatch.setenv("SILOBRIDGE_DATA_DIR", str(d))
    monkeypatch.setenv("SILOBRIDGE_EXPORTS_DIR", "exports")
    return d


def test_check_lists_each_source_with_its_files(data):
    res = CliRunner().invoke(app, ["sources", "check"])
    assert res.exit_code == 0, res.output
    assert "shop__sales" in res.output and "order_lines" in res.output and "valid" in res.output


def test_check_names_the_source_and_lists_the_valid_fields(data):
    (data / "sources.yaml").write_text(SOURCES.replace("login_id: Customer", "login: Customer"), encoding="utf-8")
    res = CliRunner().invoke(app, ["sources", "check"])
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "sources.shop__sales: Value error, fields ['login'] are not canonical fields of kind 'order_lines'" in text
    assert "its fields: ['order_id', 'line_no', 'ordered_at'" in text


def test_preview_shows_typed_rows_rule_outcomes_and_unmapped_columns(data):
    res = CliRunner().invoke(app, ["sources", "preview", "shop__sales", "--rows", "2"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "1 file(s), 4 rows read, 2 would be quarantined" in text
    assert "header_row" in text and "required:quantity" in text
    assert "801.00" in text and "1234.50" in text and "web" in text
    assert "unmapped columns (not loaded): ['Rating']" in text


def test_check_loads_neither_prefect_nor_pandas_nor_gx(data):
    # `sources check` answers in about a second because it imports only the configuration's own modules:
    # a fresh interpreter runs it and reports which heavy libraries it loaded (none of them)
    import subprocess
    import sys

    code = ("import sys; from typer.testing import CliRunner; from flows.cli import app; "
            "res = CliRunner().invoke(app, ['sources', 'check']); assert res.exit_code == 0, res.output; "
            "print(sorted(m for m in ('prefect', 'pandas', 'great_expectations', 'duckdb', 'splink') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1],
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
