"""Validation of one typed source with a Great Expectations suite built from its configuration.

The suite is declared by the source's kind (required fields, duplicate keys, values that do not parse)
and its configuration (accepted values, ranges), and built into GX expectations in code, run with an
ephemeral context. Each expectation carries its rule name and severity in `meta`:
`reject` sends the failing rows to quarantine, `warn` only counts them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import pandas as pd

from connectors.config import SourceConfig
from transforms.privacy import shape
from transforms.schemas import KINDS, UNIQUE_KEYS
from transforms.stage import field_format

log = logging.getLogger(__name__)


@dataclass
class RuleResult:
    rule: str
    severity: str
    failed: int


@dataclass
class ValidationOutcome:
    """Row ids to quarantine with their rule and reason, and the count of every rule."""

    rejected: pd.DataFrame  # _row_id, rule, reason
    rules: list[RuleResult] = field(default_factory=list)

    @property
    def warnings(self) -> dict[str, int]:
        return {r.rule: r.failed for r in self.rules if r.severity == "warn" and r.failed}


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


def build_suite(source: SourceConfig, ctx=None):
    """The GX expectation suite of one source (rule name and severity in each expectation's meta)."""
    gx = _gx()
    import great_expectations.expectations as gxe

    if ctx is None:
        ctx = ephemeral_context()

    suite = gx.ExpectationSuite(name=f"{source.name}_suite")
    schema = KINDS[source.kind]
    mapped = set(source.columns) | set(source.constants)
    for name, spec in schema.items():
        if name not in mapped:
            continue
        if spec.required:
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
                column=name, meta={"rule": f"required:{name}", "severity": "reject", "field": name}))
        elif spec.type not in ("string", "json", "list"):
            suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
                column=f"_unparsed__{name}", value_set=[False],
                meta={"rule": f"parse:{name}", "severity": "warn", "field": name}))
    for name, values in source.accepted_values.items():
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column=name, value_set=values,
            meta={"rule": f"accepted_values:{name}", "severity": "reject", "field": name}))
    for name, bounds in source.ranges.items():
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
            column=name, min_value=bounds.get("min"), max_value=bounds.get("max"),
            meta={"rule": f"range:{name}", "severity": "reject", "field": name}))
    keys = ",".join(UNIQUE_KEYS[source.kind])
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="_key_rank", max_value=1, meta={"rule": f"unique:{keys}", "severity": "reject"}))
    return suite


def _reason(meta: dict, row: pd.Series, source: SourceConfig) -> str:
    """A readable reason for one failing row; personal values appear only as their shape."""
    rule = meta["rule"]
    if rule.startswith("unique:"):
        keys = UNIQUE_KEYS[source.kind]
        return (f"duplicate key ({', '.join(keys)}); first seen in {row['_key_first_file']} "
                f"row {int(row['_key_first_row'])}")
    name = meta["field"]
    spec = KINDS[source.kind][name]
    raw = row.get(f"{name}__raw")
    raw = None if raw is None or (isinstance(raw, float) and pd.isna(raw)) else str(raw)
    shown = shape(raw) if spec.personal else raw
    if rule.startswith("required:"):
        if raw is None or not raw.strip():
            return f"{name} is missing"
        fmt = field_format(source, name, spec)
        return f"{name} {shown!r} is not a valid {spec.type}" + (f" (expected {fmt})" if fmt else "")
    if rule.startswith("accepted_values:"):
        return f"{name} {shown!r} is not one of {source.accepted_values[name]}"
    if rule.startswith("range:"):
        b = source.ranges[name]
        lo, hi = b.get('min'), b.get('max')
        return f"{name} {shown} is outside [{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
    return f"{name} {shown!r} fails {rule}"


def validate_typed(df: pd.DataFrame, source: SourceConfig) -> ValidationOutcome:
    """Run the source's suite on its typed frame; return rejected row ids with rule and reason."""
    ctx = ephemeral_context()
    suite = build_suite(source, ctx)
    batch = (
        ctx.data_sources.add_pandas(f"pd_{source.name}")
        .add_dataframe_asset(source.name)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": df})
    )
    res = batch.validate(suite, result_format={
        "result_format": "COMPLETE", "unexpected_index_column_names": ["_row_id"]})
    by_id = df.set_index("_row_id", drop=False)
    rejected: dict[int, tuple[str, list[str]]] = {}
    rules: list[RuleResult] = []
    for r in res.results:
        meta = r.expectation_config.meta
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"{source.name}: expectation {meta['rule']} could not run: "
                               f"{r.exception_info.get('exception_message')}")
        ids = [int(u["_row_id"]) for u in (r.result.get("unexpected_index_list") or [])]
        rules.append(RuleResult(meta["rule"], meta["severity"], len(ids)))
        if meta["severity"] != "reject":
            continue
        for rid in ids:
            reason = _reason(meta, by_id.loc[rid], source)
            if rid in rejected:
                rejected[rid][1].append(reason)
            else:
                rejected[rid] = (meta["rule"], [reason])
    out = pd.DataFrame(
        [(rid, rule, "; ".join(reasons)) for rid, (rule, reasons) in sorted(rejected.items())],
        columns=["_row_id", "rule", "reason"],
    )
    return ValidationOutcome(out, rules)


def quarantine_record(row: dict, source: SourceConfig) -> str:
    """The original values of a row as JSON, personal fields reduced to their shape."""
    schema = KINDS[source.kind]
    out = {}
    for name in [*source.columns, *source.constants]:
        value = row.get(f"{name}__raw")
        if value is not None and not (isinstance(value, float) and pd.isna(value)):
            out[source.columns.get(name, name)] = shape(str(value)) if schema[name].personal else str(value)
    return json.dumps(out, ensure_ascii=False, sort_keys=True)
