"""The database the analysis steps (identity, model, metrics) share the set-up of: the staged sources as
`kind_<kind>` views, the identity UDFs, and the configuration tables the SQL joins; and its parameters."""

from __future__ import annotations

from pathlib import Path

from flows.config import PipelineConfig
from flows.db import Database
from flows.steps.spec import RunSpec
from flows.warehouse.staged import attach_kinds
from transforms.identity import register_udfs
from transforms.model import register_survivorship


def staged_kinds(spec: RunSpec, cfg: PipelineConfig) -> dict[str, tuple[str, Path]]:
    """Source name -> (kind, staged Parquet file) of every source staged in this run."""
    return {s.name: (s.kind, spec.path("staging", f"{s.name}.parquet"))
            for s in cfg.sources if spec.path("staging", f"{s.name}.parquet").exists()}


def open_analysis(spec: RunSpec, cfg: PipelineConfig, hash_key: str, step: str, engine: str = "duckdb") -> Database:
    """A database on `engine` (duckdb, spark) with the staged kinds, the UDFs and the source_regions,
    source_postcode_keys, journey_stages, survivorship and policy_topics tables."""
    db = spec.connect_engine(step, engine)
    attach_kinds(db, staged_kinds(spec, cfg))
    register_udfs(db, hash_key, cfg.identity)
    regions = {}
    for s in sorted(cfg.sources, key=lambda s: (s.system, s.default_region or "TW")):
        regions.setdefault(s.system, s.default_region or "TW")  # one default region per system: the first
    db.run("source_regions", "create table source_regions (system varchar, region varchar)")
    db.run_many("source_regions.insert", "insert into source_regions values (?, ?)", sorted(regions.items()))
    db.run("source_postcode_keys", "create table source_postcode_keys "
           "(system varchar, entity varchar, postcode_key_length integer)")
    db.run_many("source_postcode_keys.insert", "insert into source_postcode_keys values (?, ?, ?)",
                sorted((s.system, s.entity, s.postcode_key_length) for s in cfg.sources
                       if s.postcode_key_length is not None))
    db.run("journey_stages", "create table journey_stages (touchpoint_type varchar, journey_stage varchar)")
    db.run_many("journey_stages.insert", "insert into journey_stages values (?, ?)", sorted(cfg.journey_stages.items()))
    register_survivorship(db, cfg.identity.survivorship)
    db.run("policy_topics", "create table policy_topics (policy varchar, topic varchar)")
    db.run_many("policy_topics.insert", "insert into policy_topics values (?, ?)",
                sorted(cfg.metrics.policy_topics.items()))
    return db


def params(spec: RunSpec, cfg: PipelineConfig) -> dict:
    """The SQL parameters of the models and metrics."""
    return {
        "run_id": spec.run_id,
        "as_of_date": spec.run_date.isoformat(),
        "business_tz": cfg.metrics.business_timezone,
        "case_window_days": cfg.metrics.case_window_days,
        "repeat_contact_days": cfg.metrics.repeat_contact_days,
        "lookback_days": cfg.metrics.lookback_days,
        "feedback_days": cfg.metrics.feedback_days,
        "complaint_topics": cfg.metrics.complaint_topics,
        "complete_360_systems": cfg.complete_360_systems,
        "integrated_min_share": cfg.metrics.integrated_min_share,
    }
