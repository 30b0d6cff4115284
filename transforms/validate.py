"""Validation of one typed source with a Great Expectations suite built from its contract.

The suite is declared by the source's kind (required fields, values that must parse) and the contract in
its configuration (not-null fields, unique key, accepted values, ranges, shapes, timestamp sanity,
relations to other sources; see connectors.config.Contract), and built into GX expectations in code.
Each expectation carries its rule name and severity in `meta`: `warn` only counts the failing rows,
`reject` sends them to quarantine, `critical` sends them to quarantine and holds the whole source back (or
fails the run when the source is critical).

The expectations are evaluated in DuckDB, in one SQL pass over the typed table (`validate_table`): each
expectation becomes the SQL condition that GX's own pandas engine would compute for it (nulls outside the
domain of column-map expectations, inclusive bounds, Python-regex shapes translated to RE2), and the counts,
failing rows and first failing values are recorded as GX validation results (the Data Docs are written from
them). GX running the same suite on pandas took 6x DuckDB's scan of the exports at 20k customers (graph
building and a hash of every batch); `tests/test_stage_validate.py` checks both agree on tricky values.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys
import types
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from connectors.config import SourceConfig
from transforms.privacy import masked
from connectors.schemas import KINDS
from transforms.database import Database
from transforms.rules import PLAUSIBLE_BIRTH_DATE, SHAPES, rules, timestamp_bounds
from transforms.stage import field_format, quote, raw_texts_sql

log = logging.getLogger(__name__)

PARTIAL_UNEXPECTED = 20  # failing values GX keeps per expectation (its partial_unexpected_count)
# Python's `\s` in a str pattern (str.isspace), spelt for RE2, whose `\s` is ASCII only.
_PY_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"


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


# Great Expectations imports, at its own import, packages that building a suite and recording results never
# use: its optional Spark and SQLAlchemy engines (pyspark, sqlalchemy: it falls back when they are missing;
# with the Spark engine's dependencies installed, all of pyspark and pandas-version warnings on stderr), and,
# for the one expectation that plots and tests distributions (kl divergence), altair and scipy.stats, and for
# the one that checks values against a JSON schema, jsonschema. Together about half of GX's import (1,496 ->
# 820 modules, ~4.3 -> ~2.3 CPU s), paid once per run. Anyone else imports them as usual, later.
_GX_OPTIONAL = ("pyspark", "sqlalchemy")
_GX_LAZY = ("altair", "scipy.stats", "jsonschema")


def _gx():
    """`great_expectations`, imported (once) without its unused optional engines, with altair and scipy.stats
    imported only if something uses them."""
    if "great_expectations" not in sys.modules:
        hidden = [m for m in _GX_OPTIONAL if m not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # `import name` raises ImportError: GX takes the engine as not installed
        try:
            for name in _GX_LAZY:
                _defer_import(name)
            import great_expectations  # noqa: F401
        finally:
            for name in hidden:  # importable again for anyone else (GX keeps its fallback)
                if sys.modules.get(name, False) is None:
                    del sys.modules[name]
    import great_expectations as gx

    # GX sets this logger to INFO at import; it would print inside quiet runs.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    return gx


class _Deferred(types.ModuleType):
    """Stands in sys.modules for a module that is imported for real on its first attribute access."""

    def __getattr__(self, attr: str):
        # dunders other than __path__ are the import system's probes; __path__ is asked for by the import of a
        # submodule (`import scipy.stats.mstats`): that, like any other attribute, imports the module
        if attr.startswith("__") and attr != "__path__":
            raise AttributeError(attr)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


def _defer_import(name: str) -> None:
    """Put a stand-in for module `name` in sys.modules (unless it is already imported or not installed)."""
    if name not in sys.modules and importlib.util.find_spec(name.split(".")[0]) is not None:
        sys.modules[name] = _Deferred(name)


def build_suite(source: SourceConfig, run_date: date):
    """The GX expectation suite of one source (rule name and severity in each expectation's meta)."""
    gx = _gx()
    import great_expectations.expectations as gxe

    expectations = []
    for cls, kwargs, meta in rules(source, run_date):
        severity = source.contract.severity.get(meta["rule"], meta["default"])
        expectations.append(getattr(gxe, cls)(**kwargs, meta={
            "rule": meta["rule"], "severity": severity, "field": meta["field"]}))
    # given its expectations at creation, a suite needs no data context (add_expectation would look one up)
    return gx.ExpectationSuite(name=f"{source.name}_suite", expectations=expectations)


def re2_pattern(pattern: str) -> str:
    """A Python regular expression (as `re.search` reads it) spelt for RE2 (DuckDB's regexp_matches): `\\d`
    any Unicode decimal digit, `\\s` any Unicode space, and a final `$` also before a final newline."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            esc = pattern[i:i + 2]
            out.append(r"\p{Nd}" if esc == r"\d" else
                       (_PY_SPACE if in_class else f"[{_PY_SPACE}]") if esc == r"\s" else esc)
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        elif ch == "$" and not in_class and i == len(pattern) - 1:
            ch = r"\n?$"
        out.append(ch)
        i += 1
    return "".join(out)


def _failure_sql(cls: str, kwargs: dict, spec, params: dict, i: int) -> str:
    """SQL true for a row the expectation counts as unexpected, as GX's pandas engine decides: column-map
    expectations other than the null ones skip null values; bounds are inclusive."""
    col = quote(kwargs["column"])
    if cls == "ExpectColumnValuesToNotBeNull":
        return f"{col} is null"
    if cls == "ExpectColumnValuesToBeNull":
        return f"{col} is not null"
    if cls == "ExpectColumnValuesToBeInSet":
        if kwargs["value_set"] == [False]:
            return f"coalesce({col}, false)"
        params[f"set_{i}"] = [str(v) for v in kwargs["value_set"]]
        if spec is not None and spec.type == "list":
            return f"{col} is not null and not list_has_all(${'set_' + str(i)}, {col})"
        text = col if spec is None or spec.type in ("string", "json") else f"cast({col} as varchar)"
        return f"{col} is not null and not list_contains(${'set_' + str(i)}, {text})"
    if cls == "ExpectColumnValuesToBeBetween":
        parts = []
        for bound, op in (("min_value", "<"), ("max_value", ">")):
            if kwargs.get(bound) is not None:
                params[f"{bound}_{i}"] = kwargs[bound]
                parts.append(f"{col} {op} ${bound}_{i}")
        return f"coalesce({' or '.join(parts) or 'false'}, false)"
    if cls == "ExpectColumnValuesToMatchRegex":
        params[f"re_{i}"] = re2_pattern(kwargs["regex"])
        return f"{col} is not null and not regexp_matches(cast({col} as varchar), $re_{i})"
    raise ValueError(f"no SQL for expectation {cls}")


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
        if name in c.accepted_values:
            return f"{name} {shown!r} is not one of {c.accepted_values[name]}"
        return (f"{name} {shown!r} is not one of the canonical values {list(spec.values)}: map the export's value "
                f"under value_maps ({name}: {{{shown!r}: ...}})")
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
    if rule == "plausible:birth_date":
        return f"{name} {shown!r} is before {PLAUSIBLE_BIRTH_DATE} or after the run date {run_date}"
    if rule.startswith("relation:"):
        rel = c.relations[name]
        return f"{name} {shown!r} has no match in {rel.source}.{rel.field}"
    return f"{name} {shown!r} fails {rule}"


def _clip(text: str | None, n: int = 60) -> str | None:
    return text if text is None or len(text) <= n else text[:n] + "..."


def validate_table(db: Database, source: SourceConfig, run_date: date, typed: str = "typed",
                   raw: str = "raw") -> ValidationOutcome:
    """Evaluate the source's suite over its typed table (typed_sql's columns, typed from relation `raw`) in one
    SQL pass; return the rejected row ids with rule, severity and reason, every rule's count, and the GX
    validation result (counts and the first failing values, masked for personal fields) for the Data Docs.

    Leaves table `rule_failures` (`_row_id` and one boolean `f<i>` per rule, rows failing any rule) and table
    `raw_texts` (`_row_id` and the `<field>__raw` texts of the rejected rows: transforms.stage.raw_texts_sql).
    """
    suite = build_suite(source, run_date)
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult

    schema = KINDS[source.kind]
    params: dict = {}
    flags = [f"({_failure_sql(cls, kwargs, schema.get(kwargs['column']), params, i)}) as f{i}"
             for i, (cls, kwargs, _) in enumerate(rules(source, run_date))]
    n = len(flags)
    db.run("rule failures", f"create or replace table rule_failures as select * from (select _row_id, "
                            f"{', '.join(flags)} from {quote(typed)}) where {' or '.join(f'f{i}' for i in range(n))}",
           params)
    rows = db.count(typed)
    counts = db.one("rule counts", "select " + ", ".join(f"count(*) filter (where f{i})" for i in range(n))
                    + " from rule_failures")
    metas = [e.meta for e in suite.expectations]
    counted = [RuleResult(m["rule"], m["severity"], int(c)) for m, c in zip(metas, counts)]
    blocking = [i for i, m in enumerate(metas) if m["severity"] != "warn" and counts[i]]
    rejected = _rejected(db, source, run_date, typed, raw, metas, blocking)

    results = []
    for i, e in enumerate(suite.expectations):
        column, name = e.configuration.kwargs["column"], metas[i]["field"]
        result = {"element_count": rows, "unexpected_count": int(counts[i])}
        if counts[i]:
            values = db.df(f"rule {metas[i]['rule']} values",
                           f"select t.{quote(column)} as value from {quote(typed)} t join rule_failures f "
                           f"using (_row_id) where f.f{i} order by _row_id limit {PARTIAL_UNEXPECTED}")["value"]
            personal = bool(name) and schema[name].personal
            if column in schema and schema[column].type in ("string", "json"):
                values = values.astype("str")  # an all-null text column is object dtype: nulls as the str dtype's NaN
            # as GX lists them from the typed frame: a null is shown as its text (nan, NaT)
            result["partial_unexpected_list"] = [masked(str(v), personal) for v in values]
        results.append(ExpectationValidationResult(success=not counts[i], expectation_config=e.configuration,
                                                   result=result))
    res = ExpectationSuiteValidationResult(success=not any(counts), results=results, suite_name=suite.name,
                                           statistics={"evaluated_expectations": n,
                                                       "successful_expectations": sum(1 for c in counts if not c),
                                                       "unsuccessful_expectations": sum(1 for c in counts if c)})
    return ValidationOutcome(rejected, counted, [res])


def _rejected(db: Database, source: SourceConfig, run_date: date, typed: str, raw: str, metas: list[dict],
              blocking: list[int]) -> pd.DataFrame:
    """Rows failing a reject or critical rule: _row_id, the first such rule and its severity, and the
    reasons of every such rule it fails (in suite order). Fills table `raw_texts` for these rows."""
    out: list[tuple] = []
    any_blocking = " or ".join(f"f{i}" for i in blocking) or "false"
    db.run("blocking rows", f"create or replace view blocking_rows as select _row_id from rule_failures "
                            f"where {any_blocking}")
    db.run("raw texts", f"create or replace table raw_texts as {raw_texts_sql(source, 'blocking_rows', typed, raw)}")
    if blocking:
        details = db.df("rejected rows", f"select t.*, x.* exclude (_row_id), {', '.join(f'f.f{i}' for i in blocking)} "
                                         f"from {quote(typed)} t join rule_failures f using (_row_id) "
                                         f"join raw_texts x using (_row_id) where {any_blocking} order by _row_id")
        for _, row in details.iterrows():
            failed = [i for i in blocking if row[f"f{i}"]]
            reasons = "; ".join(_reason(metas[i], row, source, run_date) for i in failed)
            out.append((int(row["_row_id"]), metas[failed[0]]["rule"], metas[failed[0]]["severity"], reasons))
    return pd.DataFrame(out, columns=["_row_id", "rule", "severity", "reason"]).astype({"_row_id": "int64"})


def quarantine_record(row: dict, source: SourceConfig) -> str:
    """The original values of a row as JSON, personal fields (and values that look personal) reduced to their shape."""
    schema = KINDS[source.kind]
    out = {}
    for name in source.mapped_fields:
        value = row.get(f"{name}__raw")
        if value is not None and not (isinstance(value, float) and pd.isna(value)):
            out[source.columns.get(name, name)] = masked(str(value), schema[name].personal)
    return json.dumps(out, ensure_ascii=False, sort_keys=True)
