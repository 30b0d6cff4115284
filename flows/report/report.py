"""The HTML report of one warehouse version: headline integration and consistency figures with their
change since the previous run and their trend, the system overlap heat map, the worst SKUs, campaigns
and channels, data quality per source, identity resolution figures and every metric's definition.

One self-contained file (inline CSS and SVG; no script, no external resource), so it opens from disk
without a server or a network. Only aggregates reach it: no personal data.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from flows.db import Database
from flows.report import charts
from transforms.model import metric_definitions

REPORT_FILE = "report.html"

# (metric, dimension, whole-window row?) shown as headline cards, by family, in this order
HEADLINES = {
    "integration": [
        ("linked_to_other_system_share", "all"), ("complete_360_share", "all"), ("systems_integrated_share", "all"),
        ("linked_share", "all"), ("no_identifier_share", "all"),
    ],
    "consistency": [
        ("price_mismatch_sku_share", "all"), ("promo_not_honoured_share", "all"), ("policy_conflict_share", "all"),
        ("repeat_contact_rate", "all"), ("first_contact_resolution_rate", "all"), ("handoffs_per_case", "all"),
        ("reidentifications_per_case", "all"), ("hours_to_resolution", "all"),
        ("contact_data_disagreement_share", "all"), ("complaint_promo_share", "all"),
        ("post_sale_feedback_share", "all"),
    ],
}
# Metrics without an overall row of their own: the report sums numerators and denominators over dimensions.
SUMMED = {"promo_not_honoured_share"}
SERVICE_BY_CHANNEL = ["repeat_contact_rate", "first_contact_resolution_rate", "handoffs_per_case",
                      "reidentifications_per_case", "hours_to_resolution", "wait_minutes_per_case"]


# ------------------------------------------------------------------------------------------ data
def report_data(db: Database, run_id: str) -> dict:
    """Everything the report shows, from a database with the version's tables as views."""
    q = lambda name, sql, p=None: db.rows(f"report.{name}", sql, p or {})  # noqa: E731
    r = {"r": run_id}
    dims = lambda metric: q(f"dimensions.{metric}", "select dimension, numerator, denominator, value, "  # noqa: E731
                            "detail from metrics where run_id = $r and metric = $m and metric_date is null "
                            "order by dimension", r | {"m": metric})
    as_of = q("as_of", "select min(as_of_date) from metrics where run_id = $r", r)[0][0]
    return {
        "run_id": run_id,
        "as_of_date": as_of,
        "history": _history(db, as_of),
        "runs": q("runs", "select run_id, run_date, status from pipeline_runs order by run_id"),
        "sources_changed": _sources_changed(db, run_id),
        "sales": q("sales", """
            select channel, currency, count(distinct (system, order_id)), sum(line_amount),
                   min(ordered_at)::date, max(ordered_at)::date
            from fct_orders where is_sale  -- cancelled and returned lines are no sales
            group by all order by sum(line_amount) desc nulls last, channel, currency"""),
        "overlap": [(d.split("|")[0], d.split("|")[1], v) for d, _, _, v, _ in dims("system_overlap")],
        "system_customers": q("system_customers", "select system, count(distinct customer_id) "
                                                  "from customer_identities group by 1 order by 1"),
        "by_system_count": [(d, n, v) for d, n, _, v, _ in dims("customers_by_system_count")],
        "per_system": {m: {d: (n, den, v, det) for d, n, den, v, det in dims(m)} for m in (
            "system_records", "linked_share", "linked_to_other_system_share", "no_identifier_share",
            "freshness_days")},
        # per SKU over the window: the largest relative spread, on how many days, the latest prices
        "price_spread": q("price_spread", """
            select dimension, count(*), max(metric_date), max(value), arg_max(detail, metric_date)
            from metrics where run_id = $r and metric = 'price_spread'
            group by dimension order by max(value) desc, dimension limit 10""", r),
        "price_window": q("price_window", """
            select detail from metrics where run_id = $r and metric = 'price_mismatch_sku_share'
            and metric_date is null""", r),
        "promo": q("promo", """select dimension, numerator, denominator, value from metrics
                      where run_id = $r and metric = 'promo_not_honoured_share' and numerator > 0
                      order by value desc, numerator desc, dimension limit 10""", r),
        "policies": q("policies", """select dimension, numerator, denominator, detail from metrics
                         where run_id = $r and metric = 'policy_conflict' order by value desc, dimension""", r),
        "service": {m: {d: v for d, _, _, v, _ in dims(m) if d != "all"} for m in SERVICE_BY_CHANNEL},
        "quality": q("quality", """select source, status, rows_in, accepted, quarantined, held_back, files_set_aside
                        from pipeline_run_sources where run_id = $r order by source""", r),
        "rules": q("rules", "select source, rule, count(*) from quarantine group by all order by 1, 2"),
        "identity": _identity_data(db, run_id),
    }


