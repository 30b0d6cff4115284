"""Identity resolution on hand-made records: strong keys and their guards, households, fuzzy links,
clustering against networkx, stable ids across runs, and the evaluation scores."""

from __future__ import annotations

import hashlib
import json
import random

import pytest
from pydantic import ValidationError

from connectors.config import SourceConfig
from transforms.config import IdentityConfig, Identifier, ProbabilisticConfig as SplinkConfig
from tests.helpers import kinds_connection, rows
from transforms.identity import resolve_customers
from transforms.identity.records import build_records
from transforms.identity.splink import prepare_input_sql


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
    counts = resolve_customers(con, IdentityConfig(max_records_per_key=3), "r1")
    return con, counts


def test_records_link_through_normalised_keys_and_say_how(resolved):
    con, counts = resolved
    assert {k: counts[k] for k in ("identity_records", "customers", "guards_fired", "deterministic_links",
                                   "probabilistic_links")} == {
        "identity_records": 11, "customers": 7, "guards_fired": 1, "deterministic_links": 4, "probabilistic_links": 0}
    assert counts["changes"]["new"] == 7
    # link_keys: the identifier types of the record's links, highest priority first (login, loyalty, email, phone)
    got = rows(con, "select system, record_id, link_rule, link_keys, identifier_type from customer_identities "
                    "where customer_records > 1 order by system, record_id")
    assert got == [
        ("analytics", "d1", "deterministic", ["login_id"], "login_id"),
        ("crm", "C1", "deterministic", ["email", "phone"], "email"),
        ("pos", "L1", "deterministic", ["loyalty_id", "phone"], "loyalty_id"),
        ("shop", "U1", "deterministic", ["login_id", "email"], "login_id"),
        ("support", "T2", "deterministic", ["loyalty_id"], "loyalty_id"),
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


def _random_graph(seed: int, n: int, low: int, high: int) -> tuple[random.Random, list[tuple[int, int]]]:
    """Seeded random edges over n nodes, plus a long chain (label propagation needs many hops)."""
    rng = random.Random(seed)
    edges = {tuple(sorted(rng.sample(range(n), 2))) for _ in range(rng.randrange(low, high))}
    chain = list(range(0, 60, 3))
    return rng, sorted(edges | set(zip(chain, chain[1:])))


def _assert_networkx_components(con, n: int, edges: list[tuple[int, int]]) -> None:
    """Table `clusters` (node, label) holds networkx's connected components, each labelled by its smallest node."""
    import networkx as nx

    got: dict[int, set[int]] = {}
    for node, label in rows(con, "select node, label from clusters"):
        got.setdefault(label, set()).add(node)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    assert {frozenset(g) for g in got.values()} == {frozenset(c) for c in nx.connected_components(graph)}
    assert all(label == min(members) for label, members in got.items())
    assert sum(len(g) for g in got.values()) == n


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_clustering_matches_networkx_on_seeded_random_graphs(seed):
    import duckdb

    from flows.db import Database

    from transforms.identity import connected_components

    n = 400
    _, edges = _random_graph(seed, n, 150, 450)
    con = Database(duckdb.connect())
    con.run("nodes", "create table nodes as select range as node from range($n)", {"n": n})
    con.run("edges", "create table edges (a bigint, b bigint)")
    con.run_many("edges rows", "insert into edges values (?, ?)", edges)
    connected_components(con, "nodes", "edges", "clusters")
    _assert_networkx_components(con, n, edges)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_merging_components_over_more_edges_matches_networkx(seed):
    """The final clusters merge the deterministic ones (a partition connected by a subset of the edges):
    the same components and labels as clustering every node over every edge."""
    import duckdb

    from flows.db import Database

    from transforms.identity.clusters import connected_components, merge_components

    n = 300
    rng, edges = _random_graph(seed, n, 100, 300)
    first = [e for e in edges if rng.random() < 0.5]  # the deterministic links: a subset of the final ones
    con = Database(duckdb.connect())
    con.run("nodes", "create table nodes as select range as node from range($n)", {"n": n})
    for table, pairs in (("first_edges", first), ("edges", edges)):
        con.run(table, f"create table {table} (a bigint, b bigint)")
        con.run_many(table + " rows", f"insert into {table} values (?, ?)", pairs)
    connected_components(con, "nodes", "first_edges", "base")
    merge_components(con, "base", "edges", "clusters")
    _assert_networkx_components(con, n, edges)


def test_evaluation_scores_pairs_and_b_cubed_per_scope(resolved):
    from transforms.identity import evaluate_identity

    con, _ = resolved
    # truth: person A owns C1, U1, L1, T2, d1 and d2 (d2 is A's shared tablet); B the four subscribers; C ticket T1
    truth = [("crm", "contacts", "C1", "A"), ("shop", "customers", "U1", "A"), ("pos", "members", "L1", "A"),
             ("support", "tickets", "T2", "A"), ("analytics", "devices", "d1", "A"), ("analytics", "devices", "d2", "A"),
             *[("marketing", "subscribers", f"S{i}", "B") for i in range(1, 5)], ("support", "tickets", "T1", "C")]
    con.run("truth", "create table truth (system varchar, entity varchar, record_id varchar, person_id varchar)")
    con.run_many("truth rows", "insert into truth values (?, ?, ?, ?)", truth)
    scores = evaluate_identity(con, IdentityConfig(max_records_per_key=3))
    every = scores["scopes"]["all"]
    # predicted: the 5-record customer (10 pairs, all A's); true pairs: A 6 records -> 15, B 4 -> 6
    assert (every["records"], every["true_positive_pairs"], every["predicted_pairs"], every["true_pairs"]) == (11, 10, 10, 21)
    assert (every["precision"], every["recall"]) == (1.0, pytest.approx(10 / 21))
    # B-cubed recall: five A records find 5 of 6, d2 finds 1 of 6, each subscriber 1 of 4, T1 1 of 1
    assert every["bcubed_precision"] == 1.0
    assert every["bcubed_recall"] == pytest.approx((5 * 5 / 6 + 1 / 6 + 4 * 1 / 4 + 1) / 11)
    # identifiable: d2 (two accounts) and T1 (placeholder email) carry nothing that identifies anyone
    ident = scores["scopes"]["identifiable"]
    assert ident["records"] == 9 and ident["true_pairs"] == 21
    assert ident["bcubed_recall"] == pytest.approx((5 * 5 / 6 + 4 * 1 / 4) / 9)
    assert scores["scopes"]["fuzzy_linkable"]["records"] == 0
    assert scores["precision"] == every["precision"] and scores["truth_records"] == 11


def test_postcode_key_length_is_per_source_else_the_identity_setting():
    # crm cuts its postcodes' area key at 5 characters, pos at 2; shop has no setting of its own and takes
    # identity.probabilistic.postcode_key_length (4 here)
    identity = IdentityConfig(probabilistic={"postcode_key_length": 4})
    con = kinds_connection({"customers": [
        cust("crm", "contacts", "C1", postcode="114-0023"),
        cust("shop", "customers", "U1", postcode="114-0023"),
        cust("pos", "members", "L1", postcode="114-0023"),
    ]}, identity=identity, postcode_keys={("crm", "contacts"): 5, ("pos", "members"): 2})
    build_records(con, identity.probabilistic.postcode_key_length)
    keys = rows(con, "select system, postcode_norm, postcode_key from int_identity__records order by system")
    assert keys == [("crm", "1140023", "11400"), ("pos", "1140023", "11"), ("shop", "1140023", "1140")]
    # the probabilistic model blocks and compares on the record's own key, not a global cut
    con._con.execute("create table pc_input as select rid, postcode_norm as postcode, postcode_key "
                     "from int_identity__records")
    con._con.execute("create table pc_prepared_nicknames (nickname varchar, formal varchar)")
    present = {"rid", "postcode", "postcode_key"}
    con._con.execute(prepare_input_sql("pc_input", present, SplinkConfig(postcode_key_length=4), "pc_prepared"))
    assert con._con.execute("select postcode_key from pc_prepared order by unique_id").fetchall() == [
        ("11400",), ("11",), ("1140",)]


def test_postcode_key_length_of_a_source_is_optional_and_checked():
    base = {"system": "crm", "entity": "contacts", "kind": "customers", "format": "csv", "path": "c.csv",
            "columns": {"record_id": "id"}}
    assert SourceConfig(**base).postcode_key_length is None  # old configs: the identity setting
    assert SourceConfig(**base, postcode_key_length=5).postcode_key_length == 5
    with pytest.raises(ValidationError, match="postcode_key_length"):
        SourceConfig(**base, postcode_key_length=0)


def test_source_mapped_identifiers_reach_the_records_and_the_model_input():
    con = kinds_connection({"customers": [
        cust("crm", "contacts", "C1", identifiers='{"national_id": "a123-456 789"}'),
        cust("shop", "customers", "U1", identifiers='{"member_no": "M7"}'),
        cust("pos", "members", "L1"),
    ]})
    build_records(con)
    # normalised once, in the records (upper case; spaces, dots, dashes and slashes removed): the strong keys
    # and the model read these values
    assert [(json.loads(v) if v else v) for (v,) in con._con.execute(
        "select identifiers_norm from int_identity__records order by rid").fetchall()] == [
        {"national_id": "A123456789"}, None, {"member_no": "M7"}]
    con._con.execute("create table ids_prepared_nicknames (nickname varchar, formal varchar)")
    config = SplinkConfig(identifiers=[Identifier(name="national_id"), Identifier(name="member_no")])
    con._con.execute(prepare_input_sql("int_identity__records", {"rid", "identifiers_norm"}, config, "ids_prepared"),
                     {"postcode_key_length": 3})
    assert con._con.execute("select id_national_id, id_member_no from ids_prepared order by unique_id").fetchall() == [
        ("A123456789", None), (None, None), (None, "M7")]  # crm, pos, shop (rid by system)


def test_a_mapped_identifier_listed_in_keys_is_a_strong_key_with_the_guards():
    # national_id mapped by crm and shop; listed in identity.keys it links deterministically (spaces and case
    # do not matter); 000000000 (one repeated character) is a placeholder, never a key
    identity = IdentityConfig(keys=["national_id", "email"], probabilistic={"enabled": False})
    con = kinds_connection({"customers": [
        cust("crm", "contacts", "C1", identifiers='{"national_id": "a123 456 789"}'),
        cust("shop", "customers", "U1", identifiers='{"national_id": "A123456789", "member_no": "M7"}'),
        cust("crm", "contacts", "C2", identifiers='{"national_id": "000000000"}'),
        cust("shop", "customers", "U2", identifiers='{"national_id": "000-000-000"}'),
    ]}, identity=identity)
    resolve_customers(con, identity, "r1")
    assert rows(con, "select system, record_id, link_keys, identifier_type from customer_identities "
                     "where customer_records > 1 order by system, record_id") == [
        ("crm", "C1", ["national_id"], "national_id"), ("shop", "U1", ["national_id"], "national_id")]
    with pytest.raises(ValidationError, match="keys"):
        IdentityConfig(keys=["National ID"])


def test_an_identifier_no_source_maps_is_a_config_error():
    from flows.config import PipelineConfig

    source = {"system": "crm", "entity": "contacts", "kind": "customers", "format": "csv", "path": "c.csv",
              "columns": {"record_id": "id"}, "identifiers": {"national_id": "SSN"}}
    assert PipelineConfig(sources=[source], identity={"keys": ["national_id", "email"]}).identity.keys == [
        "national_id", "email"]
    with pytest.raises(ValidationError, match=r"identifiers \['nationalid'\] are not mapped by any source"):
        PipelineConfig(sources=[source], identity={"keys": ["nationalid"]})
    with pytest.raises(ValidationError, match=r"identifiers \['tax_id'\] are not mapped"):
        PipelineConfig(sources=[source], identity={"probabilistic": {"identifiers": [{"name": "tax_id"}]}})
