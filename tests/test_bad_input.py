"""A corpus of bad input: every kind of broken export, each with its exact outcome (which rows are
quarantined with which rule and reason, which message the user sees) and counts that reconcile.

Runs the plain extract and validate steps (no Prefect) on tiny exports written here.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows import warehouse
from flows.steps.extract import extract_step
from flows.steps.policy import PipelineError
from flows.steps.publish import publish_step
from flows.steps.spec import RunSpec
from flows.steps.stage import stage_step
from flows.steps.validate import validate_step

RUN_DATE = date(2026, 11, 20)
HEADER = "order_id,line_no,ordered_at,channel,account_id,sku,quantity,unit_list_price,unit_price_paid,currency,note\n"

SOURCES = """
sources:
  - system: erp
    entity: products
    kind: products
    format: csv
    path: erp/products*.csv
    columns: {sku: sku, product_name: product_name}
  - system: shop
    entity: orders
    kind: order_lines
    format: csv
    path: shop/orders*.csv
    timezone: Asia/Taipei
    critical: CRITICAL
    max_reject_share: 0.9
    columns:
      order_id: order_id
      line_no: line_no
      ordered_at: ordered_at
      channel: channel
      login_id: account_id
      sku: sku
      quantity: quantity
      unit_list_price: unit_list_price
      unit_price_paid: unit_price_paid
      currency: currency
      discount_code: note
    contract:
      accepted_values: {channel: [web, ios], currency: [TWD]}
      ranges: {quantity: {min: 1, max: 1000}}
      shapes: {currency: currency}
      timestamps: {ordered_at: {not_before: 2010-01-01, future_days: 1}}
      relations: {sku: {source: erp__products, field: sku}}
      max_field_length: 200
      freshness: {field: ordered_at, max_lag_days: 0.5}
      severity: SEVERITY
  - system: support
    entity: tickets
    kind: tickets
    format: json
    path: support/tickets*.json
    timezone: UTC
    max_reject_share: 0.9
    columns: {record_id: id, created_at: at, channel: channel, email: customer.email}
    contract:
      shapes: {email: email}
      severity: {"shape:email": warn}
  - system: analytics
    entity: events
    kind: web_events
    format: jsonl
    path: analytics/*.jsonl
    columns: {event_id: id, event_at: ts, device_id: dev, event_type: ev, channel: ch}
    formats: {event_at: epoch_ms}
"""
PRODUCTS = "sku,product_name\nSKU-1,Lamp\nSKU-2,Chair\n"


def order(order_id="O1", line="1", at="2026-11-20T10:00:00+08:00", channel="web", account="U1", sku="SKU-1",
          qty="1", list_price="100.00", paid="90.00", currency="TWD", note="") -> str:
    def q(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v
    return ",".join(q(v) for v in (order_id, line, at, channel, account, sku, qty, list_price, paid, currency, note)) + "\n"


def make(tmp_path: Path, files: dict[str, str | bytes], critical: bool = False, severity: str = "{}",
         run_id: str = "20261120T020000000000Z") -> RunSpec:
    exports = tmp_path / "exports"
    for name, content in files.items():
        p = exports / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    cfg = tmp_path / "sources.yaml"
    cfg.write_text(SOURCES.replace("CRITICAL", str(critical).lower()).replace("SEVERITY", severity), encoding="utf-8")
    return RunSpec(run_id=run_id, run_date=RUN_DATE, run_dir=tmp_path / "work" / run_id, exports_dir=exports,
                   warehouse_dir=tmp_path / "warehouse", state_dir=tmp_path / "state", config_path=cfg,
                   replay_dir=tmp_path / "replay")


def run(spec: RunSpec, sources: list[str] | None = None) -> dict:
    spec.sources = sources
    extract_step(spec)
    return validate_step(spec)


def quarantine(spec: RunSpec, source: str) -> dict[tuple[str, int | None], tuple[str, str]]:
    rows = pq.read_table(spec.path("quarantine", f"{source}.parquet")).to_pylist()
    return {(r["file"], r["row_number"]): (r["rule"], r["reason"]) for r in rows}


def reconciles(v: dict) -> bool:
    files_ok = all(c["rows_in"] == c["accepted"] + c["quarantined"] + c["held_back"] for c in v["file_counts"].values())
    return files_ok and v["rows_in"] == v["accepted"] + v["quarantined"] + v["held_back"]


def test_row_level_problems_each_quarantined_with_rule_and_reason(tmp_path):
    rows = [
        order(),                                                          # 1 fine
        order(qty="2"),                                                   # 2 duplicated key of row 1
        order("", "1"),                                                   # 3 null id
        order("O3", at="2031-01-01T00:00:00Z"),                           # 4 future date
        order("O4", at="1999-12-31T00:00:00Z"),                           # 5 ancient date
        order("O5", qty="-2"),                                            # 6 negative quantity
        order("O6", paid="ninety"),                                       # 7 non-numeric amount
        order("O7", currency="USD"),                                      # 8 unknown currency
        order("O8", currency="twd"),                                      # 9 currency of the wrong shape
        order("O9", sku='=HYPERLINK("http://x.example","click")'),        # 10 formula injection
        order("O10", note="x" * 201),                                     # 11 huge field
        order("O11", sku=""),                                             # 12 empty required field
        order("O12", sku="SKU-404"),                                      # 13 unknown product (relation)
        order("O13", channel="fax"),                                      # 14 value not accepted
        order("O14", note='says "hi",\nthen leaves'),                     # 15 quotes and newline: fine
        order("O15", at="20/11/2026 10:00"),                              # 16 timestamp in another format
    ]
    spec = make(tmp_path, {"erp/products.csv": PRODUCTS, "shop/orders.csv": HEADER + "".join(rows)})
    v = run(spec)["shop__orders"]
    f = "shop/orders.csv"
    assert quarantine(spec, "shop__orders") == {
        (f, 2): ("unique:order_id,line_no", "duplicate key (order_id, line_no); first seen in shop/orders.csv row 1"),
        (f, 3): ("required:order_id", "order_id is missing"),
        (f, 4): ("timestamp:ordered_at",
                 "ordered_at 2031-01-01T00:00:00+00:00 is after 2026-11-22T00:00:00+00:00 (run date 2026-11-20 + 1 days)"),
        (f, 5): ("timestamp:ordered_at", "ordered_at 1999-12-31T00:00:00+00:00 is before 2010-01-01, when the system did not exist yet"),
        (f, 6): ("range:quantity", "quantity -2 is outside [1, 1000]"),
        (f, 7): ("required:unit_price_paid", "unit_price_paid 'ninety' is not a valid decimal"),
        (f, 8): ("accepted_values:currency", "currency 'USD' is not one of ['TWD']"),
        (f, 9): ("accepted_values:currency", "currency 'twd' is not one of ['TWD']; currency 'twd' is not a valid ISO 4217 currency code"),
        (f, 10): ("relation:sku", "sku '=HYPERLINK(\"http://x.example\",\"click\")' has no match in erp__products.sku; "
                                  "sku '=HYPERLINK(\"http://x.example\",\"click\")' would run as a spreadsheet formula"),
        (f, 11): ("field_length", "discount_code is 201 characters long, more than 200"),
        (f, 12): ("required:sku", "sku is missing"),
        (f, 13): ("relation:sku", "sku 'SKU-404' has no match in erp__products.sku"),
        (f, 14): ("accepted_values:channel", "channel 'fax' is not one of ['web', 'ios']"),
        (f, 16): ("required:ordered_at", "ordered_at '20/11/2026 10:00' is not a valid timestamp (expected iso8601)"),
    }
    assert (v["rows_in"], v["accepted"], v["quarantined"], v["status"]) == (16, 2, 14, "loaded")
    assert v["file_counts"] == {f: {"rows_in": 16, "accepted": 2, "quarantined": 14, "held_back": 0, "filtered": 0}}
    # newest accepted order 2026-11-20T02:00Z, 22 hours before the end of the run date: stale
    assert v["freshness"] == {"field": "ordered_at", "newest": "2026-11-20T02:00:00+00:00", "lag_days": 0.917,
                              "max_lag_days": 0.5, "stale": True}
    assert reconciles(v)
    staged = pq.read_table(spec.path("staging", "shop__orders.parquet")).to_pylist()
    assert [(r["order_id"], r["_row_number"], r["discount_code"]) for r in staged] == [
        ("O1", 1, None), ("O14", 15, 'says "hi",\nthen leaves')]
    # the original text of the rejected rows is kept privately for replay, under the export's columns
    originals = pq.read_table(spec.path("staging", "shop__orders.rejected.parquet")).to_pylist()
    assert [(r["order_id"], r["unit_price_paid"], r["_quarantined_row"]) for r in originals][4:6] == [
        ("O5", "90.00", 6), ("O6", "ninety", 7)]


def test_whole_file_problems_set_the_file_aside_with_file_line_and_expectation(tmp_path):
    good = HEADER + order()
    files = {
        "erp/products.csv": PRODUCTS,
        "shop/orders.csv": good,
        "shop/orders_copy.csv": good,                                          # delivered twice
        "shop/orders_big5.csv": (HEADER + order("O2", note="王小明")).encode("big5"),  # wrong encoding
        "shop/orders_ragged.csv": HEADER + order("O3") + "O4,1,2026-11-20T10:00:00Z,web\n",
        "shop/orders_empty.csv": "",
        "shop/orders_drift.csv": HEADER.replace("quantity", "qty") + order("O5"),
        "shop/orders_headeronly.csv": HEADER,
        "shop/orders_headeronly2.csv": HEADER,                                # alike, but no rows: not a duplicate
        "shop/orders_bom.csv": "\ufeff" + HEADER + order("O6"),               # BOM in a utf-8 source
        "support/tickets.json": '[\n{"id": "T1", "at": "2026-11-20T01:00:00Z", "channel": "chat"},\n{"id": "T2"',
        "analytics/a.jsonl": '{"id": "e1", "ts": 1763600000000, "dev": "d1", "ev": "login", "ch": "web"}\n{"id": "e2", "ts": \n',
        "analytics/b.jsonl": "\n",
    }
    spec = make(tmp_path, files)
    out = run(spec)
    orders = out["shop__orders"]
    assert {(p["file"], p["line"], p["problem"]) for p in orders["files_set_aside"]} == {
        ("shop/orders_copy.csv", None, "has the same content as shop/orders.csv (the file was delivered twice)"),
        ("shop/orders_big5.csv", 2, "cannot be decoded as utf-8: invalid start byte"),
        ("shop/orders_ragged.csv", 3, "Expected 11 columns, got 4 (delimiter ',')"),
        ("shop/orders_empty.csv", 1, "is empty (no header row)"),
        ("shop/orders_drift.csv", 1, "schema drift: expected column(s) 'quantity' (closest present: 'qty') are missing; "
                                     "found ['order_id', 'line_no', 'ordered_at', 'channel', 'account_id', 'sku', 'qty', "
                                     "'unit_list_price', 'unit_price_paid', 'currency', 'note']"),
    }
    assert orders["files"] == {"shop/orders.csv": 1, "shop/orders_bom.csv": 1, "shop/orders_headeronly.csv": 0,
                               "shop/orders_headeronly2.csv": 0}
    assert (orders["rows_in"], orders["accepted"], orders["quarantined"]) == (2, 2, 0) and reconciles(orders)
    assert out["support__tickets"]["files_set_aside"] == [
        {"file": "support/tickets.json", "line": 3, "problem": "is not valid JSON: Expecting ',' delimiter (column 12)"}]
    assert out["analytics__events"]["files_set_aside"] == [
        {"file": "analytics/a.jsonl", "line": 2, "problem": "is not valid JSON Lines: Expecting value"},
        {"file": "analytics/b.jsonl", "line": 1, "problem": "is empty (no records)"}]
    # the files set aside are in quarantine too, as rule `file`
    q = quarantine(spec, "shop__orders")
    assert q[("shop/orders_ragged.csv", 3)] == ("file", "Expected 11 columns, got 4 (delimiter ',')")
    assert len(q) == 5


def test_a_critical_source_with_a_bad_file_fails_the_run_naming_it(tmp_path):
    spec = make(tmp_path, {"erp/products.csv": PRODUCTS, "shop/orders.csv": HEADER + order(),
                           "shop/orders_empty.csv": ""}, critical=True)
    with pytest.raises(PipelineError, match=r"^critical source shop__orders: file shop/orders_empty.csv, line 1 "
                                            r"was set aside: is empty \(no header row\)$"):
        run(spec)


def test_a_critical_rule_holds_the_source_back_or_fails_a_critical_source(tmp_path):
    files = {"erp/products.csv": PRODUCTS, "shop/orders.csv": HEADER + order() + order("O2", currency="USD")}
    spec = make(tmp_path / "a", files, severity='{"accepted_values:currency": critical}')
    v = run(spec)["shop__orders"]
    assert (v["status"], v["rows_in"], v["accepted"], v["quarantined"], v["held_back"]) == ("held_back", 2, 0, 1, 1)
    assert reconciles(v) and not spec.path("staging", "shop__orders.parquet").exists()
    assert quarantine(spec, "shop__orders") == {
        ("shop/orders.csv", 2): ("accepted_values:currency", "currency 'USD' is not one of ['TWD']")}
    spec = make(tmp_path / "b", files, critical=True, severity='{"accepted_values:currency": critical}')
    with pytest.raises(PipelineError) as exc:
        run(spec)
    assert str(exc.value) == ("critical source shop__orders: 1 row(s) fail critical rules ['accepted_values:currency']; "
                              "first: shop/orders.csv row 2, accepted_values:currency: currency 'USD' is not one of ['TWD']")


def test_warn_rules_count_without_quarantining_and_values_stay_masked(tmp_path):
    tickets = [{"id": "T1", "at": "2026-11-20T01:00:00Z", "channel": "chat", "customer": {"email": "mei.lin(at)gmail"}},
               {"id": "T2", "at": "2026-11-20T02:00:00Z", "channel": "chat", "customer": {"email": "a@b.tw"}},
               {"id": None, "at": "2026-11-20T02:00:00Z", "channel": "chat", "customer": {"email": "jo@x.tw"}}]
    spec = make(tmp_path, {"support/tickets.json": json.dumps(tickets)})
    v = run(spec, ["support"])["support__tickets"]
    assert v["warnings"] == {"shape:email": 1}
    assert (v["accepted"], v["quarantined"]) == (2, 1) and reconciles(v)
    (row,) = pq.read_table(spec.path("quarantine", "support__tickets.parquet")).to_pylist()
    assert (row["rule"], row["reason"], json.loads(row["record"])) == (
        "required:record_id", "record_id is missing", {"at": "2026-11-20T02:00:00Z", "channel": "chat",
                                                       "customer.email": "xx@x.xx"})
    # the Data Docs show the failing rule with its count, but personal values only as their shape
    docs = spec.path("out", "data_docs")
    pages = [p.read_text(encoding="utf-8") for p in docs.rglob("*.html")]
    assert (docs / "index.html").exists() and any("xxx.xxx(xx)xxxxx" in p for p in pages)
    assert not any("mei.lin" in p for p in pages)


def test_too_many_rejected_rows_hold_a_source_back(tmp_path):
    rows = order() + "".join(order(f"O{i}", qty="0") for i in range(2, 12))
    spec = make(tmp_path, {"erp/products.csv": PRODUCTS, "shop/orders.csv": HEADER + rows})
    v = run(spec)["shop__orders"]
    assert (v["status"], v["rows_in"], v["accepted"], v["quarantined"], v["held_back"]) == ("held_back", 11, 0, 10, 1)
    assert reconciles(v)


def test_a_file_loaded_before_under_another_name_is_not_loaded_twice_and_reruns_are_idempotent(tmp_path):
    spec = make(tmp_path, {"erp/products.csv": PRODUCTS, "shop/orders.csv": HEADER + order()})
    summary = {"validate": run(spec), "run_id": spec.run_id}
    stage_step(spec, summary["validate"])
    publish_step(spec, summary)
    ledger = warehouse.read_file_ledger(spec.state_dir)
    assert sorted(e["file"] for e in ledger.values()) == ["erp/products.csv", "shop/orders.csv"]
    # same night, same files: loaded again as the same rows (the warehouse is rebuilt, not appended to)
    again = make(tmp_path, {}, run_id="20261120T030000000000Z")
    v = run(again)["shop__orders"]
    assert (v["files"], v["files_set_aside"]) == ({"shop/orders.csv": 1}, [])
    first = pq.read_table(warehouse.state_file(spec.state_dir, spec.run_id, "shop__orders")).to_pylist()
    assert pq.read_table(again.path("staging", "shop__orders.parquet")).to_pylist() == first
    # the same content arriving later under another name is set aside
    (tmp_path / "exports" / "shop" / "orders.csv").rename(tmp_path / "exports" / "shop" / "orders_2026-11-21.csv")
    third = make(tmp_path, {}, run_id="20261121T020000000000Z")
    v = run(third)["shop__orders"]
    assert v["files_set_aside"] == [{"file": "shop/orders_2026-11-21.csv", "line": None, "problem":
                                     "has the same content as shop/orders.csv, loaded by an earlier run "
                                     "(the file was delivered twice)"}]
    assert v["rows_in"] == 0 and reconciles(v)


def test_replayed_rows_go_through_validation_again_and_win_over_the_bad_original(tmp_path):
    spec = make(tmp_path, {"erp/products.csv": PRODUCTS, "shop/orders.csv": HEADER + order() + order("O2", qty="-1")})
    run(spec)
    originals = pq.read_table(spec.path("staging", "shop__orders.rejected.parquet"))
    assert originals.column("quantity").to_pylist() == ["-1"]
    fixed = originals.to_pylist()[0] | {"quantity": "1"}
    replay = tmp_path / "replay" / "shop__orders"
    replay.mkdir(parents=True)
    with open(replay / "fix.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fixed))
        writer.writeheader()
        writer.writerow(fixed)
    again = make(tmp_path, {}, run_id="20261120T030000000000Z")
    v = run(again)["shop__orders"]
    assert v["files"] == {"shop/orders.csv": 2, "replay/shop__orders/fix.csv": 1}
    assert (v["rows_in"], v["accepted"], v["quarantined"]) == (3, 2, 1) and reconciles(v)
    staged = pq.read_table(again.path("staging", "shop__orders.parquet")).to_pylist()
    assert sorted((r["order_id"], r["quantity"], r["_source_file"]) for r in staged) == [
        ("O1", 1, "shop/orders.csv"), ("O2", 1, "replay/shop__orders/fix.csv")]
    assert quarantine(again, "shop__orders") == {("shop/orders.csv", 2): (
        "range:quantity", "quantity -1 is outside [1, 1000]; duplicate key (order_id, line_no); "
                          "first seen in replay/shop__orders/fix.csv row 1")}


def _publish(spec: RunSpec, validated: dict) -> dict[str, int]:
    """Stage and publish a validated night; returns rows per staged source."""
    staged = stage_step(spec, validated)
    publish_step(spec, {"validate": validated, "run_id": spec.run_id})
    return staged


def _tickets(n: int) -> str:
    return json.dumps([{"id": f"T{i}", "at": "2026-11-20T01:00:00Z", "channel": "chat",
                        "customer": {"email": f"c{i}@x.tw"}} for i in range(n)])


@pytest.mark.parametrize("tonight, problem", [
    ({}, "support/tickets*.json: no file matches 'support/tickets*.json'"),
    ({"support/tickets.json": b"\xff\xfe[\x00]\x00"}, None),  # UTF-16 without a declared encoding
])
def test_a_source_without_a_usable_file_tonight_keeps_its_last_rows_and_is_held_back(tmp_path, tonight, problem):
    spec = make(tmp_path, {"erp/products.csv": PRODUCTS, "support/tickets.json": _tickets(4)})
    assert _publish(spec, run(spec, ["erp", "support"]))["support__tickets"] == 4
    (tmp_path / "exports" / "support" / "tickets.json").unlink()
    night = make(tmp_path, tonight, run_id="20261121T020000000000Z")
    v = run(night, ["erp", "support"])["support__tickets"]
    assert (v["status"], v["rows_in"], v["accepted"], v["quarantined"], v["held_back"]) == ("held_back", 0, 0, 0, 0)
    assert v["note"] == "no usable file tonight: kept its last published rows"
    if problem is not None:
        assert [f"{p['file']}: {p['problem']}" for p in v["files_set_aside"]] == [problem]
    assert _publish(night, run(night, ["erp", "support"]))["support__tickets"] == 4  # last night's rows
    rows = pq.read_table(night.warehouse_dir / "current" / "pipeline_run_sources.parquet").to_pylist()
    assert [(r["run_id"], r["status"], r["note"]) for r in rows if r["source"] == "support__tickets"] == [
        ("20261120T020000000000Z", "loaded", None),
        ("20261121T020000000000Z", "held_back", "no usable file tonight: kept its last published rows")]
    quality = pq.read_table(night.path("quality", "sources.parquet")).to_pylist()
    assert [(q["status"], q["stale"]) for q in quality if q["source"] == "support__tickets"] == [("held_back", True)]


def test_a_sharp_row_drop_is_flagged_held_back_or_fails_as_configured(tmp_path):
    spec = make(tmp_path, {"erp/products.csv": PRODUCTS, "support/tickets.json": _tickets(10)})
    _publish(spec, run(spec, ["erp", "support"]))
    (tmp_path / "exports" / "support" / "tickets.json").write_text(_tickets(4), encoding="utf-8")
    note = "row drop: 4 rows read tonight, 60% fewer than the median 10 of its last 1 loaded night(s) (max_row_drop 50%)"
    night = make(tmp_path, {}, run_id="20261121T020000000000Z")
    v = run(night, ["erp", "support"])["support__tickets"]
    assert (v["status"], v["accepted"], v["note"]) == ("loaded", 4, note)  # on_row_drop: warn (the default)
    for action, status in (("hold_back", "held_back"), ("fail", None)):
        cfg = night.config_path.read_text(encoding="utf-8").replace(
            "    path: support/tickets*.json\n", f"    path: support/tickets*.json\n    on_row_drop: {action}\n")
        night.config_path.write_text(cfg, encoding="utf-8")
        if status is None:
            with pytest.raises(PipelineError) as failed:
                run(night, ["erp", "support"])
            assert str(failed.value) == f"source support__tickets: {note}; on_row_drop is 'fail'"
        else:
            v = run(night, ["erp", "support"])["support__tickets"]
            assert (v["status"], v["held_back"], v["note"]) == ("held_back", 4, note)
        night.config_path.write_text(cfg.replace(f"    on_row_drop: {action}\n", ""), encoding="utf-8")


def test_an_export_path_cannot_reach_outside_the_exports_directory(tmp_path):
    from connectors.config import ConfigError
    from flows.config import load_config

    spec = make(tmp_path, {"erp/products.csv": PRODUCTS})
    for path in ("/etc/passwd", "../secrets/*.csv", "erp/../../x.csv"):
        spec.config_path.write_text(SOURCES.replace("path: erp/products*.csv", f"path: {path}")
                                    .replace("CRITICAL", "false").replace("SEVERITY", "{}"), encoding="utf-8")
        with pytest.raises(ConfigError, match=r"erp__products.*must be a glob relative to the exports directory"):
            load_config(spec.config_path)
    # a symlink inside the exports directory pointing outside it is set aside, not read
    outside = tmp_path / "outside.csv"
    outside.write_text(PRODUCTS, encoding="utf-8")
    (tmp_path / "exports" / "erp" / "products_link.csv").symlink_to(outside)
    spec = make(tmp_path, {})
    v = run(spec, ["erp"])["erp__products"]
    assert v["files"] == {"erp/products.csv": 2}
    assert v["files_set_aside"] == [{"file": "erp/products_link.csv", "line": None,
                                     "problem": "resolves outside the exports directory (a symlink?): not read"}]
