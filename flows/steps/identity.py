"""Step identity: resolve identities over the staged sources, carry customer ids over from the published
version (stability gate), score against ground truth when there is one; write the identity tables."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from flows import warehouse
from flows.db import Database
from flows.warehouse import IDENTITY_MODEL_STATE, IDENTITY_RECORDS_STATE
from flows.steps.analysis import open_analysis
from flows.steps.policy import PipelineError
from flows.steps.results import IdentityResult
from flows.steps.spec import RunSpec
from transforms.config import IdentityConfig
from flows.warehouse.review import read_labels
from transforms.identity import (
    IdentityGateError, check_stability, evaluate_identity, identity_metric_rows, resolve_customers,
)
from transforms.identity.clerical import LABEL_COLUMNS, clerical_metric_rows
from transforms.identity.records import phone_validity
from transforms.identity.tables import build

log = logging.getLogger("silobridge.pipeline")

IDENTITY_TABLES = ("int_identity__key_customers", "identity_evaluation")
# A system whose phones are mostly no valid number for their region most likely has the wrong region (a source
# without `default_region` is read as Taiwan's): said, with the counts, rather than losing its phone keys silently.
UNUSABLE_PHONES_SHARE = 0.5
UNUSABLE_PHONES_MIN_RECORDS = 20
PUBLISHED_IDENTITY_TABLES = ("customer_identities", "identity_guards", "identity_links", "identity_model",
                             "customer_id_map", "customer_id_history", "identity_review")


def identity_step(spec: RunSpec, hash_key: str) -> IdentityResult:
    """Resolve identities, write the identity tables; returns the resolution's counts and the scores against
    ground truth (None without). Fails (PipelineError) when the stability gate trips."""
    cfg = spec.config()
    # Splink narrates its training at INFO (hundreds of lines a run): shown only with silobridge's debug logs
    logging.getLogger("splink").setLevel(logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.ERROR)
    with open_analysis(spec, cfg, hash_key, "identity", spec.engine) as db:
        previous = warehouse.current_version(spec.warehouse_dir)
        has_previous = previous is not None and (previous / "customer_identities.parquet").exists()
        if has_previous:
            _attach_previous_ids(db, previous)
        _attach_labels(db, spec.state_dir)
        stored = _stored_model(spec, previous, cfg.identity.probabilistic.retrain_after_days)
        counts = resolve_customers(db, cfg.identity, spec.run_id, has_previous, stored)
        configured = {s.system for s in cfg.sources if s.default_region}
        for warning in phone_warnings(phone_validity(db), configured):
            log.warning("identity: %s", warning)
            counts["warnings"].append(warning)
        if not spec.accept_identity_changes:  # before anything else is built: a gated run stops here
            try:
                check_stability(counts["changes"], cfg.identity.stability.max_changed_share,
                                cfg.identity.stability.min_customers_for_gate)
            except IdentityGateError as exc:
                raise PipelineError(str(exc)) from None
        _identity_history(db, spec, previous if has_previous else None)
        _identity_links(db)
        build(db, "identity_review")
        scores = _evaluate(db, spec.ground_truth_dir, cfg.identity)
        db.run_many("identity_evaluation.clerical", "insert into identity_evaluation values (?, ?, ?, ?, ?, ?)",
                    clerical_metric_rows(counts["clerical"]))
        for table in IDENTITY_TABLES:
            db.write_parquet(table, spec.path("int", f"{table}.parquet"))
        for table in PUBLISHED_IDENTITY_TABLES:
            db.write_parquet(table, spec.path("out", f"{table}.parquet"))
        db.write_parquet("int_identity__records", spec.path("staging", IDENTITY_RECORDS_STATE))
    counts["model"] = _store_model(spec, counts.pop("model"), stored if counts.pop("model_reused") else None)
    return counts | {"evaluation": scores}


def phone_warnings(validity: list[tuple[str, str, int, int]], configured: set[str]) -> list[str]:
    """Warnings for the systems most of whose phones are no valid number for their region (`phone_validity`
    rows); `configured`: the systems one of whose sources sets `default_region`."""
    out = []
    for system, region, phones, unusable in validity:
        if phones < UNUSABLE_PHONES_MIN_RECORDS or unusable <= UNUSABLE_PHONES_SHARE * phones:
            continue
        why = ("the region its sources' default_region sets" if system in configured else
               "no source of the system sets default_region: the default")
        out.append(f"{system}: {unusable:,} of {phones:,} records' phones ({unusable / phones:.0%}) are not valid "
                   f"numbers for region {region} ({why}) or are placeholders: they link no records. If the numbers "
                   f"are another country's, set default_region on the system's sources (`silobridge sources draft` "
                   f"proposes one from the values)")
    return out


def _stored_model(spec: RunSpec, previous: Path | None, retrain_after_days: int) -> dict | None:
    """The probabilistic model the published version stored, when tonight may reuse it: not asked to retrain
    (or full_refresh), and trained on a run date at most `retrain_after_days` before tonight's (not after it).
    Whether it fits tonight's records is the linker's call (transforms.identity.splink.reusable)."""
    if previous is None or spec.full_refresh or spec.retrain_identity_model or retrain_after_days == 0:
        return None
    path = warehouse.identity_model_file(spec.state_dir, previous.name)
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        age = (spec.run_date - date.fromisoformat(stored["trained_run_date"])).days
    except (ValueError, KeyError, TypeError) as exc:  # unreadable: trained afresh, said why
        log.warning("identity model stored by run %s not reused (%s: %s); training a new one", previous.name,
                    type(exc).__name__, exc)
        return None
    if not 0 <= age < retrain_after_days:
        log.info("identity model trained on %s not reused tonight (%s): training a new one",
                 stored["trained_run_date"], f"{age} days old" if age >= 0 else "trained for a later date")
        return None
    return stored


def _store_model(spec: RunSpec, model: dict | None, reused: dict | None) -> dict | None:
    """Write tonight's probabilistic model beside the staged rows (published into the state with them) for the
    next runs; `reused`: the stored model whose m and u tonight reused (its training run is kept). Returns what
    the run record says of it (trained when and by which run, records, reused)."""
    if model is None:
        return None
    trained = {"trained_run_id": reused["trained_run_id"], "trained_run_date": reused["trained_run_date"]} if reused \
        else {"trained_run_id": spec.run_id, "trained_run_date": spec.run_date.isoformat()}
    record = {**model, **trained}
    spec.path("staging", IDENTITY_MODEL_STATE).write_text(json.dumps(record, sort_keys=True, indent=1),
                                                          encoding="utf-8")
    return {**trained, "trained_records": model["records"], "reused": reused is not None}


def attach_identity(db: Database, spec: RunSpec) -> None:
    """Views over this run's identity tables, for the model and metrics steps."""
    db.view_over_parquet("int_identity__records", spec.path("staging", IDENTITY_RECORDS_STATE))
    for table in IDENTITY_TABLES:
        db.view_over_parquet(table, spec.path("int", f"{table}.parquet"))
    for table in PUBLISHED_IDENTITY_TABLES:
        db.view_over_parquet(table, spec.path("out", f"{table}.parquet"))


