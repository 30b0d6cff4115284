"""The sources configuration (YAML): which exports exist and how their columns map to canonical fields."""

from __future__ import annotations

from datetime import date
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.schemas import KINDS, UNIQUE_KEYS

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
    # rows read tonight under (1 - max_row_drop) x the median of the source's last loaded nights are flagged;
    # on_row_drop: warn (flagged only), hold_back (the source keeps its last rows), fail (the run stops)
    max_row_drop: float = Field(0.5, ge=0, le=1)
    on_row_drop: Literal["warn", "hold_back", "fail"] = "warn"
    columns: dict[str, str]           # canonical field -> source column (dotted path for nested JSON)
    constants: dict[str, str] = {}    # canonical field -> fixed value for every row
    formats: dict[str, str] = {}      # canonical field -> strftime format | iso8601 | epoch_ms | epoch_s
    list_delimiter: str = ";"
    contract: Contract = Contract()

    @property
    def name(self) -> str:
        return f"{self.system}__{self.entity}"

    @field_validator("path")
    @classmethod
    def _inside_exports(cls, path: str) -> str:
        # listing also checks where each file resolves (symlinks): see connectors.extract
        if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute() or ".." in PurePosixPath(
                path.replace("\\", "/")).parts:
            raise ValueError(f"path {path!r} must be a glob relative to the exports directory, without '..'")
        return path

    @property
    def unique_keys(self) -> tuple[str, ...]:
        """The key that must be unique within the source: the contract's, else the kind's default."""
        return tuple(self.contract.unique) if self.contract.unique else UNIQUE_KEYS[self.kind]

    @model_validator(mode="after")
    def _kind_fields(self) -> "SourceConfig":
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
        return self


class ConfigError(ValueError):
    """The configuration file is missing or invalid (message names the file and the field)."""


