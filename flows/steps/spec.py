"""RunSpec: everything a step needs to find its inputs and outputs (no secrets, no data)."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from flows.config import PipelineConfig, load_config
from flows.db import Database
from flows.settings import DUCKDB_MEMORY_LIMIT, DUCKDB_THREADS, Settings


class RunSpec(BaseModel):
    """Everything a step needs to find its inputs and outputs (no secrets, no data)."""

    run_id: str
    run_date: date
    run_dir: Path
    exports_dir: Path
    warehouse_dir: Path
    state_dir: Path
    config_path: Path
    replay_dir: Path | None = None
    sources: list[str] | None = None
    full_refresh: bool = False
    ground_truth_dir: Path | None = None  # demo ground truth: the run scores its identity resolution
    accept_identity_changes: bool = False  # bypass the identity stability gate for this run
    retrain_identity_model: bool = False  # train the probabilistic model tonight even if a stored one fits
    engine: Literal["duckdb", "spark"] = "duckdb"  # where the model and metrics steps run
    spark_master: str = "local[2]"
    duckdb_threads: int = DUCKDB_THREADS
    duckdb_memory_limit: str = DUCKDB_MEMORY_LIMIT
    keep_versions: int = 3
    lock_wait_seconds: float = 60.0  # how long a run waits for another one holding the warehouse

    def config(self) -> PipelineConfig:
        return load_config(self.config_path)

    def connect(self, step: str) -> Database:
        """A database for `step` (statements' errors name it), spilling into the run directory."""
        return Database.connect(self.duckdb_threads, self.duckdb_memory_limit,
                                temp_directory=self.run_dir / "duckdb_tmp", step=step)

    def connect_engine(self, step: str, engine: str = "duckdb"):
        """A database for `step` on `engine`: DuckDB (`connect`) or this spec's Spark master (flows.spark_db,
        imported only then: pyspark is an optional dependency)."""
        if engine == "duckdb":
            return self.connect(step)
        if importlib.util.find_spec("pyspark") is None:
            from flows.steps.policy import PipelineError

            raise PipelineError("engine 'spark' needs the optional Spark dependencies (pyspark is not installed): "
                                "`make spark` installs them and checks for Java 17+")
        from flows.spark_db import SparkDatabase

        return SparkDatabase.connect(self.spark_master, step=step)

    def path(self, *parts: str) -> Path:
        return self.run_dir.joinpath(*parts)


def new_run_id(now: datetime) -> str:
    """A sortable run id from the start time (UTC)."""
    return now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def make_spec(settings: Settings, run_date: date | None, sources: list[str] | None, full_refresh: bool,
              now: datetime, accept_identity_changes: bool = False, engine: str | None = None,
              retrain_identity_model: bool = False) -> RunSpec:
    """The RunSpec of a new run started at `now`; `engine` overrides the settings' (a flow or CLI parameter)."""
    run_id = new_run_id(now)
    return RunSpec(
        run_id=run_id,
        run_date=run_date or now.astimezone(timezone.utc).date(),
        run_dir=settings.work_path / run_id,
        exports_dir=settings.exports_path,
        warehouse_dir=settings.warehouse_path,
        state_dir=settings.state_path,
        config_path=settings.sources_path,
        replay_dir=settings.replay_path,
        sources=sources or None,
        full_refresh=full_refresh,
        ground_truth_dir=settings.ground_truth_path,
        accept_identity_changes=accept_identity_changes,
        retrain_identity_model=retrain_identity_model,
        engine=engine or settings.engine,
        spark_master=settings.spark_master,
        duckdb_threads=settings.duckdb_threads,
        duckdb_memory_limit=settings.duckdb_memory_limit,
        keep_versions=settings.keep_versions,
        lock_wait_seconds=settings.lock_wait_seconds,
    )
