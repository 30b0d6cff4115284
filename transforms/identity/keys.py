"""Strong keys and their guards, and the deterministic links they make.

A key value shared by more than `max_records_per_key` records, or a role mailbox, never links; a value
shared by records that disagree on name or birth date (a family email) is contested and links only the
records that agree. Every value that stopped acting as a key is in `identity_guards`, hashed.
"""

from __future__ import annotations

from transforms.config import IdentityConfig
from transforms.database import Database
from transforms.identity.tables import build


def build_keys(db: Database, identity: IdentityConfig) -> None:
    """Create int_identity__all_keys, __usable_keys, __key_pairs, __contested, __keys, __det_links and
    identity_guards from int_identity__records."""
    params = {"key_types": identity.keys, "cap": identity.max_records_per_key,
              "name_close": identity.probabilistic.name_close}
    for table in ("int_identity__all_keys", "int_identity__usable_keys", "int_identity__key_pairs",
                  "int_identity__contested", "int_identity__keys", "int_identity__det_links", "identity_guards"):
        build(db, table, params)
