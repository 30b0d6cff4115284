"""Validation of one typed source with a Great Expectations suite built from its contract.

The suite is declared by the source's kind (required fields, values that must parse) and the contract in
its configuration (not-null fields, unique key, accepted values, ranges, shapes, timestamp sanity,
relations to other sources; see connectors.config.Contract), and built into GX expectations in code,
run with an ephemeral context. Each expectation carries its rule name and severity in `meta`:
`warn` only counts the failing rows, `reject` sends them to quarantine, `critical` sends them to
quarantine and holds the whole source back (or fails the run when the source is critical).
Large sources are validated in chunks of rows (`validate_typed` per chunk, `merge_outcomes`), so that
memory stays bounded; uniqueness and relations are computed over the whole source in SQL beforehand.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from connectors.config import SourceConfig
from transforms.privacy import masked
from connectors.schemas import KINDS
from transforms.rules import SHAPES, rules, timestamp_bounds
from transforms.stage import field_format

log = logging.getLogger(__name__)

# Result fields that can carry row values: dropped (or masked) before results reach the Data Docs.
_VALUE_KEYS = ("unexpected_list", "unexpected_index_list", "partial_unexpected_index_list", "unexpected_index_query")


@dataclass
class RuleResult:
    rule: str
    severity: str
    failed: int


@dataclass
class ValidationOutcome:
    """Row ids to quarantine with their rule, severity and reason, the count of every rule, and the
    GX results with row values removed or masked (for the Data Docs)."""

    rejected: pd.DataFrame  # _row_id, rule, severity, reason
    rules: list[RuleResult] = field(default_factory=list)
    results: list = field(default_factory=list)

    @property
    def warnings(self) -> dict[str, int]:
        return {r.rule: r.failed for r in self.rules if r.severity == "warn" and r.failed}

    @property
    def critical(self) -> dict[str, int]:
        return {r.rule: r.failed for r in self.rules if r.severity == "critical" and r.failed}


def _gx():
    import great_expectations as gx

    # GX sets this logger to INFO at import; it would print inside quiet runs.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    return gx


def ephemeral_context():
    """An in-memory GX context (never a file context picked up from the working directory), quiet."""
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def build_suite(source: SourceConfig, run_date: date, ctx=None):
    """The GX expectation suite of one source (rule name and severity in each expectation's meta)."""
    gx = _gx()
    import great_expectations.expectations as gxe

    if ctx is None:
        ctx = ephemeral_context()  # GX needs an active context to create expectations
    suite = gx.ExpectationSuite(name=f"{source.name}_suite")
    for cls, kwargs, meta in rules(source, run_date):
        severity = source.contract.severity.get(meta["rule"], meta["default"])
        suite.add_expectation(getattr(gxe, cls)(**kwargs, meta={
            "rule": meta["rule"], "severity": severity, "field": meta["field"]}))
    return suite


def _reason(meta: dict, row: pd.Series, source: SourceConfig, run_date: date) -> str:
    """A readable reason for one failing row; personal values appear only as their shape."""
    rule = meta["rule"]
    c = source.contract
    if rule.startswith("unique:"):
        return (f"duplicate key ({', '.join(source.unique_keys)}); first seen in {row['_key_first_file']} "
                f"row {int(row['_key_first_row'])}")
    if rule == "header_row":
        return (f"the row repeats the header ({', '.join(repr(c) for c in source.columns.values())}): a header "
                "row in the middle of the file, not a record")
    if rule in ("formula", "field_length"):
        name = row["_formula_field" if rule == "formula" else "_long_field"]
        raw = str(row.get(f"{name}__raw"))
        if rule == "field_length":
            return f"{name} is {len(raw):,} characters long, more than {c.max_field_length:,}"
        shown = masked(raw, KINDS[source.kind][name].personal)
        return f"{name} {_clip(shown)!r} would run as a spreadsheet formula"
    name = meta["field"]
    spec = KINDS[source.kind][name]
    raw = row.get(f"{name}__raw")
    raw = None if raw is None or (isinstance(raw, float) and pd.isna(raw)) else str(raw)
    # a non-personal field's value is shown unless it looks like personal data (an email in the wrong column)
    shown = _clip(masked(raw, spec.personal))
    if rule.startswith(("required:", "not_null:")):
        if raw is None or not raw.strip():
            return f"{name} is missing"
        fmt = field_format(source, name, spec)
        return f"{name} {shown!r} is not a valid {spec.type}" + (f" (expected {fmt})" if fmt else "")
    if rule.startswith("accepted_values:"):
        return f"{name} {shown!r} is not one of {c.accepted_values[name]}"
    if rule.startswith("range:"):
        b = c.ranges[name]
        lo, hi = b.min, b.max
        return f"{name} {shown} is outside [{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
    if rule.startswith("shape:"):
        return f"{name} {shown!r} is not a valid {SHAPES[c.shapes[name]][1]}"
    if rule.startswith("timestamp:"):
        lo, hi = timestamp_bounds(c.timestamps[name], run_date)
        value = pd.Timestamp(row[name]).isoformat()
        if pd.Timestamp(row[name]) < lo:
            return f"{name} {value} is before {lo.date()}, when the system did not exist yet"
        return f"{name} {value} is after {hi.isoformat()} (run date {run_date} + {c.timestamps[name].future_days:g} days)"
    if rule.startswith("relation:"):
        rel = c.relations[name]
        return f"{name} {shown!r} has no match in {rel.source}.{rel.field}"
    return f"{name} {shown!r} fails {rule}"


def _clip(text: str | None, n: int = 60) -> str | None:
    return text if text is None or len(text) <= n else text[:n] + "..."


def validate_typed(df: pd.DataFrame, source: SourceConfig, run_date: date, ctx=None,
                   fetch_rows=None) -> ValidationOutcome:
    """Run the source's suite on (a chunk of) its typed frame; return rejected row ids with rule, severity
    and reason, every rule's count, and the GX result with values removed or masked.

    `df` needs the suite's columns (suite_columns); the reasons need every typed column of the failing
    rows: `fetch_rows(row_ids)` returns them as a frame (default: taken from `df`, which then must have them).
    """
    ctx = ctx or ephemeral_context()
    suite = build_suite(source, run_date, ctx)
    name = f"pd_{source.name}"
    try:
        ds = ctx.data_sources.get(name)
    except (KeyError, ValueError):
        ds = None
    if ds is None:
        ds = ctx.data_sources.add_pandas(name)
        ds.add_dataframe_asset(source.name).add_batch_definition_whole_dataframe("all")
    batch = ds.get_asset(source.name).get_batch_definition("all").get_batch(batch_parameters={"dataframe": df})
    res = batch.validate(suite, result_format={
        "result_format": "COMPLETE", "unexpected_index_column_names": ["_row_id"]})
    rules: list[RuleResult] = []
    failing: list[tuple[dict, list[int]]] = []
    for r in res.results:
        meta = r.expectation_config.meta
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"{source.name}: expectation {meta['rule']} could not run: "
                               f"{r.exception_info.get('exception_message')}")
        ids = [int(u["_row_id"]) for u in (r.result.get("unexpected_index_list") or [])]
        rules.append(RuleResult(meta["rule"], meta["severity"], len(ids)))
        if meta["severity"] != "warn" and ids:
            failing.append((meta, ids))
    wanted = sorted({rid for _, ids in failing for rid in ids})
    details = df[df["_row_id"].isin(wanted)] if fetch_rows is None else fetch_rows(wanted)
    by_id = details.set_index("_row_id", drop=False)
    rejected: dict[int, tuple[str, str, list[str]]] = {}
    for meta, ids in failing:
        for rid in ids:
            reason = _reason(meta, by_id.loc[rid], source, run_date)
            if rid in rejected:
                rejected[rid][2].append(reason)
            else:
                rejected[rid] = (meta["rule"], meta["severity"], [reason])
    out = pd.DataFrame(
        [(rid, rule, sev, "; ".join(reasons)) for rid, (rule, sev, reasons) in sorted(rejected.items())],
        columns=["_row_id", "rule", "severity", "reason"],
    ).astype({"_row_id": "int64"})
    return ValidationOutcome(out, rules, [_without_values(res, source)])


