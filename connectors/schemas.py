"""Canonical fields of each kind of source table: the contract staging casts to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["string", "timestamp", "date", "decimal", "integer", "json", "list"]


@dataclass(frozen=True)
class FieldSpec:
    type: FieldType = "string"
    required: bool = False
    personal: bool = False  # personal data: masked in quarantine and never logged
    # a closed set of canonical values: the value (after the source's value map) is lower-cased, and a value
    # outside the set fails rule `accepted_values:<field>` (reject by default) naming the set
    values: tuple[str, ...] = ()


def _f(type_: FieldType = "string", required: bool = False, personal: bool = False,
       values: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec(type_, required, personal, values)


# an order line's status; cancelled and returned lines are kept in fct_orders but are not sales (metrics)
ORDER_STATUSES = ("completed", "pending", "cancelled", "returned")
NOT_SALES = ("cancelled", "returned")


_PERSON = {
    "full_name": _f(personal=True),
    "first_name": _f(personal=True),
    "middle_name": _f(personal=True),  # or an initial
    "last_name": _f(personal=True),
    "email": _f(personal=True),
    "phone": _f(personal=True),
    "birth_date": _f("date", personal=True),
    "street": _f(personal=True),
    "city": _f(),
    "postcode": _f(),
    "loyalty_id": _f(),
    "login_id": _f(),
}

KINDS: dict[str, dict[str, FieldSpec]] = {
    # identity-bearing master records (CRM contacts, shop accounts, loyalty members, subscribers)
    "customers": {
        "record_id": _f(required=True),
        "account_type": _f(),
        "company": _f(),
        **_PERSON,
        # extra identifiers (national id, customer number, ...): a JSON object {name: value}, filled from the
        # source's `identifiers: {name: export column}`; identity compares them by name
        "identifiers": _f("json", personal=True),
        "status": _f(),
        "marketing_opt_in": _f(),
        "created_at": _f("timestamp"),
        "updated_at": _f("timestamp"),
    },
    "order_lines": {
        "order_id": _f(required=True),
        "line_no": _f("integer", required=True),
        "ordered_at": _f("timestamp", required=True),
        "channel": _f(required=True),
        "store_id": _f(),
        "login_id": _f(),
        "loyalty_id": _f(),
        "sku": _f(required=True),
        "quantity": _f("integer", required=True),
        "unit_list_price": _f("decimal", required=True),
        "unit_price_paid": _f("decimal", required=True),
        "discount_code": _f(),
        "currency": _f(required=True),
        "order_status": _f(values=ORDER_STATUSES),  # none: completed
        "payment_method": _f(),
        "shipping_method": _f(),
        "rating": _f("decimal"),  # the customer's rating of the line's product, on the export's scale
    },
    # contact-centre tickets carry the contact details the customer gave on that contact
    "tickets": {
        "record_id": _f(required=True),
        "created_at": _f("timestamp", required=True),
        "channel": _f(required=True),
        "full_name": _f(personal=True),
        "email": _f(personal=True),
        "phone": _f(personal=True),
        "loyalty_id": _f(),
        "sku": _f(),
        "topic": _f(),
        "status": _f(),
        "agent_id": _f(),
        "transfers": _f("json"),
        "wait_seconds": _f("integer"),
        "csat": _f("integer"),
        "resolved_at": _f("timestamp"),
    },
    "campaigns": {
        "campaign_id": _f(required=True),
        "campaign_name": _f(),
        "promo_code": _f(),
        "sku": _f(),
        "discount_pct": _f("decimal"),
        "valid_channels": _f("list"),
        "valid_from": _f("date", required=True),
        "valid_to": _f("date", required=True),
    },
    "marketing_events": {
        "campaign_id": _f(required=True),
        "subscriber_id": _f(required=True),
        "event_type": _f(required=True),
        "event_at": _f("timestamp", required=True),
    },
    "web_events": {
        "event_id": _f(required=True),
        "event_at": _f("timestamp", required=True),
        "device_id": _f(required=True),
        "login_id": _f(),
        "event_type": _f(required=True),
        "page": _f(),
        "sku": _f(),
        "channel": _f(required=True),
    },
    "products": {
        "sku": _f(required=True),
        "product_name": _f(),
        "category": _f(),
        "launched_on": _f("date"),
    },
    "prices": {
        "sku": _f(required=True),
        "channel": _f(required=True),
        "price": _f("decimal", required=True),
        "currency": _f(),
        "valid_from": _f("date", required=True),
        "valid_to": _f("date"),
    },
    "policies": {
        "policy": _f(required=True),
        "channel": _f(required=True),
        "value": _f(required=True),
        "valid_from": _f("date"),
    },
}

# Keys that must be unique within one source (later duplicates are quarantined).
UNIQUE_KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("record_id",),
    "order_lines": ("order_id", "line_no"),
    "tickets": ("record_id",),
    "campaigns": ("campaign_id",),
    "marketing_events": ("campaign_id", "subscriber_id", "event_type", "event_at"),
    "web_events": ("event_id",),
    "products": ("sku",),
    "prices": ("sku", "channel", "valid_from"),
    "policies": ("policy", "channel", "valid_from"),
}

# The grain a kind's rows take in the models, and the model holding them: a source's unique key must lie
# within it, else two accepted rows could share one model row (fct_orders and the identity records would
# keep one of them, or the joins on the record id would multiply them).
MODEL_GRAIN: dict[str, tuple[tuple[str, ...], str]] = {
    "customers": (("record_id",), "customer_identities (one identity record per record_id)"),
    "tickets": (("record_id",), "customer_identities and fct_support_cases (one ticket per record_id)"),
    "order_lines": (("order_id", "line_no"), "fct_orders"),
}

# replayed (corrected) quarantined rows are read from files named <REPLAY_PREFIX>/<source>/<file>
REPLAY_PREFIX = "replay"
# a replayed row's synthetic key as the quarantine exported it (column `_key__<field>` of the replay file)
REPLAYED_KEY = "_replayed_key__"
# the columns of an export no field uses, kept on the staged and model rows as one JSON object (values masked)
ATTRIBUTES = "attributes"
LINEAGE = ("_source_system", "_source_entity", "_source_file", "_row_number")
