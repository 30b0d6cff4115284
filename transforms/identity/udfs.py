"""The normalisers and the keyed hash as DuckDB scalar functions (`sb_*`), used by the identity SQL."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from transforms.config import IdentityConfig
from transforms.database import Database
from transforms.normalize import (
    ROLE_LOCAL_PARTS, family_name, mask_name, name_key, normalize_email, normalize_id, normalize_name,
    normalize_phone, normalize_postcode, normalize_street,
)
from transforms.privacy import keyed_hash


def _arrow_udf(fn):
    """Wrap a one-argument scalar function as a vectorised (Arrow) UDF that calls it once per distinct
    value of a batch (null included: the function decides what a null becomes)."""
    def batch(values: pa.Array | pa.ChunkedArray) -> pa.Array:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        encoded = pc.dictionary_encode(values, null_encoding="encode")
        distinct = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], type=pa.string())
        return pc.take(distinct, encoded.indices)
    return batch


def _arrow_udf2(fn):
    """Wrap a two-argument scalar function as a vectorised (Arrow) UDF, called once per distinct pair."""
    def batch(a: pa.Array, b: pa.Array) -> pa.Array:
        seen: dict = {}
        out = []
        for pair in zip(a.to_pylist(), b.to_pylist()):
            if pair not in seen:
                seen[pair] = fn(*pair)
            out.append(seen[pair])
        return pa.array(out, type=pa.string())
    return batch


def role_emails(emails: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """`is_role_email` over a batch of normalised addresses, in Arrow (it is called once per key record)."""
    local = pc.list_element(pc.split_pattern(emails, "@", max_splits=1), 0)
    return pc.fill_null(pc.is_in(local, value_set=pa.array(sorted(ROLE_LOCAL_PARTS), type=local.type)), False)


def register_udfs(db: Database, hash_key: str, identity: IdentityConfig) -> None:
    """Register the normalisers and the keyed hash as DuckDB scalar functions (sb_*)."""
    extra_emails = frozenset(e.strip().lower() for e in identity.placeholder_emails)
    extra_phones = frozenset(identity.placeholder_phones)
    provider_rules = identity.email_provider_rules

    def phone(value: str | None, region: str | None) -> str | None:
        e164 = normalize_phone(value, region)
        return None if e164 in extra_phones else e164

    def email(value: str | None) -> str | None:
        return normalize_email(value, extra_emails, provider_rules)

    one = {"sb_email": email, "sb_id": normalize_id, "sb_mask_name": mask_name, "sb_name": normalize_name,
           "sb_name_key": name_key, "sb_family": family_name, "sb_street": normalize_street,
           "sb_postcode": normalize_postcode,
           "sb_hash": lambda v: keyed_hash(v, hash_key)}
    for name, fn in one.items():
        db.create_function(name, _arrow_udf(fn), ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False,
                           null_handling="special")
    db.create_function("sb_phone", _arrow_udf2(phone), ["VARCHAR", "VARCHAR"], "VARCHAR", type="arrow",
                       side_effects=False, null_handling="special")
    db.create_function("sb_is_role_email", role_emails, ["VARCHAR"], "BOOLEAN", type="arrow",
                       side_effects=False, null_handling="special")
