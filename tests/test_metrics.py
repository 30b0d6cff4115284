"""Every metric SQL file on tiny hand-made datasets, run through the real path
(kind tables -> identity resolution -> models -> metrics). Expected rows are worked out by hand from
each metric's definition (the header comment of its SQL file) and written literally."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from connectors.config import IdentityConfig
from tests.helpers import kinds_connection, rows
from transforms.identity import resolve_customers
from transforms.model import build_metrics, build_models, metric_names

PARAMS = {
    "run_id": "20261130T000000000000Z",
    "as_of_date": "2026-11-30",
    "business_tz": "Asia/Taipei",
    "case_window_days": 7,
    "repeat_contact_days": 7,
    "lookback_days": 30,
}
METRICS = {
    "integration": {"customers_by_system_count", "linked_to_other_system_share", "system_overlap"},
    "consistency": {"policy_conflict", "policy_conflict_share", "price_mismatch_sku_share", "price_spread",
                    "promo_not_honoured_share", "repeat_contact_rate"},
}


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


def run(tables: dict, **params):
    """The real path on `tables`; returns the connection holding `metrics`."""
    identity = IdentityConfig()
    con = kinds_connection(tables, identity=identity, regions={"crm": "TW", "shop": "TW", "pos": "TW"})
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


def event(campaign, subscriber, event_type, at):
    return {"_source_system": "marketing", "_source_entity": "activity", "campaign_id": campaign,
            "subscriber_id": subscriber, "event_type": event_type, "event_at": utc(at)}


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
    assert con.execute("select sku, promo_campaign_id from fct_orders order by order_id, line_no").fetchall() == [
        ("SKU-P", "K1"), ("SKU-R", "K4"), ("SKU-R", None)]


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


# -------------------------------------------------------------------------------------- invariants
@pytest.mark.parametrize("dataset", ["integration", "prices", "promos", "contacts", "policies"])
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
        "metric_customers_by_system_count", "metric_linked_to_other_system_share", "metric_policy_conflicts",
        "metric_price_mismatch", "metric_promo_not_honoured", "metric_repeat_contact_rate", "metric_system_overlap"]
    con = run({})
    # only the overall rows of aggregates without groups remain, with nothing to divide by
    assert rows(con, "select metric, metric_date, dimension, numerator, denominator, value from metrics "
                     "order by metric") == [
        ("linked_to_other_system_share", None, "all", 0, 0, None),
        ("policy_conflict_share", None, "all", 0, 0, None),
        ("price_mismatch_sku_share", None, "all", 0, 0, None),
        ("repeat_contact_rate", None, "all", 0, 0, None),
    ]
