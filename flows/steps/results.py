"""What each step returns, and the run summary they make up, as typed dictionaries.

TypedDicts rather than dataclasses or pydantic models, on purpose: these values are the summary the flow
returns, the Prefect task results, the ledger's JSON (runs/<run_id>.json), the artifact and the CLI's
output, and the refactor must keep all of those byte for byte. A TypedDict names every key and its type
for the type checker and the reader, and is the same plain dict at run time.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

Status = Literal["loaded", "held_back"]


class ExtractCounts(TypedDict):
    """One source's extract: rows read, files read, files set aside, and what was read but not taken."""

    rows: int
    files: int
    files_set_aside: int
    notes: list[str]  # e.g. a workbook's sheets the source does not read
    unmapped: NotRequired[list[str]]  # export columns no field uses, kept in `attributes` (names only)
    not_kept: NotRequired[list[str]]  # ... left out by the source's `attributes:` list


class SetAside(TypedDict):
    """A file set aside by the extract (line: where the problem is, when known)."""

    file: str
    line: int | None
    problem: str


class FileCounts(TypedDict):
    """One file's rows: read, accepted, quarantined, held back, filtered (they reconcile)."""

    rows_in: int
    accepted: int
    quarantined: int
    held_back: int
    filtered: NotRequired[int]  # excluded by the source's filter (absent in runs before filters existed)
    merged: NotRequired[int]  # folded into an earlier row with the same key (`merge: true`)


class Freshness(TypedDict):
    """The newest accepted record of a source (its contract's freshness field) against the run date."""

    field: str
    newest: str | None
    lag_days: float | None
    max_lag_days: float
    stale: bool


class SourceValidation(TypedDict):
    """One source's validation: status, counts (overall and per file), failing rules, freshness."""

    kind: str
    status: Status
    rows_in: int
    accepted: int
    quarantined: int
    held_back: int
    filtered: NotRequired[int]  # rows the source's filter excludes (absent in runs before filters existed)
    filter: NotRequired[str | None]  # the filter's text
    merged: NotRequired[int]  # rows folded into an earlier row with the same key (sources with `merge: true`)
    merge_conflicts: NotRequired[dict[str, int]]  # field (or attributes.<column>) -> merged rows whose value differed
    unmapped: NotRequired[list[str]]  # export columns no field uses: kept in `attributes` (names only)
    files: dict[str, int]  # file -> rows read
    file_counts: dict[str, FileCounts]
    checksums: dict[str, str]  # file -> content checksum
    files_set_aside: list[SetAside]
    warnings: dict[str, int]  # warn rule -> failing rows
    rules: dict[str, int]  # failing rule -> rows
    rule_severity: dict[str, str]
    freshness: Freshness | None
    note: str | None  # why a source is held back or flagged (no usable file, row drop)


class IdentityResult(TypedDict):
    """The identity resolution's counts (from transforms.identity.resolve_customers) and the scores against
    ground truth (None without)."""

    identity_records: int
    customers: int
    clusters: int
    guards_fired: int
    deterministic_links: int
    probabilistic_links: int
    candidate_pairs: int  # pairs Splink scored at or above the review band
    possible_matches: int  # ... below the threshold, or held back by the household rule
    held_by_household_rule: int
    # the probabilistic model's (cannot train, far fewer links than expected); systems whose phones are mostly
    # not valid for their region (flows.steps.identity.phone_warnings)
    warnings: list[str]
    # the probabilistic model used tonight: trained by which run, on what run date and how many records, and
    # whether tonight reused it (m and u) rather than training it; None when no model was trained
    model: dict | None
    clerical: dict[str, int]  # labels applied (must / cannot links), links cut, the estimate's tp / fp / fn
    components: int  # connected components of the final links (clusters, before the stable ids)
    seconds: dict[str, float]
    changes: dict[str, int]  # new, merged, split, moved, removed, unchanged, customers
    evaluation: dict | None


class HeadlineFigure(TypedDict):
    numerator: float | None
    denominator: float | None
    value: float | None
    detail: str | None
    window: bool  # the whole-window row (else the as-of day's)


class HeadlineLine(TypedDict):
    """One metric of the run's headline: its overall figure and notable dimensions."""

    family: str
    metric: str
    unit: str
    overall: HeadlineFigure | None
    notable: list[dict]  # {"dimension", "value"}


class MetricsResult(TypedDict):
    rows: int  # this run's metric rows
    history_rows: int  # rows of metrics.parquet, earlier runs included
    headline: list[HeadlineLine]


class PublishResult(TypedDict):
    version: str
    report: str | None
    data_docs: str


class RunSummary(TypedDict):
    """A run's summary: returned by run_night and the flow, shown by the CLI and the artifact, recorded."""

    run_id: str
    run_date: str
    started_at: str
    extract: NotRequired[dict[str, ExtractCounts]]
    validate: NotRequired[dict[str, SourceValidation]]
    stage: NotRequired[dict[str, int]]  # staged source -> rows
    identity: NotRequired[IdentityResult]
    model: NotRequired[dict[str, int]]  # model table -> rows
    metrics: NotRequired[MetricsResult]
    publish: NotRequired[PublishResult]
