"""The whole sources.yaml: sources (connectors), identity and metric settings (transforms), loaded and
cross-checked in one place."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from connectors.config import ConfigError, SourceConfig
from transforms.config import IdentityConfig, MetricsConfig
from transforms.rules import rule_names

__all__ = ["ConfigError", "PipelineConfig", "load_config"]


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

    @model_validator(mode="after")
    def _severity_rules(self) -> "PipelineConfig":
        for src in self.sources:
            names = rule_names(src)
            unknown = sorted(set(src.contract.severity) - set(names))
            if unknown:
                raise ValueError(f"{src.name}: severity for rules {unknown} that this contract does not have "
                                 f"(rules: {names})")
        return self

    @model_validator(mode="after")
    def _complete_360_systems(self) -> "PipelineConfig":
        unknown = sorted(set(self.metrics.complete_360_systems or []) - {s.system for s in self.sources})
        if unknown:
            raise ValueError(f"metrics.complete_360_systems: systems {unknown} have no source (systems: "
                             f"{sorted({s.system for s in self.sources})})")
        return self

    @property
    def complete_360_systems(self) -> list[str]:
        """The systems a complete 360 view needs: the configured ones, else every system with a customers source."""
        if self.metrics.complete_360_systems is not None:
            return list(self.metrics.complete_360_systems)
        return sorted({s.system for s in self.sources if s.kind == "customers"})

    @model_validator(mode="after")
    def _identifier_names(self) -> "PipelineConfig":
        """A key or a column-less probabilistic identifier names a built-in identifier or one a source maps
        (a typo would otherwise link nothing, silently)."""
        mapped = {"email", "phone", "loyalty_id", "login_id"} | {n for s in self.sources for n in s.identifiers}
        named = [*self.identity.keys, *(i.name for i in self.identity.probabilistic.identifiers if i.column is None)]
        unknown = sorted(set(named) - mapped)
        if unknown:
            raise ValueError(f"identity: identifiers {unknown} are not mapped by any source (map them in a source's "
                             f"`identifiers: {{name: export column}}`; mapped: {sorted(mapped)})")
        return self


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
        problems = "; ".join(f"{_location(raw, err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None


def _location(raw: object, loc: tuple) -> str:
    """A validation error's location with the source's name instead of its index (`sources.shop__orders.kind`)."""
    parts = [str(p) for p in loc]
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int) and isinstance(raw, dict):
        try:
            entry = raw["sources"][loc[1]]
            parts[1] = f"{entry['system']}__{entry['entity']}"
        except (KeyError, IndexError, TypeError):
            pass
    return ".".join(parts)
