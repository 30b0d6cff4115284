"""The one typed settings object: environment variables prefixed SILOBRIDGE_."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where things live and how the nightly run behaves; relative paths are under data_dir."""

    model_config = SettingsConfigDict(env_prefix="SILOBRIDGE_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    sources_file: Path = Path("sources.yaml")
    exports_dir: Path = Path("demo/exports")
    ground_truth_dir: Path = Path("demo/ground_truth")
    warehouse_dir: Path = Path("warehouse")
    work_dir: Path = Path("work")
    # The pipeline's private state: the typed source rows of each published run (personal data in
    # clear), reused for sources not run on a later night. Not for analysts; keep it private.
    state_dir: Path = Path("state")
    # Corrected quarantined rows to put back through the pipeline: <replay_dir>/<system__entity>/*.csv,
    # read by every run as extra files of that source (see README "When data is bad").
    replay_dir: Path = Path("replay")
    # Keyed hash for personal identifiers that reach the warehouse (email_hash, phone_hash).
    # Change it in production; rotating it changes every hash.
    pii_hash_key: SecretStr = SecretStr("silobridge-demo-key")
    keep_versions: int = Field(3, ge=1, description="published warehouse versions kept on disk")
    schedule_cron: str = "0 2 * * *"
    schedule_timezone: str = "Asia/Taipei"
    # The Prefect process work pool of the production deployment (prefect.yaml, `silobridge deploy`).
    work_pool: str = "silobridge"
    duckdb_threads: int = Field(2, ge=1)
    duckdb_memory_limit: str = "6GB"

    def path(self, p: Path) -> Path:
        """Resolve a configured path against data_dir (absolute paths are kept)."""
        return p if p.is_absolute() else self.data_dir / p

    @property
    def sources_path(self) -> Path:
        return self.path(self.sources_file)

    @property
    def exports_path(self) -> Path:
        return self.path(self.exports_dir)

    @property
    def ground_truth_path(self) -> Path:
        return self.path(self.ground_truth_dir)

    @property
    def warehouse_path(self) -> Path:
        return self.path(self.warehouse_dir)

    @property
    def work_path(self) -> Path:
        return self.path(self.work_dir)

    @property
    def state_path(self) -> Path:
        return self.path(self.state_dir)

    @property
    def replay_path(self) -> Path:
        return self.path(self.replay_dir)
