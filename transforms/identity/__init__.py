"""Identity resolution in DuckDB: identity records -> strong keys -> guarded deterministic links ->
Fellegi-Sunter links for records that share no strong key -> clusters (customers) -> stable customer ids.

Input views (one per kind, the union of that kind's staged sources): `kind_customers`, `kind_tickets`,
`kind_web_events`, plus `source_regions(system, region)`,
`source_postcode_keys(system, entity, postcode_key_length)`; `prev_identities` / `prev_id_map` for a rerun.
Output tables (besides int_identity__located and the int_identity__norm_* lookups of distinct values):
- `int_identity__records`: one row per identity record with its normalised attributes (personal: private);
- `int_identity__keys`: strong identifier values that act as keys (after the guards);
- `identity_guards`: every value that stopped acting as a key, hashed, with the reason;
- `int_identity__links`: every accepted link between two records (rule, identifier type or score);
- `identity_model`: the fitted m/u probabilities and weights of each comparison level;
- `int_identity__clusters`: record -> cluster;
- `customer_identities`, `customer_id_map`, `int_identity__events`: stable customer ids (customer_ids.py).

Modules, in the order the path runs: udfs (sb_* scalar functions), levels (comparison macros), records,
keys, clusters, probabilistic, customer_ids, resolve (the whole path); evaluate scores a result against a
ground truth. Each table's SELECT is in sql/<table>.sql; SQL that varies with configuration is built by
small functions that return SQL text, with values bound as parameters.
"""

from transforms.identity.clusters import connected_components
from transforms.identity.customer_ids import IdentityGateError, assign_customer_ids, check_stability
from transforms.identity.evaluate import evaluate_identity, identity_metric_rows
from transforms.identity.resolve import resolve_customers, resolve_identities
from transforms.identity.udfs import register_udfs

__all__ = ["IdentityGateError", "assign_customer_ids", "check_stability", "connected_components",
           "evaluate_identity", "identity_metric_rows", "register_udfs", "resolve_customers", "resolve_identities"]
