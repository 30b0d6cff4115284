"""Settings of the transforms, read from the `identity` and `metrics` sections of sources.yaml."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Fields the probabilistic model knows (the Splink linker, transforms/identity/splink.py): `name` is the
# order-insensitive full-name key, compared only when given and family names are absent.
Field_ = Literal["given_name", "middle_name", "family_name", "name", "birth_date", "street", "city", "postcode",
                 "postcode_key"]
# Names of the first model's blocking fields, still accepted (LEGACY_BLOCKING says what each now is; the
# email/phone fragments have no counterpart: each identifier is an exact blocking rule of its own).
LEGACY_BLOCKING = {"name_key": "name", "family_key": "family_name", "street_key": "street",
                   "email_local": None, "email_domain": None, "email_prefix": None, "phone_suffix": None}
BlockingField = Literal[Field_, "name_key", "family_key", "street_key", "email_local", "email_domain",
                        "email_prefix", "phone_suffix"]
# `name` in a comparison list means all the name fields (given, middle, family, full-name key), as it
# meant "the name" to the first model; `email` / `phone` switch those identifiers' comparisons on.
Comparison = Literal[Field_, "email", "phone"]
NAME_FIELDS = ["given_name", "middle_name", "family_name", "name"]


class Identifier(BaseModel):
    """An identifier compared fuzzily: exact, one edit, two edits apart (a typo in an id is strong evidence)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    # column of int_identity__records; None: the identifier of this name a source maps in its `identifiers`
    # (compared upper-cased, without spaces, dots, dashes and slashes)
    column: str | None = None