def merge_outcomes(outcomes: list[ValidationOutcome]) -> ValidationOutcome:
    """One outcome for a source validated in chunks: rejected rows concatenated, rule counts summed."""
    counts: dict[tuple[str, str], int] = {}
    for o in outcomes:
        for r in o.rules:
            counts[(r.rule, r.severity)] = counts.get((r.rule, r.severity), 0) + r.failed
    frames = [o.rejected for o in outcomes if len(o.rejected)]
    rejected = pd.concat(frames, ignore_index=True) if frames else outcomes[0].rejected
    return ValidationOutcome(rejected, [RuleResult(k[0], k[1], v) for k, v in counts.items()],
                             [res for o in outcomes for res in o.results])


def _without_values(res, source: SourceConfig):
    """The GX result with row values dropped, and the sample of failing values masked for personal fields."""
    schema = KINDS[source.kind]
    for r in res.results:
        for key in _VALUE_KEYS:
            r.result.pop(key, None)
        name = r.expectation_config.meta.get("field")
        personal = bool(name) and schema[name].personal
        if "partial_unexpected_list" in r.result:
            r.result["partial_unexpected_list"] = [
                masked(str(v), personal) for v in r.result["partial_unexpected_list"]]
        if "partial_unexpected_counts" in r.result:
            r.result["partial_unexpected_counts"] = [
                {"value": masked(str(c["value"]), personal), "count": c["count"]}
                for c in r.result["partial_unexpected_counts"]]
    return res


def quarantine_record(row: dict, source: SourceConfig) -> str:
    """The original values of a row as JSON, personal fields (and values that look personal) reduced to their shape."""
    schema = KINDS[source.kind]
    out = {}
    for name in [*source.columns, *source.expressions, *source.constants]:
        value = row.get(f"{name}__raw")
        if value is not None and not (isinstance(value, float) and pd.isna(value)):
            out[source.columns.get(name, name)] = masked(str(value), schema[name].personal)
    return json.dumps(out, ensure_ascii=False, sort_keys=True)
