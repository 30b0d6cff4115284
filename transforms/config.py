"""Settings of the transforms, read from the `identity` and `metrics` sections of sources.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
