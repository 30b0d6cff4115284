"""Comparison levels of two records ('exact', 'close', 'partial', 'different'; null when either side lacks
the attribute), shared by the key guards, the probabilistic model and the evaluation scopes.

The levels are DuckDB macros (`sql/macro_*.sql`); the similarity thresholds are bound parameters
`$name_close` and `$street_close` of the statements that call them.
"""

from __future__ import annotations

from transforms.database import Database
from transforms.identity.tables import sql
from transforms.sqltext import quote

# in dependency order (sb_name_level calls sb_part_of, which calls sb_chars)
MACROS = ("sb_chars", "sb_part_of", "sb_name_level", "sb_birth_level", "sb_text_level", "sb_exact_level",
          "sb_email_level", "sb_phone_level")
COMPARISONS = ("name", "birth_date", "street", "postcode", "email", "phone")


def register_level_macros(db: Database) -> None:
    """Create the comparison-level macros (sb_*_level) on the connection."""
    for macro in MACROS:
        db.run(f"identity.macro {macro}", sql(f"macro_{macro}"))


def level_sql(comparison: str) -> str:
    """The level expression of one comparison for a pair of int_identity__records rows `l`, `r`."""
    return {
        "name": "sb_name_level(l.name_key, l.name_partial, r.name_key, r.name_partial, $name_close)",
        "birth_date": "sb_birth_level(l.birth_date, r.birth_date)",
        "street": "sb_text_level(l.street_key, r.street_key, $street_close)",
        "postcode": "sb_exact_level(l.postcode_key, r.postcode_key)",
        "email": "sb_email_level(l.email_norm, r.email_norm)",
        "phone": "sb_phone_level(l.phone_norm, r.phone_norm)",
    }[comparison]


def levels_sql(comparisons) -> str:
    """SELECT list of the levels of `comparisons`, one column named after each comparison."""
    return ",\n       ".join(f"{level_sql(c)} as {quote(c)}" for c in comparisons)
