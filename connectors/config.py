"""The sources configuration (YAML): which exports exist and how their columns map to canonical fields."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Format = Literal["csv", "json", "jsonl", "excel", "parquet", "sqlite"]


class SourceConfig(BaseModel):
    """One export of one system: where its files are, how to read them, how columns map."""

    model_config = ConfigDict(extra="forbid")

    system: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    entity: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: str
    format: Format
    path: str = Field(description="glob relative to the exports directory")
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None          # excel: sheet name (default: first)
    table: str | None = None          # sqlite: table name
    timezone: str | None = None       # for timestamps without an offset
    default_region: str | None = None  # phone numbers without a country code
    critical: bool = False            # a critical failure of this source fails the run
    max_reject_share: float = Field(0.2, ge=0, le=1)
    columns: dict[str, str]           # canonical field -> source column (dotted path for nested JSON)
    constants: dict[str, str] = {}    # canonical field -> fixed value for every row
    formats: dict[str, str] = {}      # canonical field -> strftime format | iso8601 | epoch_ms | epoch_s
    accepted_values: dict[str, list[str]] = {}
    ranges: dict[str, dict[str, float]] = {}  # canonical field -> {min:, max:}
    list_delimiter: str = ";"

    @property
    def name(self) -> str:
        return f"{self.system}__{self.entity}"

    @model_validator(mode="after")
    def _kind_fields(self) -> "SourceConfig":
        from transforms.schemas import KINDS

        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {sorted(KINDS)}")
        schema = KINDS[self.kind]
        mapped = set(self.columns) | set(self.constants)
        unknown = mapped - set(schema)
        if unknown:
            raise ValueError(f"fields {sorted(unknown)} are not canonical fields of kind {self.kind!r}")
        missing = {f for f, spec in schema.items() if spec.required} - mapped
        if missing:
            raise ValueError(f"required fields {sorted(missing)} of kind {self.kind!r} are not mapped")
        for field in (*self.accepted_values, *self.ranges, *self.formats):
            if field not in mapped:
                raise ValueError(f"rule on {field!r}, which is not mapped")
        return self


class IdentityConfig(BaseModel):
    """Deterministic identity resolution: which keys link records, and the over-merge guards."""

    model_config = ConfigDict(extra="forbid")

    keys: list[Literal["email", "phone", "loyalty_id", "login_id"]] = ["login_id", "loyalty_id", "email", "phone"]
    max_records_per_key: int = Field(25, ge=2)
    placeholder_emails: list[str] = []
    placeholder_phones: list[str] = []


class MetricsConfig(BaseModel):
    """Windows, thresholds and definitions the metrics take as parameters."""

    model_config = ConfigDict(extra="forbid")

    business_timezone: str = "Asia/Taipei"
    repeat_contact_days: int = 7
    case_window_days: int = 7
    lookback_days: int = Field(30, ge=1)
    feedback_days: int = Field(30, ge=0)
    # support topics that count as a complaint (complaint_promo_share)
    complaint_topics: list[str] = ["delivery", "return", "defect", "billing"]
    # a customer has a complete 360 view when present in every one of these systems
    complete_360_systems: list[str] = ["crm", "shop", "pos", "marketing"]
    # a system counts as integrated when at least this share of its records is linked to another system
    integrated_min_share: float = Field(0.2, ge=0, le=1)
    # service policy -> the support topic it governs (policy_conflict_contacts)
    policy_topics: dict[str, str] = {}


class PipelineConfig(BaseModel):
    """The whole sources.yaml."""

    model_config = ConfigDict(extra="forbid")

    sources: list[SourceConfig]
    identity: IdentityConfig = IdentityConfig()
    metrics: MetricsConfig = MetricsConfig()
    journey_stages: dict[str, str] = {}

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        names = [s.name for s in sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"sources configured twice: {dupes}")
        return sources

    def select(self, systems: list[str] | None) -> list[SourceConfig]:
        """Sources whose system or system__entity is in `systems` (all when None)."""
        if not systems:
            return list(self.sources)
        known = {s.system for s in self.sources} | {s.name for s in self.sources}
        unknown = sorted(set(systems) - known)
        if unknown:
            raise ConfigError(f"unknown sources {unknown}; configured: {sorted(known)}")
        return [s for s in self.sources if s.system in systems or s.name in systems]


class ConfigError(ValueError):
    """The configuration file is missing or invalid (message names the file and the field)."""


def load_config(path: Path) -> PipelineConfig:
    """Read and validate sources.yaml; raise ConfigError with the file and the offending field."""
    if not path.exists():
        raise ConfigError(f"{path}: configuration file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return PipelineConfig.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
