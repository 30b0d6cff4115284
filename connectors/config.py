"""The sources configuration (YAML): which exports exist and how their columns map to canonical fields."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Format = Literal["csv", "json", "jsonl", "excel", "parquet", "sqlite"]
Severity = Literal["warn", "reject", "critical"]
Shape = Literal["email", "phone", "currency"]


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None


class TimestampRule(BaseModel):
    """Timestamp sanity: not before the system existed, not after the run date plus a tolerance."""

    model_config = ConfigDict(extra="forbid")

    not_before: date
    future_days: float = Field(1, ge=0, description="tolerance after the end of the run date (UTC)")


class Relation(BaseModel):
    """The field's value must exist in `field` of the accepted rows of source `source` (system__entity)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    field: str


class Freshness(BaseModel):
    """The source's newest `field` must be at most `max_lag_days` before the end of the run date."""

    model_config = ConfigDict(extra="forbid")

    field: str
    max_lag_days: float = Field(2, ge=0)


class Contract(BaseModel):
    """What a source's rows must satisfy, declared as data; built into a GX suite by transforms.validate.

    Rules per field: not_null, accepted_values, ranges, shapes, timestamps, relations; `unique` replaces
    the kind's default key. `severity` overrides the default severity of a rule by its name
    (e.g. `shape:email: warn`): warn (counted), reject (row to quarantine), critical (the source is held
    back, or the run fails when the source is `critical: true`).
    """

    model_config = ConfigDict(extra="forbid")

    not_null: list[str] = []
    unique: list[str] | None = None
    accepted_values: dict[str, list[str]] = {}
    ranges: dict[str, Range] = {}
    shapes: dict[str, Shape] = {}
    timestamps: dict[str, TimestampRule] = {}
    relations: dict[str, Relation] = {}
    max_field_length: int = Field(4000, ge=1)
    freshness: Freshness | None = None
    severity: dict[str, Severity] = {}

    def fields(self) -> set[str]:
        """Every field a rule of this contract names."""
        out = {*self.not_null, *(self.unique or []), *self.accepted_values, *self.ranges, *self.shapes,
               *self.timestamps, *self.relations}
        return out | ({self.freshness.field} if self.freshness else set())


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
    list_delimiter: str = ";"
    contract: Contract = Contract()

    @property
    def name(self) -> str:
        return f"{self.system}__{self.entity}"

    @property
    def unique_keys(self) -> tuple[str, ...]:
        """The key that must be unique within the source: the contract's, else the kind's default."""
        from transforms.schemas import UNIQUE_KEYS

        return tuple(self.contract.unique) if self.contract.unique else UNIQUE_KEYS[self.kind]

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
        for field in (*self.formats, *self.contract.fields()):
            if field not in mapped:
                raise ValueError(f"rule on {field!r}, which is not mapped")
        for field in (*self.contract.timestamps, *([self.contract.freshness.field] if self.contract.freshness else [])):
            if schema[field].type != "timestamp":
                raise ValueError(f"timestamp rule on {field!r}, which is a {schema[field].type}, not a timestamp")
        for field in self.contract.ranges:
            if schema[field].type not in ("integer", "decimal"):
                raise ValueError(f"range on {field!r}, which is a {schema[field].type}, not a number")
        from transforms.validate import rule_names

        unknown = sorted(set(self.contract.severity) - set(rule_names(self)))
        if unknown:
            raise ValueError(f"severity for rules {unknown} that this contract does not have "
                             f"(rules: {rule_names(self)})")
        return self


BlockingField = Literal["name_key", "family_key", "birth_date", "street_key", "postcode_key", "email_local",
                        "email_domain", "email_prefix", "phone_suffix"]
Comparison = Literal["name", "birth_date", "street", "postcode", "email", "phone"]


class ProbabilisticConfig(BaseModel):
    """Fellegi-Sunter linking of records that share no strong identifier (README "How records are linked")."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # candidate pairs: records equal on every field of at least one rule
    blocking: list[list[BlockingField]] = [
        ["name_key", "birth_date"], ["name_key", "postcode_key"], ["birth_date", "postcode_key"], ["street_key"],
        ["email_local"],
        ["email_prefix", "email_domain"], ["phone_suffix", "family_key"],
    ]
    max_block_size: int = Field(50, ge=2)  # a larger block (a very common name) yields no candidates
    comparisons: list[Comparison] = ["name", "birth_date", "street", "postcode", "email", "phone"]
    name_close: float = Field(0.88, gt=0, le=1)    # Jaro-Winkler similarity for "close" names
    street_close: float = Field(0.90, gt=0, le=1)  # ... and streets
    threshold: float = Field(0.99, gt=0, lt=1)     # match probability at which a pair is linked
    u_pairs: int = Field(200_000, ge=1000)           # random record pairs that estimate u-probabilities
    seed: int = Field(42, ge=0)


class StabilityConfig(BaseModel):
    """How customer ids carry over from the previous run, and the gate against mass changes."""

    model_config = ConfigDict(extra="forbid")

    # share of the previous customers that may be merged, split or lose/gain records in one run
    max_changed_share: float = Field(0.10, ge=0, le=1)
    min_customers_for_gate: int = Field(100, ge=0)  # small bases change a lot; the gate ignores them


class IdentityConfig(BaseModel):
    """Identity resolution: which keys link records, the over-merge guards, fuzzy linking, id stability."""

    model_config = ConfigDict(extra="forbid")

    # strong identifiers, highest priority first (the first one a link uses is its identifier type)
    keys: list[Literal["email", "phone", "loyalty_id", "login_id"]] = ["login_id", "loyalty_id", "email", "phone"]
    max_records_per_key: int = Field(25, ge=2)
    placeholder_emails: list[str] = []
    placeholder_phones: list[str] = []
    email_provider_rules: bool = False  # Gmail: ignore dots and +tags in the local part
    probabilistic: ProbabilisticConfig = ProbabilisticConfig()
    stability: StabilityConfig = StabilityConfig()
    # golden record: for each attribute, systems in order of trust; unlisted systems come after, newest first
    survivorship: dict[str, list[str]] = {}


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
        by_name = {s.name: s for s in sources}
        for s in sources:
            for field, rel in s.contract.relations.items():
                target = by_name.get(rel.source)
                if target is None:
                    raise ValueError(f"{s.name}: relation of {field!r} to unknown source {rel.source!r}")
                if rel.field not in set(target.columns) | set(target.constants):
                    raise ValueError(f"{s.name}: relation of {field!r} to {rel.source}.{rel.field}, which is not mapped")
        return sources

    def validation_order(self, selected: list[SourceConfig]) -> list[SourceConfig]:
        """`selected` ordered so that a source comes after the sources its relations point to."""
        names = {s.name for s in selected}
        done: list[SourceConfig] = []
        pending = list(selected)
        while pending:
            ready = [s for s in pending if all(r.source not in names or r.source in {d.name for d in done}
                                               for r in s.contract.relations.values())]
            if not ready:
                raise ConfigError(f"relations form a cycle between {sorted(s.name for s in pending)}")
            done.append(ready[0])
            pending.remove(ready[0])
        return done

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
