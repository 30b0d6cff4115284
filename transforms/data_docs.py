"""The validation page of a run (the run's "Data Docs"): one self-contained HTML page written from the Great
Expectations results, in the user's terms.

Why not GX's own Data Docs: its pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and vega from
CDNs (blank offline, e.g. on a locked-down server or in a mounted warehouse), and they show the suite's
internal columns (`_key_rank`, `_orphan__sku`, `_unparsed__amount`) as if they were data. This page has no
script and no external link; each rule is shown by its name, the export's column and what it checks.
Personal values appear only as their shape (the results were masked by validate._without_values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from connectors.config import SourceConfig
from transforms.rules import SHAPES

SAMPLE_VALUES = 5  # failing values shown per rule (already masked for personal fields)


@dataclass
class RuleSummary:
    """One rule of one source over all its chunks."""

    rule: str
    severity: str
    column: str       # the export's column(s) it reads, or "" for whole-row rules
    checks: str       # what the rule requires, in words
    rows: int = 0
    failed: int = 0
    samples: list[str] = field(default_factory=list)


def summarise(source: SourceConfig, results: list) -> list[RuleSummary]:
    """The rules of one source, in suite order, summed over its GX results (one per chunk)."""
    rules: dict[str, RuleSummary] = {}
    for res in results:
        for r in res.results:
            cfg = r.expectation_config
            meta = cfg.meta
            s = rules.get(meta["rule"])
            if s is None:
                s = rules[meta["rule"]] = RuleSummary(meta["rule"], meta["severity"], _column(source, meta),
                                                      _checks(source, meta["rule"], cfg.kwargs))
            s.rows += int(r.result.get("element_count") or 0)
            s.failed += int(r.result.get("unexpected_count") or 0)
            # failing values only of rules that read the field itself (a flag column's values say nothing)
            values = r.result.get("partial_unexpected_list") if cfg.kwargs.get("column") == meta.get("field") else []
            for v in values or []:
                if len(s.samples) < SAMPLE_VALUES and str(v) not in s.samples:
                    s.samples.append(str(v))
    return list(rules.values())


def _column(source: SourceConfig, meta: dict) -> str:
    """The export's column a rule reads (its field's source column), or the key columns of a unique rule."""
    if meta.get("field"):
        name = meta["field"]
        return source.columns.get(name) or f"{name} (constant)"
    if meta["rule"].startswith("unique:"):
        return ", ".join(source.columns.get(k, k) for k in source.unique_keys)
    return ""


def _checks(source: SourceConfig, rule: str, kwargs: dict) -> str:
    """What a rule requires, in words (never the suite's internal column names)."""
    kind, _, name = rule.partition(":")
    c = source.contract
    if kind == "required":
        return "present and valid (required by the kind)"
    if kind == "parse":
        return "parses as its type"
    if kind == "not_null":
        return "not empty"
    if kind == "accepted_values":
        return "one of " + ", ".join(map(str, kwargs.get("value_set", [])))
    if kind == "range":
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        return f"between {'-inf' if lo is None else lo} and {'inf' if hi is None else hi}"
    if kind == "shape":
        return f"looks like a valid {SHAPES[c.shapes[name]][1]}"
    if kind == "timestamp":
        return f"between {kwargs.get('min_value')} and {kwargs.get('max_value')}"
    if kind == "relation":
        rel = c.relations[name]
        return f"has a match in {rel.source}.{rel.field}"
    if kind == "formula":
        return "no cell holds a spreadsheet formula"
    if kind == "field_length":
        return "no cell is longer than the field limit"
    if kind == "unique":
        return "one row per key"
    return rule


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#1f2933;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px}p.sub{color:#52606d;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{background:#f5f7fa;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1f7a3a}.warn{color:#a86400}.fail{color:#b42318;font-weight:600}code{font-size:12px;background:#f5f7fa;padding:1px 4px}
nav a{margin-right:12px}
"""


def _status(s: RuleSummary) -> tuple[str, str]:
    if not s.failed:
        return "pass", "passed"
    return ("warn", "warning") if s.severity == "warn" else ("fail", f"failed ({s.severity})")


def data_docs_html(run_id: str, sources: list[tuple[SourceConfig, list]]) -> str:
    """The page for (source, its GX results) pairs of run `run_id`: a summary table, then each source's rules."""
    summaries = [(src, summarise(src, results)) for src, results in sources]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>silobridge validation: run {escape(run_id)}</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>Validation of the exports</h1>",
           f'<p class="sub">run {escape(run_id)}: every rule of every source\'s contract (Great Expectations '
           "results). <b>warn</b> rules only count failing rows; <b>reject</b> rules quarantine them; "
           "<b>critical</b> rules also hold the source back. Personal values appear only as their shape.</p>",
           '<table id="summary"><tr><th>source</th><th>rows checked</th><th>rules</th><th>failing rules</th>'
           "<th>failing rows (sum over rules)</th></tr>"]
    for src, rules in summaries:
        failing = [r for r in rules if r.failed]
        rows = max((r.rows for r in rules), default=0)
        out.append(f'<tr><td><a href="#{escape(src.name)}">{escape(src.name)}</a></td><td class="n">{rows:,}</td>'
                   f'<td class="n">{len(rules)}</td><td class="n {"fail" if failing else "pass"}">{len(failing)}</td>'
                   f'<td class="n">{sum(r.failed for r in failing):,}</td></tr>')
    out.append("</table>")
    for src, rules in summaries:
        out.append(f'<h2 id="{escape(src.name)}">{escape(src.name)}</h2>')
        out.append("<table><tr><th>rule</th><th>column</th><th>checks</th><th>severity</th><th>result</th>"
                   "<th>failing rows</th><th>failing share</th><th>examples of failing values</th></tr>")
        for r in rules:
            css, text = _status(r)
            share = f"{r.failed / r.rows:.2%}" if r.rows else ""
            samples = ", ".join(f"<code>{escape(v)}</code>" for v in r.samples)
            out.append(f"<tr><td>{escape(r.rule)}</td><td>{escape(r.column)}</td><td>{escape(r.checks)}</td>"
                       f'<td>{escape(r.severity)}</td><td class="{css}">{text}</td><td class="n">{r.failed:,}</td>'
                       f'<td class="n">{share}</td><td>{samples}</td></tr>')
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
