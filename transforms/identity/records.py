"""Identity records: one row per customer record, ticket and analytics device, with normalised attributes.

Input views: `kind_customers`, `kind_tickets`, `kind_web_events`, `source_regions(system, region)`,
`source_postcode_keys(system, entity, postcode_key_length)` (sources with their own postcode key length).
Output: `int_identity__located`, the `int_identity__norm_*` lookups (one row per distinct value) and `int_identity__records`.
"""

from __future__ import annotations

from collections.abc import Sequence

from transforms.database import Database
from transforms.identity.tables import build

# The Python normalisers run once per distinct value (names, emails and streets repeat across systems),
# then join back to the records.
NORMALISED = ("int_identity__norm_name", "int_identity__norm_part", "int_identity__norm_email", "int_identity__norm_phone",
              "int_identity__norm_id", "int_identity__norm_street", "int_identity__norm_postcode")


def build_records(db: Database, postcode_key_length: int = 3, placeholder_phones: Sequence[str] = ()) -> None:
    """Create int_identity__records (needs the sb_* UDFs); `postcode_key_length`: the area key's length for
    records of sources without their own (source_postcode_keys); `placeholder_phones`: E.164 numbers that are
    no one's (identity.placeholder_phones, which sb_phone drops too)."""
    build(db, "int_identity__located")
    for table in NORMALISED:
        build(db, table, {"placeholder_phones": list(placeholder_phones)})
    build(db, "int_identity__records", {"postcode_key_length": postcode_key_length})


def phone_validity(db: Database) -> list[tuple[str, str, int, int]]:
    """Per system and phone region: (system, region, records with a phone, of them those whose phone is no
    valid number for the region, or a placeholder), from int_identity__records."""
    return [tuple(r) for r in db.rows(
        "identity.phone validity", "select system, region, count(phone), count(phone) - count(phone_norm) "
                                   "from int_identity__records where phone is not null group by all order by all")]