def _history(db: Database, as_of_date) -> dict[str, list[dict]]:
    """Metric -> its overall figure per night, oldest first, up to `as_of_date`: dimension 'all', the
    whole-window row when there is one, else the as-of day's; metrics in SUMMED summed over their
    dimensions. A night run again counts once, by its latest run: reruns are not history."""
    overall = db.rows("report.overall", """
        with base as (
            select run_id, as_of_date, family, metric, numerator, denominator, value, metric_date
            from metrics where dimension = 'all' and (metric_date is null or metric_date = as_of_date)
            qualify row_number() over (partition by run_id, metric order by metric_date nulls first) = 1
            union all
            select run_id, any_value(as_of_date), any_value(family), metric, sum(numerator), sum(denominator),
                   sum(numerator) / nullif(sum(denominator), 0), null
            from metrics where list_contains($summed, metric) group by run_id, metric
        )
        select run_id, as_of_date, family, metric, numerator, denominator, value from base
        where as_of_date <= $as_of
        qualify row_number() over (partition by metric, as_of_date order by run_id desc) = 1
        order by as_of_date, metric
        """, {"summed": sorted(SUMMED), "as_of": as_of_date})
    history: dict[str, list] = {}
    for run, day, family, metric, num, den, value in overall:
        history.setdefault(metric, []).append({"run_id": run, "as_of_date": day, "family": family,
                                               "numerator": num, "denominator": den, "value": value})
    return history


def _sources_changed(db: Database, run_id: str) -> tuple[list[str], list[str]]:
    """(sources added, sources removed) since the previous successful run of all sources; none when either
    run is missing or this run loaded only some sources (--source: the others kept their rows)."""
    rows = db.rows("report.sources_changed", """
        with full_runs as (
            select run_id from pipeline_runs where status = 'success' and sources_requested is null
        ),
        now_sources as (
            select source from pipeline_run_sources where run_id = $r and $r in (select run_id from full_runs)
        ),
        previous_sources as (
            select source from pipeline_run_sources
            where run_id = (select max(run_id) from full_runs where run_id < $r)
              and exists (select 1 from now_sources)
        )
        select 'added', source from now_sources
        where source not in (select source from previous_sources) and exists (select 1 from previous_sources)
        union all
        select 'removed', source from previous_sources where source not in (select source from now_sources)
        order by 1, 2""", {"r": run_id})
    return [s for k, s in rows if k == "added"], [s for k, s in rows if k == "removed"]


def _identity_data(db: Database, run_id: str) -> dict:
    """The identity figures of the version: customers, records, links, id changes, scores, guards, link keys."""
    identity = db.one("report.identity", """
        select count(distinct customer_id), count(*),
               count(distinct customer_id) filter (where customer_records > 1),
               count(*) filter (where link_rule = 'unlinked'),
               count(*) filter (where link_rule = 'probabilistic')
        from customer_identities""")
    changes = db.rows("report.id_changes", """
        select customers_new, customers_merged, customers_split, customers_moved, customers_removed,
               customers_unchanged from pipeline_runs where run_id = $r""", {"r": run_id})
    return {"customers": identity[0], "records": identity[1], "linked_customers": identity[2],
            "unlinked_records": identity[3], "probabilistic_records": identity[4],
            "changes": changes[0] if changes else None,
            "scores": db.rows("report.scores", """select dimension, metric, value from metrics where run_id = $r
                                                  and family = 'identity' order by dimension, metric""",
                              {"r": run_id}),
            "guards": db.scalar("report.guards", "select count(*) from identity_guards"),
            "link_keys": db.rows("report.link_keys", """
                select k, count(*) from (select unnest(link_keys) as k from customer_identities)
                group by k order by 2 desc, 1""")}