def _attach_labels(db: Database, state_dir: Path) -> None:
    """identity_review_labels: the clerical review's labels stored by `silobridge review import`."""
    db.run("identity_review_labels", f"create or replace table identity_review_labels ({LABEL_COLUMNS})")
    labels = read_labels(state_dir)
    if labels:
        db.run_many("identity_review_labels.insert", "insert into identity_review_labels values (?, ?, ?, ?, ?, ?, ?)",
                    labels)


def _attach_previous_ids(db: Database, previous: Path) -> None:
    """prev_identities and prev_id_map of the published version, for carrying customer ids over."""
    db.view_over_parquet("prev_identities", previous / "customer_identities.parquet")
    if (previous / "customer_id_map.parquet").exists():
        db.view_over_parquet("prev_id_map", previous / "customer_id_map.parquet")
    else:  # a version published before ids were tracked: its ids are the oldest known
        db.run("prev_id_map", "create table prev_id_map as select distinct customer_id, customer_id as "
                              "current_customer_id, 'active' as status, '' as issued_run_id, '' as changed_run_id "
                              "from prev_identities")


def _identity_history(db: Database, spec: RunSpec, previous: Path | None) -> None:
    """customer_id_history: the previous version's events plus this run's."""
    earlier = ""
    if previous is not None and (previous / "customer_id_history.parquet").exists():
        db.view_over_parquet("prev_history", previous / "customer_id_history.parquet")
        earlier = "union all select * from prev_history where run_id <> $run_id"
    db.run("customer_id_history", f"""
        create or replace table customer_id_history as
        select * from (
            select $run_id as run_id, cast($run_date as date) as run_date, event, customer_id,
                   related_customer_id, records, detail
            from int_identity__events
            {earlier}
        )
        order by run_id, event, customer_id, related_customer_id""",
           {"run_id": spec.run_id, "run_date": spec.run_date.isoformat()})


def _identity_links(db: Database) -> None:
    """identity_links: every accepted link between two records of one customer, by record key."""
    db.run("identity_links", """
        create or replace table identity_links as
        select c.customer_id, a.system as system_a, a.entity as entity_a, a.record_id as record_id_a,
               b.system as system_b, b.entity as entity_b, b.record_id as record_id_b,
               l.link_rule, l.key_type as identifier_type, l.match_probability, l.evidence,
               l.match_weight, l.evidence_levels
        from int_identity__links as l
        join int_identity__records as a on a.rid = l.rid_a
        join int_identity__records as b on b.rid = l.rid_b
        join customer_identities as c on c.rid = l.rid_a
        order by c.customer_id, system_a, entity_a, record_id_a, system_b, entity_b, record_id_b""")


def _read_truth(path: Path) -> pa.Table:
    """The ground-truth CSV, every column text (an empty field is null), read here rather than by the
    database's own CSV reader: the same table on every engine."""
    names = pacsv.open_csv(path).schema.names  # the header (the first block only)
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, null_values=[""], strings_can_be_null=True))


def _evaluate(db: Database, ground_truth_dir: Path | None, identity: IdentityConfig) -> dict | None:
    """Table identity_evaluation, and the scores against the demo ground truth when it names tonight's records."""
    db.run("identity_evaluation", "create or replace table identity_evaluation (family varchar, metric varchar, "
                                  "dimension varchar, numerator double, denominator double, detail varchar)")
    truth = ground_truth_dir / "identity.csv" if ground_truth_dir else None
    if truth is None or not truth.exists():
        return None
    db.register("truth", _read_truth(truth))
    scores = evaluate_identity(db, identity)
    if scores["scopes"]["all"]["records"] == 0:  # ground truth of other exports (the demo's): not ours
        log.warning("ground truth at %s names none of tonight's records; identity not scored", truth)
        return None
    db.run_many("identity_evaluation.insert", "insert into identity_evaluation values (?, ?, ?, ?, ?, ?)",
                identity_metric_rows(scores))
    return scores
