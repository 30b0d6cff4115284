"""The rules of a source's validation suite, declared as data from its kind and contract: each rule's name,
default severity and the GX expectation that checks it. Light on purpose (no pandas, no GX): `sources check`
and the configuration's severity check read the rule names without loading the validation machinery."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from connectors.config import SourceConfig
from connectors.schemas import KINDS

SHAPES = {
    "email": (r"^[^@\s]+@[^@\s]+\.[^@\s.]+$", "email address"),
    # digits (any script, full-width too), spaces, dots, dashes, brackets; an optional leading +
    "phone": (r"^\+?[\d\s().-]{6,24}$", "phone number"),
    "currency": (r"^[A-Z]{3}$", "ISO 4217 currency code"),
}

PLAUSIBLE_BIRTH_DATE = date(1900, 1, 1)  # earliest birth date taken as plausible (the latest: the run date)


def rule_names(source: SourceConfig) -> list[str]:
    """Every rule name of the source's suite, in suite order."""
    return [meta["rule"] for _, _, meta in rules(source, date(2000, 1, 1))]


def rules(source: SourceConfig, run_date: date) -> list[tuple[str, dict, dict]]:
    """(GX expectation class name, its arguments, meta without severity) for every rule of the source."""
    out = []
    schema = KINDS[source.kind]
    mapped = set(source.mapped_fields)
    c = source.contract

    def add(cls: str, kwargs: dict, rule: str, default: str, name: str | None = None) -> None:
        out.append((cls, kwargs, {"rule": rule, "default": default, "field": name}))

    # first, so that a repeated header row is quarantined as one, not as text that fails every type
    add("ExpectColumnValuesToBeInSet", {"column": "_header_row", "value_set": [False]}, "header_row", "reject")
    for name, spec in schema.items():
        if name not in mapped:
            continue
        if spec.required:
            add("ExpectColumnValuesToNotBeNull", {"column": name}, f"required:{name}", "reject", name)
        elif spec.type not in ("string", "json", "list"):
            add("ExpectColumnValuesToBeInSet", {"column": f"_unparsed__{name}", "value_set": [False]},
                f"parse:{name}", "warn", name)
    if "birth_date" in mapped:  # a date read in the wrong calendar or century (ROC 075 as year 75) stays visible
        add("ExpectColumnValuesToBeBetween", {"column": "birth_date", "min_value": PLAUSIBLE_BIRTH_DATE,
                                              "max_value": run_date}, "plausible:birth_date", "warn", "birth_date")
    for name in c.not_null:
        if not schema[name].required:
            add("ExpectColumnValuesToNotBeNull", {"column": name}, f"not_null:{name}", "reject", name)
    for name, values in {**{n: list(spec.values) for n, spec in schema.items() if spec.values and n in mapped},
                         **c.accepted_values}.items():
        add("ExpectColumnValuesToBeInSet", {"column": name, "value_set": values},
            f"accepted_values:{name}", "reject", name)
    for name, bounds in c.ranges.items():
        add("ExpectColumnValuesToBeBetween", {"column": name, "min_value": bounds.min, "max_value": bounds.max},
            f"range:{name}", "reject", name)
    for name, kind in c.shapes.items():
        add("ExpectColumnValuesToMatchRegex", {"column": name, "regex": SHAPES[kind][0]}, f"shape:{name}", "reject", name)
    for name, ts in c.timestamps.items():
        lo, hi = timestamp_bounds(ts, run_date)
        add("ExpectColumnValuesToBeBetween", {"column": name, "min_value": lo, "max_value": hi},
            f"timestamp:{name}", "reject", name)
    for name in c.relations:
        add("ExpectColumnValuesToBeInSet", {"column": f"_orphan__{name}", "value_set": [False]},
            f"relation:{name}", "reject", name)
    add("ExpectColumnValuesToBeNull", {"column": "_formula_field"}, "formula", "reject")
    add("ExpectColumnValuesToBeNull", {"column": "_long_field"}, "field_length", "reject")
    if not source.merge:  # a merging source folds repeated keys into one entity after validation: not a defect
        add("ExpectColumnValuesToBeBetween", {"column": "_key_rank", "max_value": 1},
            f"unique:{','.join(source.unique_keys)}", "reject")
    return out


def timestamp_bounds(rule, run_date: date) -> tuple[datetime, datetime]:
    """(earliest, latest) accepted instant of a timestamp rule: not_before at 00:00 UTC, and the end of
    the run date (UTC) plus the rule's tolerance."""
    lo = datetime.combine(rule.not_before, time(0), tzinfo=timezone.utc)
    hi = datetime.combine(run_date + timedelta(days=1), time(0), tzinfo=timezone.utc) + timedelta(days=rule.future_days)
    return lo, hi