# ---------------------------------------------------------------------------------------- render
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:0;color:#1a202c;background:#f7fafc}
header{background:#1a365d;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.85}
main{padding:10px 28px 40px;max-width:1200px}
h2{margin:28px 0 8px;font-size:18px;border-bottom:2px solid #cbd5e0;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(270px,1fr));gap:10px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:10px 12px}
.card .name{font-size:12px;color:#4a5568}.card .value{font-size:26px;font-weight:600}
.card .sub{font-size:12px;color:#4a5568}.good{color:#2f855a}.bad{color:#c53030}
.card .name code,td code{font-size:11px;color:#718096}.note{background:#fffbea;border:1px solid #f6e05e;padding:6px 10px;border-radius:4px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
table{border-collapse:collapse;background:#fff;font-size:13px}th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left}
th{background:#edf2f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
svg.chart{background:#fff;border:1px solid #e2e8f0;border-radius:4px;max-width:100%;height:auto}
svg .lbl{font-size:12px;fill:#2d3748}svg .val{font-size:11px;fill:#2d3748}svg .axis{font-size:10px;fill:#718096}
dl dt{font-weight:600;margin-top:8px}dl dd{margin:2px 0 0 0;color:#2d3748;font-size:14px}
.muted{color:#718096;font-size:13px}
"""


def _fmt(metric: str, defs: dict):
    unit = defs.get(metric, {}).get("unit", "share")
    return lambda v: charts.format_value(v, unit)


# words kept as written in titles made from metric names
_TITLE_WORDS = {"sku": "SKU", "pp": "pp"}


def metric_title(metric: str) -> str:
    """A readable title from a metric's name: `price_mismatch_sku_share` -> "Price mismatch SKU share"."""
    words = [_TITLE_WORDS.get(w, w) for w in metric.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _named(metric: str) -> str:
    """A metric's title with its name beside it (HTML)."""
    return f"{escape(metric_title(metric))} <code>{escape(metric)}</code>"


def _judged(delta: float, direction: str | None) -> str:
    """The CSS class of a change: good or bad by the metric's declared direction, none when undeclared."""
    if not delta or direction is None:
        return ""
    return "good" if (delta > 0) == (direction == "higher") else "bad"


def _change(delta: float, unit: str) -> str:
    """A change between two runs: percentage points for shares, else the value's unit with a sign."""
    if unit == "share":
        return f"{delta * 100:+.1f} pp"
    text = charts.format_value(delta, unit)
    return text if text.startswith("-") else "+" + text


def _card(metric: str, points: list[dict], defs: dict) -> str:
    unit = defs.get(metric, {}).get("unit", "share")
    now = points[-1] if points else None
    value = charts.format_value(now["value"], unit) if now else "n/a"
    sub = ""
    if now and now["denominator"] is not None:
        sub = (f"{now['numerator']:,.0f} of {now['denominator']:,.0f}" if unit == "share"
               else f"over {now['denominator']:,.0f}")
    change = ""
    if len(points) > 1 and now["value"] is not None and points[-2]["value"] is not None:
        delta = now["value"] - points[-2]["value"]
        shown = _change(delta, unit)
        css = _judged(delta, defs.get(metric, {}).get("direction"))
        change = f' <span class="{css}">{escape(shown)} since {points[-2]["as_of_date"]}</span>'
    elif len(points) <= 1:
        change = ' <span class="muted">first night</span>'
    spark = charts.trend([(str(p["as_of_date"]), p["value"]) for p in points], f"{metric} by night",
                         _fmt(metric, defs))
    title = escape(defs.get(metric, {}).get("definition", ""))
    return (f'<div class="card" title="{title}"><div class="name">{_named(metric)}</div>'
            f'<div class="value">{escape(value)}</div><div class="sub">{escape(sub)}{change}</div>{spark}</div>')


def _table(header: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{escape(str(c))}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _headline_cards(data: dict, definitions: dict) -> list[str]:
    """The headline cards of both families."""
    parts: list[str] = []
    for family, title in (("integration", "Integration: how far the silos are joined up"),
                          ("consistency", "Consistency: what customers experience across channels")):
        parts.append(f"<h2>{title}</h2><div class='cards'>")
        parts += [_card(m, data["history"].get(m, []), definitions) for m, _ in HEADLINES[family]]
        parts.append("</div>")
    return parts


def _overall_table(data: dict, definitions: dict) -> list[str]:
    """Every overall figure, this night against the previous one (a change coloured by the metric's direction)."""
    rows = []
    for metric, points in sorted(data["history"].items(), key=lambda kv: (kv[1][-1].get("family") or "", kv[0])):
        unit = definitions.get(metric, {}).get("unit", "share")
        now = points[-1]
        if now["run_id"] != data["run_id"]:
            continue
        before = points[-2] if len(points) > 1 else None
        delta = (None if before is None or now["value"] is None or before["value"] is None
                 else now["value"] - before["value"])
        change = "" if delta is None else _change(delta, unit)
        css = "" if delta is None else _judged(delta, definitions.get(metric, {}).get("direction"))
        rows.append(f"<tr><td>{escape(now.get('family') or '')}</td><td>{_named(metric)}</td>"
                    f"<td class=n>{escape(charts.format_value(now['value'], unit))}</td>"
                    f"<td class=n>{'' if before is None else escape(charts.format_value(before['value'], unit))}</td>"
                    f"<td class='n {css}'>{escape(change)}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("family", "metric", "this night", "previous night", "change"))
    return ["<h3>Every overall figure: this night, the previous night, the change</h3>"
            f"<table><tr>{head}</tr>{''.join(rows)}</table>"]


def _sales_section(data: dict, definitions: dict) -> list[str]:
    """Orders and revenue per channel (and currency) over the orders in the warehouse."""
    if not data["sales"]:
        return ["<h2>Orders and revenue by channel</h2><p class='muted'>No orders in the warehouse.</p>"]
    first = min(r[4] for r in data["sales"])
    last = max(r[5] for r in data["sales"])
    several = len({r[1] for r in data["sales"]}) > 1
    label = lambda ch, cur: f"{ch} ({cur})" if several else ch  # noqa: E731
    return ["<h2>Orders and revenue by channel</h2>",
            f"<p class='muted'>Order lines of every channel in the warehouse, {first} to {last}: revenue is "
            "quantity &times; price paid, per currency; an order counts once per channel.</p><div class='grid2'><div>",
            "<h3>Revenue</h3>" + charts.bars([(label(ch, cur), rev) for ch, cur, _, rev, _, _ in data["sales"]],
                                             "revenue by channel", fmt=lambda v: f"{v:,.0f}"),
            "</div><div><h3>Orders</h3>" + charts.bars(
                [(label(ch, cur), float(n)) for ch, cur, n, _, _, _ in data["sales"]], "orders by channel",
                fmt=lambda v: f"{v:,.0f}"),
            "</div></div>",
            _table(["channel", "currency", "orders", "revenue", "first day", "last day"],
                   [[ch or "", cur or "", f"{n:,}", "" if rev is None else f"{rev:,.2f}", d0, d1]
                    for ch, cur, n, rev, d0, d1 in data["sales"]], {2, 3})]


def _overlap_section(data: dict, definitions: dict) -> list[str]:
    """Which systems know the same customers: overlap heat map, coverage, per-system table."""
    parts: list[str] = []
    systems = [s for s, _ in data["system_customers"]]
    cells = {(a, b): v for a, b, v in data["overlap"]} | {(s, s): 1.0 for s in systems}
    parts.append("<h2>Which systems know the same customers</h2><div class='grid2'><div>"
                 "<h3>Overlap: share of the row system's customers also in the column system</h3>"
                 + charts.heatmap(systems, cells, "system overlap heat map") + "</div><div>"
                 "<h3>Customers by number of systems they appear in</h3>"
                 + charts.bars([(f"{d} system{'s' if d != '1' else ''}", v) for d, _, v in data["by_system_count"]],
                               "customers by number of systems")
                 + "<h3>Records linked to another system, per system</h3>"
                 + charts.bars([(s, data["per_system"]["linked_to_other_system_share"].get(s, (0, 0, None, None))[2])
                                for s in systems], "linked to other system share per system", max_value=1.0)
                 + "</div></div>")
    ps = data["per_system"]
    rows = []
    for s in systems:
        rec = ps["system_records"].get(s, (0, 0, None, None))
        fresh = ps["freshness_days"].get(s)
        rows.append([s, f"{rec[0]:,.0f}", charts.format_value(ps["linked_share"].get(s, (0, 0, None, None))[2], "share"),
                     charts.format_value(ps["linked_to_other_system_share"].get(s, (0, 0, None, None))[2], "share"),
                     charts.format_value(ps["no_identifier_share"].get(s, (0, 0, None, None))[2], "share"),
                     "n/a" if fresh is None else f"{fresh[0]:.0f} d (newest {fresh[3]})"])
    parts.append("<h3>Per system</h3>" + _table(
        ["system", "records", "linked", "linked to another system", "no usable identifier", "freshness"], rows,
        {1, 2, 3, 4}))
    return parts


def _offenders_section(data: dict, definitions: dict) -> list[str]:
    """The worst SKUs, campaigns, policies and channels."""
    parts: list[str] = []
    parts.append("<h2>Worst SKUs, campaigns and channels</h2><div class='grid2'><div>")
    window = data["price_window"][0][0] if data["price_window"] else None
    parts.append("<h3>SKUs priced differently between channels (largest spread in the window)</h3>")
    if data["price_spread"]:
        parts.append(charts.bars([(d, v) for d, _, _, v, _ in data["price_spread"]], "price spread per SKU",
                                 color=charts.RED))
        parts.append(_table(["SKU", "largest spread", "days", "last day", "channel prices that day"],
                            [[d, charts.format_value(v, "share"), n, last, det] for d, n, last, v, det in data["price_spread"]],
                            {1, 2}))
    else:
        parts.append("<p class='muted'>No SKU was priced differently between channels in the window.</p>")
    parts.append(f"<p class='muted'>SKUs priced differently on any day of the window: {escape(window or 'none')}</p>")
    parts.append("</div><div><h3>Promotions not honoured (campaign | channel)</h3>")
    if data["promo"]:
        parts.append(charts.bars([(d, v) for d, _, _, v in data["promo"]], "promotions not honoured",
                                 color=charts.RED, max_value=1.0))
        parts.append(_table(["campaign | channel", "lines not honoured", "eligible lines"],
                            [[d, f"{n:,.0f}", f"{den:,.0f}"] for d, n, den, _ in data["promo"]], {1, 2}))
    else:
        parts.append("<p class='muted'>Every eligible order line got its promotion.</p>")
    parts.append("<h3>Policies stated differently by channel</h3>")
    parts.append(_table(["policy", "channels differing", "channel values"],
                        [[d, f"{n:.0f} of {den:.0f}", det] for d, n, den, det in data["policies"]], {1})
                 if data["policies"] else "<p class='muted'>All channels state the same policies.</p>")
    parts.append("</div></div><h3>Service by channel of first contact</h3><div class='grid2'>")
    for metric in SERVICE_BY_CHANNEL:
        by = data["service"].get(metric, {})
        parts.append(f"<div><h3>{escape(metric)}</h3>"
                     + charts.bars(sorted(by.items(), key=lambda kv: -(kv[1] or 0)), metric, fmt=_fmt(metric, definitions))
                     + "</div>")
    parts.append("</div>")
    return parts


def _quality_section(data: dict, definitions: dict) -> list[str]:
    """Data quality per source in this run."""
    parts: list[str] = []
    parts.append("<h2>Data quality per source (this run)</h2>")
    parts.append(charts.stacked_bars(
        [(s, [acc, q, held]) for s, _, _, acc, q, held, _ in data["quality"]],
        [("accepted", charts.GREEN), ("quarantined", charts.RED), ("held back", charts.GREY)],
        "rows accepted and quarantined per source"))
    parts.append(_table(["source", "status", "rows in", "accepted", "quarantined", "held back", "files set aside"],
                        [[s, st, f"{i:,}", f"{a:,}", f"{q:,}", f"{hb:,}", f"{f:,}"]
                         for s, st, i, a, q, hb, f in data["quality"]], {2, 3, 4, 5, 6}))
    if data["rules"]:
        parts.append("<h3>Quarantined rows by rule</h3>" + _table(
            ["source", "rule", "rows"], [[s, rule, f"{n:,}"] for s, rule, n in data["rules"]], {2}))
    return parts


def _identity_section(data: dict, definitions: dict) -> list[str]:
    """Identity resolution figures, accuracy against ground truth, linking identifiers."""
    parts: list[str] = []
    ident = data["identity"]
    parts.append("<h2>Identity resolution</h2><div class='grid2'><div>")
    per = ident["records"] / ident["customers"] if ident["customers"] else 0
    parts.append(_table(["figure", "value"], [
        ["identity records", f"{ident['records']:,}"],
        ["unified customers", f"{ident['customers']:,}"],
        ["records per customer", f"{per:.2f}"],
        ["customers joined from 2+ records", f"{ident['linked_customers']:,}"],
        ["records linked to nothing", f"{ident['unlinked_records']:,}"],
        ["records linked only by the probabilistic model", f"{ident['probabilistic_records']:,}"],
        ["key values guarded (over-shared, role mailbox, shared by different people)", f"{ident['guards']:,}"],
        *([["customer ids: new / merged / split / moved / removed / unchanged",
            " / ".join("" if v is None else f"{v:,}" for v in ident["changes"])]] if ident["changes"] else []),
    ], {1}))
    if ident["scores"]:
        by_scope: dict[str, dict[str, float]] = {}
        for scope, metric, value in ident["scores"]:
            by_scope.setdefault(scope, {})[metric] = value
        parts.append("<h3>Accuracy against ground truth</h3>" + _table(
            ["scope", "pairwise precision", "pairwise recall", "B-cubed precision", "B-cubed recall"],
            # a scope without any true pair (one source run alone) has no score: shown as n/a
            [[scope, *("n/a" if m.get(k) is None else f"{m[k]:.4f}" for k in ("pairwise_precision", "pairwise_recall", "bcubed_precision",
                                                      "bcubed_recall"))] for scope, m in sorted(by_scope.items())],
            {1, 2, 3, 4}))
    parts.append("</div><div><h3>Records linked, by identifier that links them</h3>")
    parts.append(charts.bars([(k, float(n)) for k, n in ident["link_keys"]], "records per linking identifier",
                             fmt=lambda v: f"{v:,.0f}") if ident["link_keys"] else "<p class='muted'>none</p>")
    parts.append("</div></div>")
    return parts


def _definitions_section(data: dict, definitions: dict) -> list[str]:
    """Every metric's definition (its SQL file's header)."""
    parts: list[str] = []
    parts.append("<h2>Definitions</h2><p class='muted'>Each metric is defined once, in its SQL file "
                 "(transforms/sql/); this text is that file's header.</p>")
    for family in ("integration", "consistency"):
        parts.append(f"<h3>{family}</h3><dl>")
        for name, d in definitions.items():
            if d["family"] == family:
                parts.append(f"<dt id='{escape(name)}'>{escape(name)} <span class='muted'>({escape(d['unit'])}, "
                             f"{escape(d['file'])})</span></dt><dd>{escape(d['definition'])}</dd>")
        parts.append("</dl>")
    return parts


SECTIONS = (_headline_cards, _overall_table, _sales_section, _overlap_section, _offenders_section, _quality_section,
            _identity_section, _definitions_section)


def render_report(data: dict, definitions: dict, generated_at: datetime) -> str:
    """The report as one HTML document (inline CSS and SVG only)."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>silobridge report {escape(str(data['as_of_date']))}</title><style>{CSS}</style></head><body>",
             f"<header><h1>Where the customer experience breaks between channels and systems</h1>"
             f"<p>silobridge run {escape(data['run_id'])} &middot; as of {escape(str(data['as_of_date']))} &middot; "
             f"{len(data['runs'])} runs in history &middot; generated {generated_at:%Y-%m-%d %H:%M} UTC</p></header><main>"]
    added, removed = data["sources_changed"]
    if added or removed:
        changed = "; ".join(f"{what}: {', '.join(names)}" for what, names in (("added", added), ("removed", removed))
                            if names)
        parts.append(f"<p class='note'>Sources changed since the previous run ({escape(changed)}): overall figures "
                     "and their changes compare different sets of systems.</p>")
    for section in SECTIONS:
        parts += section(data, definitions)
    parts.append("</main></body></html>")
    return "".join(parts)


def write_report(version_dir: Path, out: Path | None = None, now: datetime | None = None) -> Path:
    """Render the report of the warehouse version in `version_dir` (its Parquet files) to `out`
    (default: <version_dir>/report.html), written beside it and renamed; returns the path."""
    out = out or version_dir / REPORT_FILE
    with Database.connect(step="report") as db:
        for table in sorted(p.stem for p in version_dir.glob("*.parquet")):
            db.view_over_parquet(table, version_dir / f"{table}.parquet")
        run_id = db.scalar("report.run_id", "select max(run_id) from pipeline_runs where status = 'success' "
                                            "and run_id in (select run_id from metrics)")
        data = report_data(db, run_id)
    html = render_report(data, metric_definitions(), now or datetime.now(timezone.utc))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out


def definitions_markdown(definitions: dict | None = None) -> str:
    """Every metric's definition as Markdown (the README's metric list; same text as the report's)."""
    definitions = definitions if definitions is not None else metric_definitions()
    lines = []
    for family in ("integration", "consistency"):
        lines += [f"### {family.capitalize()} metrics", ""]
        for name, d in definitions.items():
            if d["family"] == family:
                unit = "" if d["unit"] == "share" else f", value in {d['unit']}"
                better = f", {d['direction']} is better" if d.get("direction") else ""
                lines.append(f"- **`{name}`** (`transforms/sql/{d['file']}`{unit}{better}): {d['definition']}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
