"""The sources configuration (YAML): which exports exist and how their columns map to canonical fields."""

from __future__ import annotations

import codecs
import re
from datetime import date
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.expressions import parse_expression, referenced_columns
from connectors.schemas import KINDS, MODEL_GRAIN, UNIQUE_KEYS

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


class NumberFormat(BaseModel):
    """How the export writes numbers: decimal and thousands separators, currency symbols to strip.

    Declared, a value must follow it (`1.234,56` with decimal "," and thousands "."); undeclared, a value
    is read only when one reading fits it (`12.50`, `1,234.50`, `1.234,50`, `801,00` = 801.00) and an
    ambiguous one (`1,234`: 1234 or 1.234?) is not guessed: it counts as text that is not a number."""

    model_config = ConfigDict(extra="forbid")

    decimal: Literal[".", ","] = "."
    thousands: Literal["", ",", ".", " ", "'"] = ""
    currency_symbols: list[str] = ["NT$", "US$", "$", "€", "£", "¥"]

    @model_validator(mode="after")
    def _distinct(self) -> "NumberFormat":
        if self.decimal == self.thousands:
            raise ValueError(f"decimal and thousands separators are both {self.decimal!r}")
        return self


class SyntheticKey(BaseModel):
    """A key field made from the export's columns when it has none: `hash` (a stable hash of these columns'
    values: the same values give the same key on every run) or `line_number` (rows numbered 1, 2, ...
    within each group of equal values of these columns, in file order: file name, then row number)."""

    model_config = ConfigDict(extra="forbid")

    hash: list[str] | None = Field(None, min_length=1)
    line_number: list[str] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> "SyntheticKey":
        if (self.hash is None) == (self.line_number is None):
            raise ValueError("give one of `hash: [columns]` or `line_number: [columns]` (`line_number: []` numbers "
                             "the rows of each file)")
        return self

    @property
    def export_columns(self) -> list[str]:
        """The export columns the key is made from."""
        return list(self.hash if self.hash is not None else self.line_number or [])


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
    # csv: at most this many lines at the end of each file that are not rows (a report's footer: Salesforce
    # Classic's copyright / "Generated By" lines) are skipped, with the blank lines before them; only lines
    # whose field count differs from the header's count as footer, so a file without one loses no row
    footer_lines: int = Field(0, ge=0, le=100)
    table: str | None = None          # sqlite: table name
    timezone: str | None = None       # for timestamps without an offset
    default_region: str | None = None  # phone numbers without a country code
    # characters of the normalised postcode that make its area key for this source's records (identity:
    # blocking and the postcode comparison's "same area" level); None: identity.probabilistic.postcode_key_length
    postcode_key_length: int | None = Field(None, ge=1)
    critical: bool = False            # a critical failure of this source fails the run
    max_reject_share: float = Field(0.2, ge=0, le=1)
    # rows read tonight under (1 - max_row_drop) x the median of the source's last loaded nights are flagged;
    # on_row_drop: warn (flagged only), hold_back (the source keeps its last rows), fail (the run stops)
    max_row_drop: float = Field(0.5, ge=0, le=1)
    on_row_drop: Literal["warn", "hold_back", "fail"] = "warn"
    columns: dict[str, str]           # canonical field -> source column (dotted path for nested JSON)
    expressions: dict[str, str] = {}  # canonical field -> DuckDB SQL expression over the export's columns
    filter: str | None = None         # DuckDB SQL condition over the export's columns: rows where it is not true are filtered
    constants: dict[str, str] = {}    # canonical field -> fixed value for every row
    # extra identifiers: name -> export column (e.g. national_id: SSN), carried to identity as the `identifiers`
    # field (JSON); identity.probabilistic.identifiers compares each name it lists fuzzily (README)
    identifiers: dict[str, str] = {}
    keys: dict[str, SyntheticKey] = {}  # canonical field -> a synthetic key (hash of columns, or line number)
    # rows repeating the source's key (its kind's, or contract.unique) are one entity: the first in file order
    # is kept, the later ones are counted as `merged` (not quarantined as duplicates) and their differing
    # values reported; for an export that repeats entities on many lines (customers of a sales file)
    merge: bool = False
    # the unmapped columns kept in `attributes` (default: every column no field uses); the others are listed
    # in the run summary as not kept, by name. For one of several entries over one file (its customers need
    # Age and Gender, not the order columns)
    attributes: list[str] | None = None
    formats: dict[str, str] = {}      # canonical field -> strftime format | iso8601 | epoch_s | epoch_ms | epoch_us | epoch_days | roc
    number_format: NumberFormat | None = None  # None: detected per value when unambiguous
    value_maps: dict[str, dict[str, str]] = {}  # canonical field -> {export value: canonical value}
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

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, utf-8-sig, utf-16, big5, cp1252)") from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character_delimiter(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"delimiter {value!r} must be exactly one character")
        return value

    @property
    def export_columns(self) -> list[str]:
        """The export columns the expressions, the synthetic keys and the filter reference (kept by the
        extract, prefixed)."""
        texts = [*self.field_expressions.values(), *([self.filter] if self.filter else [])]
        return list(dict.fromkeys([*(c for t in texts for c in referenced_columns(t)),
                                   *(c for k in self.keys.values() for c in k.export_columns)]))

    @property
    def field_expressions(self) -> dict[str, str]:
        """The expression fields, plus `identifiers` (a JSON object of the mapped identifier columns) when the
        source maps some."""
        if not self.identifiers:
            return dict(self.expressions)
        quoted = {name: '"' + column.replace('"', '""') + '"' for name, column in self.identifiers.items()}
        pairs = ", ".join(f"'{name}', {column}" for name, column in quoted.items())
        return {**self.expressions, "identifiers": f"json_object({pairs})"}

    @property
    def mapped_fields(self) -> list[str]:
        """Every canonical field the source gives: from columns, constants, expressions (identifiers
        included) and synthetic keys."""
        return [*self.columns, *self.constants, *self.field_expressions, *self.keys]

    @field_validator("identifiers")
    @classmethod
    def _identifier_names(cls, ids: dict[str, str]) -> dict[str, str]:
        for name, column in ids.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"identifier name {name!r} must be lower case letters, digits and _ (e.g. national_id)")
            if not column.strip():
                raise ValueError(f"identifier {name!r}: give the export column it is read from")
        return ids

    @field_validator("filter")
    @classmethod
    def _one_condition(cls, text: str | None) -> str | None:
        if text is not None:
            parse_expression(text)  # ValueError names the text and why
        return text

    @field_validator("expressions")
    @classmethod
    def _one_expression_each(cls, exprs: dict[str, str]) -> dict[str, str]:
        for field, text in exprs.items():
            try:
                parse_expression(text)
            except ValueError as exc:
                raise ValueError(f"field {field!r}: {exc}") from None
        return exprs

    @model_validator(mode="after")
    def _kind_fields(self) -> "SourceConfig":
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {sorted(KINDS)}")
        schema = KINDS[self.kind]
        mapped_list = self.mapped_fields
        twice = {f for f in mapped_list if mapped_list.count(f) > 1}
        if twice:
            raise ValueError(f"fields {sorted(twice)} are given twice (in more than one of columns, expressions, "
                             "constants, keys)")
        mapped = set(mapped_list)
        unknown = mapped - set(schema)
        if unknown:
            raise ValueError(f"fields {sorted(unknown)} are not canonical fields of kind {self.kind!r}; "
                             f"its fields: {list(schema)}")
        missing = {f for f, spec in schema.items() if spec.required} - mapped
        if missing:
            raise ValueError(f"required fields {sorted(missing)} of kind {self.kind!r} are not mapped (map them in "
                             "`columns`, `expressions` or `keys`, or give them in `constants`)")
        for field, key in self.keys.items():
            wanted = "string" if key.hash is not None else "integer"
            if schema[field].type != wanted:
                raise ValueError(f"key {field!r} is a {schema[field].type}: `hash` makes text keys, `line_number` "
                                 "integer ones")
        for field in (*self.formats, *self.value_maps, *self.contract.fields()):
            if field not in mapped:
                raise ValueError(f"rule on {field!r}, which is not mapped")
        for field in (*self.contract.timestamps, *([self.contract.freshness.field] if self.contract.freshness else [])):
            if schema[field].type != "timestamp":
                raise ValueError(f"timestamp rule on {field!r}, which is a {schema[field].type}, not a timestamp")
        for field in self.contract.ranges:
            if schema[field].type not in ("integer", "decimal"):
                raise ValueError(f"range on {field!r}, which is a {schema[field].type}, not a number")
        for field, fmt in self.formats.items():
            if schema[field].type not in ("date", "timestamp"):
                raise ValueError(f"format {fmt!r} on {field!r}, which is a {schema[field].type}, not a date or "
                                 "timestamp")
            if fmt in ("epoch_s", "epoch_ms", "epoch_us") and schema[field].type == "date":
                raise ValueError(f"format {fmt!r} on {field!r}, a date: dates take epoch_days, iso8601, roc or a "
                                 "strftime format")
        for field in self.value_maps:
            if schema[field].type not in ("string", "list"):
                raise ValueError(f"value map on {field!r}, which is a {schema[field].type}: map text fields only")
        self._key_fits_grain()
        return self

    def _key_fits_grain(self) -> None:
        """Refuse a unique key the kind's model grain cannot hold (a key with a field outside the grain)."""
        if self.kind not in MODEL_GRAIN or not self.contract.unique:
            return
        grain, model = MODEL_GRAIN[self.kind]
        if not set(self.contract.unique) <= set(grain):
            raise ValueError(
                f"contract.unique [{', '.join(self.contract.unique)}] lets two rows share one ({', '.join(grain)}), "
                f"and {model} holds one row per ({', '.join(grain)}): a second row would be lost. Use a key "
                f"within [{', '.join(grain)}] (rows repeating it are then quarantined as duplicates), or map "
                f"{' and '.join(grain)} to columns that are unique together")


def source_files(source: SourceConfig, exports_dir: Path) -> list[Path]:
    """The files a source's glob matches, in a stable order."""
    return sorted(p for p in exports_dir.glob(source.path) if p.is_file())


class ConfigError(ValueError):
    """The configuration file is missing or invalid (message names the file and the field)."""


