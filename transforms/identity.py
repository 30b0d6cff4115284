"""Deterministic identity resolution in DuckDB: identity records -> keys -> guarded links -> customers.

Input views (one per kind, the union of that kind's staged sources): `kind_customers`, `kind_tickets`,
`kind_web_events`, plus `source_regions(system, entity, region)`.
Output tables: `int_identity__records`, `int_identity__keys`, `identity_guards`,
`customer_identities`, `int_identity__key_customers`.
"""

from __future__ import annotations

import logging

import duckdb

from connectors.config import IdentityConfig
from transforms.normalize import mask_name, normalize_email, normalize_id, normalize_phone
from transforms.privacy import keyed_hash

log = logging.getLogger(__name__)

MAX_ITERATIONS = 100


def register_udfs(con: duckdb.DuckDBPyConnection, hash_key: str, identity: IdentityConfig) -> None:
    """Register the normalisers and the keyed hash as DuckDB scalar functions (sb_*)."""
    extra_emails = frozenset(e.strip().lower() for e in identity.placeholder_emails)
    extra_phones = frozenset(identity.placeholder_phones)

    def phone(value: str, region: str) -> str | None:
        e164 = normalize_phone(value, region)
        return None if e164 in extra_phones else e164

    con.create_function("sb_email", lambda v: normalize_email(v, extra_emails), ["VARCHAR"], "VARCHAR",
                        side_effects=False,
                        null_handling="special")
    con.create_function("sb_phone", phone, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=False,
                        null_handling="special")
    con.create_function("sb_id", normalize_id, ["VARCHAR"], "VARCHAR", side_effects=False,
                        null_handling="special")
    con.create_function("sb_mask_name", mask_name, ["VARCHAR"], "VARCHAR", side_effects=False,
                        null_handling="special")
    con.create_function("sb_hash", lambda v: keyed_hash(v, hash_key), ["VARCHAR"], "VARCHAR", side_effects=False,
                        null_handling="special")


RECORDS_SQL = """
create or replace table int_identity__records as
with customers as (
    select _source_system as system, _source_entity as entity, record_id,
           coalesce(full_name, trim(concat_ws(' ', first_name, last_name))) as full_name,
           email, phone, loyalty_id, login_id, birth_date, postcode, city, account_type,
           coalesce(created_at, updated_at) as seen_at
    from kind_customers
),
tickets as (
    select _source_system as system, _source_entity as entity, record_id, full_name,
           email, phone, loyalty_id, null as login_id, null::date as birth_date, null as postcode,
           null as city, null as account_type, created_at as seen_at
    from kind_tickets
),
devices as (
    -- an analytics device is one identity record; it carries a login id only when exactly one
    -- account ever signed in on it (a shared tablet must not join two customers)
    select _source_system as system, 'devices' as entity, device_id as record_id, null as full_name,
           null as email, null as phone, null as loyalty_id,
           case when count(distinct login_id) = 1 then min(login_id) end as login_id,
           null::date as birth_date, null as postcode, null as city, null as account_type,
           min(event_at) as seen_at
    from kind_web_events
    group by _source_system, device_id
),
unioned as (
    select * from customers
    union all by name select * from tickets
    union all by name select * from devices
),
final as (
    select row_number() over (order by system, entity, record_id) as rid, u.*,
           coalesce(r.region, 'TW') as region
    from unioned as u
    left join source_regions as r using (system)
)
select * from final
"""

KEYS_SQL = """
create or replace table int_identity__all_keys as
with keys as (
    select rid, 'email' as key_type, sb_email(email) as key_value from int_identity__records where email is not null
    union all
    select rid, 'phone', sb_phone(phone, region) from int_identity__records where phone is not null
    union all
    select rid, 'loyalty_id', sb_id(loyalty_id) from int_identity__records where loyalty_id is not null
    union all
    select rid, 'login_id', sb_id(login_id) from int_identity__records where login_id is not null
),
final as (
    select distinct rid, key_type, key_value,
           count(distinct rid) over (partition by key_type, key_value) as key_records
    from keys
    where key_value is not null and list_contains($key_types, key_type)
)
select * from final
"""

