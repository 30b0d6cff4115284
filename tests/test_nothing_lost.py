"""Nothing lost past staging: every accepted row is in the models (or merged with a reason), keys the
models cannot hold are refused at config load, and reruns of the same input give identical tables.

Regression tests for two defects configuration alone triggered: order lines sharing (order_id, line_no)
silently dropped by fct_orders, and identity rows multiplying on every rerun when record ids repeat."""

from __future__ import annotations

import pytest

from flows.config import ConfigError, load_config
from flows.steps.policy import PipelineError, check_models_reconcile
from tests.helpers import kinds_connection, rows
from transforms.config import IdentityConfig
from transforms.identity import resolve_customers
from transforms.model import build_models, model_rows

PARAMS = {"business_tz": "Asia/Taipei", "case_window_days": 7, "run_id": "r1", "as_of_date": "2026-11-20"}


def line(order_id, line_no, sku, row, file="orders.csv"):
    return {"_source_system": "shop", "_source_entity": "orders", "_source_file": file, "_row_number": row,
            "order_id": order_id, "line_no": line_no, "sku": sku, "quantity": 1, "channel": "web",
            "ordered_at": "2026-11-20 02:00:00+00", "unit_list_price": 10, "unit_price_paid": 10,
            "currency": "TWD"}


def test_two_accepted_lines_sharing_order_and_line_number_both_reach_fct_orders():
    # what a `contract.unique` override let through: before, fct_orders kept one row per (system, order_id,
    # line_no) and the other line vanished without a trace
    db = kinds_connection({"order_lines": [line("O1", 1, "A", 2), line("O1", 1, "B", 3), line("O2", 1, "A", 4)]})
    resolve_customers(db, IdentityConfig(), "r1")
    build_models(db, PARAMS)
    assert rows(db, "select order_id, line_no, sku, _row_number from fct_orders order by _row_number") == [
        ("O1", 1, "A", 2), ("O1", 1, "B", 3), ("O2", 1, "A", 4)]


def test_a_price_or_campaign_joined_twice_still_gives_one_row_per_line():
    db = kinds_connection({
        "order_lines": [line("O1", 1, "A", 2)],
        "prices": [{"_source_system": "erp", "_source_entity": "prices", "sku": "A", "channel": "web",
                    "price": p, "valid_from": d} for p, d in ((9, "2026-01-01"), (11, "2026-06-01"))],
    })
    resolve_customers(db, IdentityConfig(), "r1")
    build_models(db, PARAMS)
    assert rows(db, "select sku, erp_list_price from fct_orders") == [("A", 11)]


def test_the_models_reconcile_with_the_staged_rows_per_source():
    db = kinds_connection({
        "order_lines": [line("O1", 1, "A", 2), line("O1", 2, "B", 3)],
        "customers": [{"_source_system": "crm", "_source_entity": "contacts", "record_id": r} for r in ("C1", "C2")],
    })
    resolve_customers(db, IdentityConfig(), "r1")
    build_models(db, PARAMS)
    got = {(r["system"], r["entity"]): (r["staged"], r["modelled"], r["merged"]) for r in model_rows(db)}
    assert got == {("shop", "orders"): (2, 2, 0), ("crm", "contacts"): (2, 2, 0)}
    check_models_reconcile(model_rows(db))  # does not raise


def test_a_source_whose_rows_do_not_all_reach_the_models_fails_the_run():
    counts = [{"kind": "order_lines", "system": "shop", "entity": "orders", "model": "fct_orders",
               "staged": 19999, "modelled": 12136, "merged": 0, "merged_reasons": {}}]
    with pytest.raises(PipelineError, match=r"shop__orders: 19999 rows staged, 12136 in fct_orders, 0 merged: "
                                            r"7863 rows unaccounted for"):
        check_models_reconcile(counts)


def test_a_key_the_model_grain_cannot_hold_is_refused_at_load(tmp_path):
    cfg = tmp_path / "sources.yaml"
    cfg.write_text("""
sources:
  - system: shop
    entity: orders
    kind: order_lines
    format: csv
    path: o.csv
    columns: {order_id: a, line_no: b, ordered_at: c, channel: d, sku: e, quantity: f, unit_list_price: g,
              unit_price_paid: h, currency: i}
    contract: {unique: [order_id, line_no, sku]}
  - system: crm
    entity: contacts
    kind: customers
    format: csv
    path: c.csv
    columns: {record_id: id, updated_at: u}
    contract: {unique: [record_id, updated_at]}
""", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    msg = str(err.value)
    assert "sources.shop__orders: " in msg and "sources.crm__contacts: " in msg
    assert ("contract.unique [order_id, line_no, sku] lets two rows share one (order_id, line_no), and fct_orders "
            "holds one row per (order_id, line_no)") in msg
    assert "contract.unique [record_id, updated_at] lets two rows share one (record_id)" in msg


def _rerun(db, run_id):
    db.run("prev_identities", "create or replace table prev_identities as select * from customer_identities")
    db.run("prev_id_map", "create or replace table prev_id_map as select * from customer_id_map")
    resolve_customers(db, IdentityConfig(), run_id, has_previous=True)


def test_rerunning_the_same_records_with_repeated_record_ids_gives_identical_identities():
    # a customers source whose record ids repeat (versions of one CRM record): before, each rerun joined every
    # earlier identity row of a record id to every record of that id (19,967 -> 41,705 -> 108,533 rows)
    db = kinds_connection({"customers": [
        {"_source_system": "crm", "_source_entity": "contacts", "record_id": "C1", "email": "a@x.tw"},
        {"_source_system": "crm", "_source_entity": "contacts", "record_id": "C1", "email": "a@x.tw"},
        {"_source_system": "crm", "_source_entity": "contacts", "record_id": "C2", "email": "b@x.tw"},
        {"_source_system": "shop", "_source_entity": "customers", "record_id": "U1", "email": "a@x.tw"},
    ]})
    resolve_customers(db, IdentityConfig(), "r1")
    first = rows(db, "select * exclude (rid) from customer_identities order by all")
    for run_id in ("r2", "r3"):
        _rerun(db, run_id)
        assert rows(db, "select * exclude (rid) from customer_identities order by all") == first
    assert len(first) == 4
