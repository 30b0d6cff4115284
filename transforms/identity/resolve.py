"""The identity path: records -> strong keys and guards -> deterministic clusters -> probabilistic links
-> clusters (customers) -> stable customer ids -> customer_identities."""

from __future__ import annotations

import time

from transforms.config import IdentityConfig
from transforms.database import Database
from transforms.identity.clerical import apply_labels
from transforms.identity.clusters import connected_components, merge_components
from transforms.identity.customer_ids import assign_customer_ids
from transforms.identity.keys import build_keys
from transforms.identity.levels import register_level_macros
from transforms.identity.probabilistic import link_probabilistically, no_probabilistic_links, short_of_expected
from transforms.identity.records import build_records
from transforms.identity.tables import build


class _Laps:
    """Seconds per phase (the benchmark prints them)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(now - self._clock, 2)
        self._clock = now


def resolve_identities(db: Database, identity: IdentityConfig, stored_model: dict | None = None) -> dict:
    """Build records and keys, guard keys, link deterministically then probabilistically, cluster, apply the
    clerical review's labels (must-link / cannot-link, transforms/identity/clerical.py).

    `stored_model`: the probabilistic model an earlier run trained (its `model`), reused when it fits.
    Returns counts, plus `seconds` per phase (the benchmark prints them) and `model` (to store)."""
    lap = _Laps()
    register_level_macros(db)
    build_records(db, identity.probabilistic.postcode_key_length, identity.placeholder_phones)
    lap("records (normalise)")
    build_keys(db, identity)
    lap("strong keys and guards")
    db.run("identity.nodes view", "create or replace view int_identity__nodes as "
           "select rid as node from int_identity__records")
    db.run("identity.det_edges view", "create or replace view int_identity__det_edges as "
           "select rid_a as a, rid_b as b from int_identity__det_links")
    connected_components(db, "int_identity__nodes", "int_identity__det_edges", "int_identity__det_clusters")
    lap("deterministic clusters")
    if identity.probabilistic.enabled:
        fs = link_probabilistically(db, identity, stored_model)
    else:
        fs = no_probabilistic_links(db)
    lap("probabilistic model")
    lap.seconds |= {f"  splink {phase}": s for phase, s in fs["seconds"].items()}  # its parts
    build(db, "int_identity__links")
    db.run("identity.all_edges view", "create or replace view int_identity__all_edges as "
           "select rid_a as a, rid_b as b from int_identity__links")
    # every deterministic link is among the final links: the deterministic clusters are merged, not recomputed
    components = merge_components(db, "int_identity__det_clusters", "int_identity__all_edges", "int_identity__clusters")
    clerical = apply_labels(db)  # checked against the model's clusters, then applied
    if clerical["must_links"] or clerical["links_cut"]:
        components = connected_components(db, "int_identity__nodes", "int_identity__all_edges", "int_identity__clusters")
    warnings = fs["warnings"] + short_of_expected(db, fs["expected_matching_pairs"],
                                                  identity.probabilistic.min_expected_share)
    lap("final clusters")
    return {
        "identity_records": db.count("int_identity__records"),
        "clusters": db.scalar("identity.clusters", "select count(distinct label) from int_identity__clusters"),
        "guards_fired": db.count("identity_guards"),
        "deterministic_links": db.count("int_identity__det_links"),
        "probabilistic_links": fs["probabilistic_links"],
        "candidate_pairs": fs["candidate_pairs"],
        "possible_matches": fs["possible_matches"],
        "held_by_household_rule": fs["held_by_household_rule"],
        "warnings": warnings,
        "model": fs["model"],
        "model_reused": fs["model_reused"],
        "clerical": clerical,
        "components": components,
        "seconds": lap.seconds,
    }


def build_customer_identities(db: Database, key_types: list[str]) -> None:
    """`customer_identities` (one row per record, with its customer and how it was linked) and the
    key -> customer lookup the models use, from the assigned ids; `key_types`: identity.keys, in priority order."""
    build(db, "customer_identities", {"key_types": key_types})
    build(db, "int_identity__key_customers")


def resolve_customers(db: Database, identity: IdentityConfig, run_id: str, has_previous: bool = False,
                      stored_model: dict | None = None) -> dict:
    """The whole identity path: resolve, assign stable ids (from `prev_identities` / `prev_id_map` when
    `has_previous`), build customer_identities. Returns resolution counts plus `changes` (id events)."""
    counts = resolve_identities(db, identity, stored_model)
    clock = time.perf_counter()
    changes = assign_customer_ids(db, run_id, has_previous)
    build_customer_identities(db, identity.keys)
    counts["seconds"]["stable ids"] = round(time.perf_counter() - clock, 2)
    return counts | {"customers": changes["customers"], "changes": changes}
