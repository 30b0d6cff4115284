"""`silobridge explain CUSTOMER_ID`: a customer's records, the links between them and the history of its id.

Reads the published warehouse (customer_identities, identity_links, customer_id_map, customer_id_history)
and, for the records' own attributes, the private copy of the identity records kept beside the staged
rows of the published run (data/state/<run_id>/staging). Personal data is masked unless asked for.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from flows import warehouse
from flows.pipeline import IDENTITY_RECORDS_STATE
from transforms.normalize import mask_name
from transforms.privacy import mask_email, mask_tail

ATTRIBUTES = ("full_name", "email", "phone", "birth_date", "street", "postcode")


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
    con = duckdb.connect()
    try:
        for table in ("customer_identities", "identity_links", "customer_id_map", "customer_id_history"):
            warehouse.attach_parquet(con, table, version / f"{table}.parquet")
        found = con.execute("select current_customer_id, status from customer_id_map where customer_id = $c",
                            {"c": customer_id}).fetchall()
        if not found:
            raise ExplainError(f"unknown customer id {customer_id!r} (not issued by any published run)")
        current, status = found[0]
        aliases = [r[0] for r in con.execute(
            "select customer_id from customer_id_map where current_customer_id = $c and customer_id <> $c "
            "order by customer_id", {"c": current}).fetchall()]
        records_sql = """
            select system, entity, record_id, link_rule, identifier_type, link_keys, match_probability,
                   record_seen_at, rid
            from customer_identities where customer_id = $c order by system, entity, record_id"""
        records = [dict(zip(("system", "entity", "record_id", "link_rule", "identifier_type", "link_keys",
                             "match_probability", "seen_at", "rid"), r))
                   for r in con.execute(records_sql, {"c": current}).fetchall()]
        private = state_dir / version.name / "staging" / IDENTITY_RECORDS_STATE
        if private.exists():
            warehouse.attach_parquet(con, "attrs", private)
            by_rid = {r[0]: dict(zip(ATTRIBUTES, r[1:])) for r in con.execute(
                f"select rid, {', '.join(ATTRIBUTES)} from attrs where rid in "
                "(select rid from customer_identities where customer_id = $c)", {"c": current}).fetchall()}
            for rec in records:
                values = by_rid.get(rec["rid"], {})
                rec["attributes"] = {k: (v if show_personal or v is None else _mask(k, v)) for k, v in values.items()}
        links = con.execute("""
            select system_a || '/' || record_id_a, system_b || '/' || record_id_b, link_rule, identifier_type,
                   match_probability, evidence
            from identity_links where customer_id = $c order by 1, 2""", {"c": current}).fetchall()
        events = con.execute("""
            select run_id, run_date, event, customer_id, related_customer_id, records, detail
            from customer_id_history
            where customer_id = $c or related_customer_id = $c or list_contains($aliases, customer_id)
            order by run_id, event, customer_id""", {"c": current, "aliases": aliases}).fetchall()
    finally:
        con.close()
    return {"asked": customer_id, "customer_id": current, "status": status, "aliases": aliases,
            "records": records, "links": links, "events": events, "masked": not show_personal,
            "attributes_available": private.exists()}
