"""Every metric SQL file on tiny hand-made datasets, run through the real path
(kind tables -> identity resolution -> models -> metrics). Expected rows are worked out by hand from
each metric's definition (the header comment of its SQL file) and written literally."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timezone

import pytest

from flows.config import load_config
from transforms.config import IdentityConfig
from tests.conftest import REPO
from tests.helpers import kinds_connection, rows
from transforms.identity import resolve_customers
from transforms.model import build_metrics, build_models, metric_definitions, metric_names

PARAMS = {
    "run_id": "20261130T000000000000Z",
    "as_of_date": "2026-11-30",
    "business_tz": "Asia/Taipei",
    "case_window_days": 7,
    "repeat_contact_days": 7,
    "lookback_days": 30,
    "feedback_days": 30,
    "complaint_topics": ["delivery", "return", "defect", "billing"],
    "complete_360_systems": ["crm", "shop", "pos"],
    "integrated_min_share": 0.5,
}
METRICS = {
    "integration": {"customers_by_system_count", "linked_to_other_system_share", "system_overlap",
                    "system_records", "linked_share", "no_identifier_share", "freshness_days",
                    "complete_360_share", "systems_integrated_share"},
    "consistency": {"policy_conflict", "policy_conflict_share", "policy_conflict_contacts",
                    "price_mismatch_sku_share", "price_spread",
                    "promo_not_honoured_share", "repeat_contact_rate", "handoffs_per_case",
                    "reidentifications_per_case", "first_contact_resolution_rate", "hours_to_resolution",
                    "wait_minutes_per_case", "complaint_promo_share", "post_sale_feedback_share",
                    "contact_data_disagreement_share"},
}


# the repository's configured mapping (data/sources.yaml), as a run uses it
JOURNEY_STAGES = load_config(REPO / "data" / "sources.yaml").journey_stages


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def d(text: str) -> date:
    return date.fromisoformat(text)


def cust(system, entity, rid, **kw):
    return {"_source_system": system, "_source_entity": entity, "record_id": rid, **kw}


def ticket(rid, at, channel, sku, topic, **kw):
    return {"_source_system": "support", "_source_entity": "tickets", "record_id": rid, "created_at": utc(at),
            "channel": channel, "sku": sku, "topic": topic, **kw}


def web(device, login, n):
    return {"_source_system": "analytics", "_source_entity": "events", "event_id": f"{device}-{n}",
            "event_at": utc(f"2026-11-2{n}T08:00:00"), "device_id": device, "login_id": login,
            "event_type": "login", "channel": "web"}


def line(system, order_id, at, channel, sku, code=None, line_no=1, **kw):
    return {"_source_system": system, "_source_entity": "orders" if system == "shop" else "transactions",
            "order_id": order_id, "line_no": line_no, "ordered_at": utc(at), "channel": channel, "sku": sku,
            "quantity": 1, "unit_list_price": 100.0, "unit_price_paid": 90.0 if code else 100.0,
            "discount_code": code, "currency": "TWD", **kw}


def price(sku, channel, amount, valid_from, valid_to=None):
    return {"_source_system": "erp", "_source_entity": "prices", "sku": sku, "channel": channel, "price": amount,
            "currency": "TWD", "valid_from": d(valid_from), "valid_to": d(valid_to) if valid_to else None}


def policy(name, channel, value, valid_from=None):
    return {"_source_system": "erp", "_source_entity": "policies", "policy": name, "channel": channel,
            "value": value, "valid_from": d(valid_from) if valid_from else None}


def run(tables: dict, policy_topics: dict | None = None, **params):
    """The real path on `tables`; returns the connection holding `metrics`."""
    identity = IdentityConfig()
    con = kinds_connection(tables, identity=identity, regions={"crm": "TW", "shop": "TW", "pos": "TW"})
    for touchpoint_type, stage in JOURNEY_STAGES.items():
        con.run("journey_stages row", "insert into journey_stages values ($t, $s)", {"t": touchpoint_type, "s": stage})
    for policy_name, topic in (policy_topics or {}).items():
        con.run("policy_topics row", "insert into policy_topics values ($p, $t)", {"p": policy_name, "t": topic})
    resolve_customers(con, identity, "test-run")
    p = PARAMS | params
    build_models(con, p)
    build_metrics(con, p)
    return con


def metric(con, name: str) -> list[tuple]:
    """(metric_date, dimension, numerator, denominator, value, detail) rows of one metric, in a fixed order."""
    return rows(con, "select metric_date, dimension, numerator, denominator, value, detail from metrics "
                     "where metric = $m order by metric_date nulls first, dimension", {"m": name})


def assert_rows(got: list[tuple], expected: list[tuple]) -> None:
    assert [r[:4] + r[5:] for r in got] == [r[:4] + r[5:] for r in expected]
    for g, e in zip(got, expected):
        assert g[4] == (None if e[4] is None else pytest.approx(e[4], rel=1e-12)), g


# ------------------------------------------------------------------------------------ integration
@pytest.fixture(scope="module")
def integration():
    # customer A: crm C1 + shop U1 (email) + analytics d1 (login U1)  -> 3 systems
    # customer B: shop U2 + shop U3 (email), linked within one system  -> 1 system, 2 records
    # customer C: pos L1 + support T1 (loyalty id, case/space differs) -> 2 systems
    # customer D: crm C2 alone; customer E: analytics d2 (no login)    -> 1 system each
    return run({
        "customers": [
            cust("crm", "contacts", "C1", email="Ann@A.tw "),
            cust("crm", "contacts", "C2", phone="0912-345-678"),
            cust("shop", "customers", "U1", email="ann@a.tw", login_id="U1"),
            cust("shop", "customers", "U2", email="bo@b.tw", login_id="U2"),
            cust("shop", "customers", "U3", email="BO@b.tw", login_id="U3"),
            cust("pos", "members", "L1", loyalty_id="L1"),
        ],
        "tickets": [ticket("T1", "2026-11-01T10:00:00", "phone", None, "other", loyalty_id=" l1")],
        "web_events": [web("d1", "U1", 1), web("d1", None, 2), web("d2", None, 3)],
    })


def test_customers_by_system_count(integration):
    # 5 customers: B, D, E in one system; C in two; A in three
    assert_rows(metric(integration, "customers_by_system_count"), [
        (None, "1", 3, 5, 3 / 5, None),
        (None, "2", 1, 5, 1 / 5, None),
        (None, "3", 1, 5, 1 / 5, None),
    ])


def test_linked_to_other_system_share_counts_only_links_across_systems(integration):
    # shop: U1 is linked to crm/analytics; U2-U3 are linked only to each other (same system) -> 1 of 3
    assert_rows(metric(integration, "linked_to_other_system_share"), [
        (None, "all", 5, 9, 5 / 9, None),
        (None, "analytics", 1, 2, 1 / 2, None),
        (None, "crm", 1, 2, 1 / 2, None),
        (None, "pos", 1, 1, 1.0, None),
        (None, "shop", 1, 3, 1 / 3, None),
        (None, "support", 1, 1, 1.0, None),
    ])


def test_system_overlap_is_every_ordered_pair_read_by_row(integration):
    # customers per system: analytics {A, E}, crm {A, D}, pos {C}, shop {A, B}, support {C}
    assert_rows(metric(integration, "system_overlap"), [
        (None, "analytics|crm", 1, 2, 1 / 2, None),
        (None, "analytics|pos", 0, 2, 0.0, None),
        (None, "analytics|shop", 1, 2, 1 / 2, None),
        (None, "analytics|support", 0, 2, 0.0, None),
        (None, "crm|analytics", 1, 2, 1 / 2, None),
        (None, "crm|pos", 0, 2, 0.0, None),
        (None, "crm|shop", 1, 2, 1 / 2, None),
        (None, "crm|support", 0, 2, 0.0, None),
        (None, "pos|analytics", 0, 1, 0.0, None),
        (None, "pos|crm", 0, 1, 0.0, None),
        (None, "pos|shop", 0, 1, 0.0, None),
        (None, "pos|support", 1, 1, 1.0, None),
        (None, "shop|analytics", 1, 2, 1 / 2, None),
        (None, "shop|crm", 1, 2, 1 / 2, None),
        (None, "shop|pos", 0, 2, 0.0, None),
        (None, "shop|support", 0, 2, 0.0, None),
        (None, "support|analytics", 0, 1, 0.0, None),
        (None, "support|crm", 0, 1, 0.0, None),
        (None, "support|pos", 1, 1, 1.0, None),
        (None, "support|shop", 0, 1, 0.0, None),
    ])


def test_records_linked_and_unidentifiable_per_system(integration):
    # records: analytics d1 (A), d2 (E, no login); crm C1 (A), C2 (D); pos L1 (C); shop U1 (A), U2, U3 (B);
    # support T1 (C). Linked = the customer has another record: all but C2 and d2.
    assert_rows(metric(integration, "system_records"), [
        (None, "all", 9, 9, 1.0, None),
        (None, "analytics", 2, 9, 2 / 9, None),
        (None, "crm", 2, 9, 2 / 9, None),
        (None, "pos", 1, 9, 1 / 9, None),
        (None, "shop", 3, 9, 3 / 9, None),
        (None, "support", 1, 9, 1 / 9, None),
    ])
    assert_rows(metric(integration, "linked_share"), [
        (None, "all", 7, 9, 7 / 9, None),
        (None, "analytics", 1, 2, 1 / 2, None),
        (None, "crm", 1, 2, 1 / 2, None),
        (None, "pos", 1, 1, 1.0, None),
        (None, "shop", 3, 3, 1.0, None),
        (None, "support", 1, 1, 1.0, None),
    ])
    # only device d2 (never signed in) carries no identifier
    assert_rows(metric(integration, "no_identifier_share"), [
        (None, "all", 1, 9, 1 / 9, None),
        (None, "analytics", 1, 2, 1 / 2, None),
        (None, "crm", 0, 2, 0.0, None),
        (None, "pos", 0, 1, 0.0, None),
        (None, "shop", 0, 3, 0.0, None),
        (None, "support", 0, 1, 0.0, None),
    ])


def test_complete_360_and_systems_integrated(integration):
    # 360 = crm + shop + pos (PARAMS): nobody is in all three; A, B, C, D carry an identifier, E does not
    assert_rows(metric(integration, "complete_360_share"), [(None, "all", 0, 4, 0.0, "crm, pos, shop")])
    # linked-to-other-system shares: analytics 1/2, crm 1/2, pos 1/1, shop 1/3, support 1/1; min 0.5
    assert_rows(metric(integration, "systems_integrated_share"), [
        (None, "all", 4, 5, 4 / 5, "analytics, crm, pos, support")])
    con = run({"customers": [cust("crm", "contacts", "C1", email="a@a.tw"),
                             cust("shop", "customers", "U1", email="a@a.tw", login_id="U1"),
                             cust("pos", "members", "L1", email="a@a.tw", loyalty_id="L1"),
                             cust("pos", "members", "L2", loyalty_id="L2")]},
              complete_360_systems=["crm", "shop", "pos"], integrated_min_share=0.6)
    assert_rows(metric(con, "complete_360_share"), [(None, "all", 1, 2, 1 / 2, "crm, pos, shop")])
    # pos: 1 of 2 records linked to another system, below 0.6
    assert_rows(metric(con, "systems_integrated_share"), [(None, "all", 2, 3, 2 / 3, "crm, shop")])


def test_freshness_is_the_age_of_the_newest_record_per_system(integration):
    # as of 2026-11-30 (Taipei): analytics' newest event 2026-11-23 08:00 UTC, support's ticket 2026-11-01;
    # crm, shop and pos records carry no timestamp here -> no row
    assert_rows(metric(integration, "freshness_days"), [
        (None, "analytics", 7, 1, 7.0, "2026-11-23"),
        (None, "support", 29, 1, 29.0, "2026-11-01"),
    ])


# ------------------------------------------------------------------------------------------ prices
@pytest.fixture(scope="module")
def prices():
    # window: the 3 days 2026-11-28 .. 2026-11-30 (as-of date 2026-11-30, lookback 3)
    return run({"prices": [
        # A: web drops from 100 to 90 on 11-29 (valid_to 11-28 / valid_from 11-29 both inclusive)
        price("SKU-A", "web", 100, "2026-11-01", "2026-11-28"),
        price("SKU-A", "web", 90, "2026-11-29"),
        price("SKU-A", "store", 100, "2026-11-01"),
        # B: web 50 up to and including 11-28, then 60 like the store -> differs on 11-28 only
        price("SKU-B", "web", 50, "2026-11-20", "2026-11-28"),
        price("SKU-B", "web", 60, "2026-11-29"),
        price("SKU-B", "store", 60, "2026-11-01"),
        # C: sold in one channel only (a future store price is not active yet) -> never a mismatch
        price("SKU-C", "web", 30, "2026-11-01"),
        price("SKU-C", "store", 99, "2026-12-01"),
        # D: the web price ended before the window -> only the store price is active
        price("SKU-D", "web", 10, "2026-11-01", "2026-11-20"),
        price("SKU-D", "store", 12, "2026-11-01"),
        # E: an open-ended web price superseded by a newer version from 11-30 (the newest wins)
        price("SKU-E", "web", 20, "2026-11-01"),
        price("SKU-E", "web", 25, "2026-11-30"),
        price("SKU-E", "android", 25, "2026-11-01"),
        # F: differs, but only before the window -> not counted at all
        price("SKU-F", "web", 5, "2026-11-01", "2026-11-10"),
        price("SKU-F", "store", 6, "2026-11-01", "2026-11-10"),
    ]}, lookback_days=3)


def test_price_mismatch_share_per_day_and_over_the_window(prices):
    # 11-28: B (50/60) and E (20/25) differ; 11-29: A (90/100) and E; 11-30: A only. Priced: A-E each day.
    # Window: A, B and E differed on at least one day, of the 5 SKUs priced -> 3/5 (not the mean of days).
    assert_rows(metric(prices, "price_mismatch_sku_share"), [
        (None, "all", 3, 5, 3 / 5, "SKU-A, SKU-B, SKU-E"),
        (d("2026-11-28"), "all", 2, 5, 2 / 5, None),
        (d("2026-11-29"), "all", 2, 5, 2 / 5, None),
        (d("2026-11-30"), "all", 1, 5, 1 / 5, None),
    ])


def test_price_spread_lists_only_differing_skus_per_day(prices):
    assert_rows(metric(prices, "price_spread"), [
        (d("2026-11-28"), "SKU-B", 10, 50, 10 / 50, "store=60.00, web=50.00"),
        (d("2026-11-28"), "SKU-E", 5, 20, 5 / 20, "android=25.00, web=20.00"),
        (d("2026-11-29"), "SKU-A", 10, 90, 10 / 90, "store=100.00, web=90.00"),
        (d("2026-11-29"), "SKU-E", 5, 20, 5 / 20, "android=25.00, web=20.00"),
        (d("2026-11-30"), "SKU-A", 10, 90, 10 / 90, "store=100.00, web=90.00"),
    ])


def test_price_window_is_lookback_days_ending_on_the_as_of_date():
    con = run({"prices": [price("SKU-A", "web", 100, "2026-11-01"), price("SKU-A", "store", 90, "2026-11-01")]},
              as_of_date="2026-11-05", lookback_days=2)
    assert rows(con, "select metric_date, metric, numerator, denominator from metrics "
                     "where family = 'consistency' and metric_date is not null order by metric, metric_date") == [
        (d("2026-11-04"), "price_mismatch_sku_share", 1, 1),
        (d("2026-11-05"), "price_mismatch_sku_share", 1, 1),
        (d("2026-11-04"), "price_spread", 10, 90),
        (d("2026-11-05"), "price_spread", 10, 90),
    ]


# ------------------------------------------------------------------------------------------- promos
def sub(rid, email):
    return cust("marketing", "subscribers", rid, email=email)


_EVENT_ROWS = itertools.count(1)


def event(campaign, subscriber, event_type, at):
    # lineage as a real export has it: fct_touchpoints keeps one touchpoint per exported row
    return {"_source_system": "marketing", "_source_entity": "activity", "campaign_id": campaign,
            "subscriber_id": subscriber, "event_type": event_type, "event_at": utc(at),
            "_source_file": "marketing/activity.csv", "_row_number": next(_EVENT_ROWS)}


def campaign(cid, code, sku, channels, valid_from, valid_to):
    return {"_source_system": "marketing", "_source_entity": "campaigns", "campaign_id": cid, "promo_code": code,
            "sku": sku, "valid_channels": channels, "valid_from": d(valid_from), "valid_to": d(valid_to)}


@pytest.fixture(scope="module")
def promos():
    return run({
        # A = S1 + U1 + L1 (email), B = S2 + U2, C = S3 + U3 (only opened, never sent)
        "customers": [
            sub("S1", "ann@a.tw"), sub("S2", "bo@b.tw"), sub("S3", "cy@c.tw"),
            cust("shop", "customers", "U1", email="ann@a.tw", login_id="U1"),
            cust("shop", "customers", "U2", email="bo@b.tw", login_id="U2"),
            cust("shop", "customers", "U3", email="cy@c.tw", login_id="U3"),
            cust("pos", "members", "L1", email="ann@a.tw", loyalty_id="L1"),
        ],
        "campaigns": [
            campaign("K1", "SAVE10", "SKU-P", ["web", "ios"], "2026-11-10", "2026-11-20"),
            campaign("K2", "STORE5", "SKU-Q", ["store"], "2026-11-01", "2026-11-30"),
            # a newsletter code, not tied to a SKU: no metric rows of its own
            campaign("K3", "OTHER", None, ["web"], "2026-11-01", "2026-11-30"),
        ],
        "marketing_events": [
            event("K1", "S1", "sent", "2026-11-05T02:00:00"),
            event("K1", "S1", "open", "2026-11-05T03:00:00"),
            event("K1", "S1", "sent", "2026-11-15T02:00:00"),  # a resend: the first send counts
            event("K1", "S2", "sent", "2026-11-15T02:00:00"),
            event("K1", "S3", "open", "2026-11-05T02:00:00"),
            event("K2", "S1", "sent", "2026-11-01T00:00:00"),
            event("K3", "S2", "sent", "2026-11-01T00:00:00"),
        ],
        "order_lines": [
            line("shop", "O1", "2026-11-13T03:00:00", "web", "SKU-P", "SAVE10", login_id="U1"),  # K1 web honoured
            line("shop", "O1", "2026-11-13T03:00:00", "web", "SKU-Z", "SAVE10", 2, login_id="U1"),  # other SKU
            line("shop", "O2", "2026-11-14T03:00:00", "web", "SKU-P", login_id="U1"),  # K1 web not honoured
            line("shop", "O3", "2026-11-14T04:00:00", "ios", "SKU-P", "save10", login_id="U1"),  # K1 ios honoured
            line("shop", "O4", "2026-11-14T05:00:00", "android", "SKU-P", login_id="U1"),  # channel not valid
            line("shop", "O5", "2026-11-14T03:00:00", "web", "SKU-P", login_id="U2"),  # before B was sent K1
            line("shop", "O6", "2026-11-16T03:00:00", "web", "SKU-P", login_id="U2"),  # K1 web not honoured
            line("shop", "O7", "2026-11-17T03:00:00", "web", "SKU-P", "OTHER", login_id="U2"),  # wrong code
            line("shop", "O8", "2026-11-20T17:00:00", "web", "SKU-P", login_id="U1"),  # 11-21 01:00 Taipei: after
            line("shop", "O9", "2026-11-09T15:30:00", "web", "SKU-P", login_id="U1"),  # 11-09 23:30 Taipei: before
            line("shop", "O10", "2026-11-09T16:30:00", "web", "SKU-P", "SAVE10", login_id="U1"),  # 11-10 00:30: in
            line("shop", "O11", "2026-11-14T03:00:00", "web", "SKU-P", login_id="U3"),  # C never sent K1
            line("shop", "O12", "2026-11-14T03:00:00", "web", "SKU-P"),  # anonymous
            line("shop", "O13", "2026-11-20T15:00:00", "web", "SKU-P", login_id="U1"),  # 11-20 23:00: last day, not honoured
            line("pos", "P1", "2026-11-10T02:00:00", "store", "SKU-Q", "STORE5", loyalty_id="L1"),  # K2 honoured
            line("pos", "P2", "2026-11-11T02:00:00", "store", "SKU-Q", loyalty_id="L1"),  # K2 not honoured
            line("pos", "P3", "2026-11-11T02:00:00", "store", "SKU-Q", loyalty_id="L9"),  # unknown card
            line("pos", "P4", "2026-11-12T02:00:00", "store", "SKU-P", loyalty_id="L1"),  # K1 not valid in store
        ],
    })


def test_promo_not_honoured_counts_eligible_lines_per_campaign_and_channel(promos):
    # K1 web eligible: O1 (code), O2, O6, O7 (another campaign's code), O10 (code), O13 -> 4 of 6 not honoured
    assert_rows(metric(promos, "promo_not_honoured_share"), [
        (None, "K1|ios", 0, 1, 0.0, None),
        (None, "K1|web", 4, 6, 4 / 6, None),
        (None, "K2|store", 1, 2, 1 / 2, None),
    ])


def test_promo_code_shared_by_two_campaigns_is_honoured_for_both():
    # one code, one campaign per SKU (a campaign names a single SKU): using it on either SKU honours that campaign
    con = run({
        "customers": [sub("S1", "ann@a.tw"), cust("shop", "customers", "U1", email="ann@a.tw", login_id="U1")],
        "campaigns": [campaign("K1", "BF", "SKU-P", ["web"], "2026-11-27", "2026-11-30"),
                      campaign("K4", "BF", "SKU-R", ["web"], "2026-11-27", "2026-11-30")],
        "marketing_events": [event("K1", "S1", "sent", "2026-11-26T00:00:00"),
                             event("K4", "S1", "sent", "2026-11-26T00:00:00")],
        "order_lines": [line("shop", "O1", "2026-11-28T03:00:00", "web", "SKU-P", "BF", login_id="U1"),
                        line("shop", "O1", "2026-11-28T03:00:00", "web", "SKU-R", "bf", 2, login_id="U1"),
                        line("shop", "O2", "2026-11-29T03:00:00", "web", "SKU-R", login_id="U1")],
    })
    assert_rows(metric(con, "promo_not_honoured_share"), [
        (None, "K1|web", 0, 1, 0.0, None),
        (None, "K4|web", 1, 2, 1 / 2, None),
    ])
    # fct_orders attributes the shared code to the campaign promoting the line's SKU
    assert rows(con, "select sku, promo_campaign_id from fct_orders order by order_id, line_no") == [
        ("SKU-P", "K1"), ("SKU-R", "K4"), ("SKU-R", None)]


def test_an_email_event_is_one_touchpoint_whoever_holds_its_subscriber_and_campaign_ids():
    """Subscriber id S1 is held by two records of the marketing system (two people): the event is the first
    entity's by name (contacts), as before. Campaign K1 is in two campaign exports with different SKUs: the
    touchpoint names none (a window over the events kept either row); K2, in both with the same SKU, names it."""
    con = run({
        "customers": [sub("S1", "ann@a.tw"), cust("marketing", "contacts", "S1", email="zed@z.tw")],
        "campaigns": [campaign("K1", "A", "SKU-P", ["web"], "2026-11-01", "2026-11-30"),
                      {**campaign("K1", "A", "SKU-Q", ["web"], "2026-11-01", "2026-11-30"), "_source_system": "ads"},
                      campaign("K2", "B", "SKU-R", ["web"], "2026-11-01", "2026-11-30"),
                      {**campaign("K2", "B", "SKU-R", ["web"], "2026-11-01", "2026-11-30"), "_source_system": "ads"}],
        "marketing_events": [event("K1", "S1", "sent", "2026-11-26T00:00:00"),
                             event("K2", "S1", "open", "2026-11-27T00:00:00")],
    })
    assert rows(con, "select t.reference_id, t.sku, i.entity from fct_touchpoints as t "
                     "join customer_identities as i using (customer_id) "
                     "where t.touchpoint_type like 'email_%' order by 1") == [
        ("K1", None, "contacts"), ("K2", "SKU-R", "contacts")]


# -------------------------------------------------------------------------------- repeat contacts
@pytest.fixture(scope="module")
def contacts():
    return run({
        "customers": [cust("crm", "contacts", "C1", email="ann@a.tw")],
        "tickets": [
            # customer A (C1 + T1..T6)
            ticket("T1", "2026-11-01T10:00:00", "phone", "SKU-P", "delivery", email="ann@a.tw"),
            ticket("T2", "2026-11-05T10:00:00", "chat", "SKU-P", "delivery", email="ann@a.tw"),  # 4 days: repeat
            ticket("T3", "2026-11-12T10:00:00", "email", "SKU-P", "delivery", email="ann@a.tw"),  # 7 days: repeat
            ticket("T4", "2026-11-19T10:00:01", "phone", "SKU-P", "delivery", email="ann@a.tw"),  # 7d 1s: not
            ticket("T5", "2026-11-06T10:00:00", "chat", "SKU-Q", "delivery", email="ann@a.tw"),  # other product
            ticket("T6", "2026-11-07T10:00:00", "phone", "SKU-P", "refund", email="ann@a.tw"),  # other topic
            # customer B, second contact by loyalty card only, in another channel
            ticket("T7", "2026-11-01T12:00:00", "phone", "SKU-P", "delivery", email="bo@b.tw", loyalty_id="L2"),
            ticket("T8", "2026-11-02T12:00:00", "chatbot", "SKU-P", "delivery", loyalty_id="l2"),  # repeat
            # customer Z: same product and topic a day after A's first contact, but another person
            ticket("T9", "2026-11-02T10:00:00", "chat", "SKU-P", "delivery", email="zed@z.tw"),
            # anonymous contacts (no identifier; a placeholder email is none): never in the rate
            ticket("T10", "2026-11-02T11:00:00", "phone", "SKU-P", "delivery"),
            ticket("T11", "2026-11-03T11:00:00", "phone", "SKU-P", "delivery", email="test@test.com"),
        ],
    })


def test_repeat_contact_rate_per_channel_and_overall(contacts):
    # repeats: T2 (chat), T3 (email, exactly 7 days), T8 (chatbot); T4 is 7 days + 1 s after T3
    assert_rows(metric(contacts, "repeat_contact_rate"), [
        (None, "all", 3, 9, 3 / 9, None),
        (None, "chat", 1, 3, 1 / 3, None),
        (None, "chatbot", 1, 1, 1.0, None),
        (None, "email", 1, 1, 1.0, None),
        (None, "phone", 0, 4, 0.0, None),
    ])


def test_repeat_contact_days_is_a_parameter():
    tickets = [ticket("T1", "2026-11-01T10:00:00", "phone", "SKU-P", "delivery", email="ann@a.tw"),
               ticket("T2", "2026-11-04T10:00:00", "phone", "SKU-P", "delivery", email="ann@a.tw")]
    assert metric(run({"tickets": tickets}, repeat_contact_days=3), "repeat_contact_rate")[0][1:4] == ("all", 1, 2)
    assert metric(run({"tickets": tickets}, repeat_contact_days=2), "repeat_contact_rate")[0][1:4] == ("all", 0, 2)


# ------------------------------------------------------------------------- cases and knowledge
TRANSFER = '{"from_agent": "A1", "to_agent": "A2", "at": "2026-11-01T10:05:00Z"}'


@pytest.fixture(scope="module")
def service():
    return run({
        "customers": [
            # A: crm + shop + marketing, phones differ between crm and shop
            cust("crm", "contacts", "C1", email="ann@a.tw", phone="0912-345-678"),
            cust("shop", "customers", "U1", email="ann@a.tw", phone="0987-654-321", login_id="U1"),
            sub("S1", "ann@a.tw"), sub("S2", "bo@b.tw"), sub("S3", "cy@c.tw"),
            # D: crm + pos linked by the loyalty card, emails differ
            cust("crm", "contacts", "C2", email="dee@d.tw", loyalty_id="L5"),
            cust("pos", "members", "M5", email="dee.other@d.tw", loyalty_id="L5"),
        ],
        "tickets": [
            # A, case 1 (SKU-P delivery): phone then chat, 2 transfers, resolved 50 h after the first contact
            ticket("T1", "2026-11-01T10:00:00", "phone", "SKU-P", "delivery", email="ann@a.tw", status="pending",
                   transfers=f"[{TRANSFER}, {TRANSFER}]", wait_seconds=120),
            ticket("T2", "2026-11-03T10:00:00", "chat", "SKU-P", "delivery", email="ann@a.tw", status="resolved",
                   resolved_at=utc("2026-11-03T12:00:00"), transfers="[]", wait_seconds=60, csat=4),
            # A, case 2 (SKU-Q return): one email contact, one transfer, closed after 6 h
            ticket("T3", "2026-11-10T09:00:00", "email", "SKU-Q", "return", email="ann@a.tw", status="closed",
                   resolved_at=utc("2026-11-10T15:00:00"), transfers=f"[{TRANSFER}]", wait_seconds=30),
            # B, case 3 (SKU-P defect): still open
            ticket("T4", "2026-11-02T08:00:00", "phone", "SKU-P", "defect", email="bo@b.tw", status="open",
                   wait_seconds=600),
            # B again, same channel: a re-identification without a hand-off
            ticket("T7", "2026-11-04T08:00:00", "phone", "SKU-P", "defect", email="bo@b.tw", status="open",
                   wait_seconds=0),
            # anonymous, case 4: resolved in 1.5 h at first contact
            ticket("T5", "2026-11-04T08:00:00", "chat", "SKU-R", "billing", status="resolved",
                   resolved_at=utc("2026-11-04T09:30:00")),
            # C: a question is not a complaint
            ticket("T6", "2026-11-05T08:00:00", "chat", "SKU-P", "product_question", email="cy@c.tw", status="open"),
        ],
        "campaigns": [
            campaign("K1", "P10", "SKU-P", ["web"], "2026-11-01", "2026-11-30"),
            campaign("K2", "P20", "SKU-P", ["web"], "2026-11-01", "2026-11-30"),
            campaign("K3", "Q10", "SKU-Q", ["web"], "2026-11-01", "2026-11-30"),
        ],
        "marketing_events": [
            event("K1", "S1", "sent", "2026-11-02T00:00:00"),  # A, while case 1 is open: counts
            event("K3", "S1", "sent", "2026-11-11T00:00:00"),  # A, after case 2 was closed
            event("K1", "S2", "sent", "2026-11-01T00:00:00"),  # B, before case 3 was opened
            event("K2", "S2", "open", "2026-11-20T00:00:00"),  # B, an open is not a send
            event("K2", "S3", "sent", "2026-11-06T00:00:00"),  # C, no complaint
        ],
        "order_lines": [
            line("shop", "O1", "2026-11-01T00:00:00", "web", "SKU-P", login_id="U1"),  # survey (T2) 2.5 days later
            line("shop", "O2", "2026-10-01T00:00:00", "ios", "SKU-P", login_id="U1"),  # survey 33 days later
            line("shop", "O3", "2026-11-05T00:00:00", "web", "SKU-P", login_id="U1"),  # survey before the order
            line("shop", "O4", "2026-11-01T00:00:00", "web", "SKU-P"),  # anonymous
            line("pos", "P1", "2026-11-01T00:00:00", "store", "SKU-P", loyalty_id="L9"),  # unknown card
        ],
    })


def test_support_cases_group_contacts_across_channels(service):
    assert rows(service, "select ticket_ids, first_channel, contacts, channel_switches, transfers, reidentifications, "
                         "total_wait_seconds, status, hours_to_resolution, first_contact_resolution "
                         "from fct_support_cases order by opened_at") == [
        (["T1", "T2"], "phone", 2, 1, 2, 3, 180, "resolved", 50.0, False),
        (["T4", "T7"], "phone", 2, 0, 0, 1, 600, "open", None, False),
        (["T5"], "chat", 1, 0, 0, 0, 0, "resolved", 1.5, True),
        (["T6"], "chat", 1, 0, 0, 0, 0, "open", None, False),
        (["T3"], "email", 1, 0, 1, 1, 30, "closed", 6.0, True),
    ]


def test_service_metrics_per_first_contact_channel(service):
    # cases: 1 phone (3 hand-offs, 3 re-ids, resolved 50 h, not FCR, 180 s), 3 phone (1 re-id, open, 600 s),
    # 4 chat (FCR 1.5 h), 6 chat (open), 2 email (1 hand-off, 1 re-id, FCR 6 h, 30 s)
    assert_rows(metric(service, "handoffs_per_case"), [
        (None, "all", 4, 5, 4 / 5, None), (None, "chat", 0, 2, 0.0, None),
        (None, "email", 1, 1, 1.0, None), (None, "phone", 3, 2, 3 / 2, None)])
    assert_rows(metric(service, "reidentifications_per_case"), [
        (None, "all", 5, 5, 1.0, None), (None, "chat", 0, 2, 0.0, None),
        (None, "email", 1, 1, 1.0, None), (None, "phone", 4, 2, 2.0, None)])
    assert_rows(metric(service, "first_contact_resolution_rate"), [
        (None, "all", 2, 3, 2 / 3, None), (None, "chat", 1, 1, 1.0, None),
        (None, "email", 1, 1, 1.0, None), (None, "phone", 0, 1, 0.0, None)])
    assert_rows(metric(service, "hours_to_resolution"), [
        (None, "all", 57.5, 3, 57.5 / 3, None), (None, "chat", 1.5, 1, 1.5, None),
        (None, "email", 6, 1, 6.0, None), (None, "phone", 50, 1, 50.0, None)])
    assert_rows(metric(service, "wait_minutes_per_case"), [
        (None, "all", 13.5, 5, 13.5 / 5, None), (None, "chat", 0, 2, 0.0, None),
        (None, "email", 0.5, 1, 0.5, None), (None, "phone", 13, 2, 6.5, None)])


def test_complaint_promo_counts_sends_of_the_same_product_while_open(service):
    # complaints: A (cases 1 and 2), B (case 3); C's question and the anonymous case do not count
    assert_rows(metric(service, "complaint_promo_share"), [(None, "all", 1, 2, 1 / 2, "K1")])


def test_post_sale_feedback_within_the_window_after_the_order(service):
    # identified orders: O1, O2, O3 (A); the survey answer is T2's, at 2026-11-03 12:00
    assert_rows(metric(service, "post_sale_feedback_share"), [
        (None, "all", 1, 3, 1 / 3, None), (None, "ios", 0, 1, 0.0, None), (None, "web", 1, 2, 1 / 2, None)])
    assert metric(run({**SERVICE_FEEDBACK_ONLY}, feedback_days=2), "post_sale_feedback_share")[0][1:4] == ("all", 0, 1)
    assert metric(run({**SERVICE_FEEDBACK_ONLY}, feedback_days=3), "post_sale_feedback_share")[0][1:4] == ("all", 1, 1)


SERVICE_FEEDBACK_ONLY = {
    "customers": [cust("shop", "customers", "U1", email="ann@a.tw", login_id="U1")],
    "tickets": [ticket("T2", "2026-11-03T10:00:00", "chat", "SKU-P", "delivery", email="ann@a.tw",
                       status="resolved", resolved_at=utc("2026-11-03T12:00:00"), csat=4)],
    "order_lines": [line("shop", "O1", "2026-11-01T00:00:00", "web", "SKU-P", login_id="U1")],
}


def test_contact_data_disagreement_between_systems(service):
    # email stated in 2+ systems: A (agree), B and C (support + marketing, agree), D (crm vs pos differ);
    # phone in 2+ systems: A only (crm vs shop differ)
    assert_rows(metric(service, "contact_data_disagreement_share"), [
        (None, "all", 2, 4, 2 / 4, None), (None, "email", 1, 4, 1 / 4, None), (None, "phone", 1, 1, 1.0, None)])


def test_contact_data_placeholders_and_formats_are_no_disagreement():
    # one person: the CRM holds a placeholder email, the phone differs only in format
    con = run({"customers": [cust("crm", "contacts", "C3", email="test@test.com", phone="0911-111-111"),
                             cust("shop", "customers", "U3", email="eve@e.tw", phone="0911111111", login_id="U3")]})
    assert_rows(metric(con, "contact_data_disagreement_share"), [
        (None, "all", 0, 1, 0.0, None), (None, "email", 0, 0, None, None), (None, "phone", 0, 1, 0.0, None)])


def test_customer_journeys_in_time_order(service):
    got = rows(service, """
        select step, touchpoint_type, channel, system, journey_stage, channel_changed, system_changed,
               hours_since_previous
        from customer_journeys
        where customer_id = (select customer_id from customer_identities where record_id = 'U1')
        order by step""")
    # A = crm C1 + shop U1 + marketing S1 + tickets T1-T3; no sign-up dates here
    assert got == [
        (1, "order", "ios", "shop", "purchase", False, False, None),  # O2, 2026-10-01
        (2, "order", "web", "shop", "purchase", True, False, 744.0),  # O1, 31 days later
        (3, "support_contact", "phone", "support", "service", True, True, 10.0),  # T1
        (4, "email_sent", "email", "marketing", "awareness", True, True, 14.0),  # K1
        (5, "support_contact", "chat", "support", "service", True, True, 34.0),  # T2
        (6, "satisfaction_survey", "chat", "support", "feedback", False, False, 2.0),  # T2's csat at resolution
        (7, "order", "web", "shop", "purchase", True, True, 36.0),  # O3
        (8, "support_contact", "email", "support", "service", True, True, 129.0),  # T3
        (9, "email_sent", "email", "marketing", "awareness", False, True, 15.0),  # K3
    ]
    # touchpoints without a customer (the anonymous order O4) stay out; an anonymous ticket is a customer
    # of its own (as in customer_identities), so T5 is a one-step journey
    assert rows(service, "select reference_id, step from customer_journeys where reference_id in ('O4', 'T5')") == [
        ("T5", 1)]


# ------------------------------------------------------------------------------------------ policies
@pytest.fixture(scope="module")
def policies():
    return run({"policies": [
        # latest versions: web 30, ios 30, android 30, store 14 -> the store disagrees
        policy("return_days", "web", "14", "2025-01-01"),
        policy("return_days", "web", "30", "2026-06-01"),
        policy("return_days", "ios", "30", "2025-01-01"),
        policy("return_days", "android", "30"),
        policy("return_days", "store", "30", "2025-01-01"),
        policy("return_days", "store", "14", "2026-06-01"),
        # an undated old version loses to a dated one: web and store agree on "yes"
        policy("price_match", "web", "yes", "2026-01-01"),
        policy("price_match", "store", "no"),
        policy("price_match", "store", "yes", "2026-01-01"),
        # a 1-1 split: one of the two channels differs from the other
        policy("gift_wrap", "web", "free", "2026-01-01"),
        policy("gift_wrap", "store", "paid", "2026-01-01"),
        # stated by one channel only
        policy("loyalty_points", "store", "1%", "2026-01-01"),
        # announced for after the as-of date (2026-11-30): not in force yet, so no conflict today
        policy("loyalty_points", "web", "2%", "2026-12-01"),
        policy("price_match", "web", "no", "2026-12-01"),
    ]})


def test_policy_conflicts_only_for_disagreeing_channels(policies):
    assert_rows(metric(policies, "policy_conflict"), [
        (None, "gift_wrap", 1, 2, 1 / 2, "store=paid, web=free"),
        (None, "return_days", 1, 4, 1 / 4, "android=30, ios=30, store=14, web=30"),
    ])
    assert_rows(metric(policies, "policy_conflict_share"), [(None, "all", 2, 4, 2 / 4, None)])


def test_policy_conflict_contacts_are_the_service_events_of_a_conflicting_policy():
    con = run({
        "customers": [cust("shop", "customers", "U1", email="ann@a.tw", login_id="U1")],
        "policies": [policy("return_policy", "web", "allowed", "2026-01-01"),
                     policy("return_policy", "store", "not_allowed", "2026-01-01"),
                     policy("warranty", "web", "12", "2026-01-01"), policy("warranty", "store", "12", "2026-01-01")],
        "order_lines": [line("shop", "O1", "2026-11-01T00:00:00", "web", "SKU-P", login_id="U1")],
        "tickets": [
            ticket("T1", "2026-11-05T00:00:00", "chat", "SKU-P", "return", email="ann@a.tw"),  # bought before: counts
            ticket("T2", "2026-10-20T00:00:00", "chat", "SKU-P", "return", email="ann@a.tw"),  # before the purchase
            ticket("T3", "2026-11-06T00:00:00", "chat", "SKU-Z", "return", email="ann@a.tw"),  # never bought
            ticket("T4", "2026-11-06T00:00:00", "chat", "SKU-P", "return"),  # anonymous: not counted at all
            ticket("T5", "2026-11-07T00:00:00", "chat", "SKU-P", "defect", email="ann@a.tw"),  # warranty agrees
        ],
    }, policy_topics={"return_policy": "return", "warranty": "defect"})
    assert_rows(metric(con, "policy_conflict_contacts"), [(None, "return_policy", 1, 3, 1 / 3, "topic=return")])
    assert_rows(metric(con, "policy_conflict_share"), [(None, "all", 1, 2, 1 / 2, None)])


# -------------------------------------------------------------------------------------- invariants
@pytest.mark.parametrize("dataset", ["integration", "prices", "promos", "contacts", "service", "policies"])
def test_every_metric_row_is_well_formed(dataset, request):
    con = request.getfixturevalue(dataset)
    got = rows(con, "select run_id, as_of_date, family, metric, numerator, denominator, value from metrics")
    assert got
    for run_id, as_of, family, name, numerator, denominator, value in got:
        assert (run_id, as_of) == (PARAMS["run_id"], d(PARAMS["as_of_date"]))
        assert family in ("integration", "consistency")
        assert name in METRICS[family]
        assert numerator is not None and denominator is not None
        if denominator > 0:
            assert value == pytest.approx(numerator / denominator, rel=1e-12)
        else:
            assert value is None


def test_all_metric_files_run_on_empty_input():
    assert metric_names() == [
        "metric_complaint_promo", "metric_complete_360", "metric_contact_data_disagreement",
        "metric_customers_by_system_count", "metric_freshness", "metric_linked_to_other_system_share",
        "metric_policy_conflicts", "metric_post_sale_feedback", "metric_price_mismatch",
        "metric_promo_not_honoured", "metric_repeat_contact_rate", "metric_service_cases",
        "metric_system_overlap", "metric_system_records", "metric_systems_integrated"]
    con = run({})
    # only the overall rows of aggregates without groups remain, with nothing to divide by
    assert rows(con, "select metric, dimension, numerator, denominator, value from metrics "
                     "where metric_date is null order by metric, dimension") == [
        ("complaint_promo_share", "all", 0, 0, None),
        ("complete_360_share", "all", 0, 0, None),
        ("contact_data_disagreement_share", "all", 0, 0, None),
        ("contact_data_disagreement_share", "email", 0, 0, None),
        ("contact_data_disagreement_share", "phone", 0, 0, None),
        ("first_contact_resolution_rate", "all", 0, 0, None),
        ("handoffs_per_case", "all", 0, 0, None),
        ("hours_to_resolution", "all", 0, 0, None),
        ("linked_share", "all", 0, 0, None),
        ("linked_to_other_system_share", "all", 0, 0, None),
        ("no_identifier_share", "all", 0, 0, None),
        ("policy_conflict_share", "all", 0, 0, None),
        ("post_sale_feedback_share", "all", 0, 0, None),
        ("price_mismatch_sku_share", "all", 0, 0, None),
        ("reidentifications_per_case", "all", 0, 0, None),
        ("repeat_contact_rate", "all", 0, 0, None),
        ("system_records", "all", 0, 0, None),
        ("systems_integrated_share", "all", 0, 0, None),
        ("wait_minutes_per_case", "all", 0, 0, None),
    ]
    assert rows(con, "select count(*) from metrics where metric_date is not null") == [(0,)]


def test_every_metric_has_one_definition_with_its_family():
    defs = metric_definitions()
    assert {m: v["family"] for m, v in defs.items()} == {m: f for f, ms in METRICS.items() for m in ms}
    assert all(len(v["definition"]) > 80 for v in defs.values())
    assert {m: v["unit"] for m, v in defs.items() if v["unit"] != "share"} == {
        "handoffs_per_case": "per case", "reidentifications_per_case": "per case", "hours_to_resolution": "hours",
        "wait_minutes_per_case": "minutes", "freshness_days": "days"}
    assert defs["policy_conflict_share"] == {
        "family": "consistency", "unit": "share", "direction": "lower", "file": "metric_policy_conflicts.sql",
        "definition": "Dimension \"all\". Numerator: policies whose channels state different values on the "
                      "as-of date. Denominator: policies stated by any channel."}


def test_complete_360_defaults_to_every_system_with_a_customers_source(tmp_path):
    """Other people's exports do not have the demo's crm/shop/pos/marketing: by default a complete 360 view
    needs every system with a customers source; a listed system without a source is a configuration error."""
    from flows.config import ConfigError, load_config

    base = ("sources:\n"
            "  - {system: febrl_a, entity: people, kind: customers, format: csv, path: 'a/*.csv', columns: {record_id: id}}\n"
            "  - {system: febrl_b, entity: people, kind: customers, format: csv, path: 'b/*.csv', columns: {record_id: id}}\n"
            "  - {system: desk, entity: tickets, kind: tickets, format: csv, path: 't/*.csv',\n"
            "     columns: {record_id: id, created_at: at, channel: ch}}\n")
    path = tmp_path / "sources.yaml"
    path.write_text(base, encoding="utf-8")
    assert load_config(path).complete_360_systems == ["febrl_a", "febrl_b"]
    path.write_text(base + "metrics: {complete_360_systems: [febrl_a, desk]}\n", encoding="utf-8")
    assert load_config(path).complete_360_systems == ["febrl_a", "desk"]
    path.write_text(base + "metrics: {complete_360_systems: [crm, febrl_a]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"metrics.complete_360_systems: systems \['crm'\] have no source"):
        load_config(path)


def test_an_order_whose_key_two_customers_hold_names_neither():
    """U1 and U2 share a login id, and a steward labelled them two people: the login names no one customer, so
    its order line is kept without a customer (it was given to either, whichever the join met first); a login
    one customer holds names it; a line with both keys falls back to the loyalty id when the login is shared."""
    from transforms.identity.clerical import LABEL_COLUMNS

    identity = IdentityConfig()
    con = kinds_connection({
        "customers": [cust("shop", "customers", "U1", email="ann@a.tw", login_id="L1"),
                      cust("shop", "customers", "U2", email="bob@b.tw", login_id="L1", loyalty_id="M2"),
                      cust("shop", "customers", "U3", email="cy@c.tw", login_id="L3")],
        "order_lines": [line("shop", "O1", "2026-11-28T03:00:00", "web", "SKU-P", login_id="L1"),
                        line("shop", "O2", "2026-11-28T04:00:00", "web", "SKU-P", login_id="L3"),
                        line("shop", "O3", "2026-11-28T05:00:00", "web", "SKU-P", login_id="L1", loyalty_id="M2")],
    }, identity=identity, regions={"shop": "TW"})
    con.run("labels", f"create table identity_review_labels ({LABEL_COLUMNS})")
    con.run("labels row", "insert into identity_review_labels values "
                          "('shop', 'customers', 'U1', 'shop', 'customers', 'U2', 'non-match')")
    resolve_customers(con, identity, "test-run")
    build_models(con, PARAMS)
    assert rows(con, "select o.order_id, i.record_id, o.customer_linked_by from fct_orders as o "
                     "left join customer_identities as i on i.customer_id = o.customer_id order by 1") == [
        ("O1", None, None), ("O2", "U3", "login_id"), ("O3", "U2", "loyalty_id")]
