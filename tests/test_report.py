"""The report: SVG chart functions on hand-made numbers, the report of a tiny hand-made warehouse version,
and the README's metric list against the definitions in the SQL headers. (Rendering in headless
Chromium on the demo data is in test_e2e.py.)"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html import escape

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.db import Database
from flows.report import charts
from flows.steps.quarantine import QUARANTINE_SCHEMA
from flows.report import definitions_markdown, write_report
from flows.report.report import metric_title
from flows.warehouse.ledger import run_tables
from tests.conftest import REPO
from tests.test_metrics import PARAMS, campaign, cust, event, line, run, sub, ticket, utc
from transforms.model import MODELS, metric_definitions


# ------------------------------------------------------------------------------------------ charts
def test_bars_scale_to_the_largest_value():
    svg = charts.bars([("a", 0.5), ("b", 0.25), ("c", None)], "t", width=400, label_width=100)
    # plot width = 400 - 100 - 95 = 205; a is the largest -> 205, b -> 102.5, c (no value) -> 0 and "n/a"
    assert re.findall(r'<rect x="100" y="\d+" width="([\d.]+)"', svg) == ["205", "102.5", "0"]
    assert ">50.0%<" in svg and ">25.0%<" in svg and ">n/a<" in svg
    assert svg.startswith('<svg class="chart"') and svg.count("<svg") == 1


def test_bars_against_a_fixed_maximum():
    svg = charts.bars([("a", 0.5)], "t", width=400, label_width=100, max_value=1.0)
    assert re.findall(r'width="([\d.]+)" height="16"', svg) == ["102.5"]


def test_heatmap_has_one_cell_per_pair_coloured_by_share():
    svg = charts.heatmap(["crm", "shop"], {("crm", "shop"): 0.0, ("shop", "crm"): 1.0, ("crm", "crm"): 1.0}, "t")
    fills = re.findall(r'<rect x="\d+" y="\d+" width="60" height="60" fill="(#[0-9a-f]{6})"', svg)
    # rows crm, shop; columns crm, shop; (shop, shop) has no value -> grey
    assert fills == ["#1a365d", "#f7fafc", "#1a365d", charts.GREY]
    assert svg.count(">100%<") == 2 and svg.count(">0%<") == 1


def test_trend_draws_a_point_per_run_and_a_line_between():
    one = charts.trend([("2026-11-20", 0.5)], "t")
    assert one.count("<circle") == 1 and "<path" not in one
    three = charts.trend([("d1", 0.0), ("d2", None), ("d3", 1.0)], "t", width=216, height=90)
    assert three.count("<circle") == 2
    # x from 8 to 208 over 3 slots; y from 16 (max) to 72 (min)
    assert re.search(r'<path d="M8.0,72.0 L208.0,16.0"', three)


def test_stacked_bars_split_each_row_by_its_parts():
    svg = charts.stacked_bars([("src", [3, 1, 0])], [("ok", "#0f0"), ("bad", "#f00"), ("held", "#999")], "t",
                              width=410, label_width=190)
    # plot 200: 150 accepted, 50 quarantined, nothing held back
    assert re.findall(r'<rect x="([\d.]+)" y="27" width="([\d.]+)"', svg) == [("190.0", "150.0"), ("340.0", "50.0")]


@pytest.mark.parametrize("value, unit, text", [
    (0.1234, "share", "12.3%"), (None, "share", "n/a"), (42.04, "hours", "42.0 h"), (7.0, "days", "7 d"),
    (13.5, "minutes", "13.5 min"), (0.743, "per case", "0.74 per case"),
])
def test_format_value_per_unit(value, unit, text):
    assert charts.format_value(value, unit) == text


# ------------------------------------------------------------------------------ a tiny version
@pytest.fixture(scope="module")
def version(tmp_path_factory):
    """A warehouse version written from the hand-made 'service' dataset of test_metrics, two runs of history."""
    con = run({
        "customers": [cust("crm", "contacts", "C1", email="ann@a.tw"), sub("S1", "ann@a.tw"),
                      cust("shop", "customers", "U1", email="ann@a.tw", login_id="U1")],
        "tickets": [
            ticket("T1", "2026-11-01T10:00:00", "phone", "SKU-P", "delivery", email="ann@a.tw", status="resolved",
                   resolved_at=utc("2026-11-01T12:00:00")),
            ticket("T2", "2026-11-03T10:00:00", "chat", "SKU-Q", "delivery", email="ann@a.tw", status="open"),
            ticket("T3", "2026-11-04T10:00:00", "chat", "SKU-Q", "defect", email="ann@a.tw", status="closed",
                   resolved_at=utc("2026-11-04T16:00:00")),
        ],
        "campaigns": [campaign("K1", "P10", "SKU-P", ["web"], "2026-11-01", "2026-11-30")],
        "marketing_events": [event("K1", "S1", "sent", "2026-11-01T00:00:00")],
        "order_lines": [line("shop", "O1", "2026-11-02T00:00:00", "web", "SKU-P", login_id="U1"),
                        line("shop", "O1", "2026-11-02T00:00:00", "web", "SKU-Q", line_no=2, quantity=2),
                        line("pos", "R1", "2026-11-03T00:00:00", "store", "SKU-P", code="P10")],
    })
    # the night before: first-contact resolution 1 of 2 and 2 hours to resolution; that night was run twice,
    # and only its later run (...T000000) is history (the earlier one said 0 of 2 and 9 hours)
    for run_id, fcr, hours in (("20261128T230000000000Z", 0.0, 9.0), ("20261129T000000000000Z", 0.5, 2.0)):
        con.run("earlier run", f"insert into metrics select '{run_id}', date '2026-11-29', metric_date, family, "
                f"metric, dimension, {fcr} * 2, 2, {fcr}, detail from metrics "
                "where metric = 'first_contact_resolution_rate'")
        con.run("earlier run", f"insert into metrics select '{run_id}', date '2026-11-29', metric_date, family, "
                f"metric, dimension, {hours} * 2, 2, {hours}, detail from metrics where metric = 'hours_to_resolution'")
    out = tmp_path_factory.mktemp("version")
    for table in (*MODELS, "metrics", "customer_identities", "identity_guards"):
        con.write_parquet(table, out / f"{table}.parquet")
    counts = {"kind": "tickets", "status": "loaded", "rows_in": 4, "accepted": 3, "quarantined": 1, "held_back": 0,
              "files": {"support/tickets.json": 4}, "files_set_aside": []}
    # the night before also loaded crm__contacts (removed from the configuration since)
    records = [{"run_id": r, "run_date": d, "status": "success", "sources": {"support__tickets": counts} | extra}
               for r, d, extra in (("20261129T000000000000Z", "2026-11-29", {"crm__contacts": counts}),
                                   (PARAMS["run_id"], PARAMS["as_of_date"], {}))]
    runs, run_sources = run_tables(records)
    pq.write_table(runs, out / "pipeline_runs.parquet")
    pq.write_table(run_sources, out / "pipeline_run_sources.parquet")
    pq.write_table(pa.Table.from_pylist([{"run_id": PARAMS["run_id"], "source": "support__tickets", "system": "support",
                                          "entity": "tickets", "file": "support/tickets.json", "row_number": 4,
                                          "rule": "required:created_at", "severity": "reject", "reason": "r",
                                          "record": None}], schema=QUARANTINE_SCHEMA), out / "quarantine.parquet")
    path = write_report(out, now=datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc))
    return path.read_text(encoding="utf-8")


def _card(html: str, metric: str) -> str:
    start = html.index(f'<div class="name">{metric_title(metric)} <code>{metric}</code></div>')
    return html[start:html.index("</svg>", start)]


def test_report_cards_show_value_counts_and_change_since_the_previous_night(version):
    # cases: T1 (resolved first contact), T2 (open), T3 (closed first contact): FCR 2 of 2 resolved cases
    fcr = _card(version, "first_contact_resolution_rate")
    assert '<div class="value">100.0%</div>' in fcr and "2 of 2" in fcr
    # a rise of a higher-is-better metric is good (green); against the night's later run, not its rerun
    assert '<span class="good">+50.0 pp since 2026-11-29</span>' in fcr
    assert fcr.count("<circle") == 2  # one point per night: the rerun of 2026-11-29 is not history
    # one night only: no change to show
    assert "first night" in _card(version, "repeat_contact_rate")
    # hours to resolution: (2 + 6) / 2 cases; up from 2.0 h, and lower is better: bad (red)
    hours = _card(version, "hours_to_resolution")
    assert '<div class="value">4.0 h</div>' in hours and '<span class="bad">+2.0 h since 2026-11-29</span>' in hours
    # the table of every overall figure, titles with the metric's name beside them
    assert ("<td>consistency</td><td>First contact resolution rate <code>first_contact_resolution_rate</code></td>"
            "<td class=n>100.0%</td><td class=n>50.0%</td><td class='n good'>+50.0 pp</td>") in version
    assert ("<td>consistency</td><td>Repeat contact rate <code>repeat_contact_rate</code></td><td class=n>"
            in version)


def test_metric_titles_and_directions():
    assert metric_title("price_mismatch_sku_share") == "Price mismatch SKU share"
    defs = metric_definitions()
    assert (defs["no_identifier_share"]["direction"], defs["linked_share"]["direction"],
            defs["system_overlap"]["direction"]) == ("lower", "higher", None)
    assert (defs["hours_to_resolution"]["unit"], defs["hours_to_resolution"]["direction"]) == ("hours", "lower")


def test_orders_and_revenue_by_channel_and_the_sources_changed(version):
    # shop web: order O1 of two lines (100 + 2 x 100); store: R1 paid 90 with a promo code
    assert ("<tr><td>web</td><td>TWD</td><td class=n>1</td><td class=n>300.00</td><td>2026-11-02</td>"
            "<td>2026-11-02</td></tr><tr><td>store</td><td>TWD</td><td class=n>1</td><td class=n>90.00</td>"
            "<td>2026-11-03</td><td>2026-11-03</td></tr>") in version
    assert "<p class='note'>Sources changed since the previous run (removed: crm__contacts)" in version


def test_report_sections_from_the_version_tables(version):
    assert "silobridge run 20261130T000000000000Z &middot; as of 2026-11-30 &middot; 2 runs in history" in version
    assert "generated 2026-11-30 01:00 UTC" in version
    # overlap heat map over the three systems of customer A plus support: 4 x 4 cells
    heat = version[version.index('aria-label="system overlap heat map"'):]
    heat = heat[:heat.index("</svg>")]
    assert heat.count("<rect") == 16
    # data quality: the one source, 3 accepted and 1 quarantined; the rule is listed
    assert "<td>support__tickets</td><td>loaded</td><td class=n>4</td><td class=n>3</td><td class=n>1</td>" in version
    assert "<td>required:created_at</td>" in version
    # identity: 6 records (crm, marketing, shop, 3 tickets) of one customer
    assert "<tr><td>identity records</td><td class=n>6</td></tr><tr><td>unified customers</td><td class=n>1</td></tr>" in version
    for name, d in metric_definitions().items():
        assert escape(d["definition"]) in version, name
    assert "ann@a.tw" not in version


# -------------------------------------------------------------------------------------- README
def test_readme_lists_every_metric_with_the_definition_from_its_sql():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- metric definitions: generated from the SQL headers by flows.report.definitions_markdown() -->\n")
    end = readme.index("<!-- end of metric definitions -->")
    got = readme[start:end].split("\n", 1)[1]
    assert got == definitions_markdown(), (
        "README metric list is out of date; regenerate it with: .venv/bin/python -c "
        "'from flows.report import definitions_markdown; print(definitions_markdown(), end=\"\")'")


def test_the_report_names_only_defined_metrics():
    from flows.report import HEADLINES, SERVICE_BY_CHANNEL, SUMMED

    defs = metric_definitions()
    named = {m for family in HEADLINES.values() for m, _ in family} | set(SERVICE_BY_CHANNEL) | SUMMED
    assert named <= set(defs)
    assert all(defs[m]["family"] == family for family, ms in HEADLINES.items() for m, _ in ms)
