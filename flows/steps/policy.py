"""Pure policy of a run: whether a source loads, is held back or fails the run; whether its counts
reconcile; which metric rows make the run's headline. No I/O here: the steps fetch, these decide."""

from __future__ import annotations

import logging
from statistics import median

from connectors.config import SourceConfig
from flows.steps.results import FileCounts, HeadlineLine, SetAside, Status

log = logging.getLogger("silobridge.pipeline")

HEADLINE_SKIP = ["price_spread",  # detail of price_mismatch_sku_share, whose window row lists the SKUs
                 "quarantined_rows", "freshness_lag_days",  # the run summary lists failing rules and stale sources
                 # identity scores have their own table in the run summary, one row per scope
                 "pairwise_precision", "pairwise_recall", "bcubed_precision", "bcubed_recall"]
HEADLINE_DISTRIBUTIONS = ["customers_by_system_count"]  # every dimension shown, in dimension order


class PipelineError(Exception):
    """A run cannot publish; the message says which source, file, row and rule, and what to do."""


def hold_back_or_fail(src: SourceConfig, message: str) -> Status:
    """A critical source fails the run with `message`; another source is held back (returns the status)."""
    if src.critical:
        raise PipelineError(f"critical {message}")
    log.warning("%s; the source is held back from this run", message)
    return "held_back"


def row_drop(src: SourceConfig, rows_in: int, recent: list[int]) -> str | None:
    """A note when `rows_in` is under (1 - max_row_drop) x the median of `recent` (rows read on the source's
    last loaded nights, newest first), else None."""
    if not recent:
        return None
    typical = median(recent)
    if typical <= 0 or rows_in >= (1 - src.max_row_drop) * typical:
        return None
    return (f"row drop: {rows_in:,} rows read tonight, {1 - rows_in / typical:.0%} fewer than the median {typical:,g} "
            f"of its last {len(recent)} loaded night(s) (max_row_drop {src.max_row_drop:.0%})")


def decide_status(src: SourceConfig, set_aside: list[SetAside], critical: dict[str, int],
                  first_critical: tuple | None, rows_in: int, quarantined: int, top_rules: dict[str, int],
                  files_read: int = 1, drop: str | None = None) -> Status:
    """'loaded' or 'held_back' for a validated source; raises PipelineError when a critical source has a file
    set aside, a row failing a critical rule, or more rejected rows than its max_reject_share.

    `critical`: rows per failing critical rule; `first_critical`: (file, row, rule, reason) of the first such
    row; `top_rules`: the most frequent rejection rules with their rows; `files_read`: files read tonight (none:
    the source has no usable file and keeps its last rows, whatever the reader made of them); `drop`: the
    row_drop note, acted on as the source's on_row_drop says."""
    if set_aside and src.critical:
        first = set_aside[0]
        raise PipelineError(
            f"critical source {src.name}: file {first['file']}"
            + (f", line {first['line']}" if first["line"] else "")
            + f" was set aside: {first['problem']}")
    if not files_read:
        problems = "; ".join(f"{p['file']}: {p['problem']}" for p in set_aside) or "no file"
        return hold_back_or_fail(src, f"source {src.name}: no usable file tonight ({problems})")
    if drop is not None:
        if src.on_row_drop == "fail":
            raise PipelineError(f"source {src.name}: {drop}; on_row_drop is 'fail'")
        if src.on_row_drop == "hold_back":
            return hold_back_or_fail(src, f"source {src.name}: {drop}")
        log.warning("source %s: %s", src.name, drop)
    share = quarantined / rows_in if rows_in else 0.0
    if critical:
        f, n, rule, reason = first_critical
        return hold_back_or_fail(src, f"source {src.name}: {sum(critical.values())} row(s) fail critical rules "
                                      f"{sorted(critical)}; first: {f} row {n}, {rule}: {reason}")
    if share > src.max_reject_share:
        return hold_back_or_fail(src, f"source {src.name}: {quarantined} of {rows_in} rows ({share:.1%}) were "
                                      f"rejected, more than max_reject_share {src.max_reject_share:.0%}; "
                                      f"most frequent rules: {top_rules}")
    return "loaded"


def check_reconciles(source: str, rows_in: int, accepted: int, quarantined: int, held_back: int,
                     per_file: dict[str, FileCounts], filtered: int = 0, filter_text: str | None = None,
                     merged: int = 0) -> None:
    """Raise PipelineError unless rows read = accepted + quarantined + held back + filtered (by the source's
    filter `filter_text`) + merged (into an earlier row with the same key), for the source and each file."""
    by = f" by filter {filter_text!r}" if filter_text else ""
    if rows_in != accepted + quarantined + held_back + filtered + merged:
        raise PipelineError(f"source {source} does not reconcile: {rows_in} rows read, {accepted} accepted, "
                            f"{quarantined} quarantined, {held_back} held back, {filtered} filtered{by}, "
                            f"{merged} merged")
    for name, c in per_file.items():
        f, m = c.get("filtered", 0), c.get("merged", 0)
        if c["rows_in"] != c["accepted"] + c["quarantined"] + c["held_back"] + f + m:
            raise PipelineError(f"source {source}, file {name} does not reconcile: {c['rows_in']} rows read, "
                                f"{c['accepted']} accepted, {c['quarantined']} quarantined, {c['held_back']} held back, "
                                f"{f} filtered{by}, {m} merged")


def check_models_reconcile(counts: list[dict]) -> None:
    """Raise PipelineError unless, for every source, rows staged = rows in its model table + rows merged
    (with a recorded reason). `counts`: transforms.model.model_rows."""
    bad = [c for c in counts if c["staged"] != c["modelled"] + c["merged"]]
    if bad:
        raise PipelineError("rows lost past staging: " + "; ".join(
            f"{c['system']}__{c['entity'] if c['entity'] != '*' else c['kind']}: {c['staged']} rows staged, "
            f"{c['modelled']} in {c['model']}, {c['merged']} merged: "
            f"{c['staged'] - c['modelled'] - c['merged']} rows unaccounted for" for c in bad)
            + ". This is a defect of the models, not of the input: report it with the run's log.")


def headline_lines(rows: list[tuple], units: dict[str, str]) -> list[HeadlineLine]:
    """One line per metric from the run's metric rows (family, metric, dimension, numerator, denominator, value,
    detail, whole_window, distribution; ordered as the headline query orders them): the overall figure
    (dimension 'all'; the first row of it) and up to three notable dimensions (numerator > 0), or every
    dimension of a distribution."""
    out: dict[tuple[str, str], HeadlineLine] = {}
    for family, metric, dimension, num, den, value, detail, whole_window, distribution in rows:
        line = out.setdefault((family, metric), {"family": family, "metric": metric, "unit": units.get(metric, "share"),
                                                 "overall": None, "notable": []})
        if dimension == "all":
            if line["overall"] is None:
                line["overall"] = {"numerator": num, "denominator": den, "value": value, "detail": detail,
                                   "window": whole_window}
        elif distribution or (num and len(line["notable"]) < 3):
            line["notable"].append({"dimension": dimension, "value": value})
    return list(out.values())