class HouseholdRule(BaseModel):
    """Pairs that agree on every `same` field and disagree on every `different` field are held for review,
    not linked, unless some identifier agrees (two members of one household are not one person)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    same: list[Field_] = ["family_name", "street"]
    different: list[Field_] = ["given_name", "birth_date"]
    # a `different` field missing on either side counts as different, provided one of them is present and
    # disagrees: Eric and Erin at one address, no birth dates, two SSNs, are two people until an id says not
    missing_is_different: bool = True
    # when every `different` field but the given name is missing on both sides (no birth date: nothing
    # but names to tell two family members apart), identifiers no longer decide, because a household shares
    # them (a family email, a landline, a borrowed id): a clearly different given name (no nickname, below
    # every similarity level) with the same family name is held even when an identifier agrees; at one
    # address, a different middle name is held, and so is a pair with no agreeing given name and no
    # agreeing identifier (surname + address term frequencies alone never make a person)
    strict_without_dates: bool = True


class ProbabilisticConfig(BaseModel):
    """Probabilistic linking (Splink) of records that share no strong identifier (README "How records are
    linked"): trained without labels, graded comparisons, no vetoes. The m and u probabilities trained by one
    run are reused by the next runs for `retrain_after_days` (the prior is estimated on every run)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # candidate pairs: records equal on every field of at least one rule (plus one rule per identifier)
    blocking: list[list[BlockingField]] = [
        ["given_name", "family_name"], ["family_name", "birth_date"], ["given_name", "birth_date"],
        ["birth_date", "postcode_key"], ["family_name", "postcode_key"], ["street", "postcode_key"], ["name"],
        ["street", "birth_date"],
    ]
    max_block_size: int = Field(50, ge=2)  # a rule's block larger than this (a very common name) is skipped
    comparisons: list[Comparison] = ["given_name", "middle_name", "family_name", "name", "birth_date", "street",
                                     "city", "postcode", "email", "phone"]
    identifiers: list[Identifier] = [
        Identifier(name="email", column="email_norm"), Identifier(name="phone", column="phone_norm"),
        Identifier(name="loyalty_id", column="loyalty_norm"), Identifier(name="login_id", column="login_norm"),
    ]
    term_frequencies: list[Field_] = ["given_name", "family_name", "name", "street", "city", "postcode"]
    name_close: float = Field(0.88, gt=0, le=1)    # Jaro-Winkler similarity for "close" names
    street_close: float = Field(0.90, gt=0, le=1)  # ... and streets
    postcode_key_length: int = Field(3, ge=1)      # characters of the postcode that make its area key
    # values that mean "unknown" per field (e.g. postcode 00000): treated as missing, no evidence
    placeholders: dict[Field_, list[str]] = {}
    threshold: float = Field(0.99, gt=0, lt=1)     # match probability at which a pair is linked
    review_threshold: float = Field(0.5, gt=0, lt=1)  # ... from which it goes to clerical review
    # u by random sampling: record pairs drawn, `u_pairs_per_record` x records within [u_pairs_min, u_pairs]
    u_pairs: int = Field(1_000_000, ge=1000)
    u_pairs_min: int = Field(250_000, ge=1000)
    u_pairs_per_record: int = Field(10, ge=1)
    # prior: deterministic rules (all fields equal) and the share of true matches they are believed to find
    deterministic: list[list[Field_]] = [["given_name", "family_name", "birth_date"], ["name", "birth_date"]]
    deterministic_recall: float = Field(0.6, gt=0, le=1)
    # m by expectation maximisation, once per rule, then once per identifier (exact). No rule on the
    # address alone: its pairs are mostly members of one household, and EM would learn "household" as the
    # match class.
    training_blocking: list[list[Field_]] = [["given_name", "family_name"], ["birth_date"], ["name"]]
    train_on_identifiers: bool = True
    em_max_pairs: int = Field(1_000_000, ge=1000)  # EM pairs per training rule (Splink samples records)
    # EM's iterations per training rule (Splink's default is 25). At 1M customers the given+family name rule's
    # same-name pairs include many households: its parameters drift (street and postcode) and settle in 31
    # iterations, so 25 warned "did not converge" every large night; 40 converges there with the same precision
    # and recall (0.9932 / 0.8580), and no smaller night ever reached 25 (2k-100k: 2-12)
    max_iterations: int = Field(40, ge=1)
    # days for which the m and u probabilities trained by a run are reused by the next runs (0: train on every
    # run). A run trains anyway when there is no stored model, on full_refresh, when the comparisons or the
    # training settings changed, or when the records grew or shrank by more than `retrain_record_change`.
    retrain_after_days: int = Field(7, ge=0)
    retrain_record_change: float = Field(0.25, gt=0)
    household: HouseholdRule = HouseholdRule()
    # warn when the final customers join fewer than this share of the pairs the model itself expects to match
    min_expected_share: float = Field(0.25, ge=0, le=1)
    seed: int = Field(42, ge=0)
    output_prefix: str = Field("int_identity__splink_", pattern=r"^[a-z][a-z0-9_]*$")

    @field_validator("blocking")
    @classmethod
    def _legacy_blocking(cls, rules: list[list[str]]) -> list[list[str]]:
        """Rules written with the first model's field names mean the same fields; a rule on an email or
        phone fragment is dropped (each identifier blocks on its own exact value)."""
        out = []
        for rule in rules:
            mapped = [LEGACY_BLOCKING.get(f, f) for f in rule]
            if None not in mapped and mapped not in out:
                out.append(mapped)
        return out

    @field_validator("comparisons")
    @classmethod
    def _legacy_comparisons(cls, comparisons: list[str]) -> list[str]:
        """`name` (the first model's one name comparison) stands for every name field."""
        out: list[str] = []
        for c in comparisons:
            for f in (NAME_FIELDS if c == "name" else [c]):
                if f not in out:
                    out.append(f)
        return out

    def compares_identifier(self, identifier: Identifier) -> bool:
        """Email and phone are compared when listed in `comparisons` (as they were); other identifiers always."""
        return identifier.name not in ("email", "phone") or identifier.name in self.comparisons


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
    # (email, phone, loyalty_id, login_id, or the name of an identifier the sources map in `identifiers`,
    # e.g. national_id: compared upper-cased without spaces, dots, dashes, slashes; one repeated character
    # such as 000000000 is a placeholder, never a key)
    keys: list[str] = ["login_id", "loyalty_id", "email", "phone"]
    max_records_per_key: int = Field(25, ge=2)
    placeholder_emails: list[str] = []
    placeholder_phones: list[str] = []
    email_provider_rules: bool = False  # Gmail: ignore dots and +tags in the local part
    probabilistic: ProbabilisticConfig = ProbabilisticConfig()
    stability: StabilityConfig = StabilityConfig()
    # golden record: for each attribute, systems in order of trust; unlisted systems come after, newest first
    survivorship: dict[str, list[str]] = {}

    @field_validator("keys")
    @classmethod
    def _key_names(cls, keys: list[str]) -> list[str]:
        bad = [k for k in keys if not re.fullmatch(r"[a-z][a-z0-9_]*", k)]
        if bad:
            raise ValueError(f"keys {bad}: give email, phone, loyalty_id, login_id or the name of an identifier "
                             "the sources map (lower case letters, digits and _)")
        return keys


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
    # a customer has a complete 360 view when present in every one of these systems; None (the default): every
    # system with a customers source (was the demo's four systems, which other exports do not have)
    complete_360_systems: list[str] | None = None
    # a system counts as integrated when at least this share of its records is linked to another system
    integrated_min_share: float = Field(0.2, ge=0, le=1)
    # service policy -> the support topic it governs (policy_conflict_contacts)
    policy_topics: dict[str, str] = {}
