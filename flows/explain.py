"""`silobridge explain CUSTOMER_ID`: a customer's records, the links between them and the history of its id.

Reads the published warehouse (customer_identities, identity_links, customer_id_map, customer_id_history,
identity_model for the prior of each probabilistic link's waterfall)
and, for the records' own attributes, the private copy of the identity records kept beside the staged
rows of the published run (data/state/<run_id>/staging). Personal data is masked unless asked for.
"""

from __future__ import annotations

from pathlib import Path

from flows import warehouse
from flows.db import Database
from flows.warehouse.catalog import version_database
from transforms.normalize import mask_name
from transforms.privacy import mask_email, mask_tail

ATTRIBUTES = ("full_name", "email", "phone", "birth_date", "street", "postcode")
TABLES = ("customer_identities", "identity_links", "customer_id_map", "customer_id_history", "identity_model")


class ExplainError(LookupError):
    """The customer id is unknown, or there is no published warehouse."""


def _mask(column: str, value):
    if value is None:
        return None
    text = str(value)
    if column == "full_name":
        return mask_name(text)
    if column == "email":
        return mask_email(text)
    if column == "birth_date":
        return text[:4] + "-**-**"
    if column == "street":
        return text[:3] + "*" * max(len(text) - 3, 0)
    if column == "postcode":
        return text
    return mask_tail(text)


def explain_customer(warehouse_dir: Path, state_dir: Path, customer_id: str, show_personal: bool = False) -> dict:
    """The customer's current id, aliases, records (attributes masked unless `show_personal`), links and events."""
    version = warehouse.current_version(warehouse_dir)
    if version is None:
        raise ExplainError(f"no published warehouse in {warehouse_dir}: run `silobridge run` first")
    with version_database(version, TABLES, step="explain") as db:
        found = db.one("explain.id", "select current_customer_id, status from customer_id_map where customer_id = $c",
                       {"c": customer_id})
        if found is None:
            raise ExplainError(f"unknown customer id {customer_id!r} (not issued by any published run)")
        current, status = found
        aliases = [r[0] for r in db.rows(
            "explain.aliases", "select customer_id from customer_id_map where current_customer_id = $c "
                               "and customer_id <> $c order by customer_id", {"c": current})]
        records = _records(db, current)
        private = warehouse.identity_records_file(state_dir, version.name)
        if private.exists():
            _add_attributes(db, private, current, records, show_personal)
        links = db.rows("explain.links", """
            select system_a || '/' || record_id_a, system_b || '/' || record_id_b, link_rule, identifier_type,
                   match_probability, evidence
            from identity_links where customer_id = $c order by 1, 2""", {"c": current})
        waterfalls = _waterfalls(db, current)
        events = db.rows("explain.events", """
            select run_id, run_date, event, customer_id, related_customer_id, records, detail
            from customer_id_history
            where customer_id = $c or related_customer_id = $c or list_contains($aliases, customer_id)
            order by run_id, event, customer_id""", {"c": current, "aliases": aliases})
    return {"asked": customer_id, "customer_id": current, "status": status, "aliases": aliases,
            "records": records, "links": links, "waterfalls": waterfalls, "events": events, "masked": not show_personal,
            "attributes_available": private.exists()}


def _records(db: Database, customer_id: str) -> list[dict]:
    """The customer's records with how each was linked."""
    columns = ("system", "entity", "record_id", "link_rule", "identifier_type", "link_keys", "match_probability",
               "seen_at", "rid")
    return [dict(zip(columns, r)) for r in db.rows("explain.records", """
        select system, entity, record_id, link_rule, identifier_type, link_keys, match_probability,
               record_seen_at, rid
        from customer_identities where customer_id = $c order by system, entity, record_id""", {"c": customer_id})]


def _add_attributes(db: Database, private: Path, customer_id: str, records: list[dict], show_personal: bool) -> None:
    """Each record's attributes from the private identity records, masked unless `show_personal`."""
    db.view_over_parquet("attrs", private)
    by_rid = {r[0]: dict(zip(ATTRIBUTES, r[1:])) for r in db.rows(
        "explain.attributes", f"select rid, {', '.join(ATTRIBUTES)} from attrs where rid in "
                              "(select rid from customer_identities where customer_id = $c)", {"c": customer_id})}
    for rec in records:
        values = by_rid.get(rec["rid"], {})
        rec["attributes"] = {k: (v if show_personal or v is None else _mask(k, v)) for k, v in values.items()}


def _waterfalls(db: Database, customer_id: str) -> list[dict]:
    """Per probabilistic link: the prior, then each comparison's level and weight (its term-frequency part
    noted), the total match weight and the final match probability. Levels and weights only, never values."""
    columns = {r[0] for r in db.rows("explain.link columns", "select column_name from (describe identity_links)")}
    if "evidence_levels" not in columns:  # a version published before waterfalls were kept
        return []
    prior = db.one("explain.prior", "select weight from identity_model where comparison = 'prior'")
    out = []
    for a, b, probability, weight, levels in db.rows("explain.waterfalls", """
            select system_a || '/' || record_id_a, system_b || '/' || record_id_b, match_probability, match_weight,
                   evidence_levels
            from identity_links where customer_id = $c and evidence_levels is not null order by 1, 2""",
                                                    {"c": customer_id}):
        steps = [{"comparison": "prior", "level": "probability two random records match", "weight": prior[0] if prior else None,
                  "tf_weight": None}]
        steps += [dict(level) for level in levels]
        out.append({"record_a": a, "record_b": b, "steps": steps, "match_weight": weight,
                    "match_probability": probability})
    return out
