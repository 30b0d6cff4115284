"""Deterministic identity resolution on hand-made records and seeded random graphs."""

from __future__ import annotations

import hashlib
import random

import pytest

from connectors.config import IdentityConfig
from tests.helpers import kinds_connection, rows
from transforms.identity import resolve_identities


def cust(system, entity, rid, **kw):
    return {"_source_system": system, "_source_entity": entity, "record_id": rid, **kw}


def web(device, login, n):
    return {"_source_system": "analytics", "_source_entity": "events", "event_id": f"{device}-{n}",
            "device_id": device, "login_id": login, "event_type": "login", "channel": "web"}


@pytest.fixture
def resolved():
    con = kinds_connection({
        "customers": [
            cust("crm", "contacts", "C1", email=" Mei@X.tw ", phone="0912-345-678"),
            cust("shop", "customers", "U1", email="mei@x.tw", login_id="U1"),
            cust("pos", "members", "L1", loyalty_id="L1", phone="+886 912 345 678"),
            *[cust("marketing", "subscribers", f"S{i}", email="info@corp.tw") for i in range(1, 5)],
        ],
        "tickets": [
            {"_source_system": "support", "_source_entity": "tickets", "record_id": "T1", "email": "test@test.com"},
            {"_source_system": "support", "_source_entity": "tickets", "record_id": "T2", "loyalty_id": "l1"},
        ],
        "web_events": [web("d1", "U1", 1), web("d1", None, 2), web("d2", "U1", 1), web("d2", "U2", 2)],
    }, identity=IdentityConfig(max_records_per_key=3), regions={"crm": "TW", "pos": "TW"})
    counts = resolve_identities(con, IdentityConfig(max_records_per_key=3))
    return con, counts


def test_records_link_through_normalised_keys_and_say_how(resolved):
    con, counts = resolved
    iterations = counts.pop("iterations")
    assert counts == {"identity_records": 11, "customers": 7, "guards_fired": 1}
    assert 2 <= iterations <= 5
    got = rows(con, "select system, record_id, link_rule, link_keys from customer_identities "
                    "where customer_records > 1 order by system, record_id")
    assert got == [
        ("analytics", "d1", "deterministic", ["login_id"]),
        ("crm", "C1", "deterministic", ["email", "phone"]),
        ("pos", "L1", "deterministic", ["loyalty_id", "phone"]),
        ("shop", "U1", "deterministic", ["email", "login_id"]),
        ("support", "T2", "deterministic", ["loyalty_id"]),
    ]
    assert rows(con, "select count(distinct customer_id) from customer_identities where customer_records > 1") == [(1,)]


def test_customer_id_is_derived_from_the_first_record_of_the_customer(resolved):
    con, _ = resolved
    expected = "C" + hashlib.md5(b"analytics|devices|d1").hexdigest()[:16].upper()
    assert rows(con, "select distinct customer_id from customer_identities where record_id = 'C1'") == [(expected,)]


def test_guards_shared_devices_and_placeholders_keep_records_apart(resolved):
    con, _ = resolved
    # a device on which two accounts signed in, a placeholder email and an over-shared inbox link nothing
    assert rows(con, "select record_id, link_rule, customer_records from customer_identities "
                     "where record_id in ('d2', 'T1', 'S1', 'S4') order by record_id") == [
        ("S1", "unlinked", 1), ("S4", "unlinked", 1), ("T1", "unlinked", 1), ("d2", "unlinked", 1)]
    # what each record carries as identifiers once placeholders and guarded values are set aside
    assert rows(con, "select record_id, identifier_types from customer_identities "
                     "where record_id in ('C1', 'd2', 'T1', 'T2', 'S1') order by record_id") == [
        ("C1", ["email", "phone"]), ("S1", []), ("T1", []), ("T2", ["loyalty_id"]), ("d2", [])]
    (guard,) = rows(con, "select key_type, value_hash, records, reason from identity_guards")
    assert guard[0] == "email" and guard[2] == 4 and "info@corp.tw" not in guard[1] and len(guard[1]) == 32
    assert guard[3] == "shared by more records than max_records_per_key (3)"


def _reference_clusters(n: int, keys: list[tuple[int, str]]) -> set[frozenset[int]]:
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[str, int] = {}
    for rid, key in keys:
        if key in first:
            parent[find(rid)] = find(first[key])
        else:
            first[key] = rid
    groups: dict[int, set[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), set()).add(i)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_clustering_matches_a_reference_union_find_on_random_graphs(seed):
    rng = random.Random(seed)
    n = 300
    keys = []
    records = []
    for i in range(n):
        emails = {f"p{rng.randrange(200)}@x.tw" for _ in range(rng.choice([0, 1, 1, 2]))}
        loyalty = f"L{rng.randrange(150)}" if rng.random() < 0.5 else None
        records.append(cust("crm", "contacts", f"R{i:04d}", loyalty_id=loyalty,
                            email=sorted(emails)[0] if emails else None))
        keys += [(i, f"e:{e}") for e in sorted(emails)[:1]] + ([(i, f"l:{loyalty.upper()}")] if loyalty else [])
    con = kinds_connection({"customers": records})
    resolve_identities(con, IdentityConfig(max_records_per_key=1000))
    got: dict[str, set[int]] = {}
    for cid, rid in rows(con, "select customer_id, record_id from customer_identities"):
        got.setdefault(cid, set()).add(int(rid[1:]))
    assert {frozenset(g) for g in got.values()} == _reference_clusters(n, keys)


def test_pairwise_evaluation_counts_record_pairs():
    import duckdb

    from transforms.evaluate import evaluate_identity

    con = duckdb.connect()
    con.execute("create table customer_identities as select * from (values "
                "('K1', 'crm', 'contacts', 'r1'), ('K1', 'shop', 'customers', 'r2'), "
                "('K2', 'pos', 'members', 'r3'), ('K2', 'support', 'tickets', 'r4')) "
                "as t(customer_id, system, entity, record_id)")
    con.execute("create table truth as select * from (values "
                "('crm', 'contacts', 'r1', 'A'), ('shop', 'customers', 'r2', 'A'), ('pos', 'members', 'r3', 'A'), "
                "('support', 'tickets', 'r4', 'B'), ('marketing', 'subscribers', 'r5', 'B')) "
                "as t(system, entity, record_id, person_id)")
    scores = evaluate_identity(con)
    # predicted pairs (r1,r2) (r3,r4); true pairs among the records present: (r1,r2) (r1,r3) (r2,r3)
    assert {k: scores[k] for k in ("records", "truth_records", "true_positive_pairs", "predicted_pairs",
                                   "true_pairs")} == {"records": 4, "truth_records": 5, "true_positive_pairs": 1,
                                                      "predicted_pairs": 2, "true_pairs": 3}
    assert (scores["precision"], scores["recall"]) == (0.5, pytest.approx(1 / 3))
    assert scores["f1"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