GUARDS_SQL = """
create or replace table identity_guards as
select key_type, sb_hash(key_value) as value_hash, any_value(key_records) as records,
       'shared by more records than max_records_per_key (' || $cap || ')' as reason
from int_identity__all_keys
where key_records > $cap
group by key_type, key_value
order by key_type, value_hash
"""

PROPAGATE_SQL = """
create or replace table int_identity__labels_next as
with edges as (
    select k.rid, min(k.rid) over (partition by key_type, key_value) as root from int_identity__keys as k
),
candidates as (
    select rid, label from int_identity__labels
    union all
    select e.rid, l.label from edges as e join int_identity__labels as l on l.rid = e.root
    union all
    select e.root, l.label from edges as e join int_identity__labels as l on l.rid = e.rid
)
select rid, min(label) as label from candidates group by rid
"""

IDENTITIES_SQL = """
create or replace table customer_identities as
with members as (
    select r.rid, r.system, r.entity, r.record_id, r.seen_at, l.label,
           first_value(r.system || '|' || r.entity || '|' || r.record_id)
               over (partition by l.label order by r.system, r.entity, r.record_id) as anchor,
           count(*) over (partition by l.label) as customer_records
    from int_identity__records as r join int_identity__labels as l using (rid)
),
shared as (
    -- identifier types the record carries (after normalisation and guards), and those through which
    -- it is tied to at least one other record
    select rid,
           list(distinct key_type order by key_type) as identifier_types,
           list(distinct key_type order by key_type) filter (where key_records > 1) as link_keys
    from int_identity__keys
    group by rid
),
final as (
    select 'C' || upper(substr(md5(m.anchor), 1, 16)) as customer_id,
           m.system, m.entity, m.record_id,
           case when coalesce(len(s.link_keys), 0) = 0 then 'unlinked' else 'deterministic' end as link_rule,
           coalesce(s.link_keys, []::varchar[]) as link_keys,
           coalesce(s.identifier_types, []::varchar[]) as identifier_types,
           m.customer_records,
           m.seen_at as record_seen_at,
           m.rid
    from members as m left join shared as s using (rid)
)
select * from final order by customer_id, system, entity, record_id
"""

KEY_CUSTOMERS_SQL = """
create or replace table int_identity__key_customers as
select distinct k.key_type, k.key_value, c.customer_id
from int_identity__keys as k join customer_identities as c using (rid)
"""


def resolve_identities(con: duckdb.DuckDBPyConnection, identity: IdentityConfig) -> dict[str, int]:
    """Build identity records and keys, drop guarded keys, cluster by connected components; return counts."""
    con.execute(RECORDS_SQL)
    con.execute(KEYS_SQL, {"key_types": identity.keys})
    con.execute(GUARDS_SQL, {"cap": identity.max_records_per_key})
    con.execute("create or replace table int_identity__keys as "
                "select * from int_identity__all_keys where key_records <= $cap", {"cap": identity.max_records_per_key})
    con.execute("create or replace table int_identity__labels as select rid, rid as label from int_identity__records")
    for iteration in range(1, MAX_ITERATIONS + 1):
        con.execute(PROPAGATE_SQL)
        changed = con.execute(
            "select count(*) from int_identity__labels_next as n join int_identity__labels as l using (rid) "
            "where n.label <> l.label").fetchall()[0][0]
        con.execute("create or replace table int_identity__labels as select * from int_identity__labels_next")
        log.debug("label propagation iteration %d: %d labels changed", iteration, changed)
        if changed == 0:
            break
    else:  # pragma: no cover - would need a chain longer than MAX_ITERATIONS hops
        raise RuntimeError(f"identity clustering did not converge in {MAX_ITERATIONS} iterations")
    con.execute(IDENTITIES_SQL)
    con.execute(KEY_CUSTOMERS_SQL)
    return {
        "identity_records": con.execute("select count(*) from customer_identities").fetchall()[0][0],
        "customers": con.execute("select count(distinct customer_id) from customer_identities").fetchall()[0][0],
        "guards_fired": con.execute("select count(*) from identity_guards").fetchall()[0][0],
        "iterations": iteration,
    }
