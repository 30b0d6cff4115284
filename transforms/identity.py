"""Identity resolution in DuckDB: identity records -> strong keys -> guarded deterministic links ->
Fellegi-Sunter links for records that share no strong key -> clusters (customers).

Input views (one per kind, the union of that kind's staged sources): `kind_customers`, `kind_tickets`,
`kind_web_events`, plus `source_regions(system, region)`.
Output tables (besides int_identity__located and the int_identity__norm_* lookups of distinct values):
- `int_identity__records`: one row per identity record with its normalised attributes (personal: private);
- `int_identity__keys`: strong identifier values that act as keys (after the guards);
- `identity_guards`: every value that stopped acting as a key, hashed, with the reason;
- `int_identity__links`: every accepted link between two records (rule, identifier type or score);
- `identity_model`: the fitted m/u probabilities and weights of each comparison level;
- `int_identity__clusters`: record -> cluster (customer ids are assigned by transforms.customer_ids).
"""

from __future__ import annotations

import logging
import math
import time

import duckdb
import pyarrow as pa

from transforms.config import IdentityConfig
from transforms.customer_ids import assign_customer_ids
from transforms.normalize import (
    family_name, is_role_email, mask_name, name_key, normalize_email, normalize_id, normalize_phone,
    normalize_postcode, normalize_street,
)
from transforms.privacy import keyed_hash

log = logging.getLogger(__name__)

MAX_ITERATIONS = 100


def _arrow_udf(fn):
    """Wrap a one-argument scalar function as a vectorised (Arrow) UDF."""
    def batch(values: pa.Array) -> pa.Array:
        return pa.array([fn(v) for v in values.to_pylist()], type=pa.string())
    return batch


def _arrow_udf2(fn):
    """Wrap a two-argument scalar function as a vectorised (Arrow) UDF."""
    def batch(a: pa.Array, b: pa.Array) -> pa.Array:
        return pa.array([fn(x, y) for x, y in zip(a.to_pylist(), b.to_pylist())], type=pa.string())
    return batch


def register_udfs(con: duckdb.DuckDBPyConnection, hash_key: str, identity: IdentityConfig) -> None:
    """Register the normalisers and the keyed hash as DuckDB scalar functions (sb_*)."""
    extra_emails = frozenset(e.strip().lower() for e in identity.placeholder_emails)
    extra_phones = frozenset(identity.placeholder_phones)
    provider_rules = identity.email_provider_rules

    def phone(value: str | None, region: str | None) -> str | None:
        e164 = normalize_phone(value, region)
        return None if e164 in extra_phones else e164

    def email(value: str | None) -> str | None:
        return normalize_email(value, extra_emails, provider_rules)

    one = {"sb_email": email, "sb_id": normalize_id, "sb_mask_name": mask_name, "sb_name_key": name_key,
           "sb_family": family_name, "sb_street": normalize_street, "sb_postcode": normalize_postcode,
           "sb_hash": lambda v: keyed_hash(v, hash_key)}
    for name, fn in one.items():
        con.create_function(name, _arrow_udf(fn), ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False,
                            null_handling="special")
    con.create_function("sb_phone", _arrow_udf2(phone), ["VARCHAR", "VARCHAR"], "VARCHAR", type="arrow",
                        side_effects=False, null_handling="special")
    con.create_function("sb_is_role_email", is_role_email, ["VARCHAR"], "BOOLEAN",
                        side_effects=False, null_handling="special")


LOCATED_SQL = r"""
create or replace table int_identity__located as
with customers as (
    select _source_system as system, _source_entity as entity, record_id,
           coalesce(full_name,
                    case when regexp_matches(coalesce(last_name, ''), '\p{Han}')
                         then concat(last_name, first_name)
                         else nullif(trim(concat_ws(' ', first_name, last_name)), '') end) as full_name,
           (full_name is null and last_name is null and first_name is not null) as name_partial,
           email, phone, loyalty_id, login_id, birth_date, street, postcode, city, account_type,
           coalesce(updated_at, created_at) as seen_at
    from kind_customers
),
tickets as (
    select _source_system as system, _source_entity as entity, record_id, full_name, false as name_partial,
           email, phone, loyalty_id, null as login_id, null::date as birth_date, null as street,
           null as postcode, null as city, null as account_type, created_at as seen_at
    from kind_tickets
),
devices as (
    -- an analytics device is one identity record; it carries a login id only when exactly one
    -- account ever signed in on it (a shared tablet must not join two customers)
    select _source_system as system, 'devices' as entity, device_id as record_id, null as full_name,
           false as name_partial, null as email, null as phone, null as loyalty_id,
           case when count(distinct login_id) = 1 then min(login_id) end as login_id,
           null::date as birth_date, null as street, null as postcode, null as city, null as account_type,
           max(event_at) as seen_at
    from kind_web_events
    group by _source_system, device_id
),
unioned as (
    select * from customers
    union all by name select * from tickets
    union all by name select * from devices
),
located as (
    select row_number() over (order by system, entity, record_id) as rid, u.*,
           coalesce(r.region, 'TW') as region
    from unioned as u
    left join source_regions as r using (system)
)
select * from located
"""

# The Python normalisers run once per distinct value (names, emails and streets repeat across systems),
# then join back to the records.
NORMALISED_SQL = """
create or replace table int_identity__norm_name as
    select full_name, sb_name_key(full_name) as name_key, sb_family(full_name) as family_key
    from (select distinct full_name from int_identity__located where full_name is not null);
create or replace table int_identity__norm_email as
    select email, sb_email(email) as email_norm
    from (select distinct email from int_identity__located where email is not null);
create or replace table int_identity__norm_phone as
    select phone, region, sb_phone(phone, region) as phone_norm
    from (select distinct phone, region from int_identity__located where phone is not null);
create or replace table int_identity__norm_id as
    select value, sb_id(value) as id_norm
    from (select loyalty_id as value from int_identity__located where loyalty_id is not null
          union select login_id from int_identity__located where login_id is not null);
create or replace table int_identity__norm_street as
    select street, sb_street(street) as street_key
    from (select distinct street from int_identity__located where street is not null);
create or replace table int_identity__norm_postcode as
    select postcode, left(sb_postcode(postcode), 3) as postcode_key
    from (select distinct postcode from int_identity__located where postcode is not null);
create or replace table int_identity__records as
with final as (
    select l.*, e.email_norm, p.phone_norm, y.id_norm as loyalty_norm, g.id_norm as login_norm,
           n.name_key, n.family_key, s.street_key, c.postcode_key
    from int_identity__located as l
    left join int_identity__norm_email as e on e.email = l.email
    left join int_identity__norm_phone as p on p.phone = l.phone and p.region = l.region
    left join int_identity__norm_id as y on y.value = l.loyalty_id
    left join int_identity__norm_id as g on g.value = l.login_id
    left join int_identity__norm_name as n on n.full_name = l.full_name
    left join int_identity__norm_street as s on s.street = l.street
    left join int_identity__norm_postcode as c on c.postcode = l.postcode
)
select *,
       split_part(email_norm, '@', 1) as email_local,
       split_part(email_norm, '@', 2) as email_domain,
       left(split_part(email_norm, '@', 1), 4) as email_prefix,
       right(phone_norm, 4) as phone_suffix
from final
order by rid
"""


KEYS_SQL = """
create or replace table int_identity__all_keys as
with keys as (
    select rid, 'email' as key_type, email_norm as key_value from int_identity__records
    union all select rid, 'phone', phone_norm from int_identity__records
    union all select rid, 'loyalty_id', loyalty_norm from int_identity__records
    union all select rid, 'login_id', login_norm from int_identity__records
)
select distinct rid, key_type, key_value,
       count(distinct rid) over (partition by key_type, key_value) as key_records,
       list_position($key_types, key_type) as key_priority
from keys
where key_value is not null and list_contains($key_types, key_type)
"""

# Comparison levels of two records, shared by the key-pair checks and the probabilistic model.
# Each returns null when either side lacks the attribute (no evidence either way).
LEVEL_MACROS = r"""
create or replace macro sb_chars(x) as list_sort(string_split(replace(x, ' ', ''), ''));
create or replace macro sb_part_of(part, whole) as
    -- a given name alone (marketing's first name) against a full name: a word of it, the end of a Chinese
    -- name, a 2+ character run inside it, or the same characters
    contains(' ' || whole || ' ', ' ' || part || ' ')
    or (regexp_matches(part, '\p{Han}') and (ends_with(whole, part) or (length(part) >= 2 and contains(whole, part))
                                             or sb_chars(part) = sb_chars(substr(whole, 2))))
    or sb_chars(part) = sb_chars(whole);
create or replace macro sb_name_level(a, ap, b, bp, close) as
    case when a is null or b is null then null
         when ap or bp then
             case when (ap and bp and a = b)
                    or (ap and not bp and sb_part_of(a, b))
                    or (bp and not ap and sb_part_of(b, a))
                  then 'partial' else 'different' end
         when a = b then 'exact'
         -- close: a typo (similar overall AND at most 2 edits, i.e. one Chinese character, which is 3 bytes
         -- to DuckDB's byte-wise edit distance: a shared family name at the front of "campbell edward" /
         -- "campbell jessica" makes Jaro-Winkler high on its own), or the same characters in another order
         when (jaro_winkler_similarity(a, b) >= close
               and damerau_levenshtein(a, b) <= case when regexp_matches(a, '\p{Han}') then 3 else 2 end)
           or sb_chars(a) = sb_chars(b) then 'close'
         else 'different' end;
create or replace macro sb_birth_level(a, b) as
    case when a is null or b is null then null
         when a = b then 'exact'
         when damerau_levenshtein(strftime(a, '%Y%m%d'), strftime(b, '%Y%m%d')) <= 1
           or (year(a) = year(b) and month(a) = day(b) and day(a) = month(b)) then 'close'
         else 'different' end;
create or replace macro sb_text_level(a, b, close) as
    case when a is null or b is null then null
         when a = b then 'exact'
         when jaro_winkler_similarity(a, b) >= close then 'close'
         else 'different' end;
create or replace macro sb_exact_level(a, b) as
    case when a is null or b is null then null when a = b then 'exact' else 'different' end;
create or replace macro sb_email_level(a, b) as
    case when a is null or b is null then null
         when a = b then 'exact'
         when split_part(a, '@', 1) = split_part(b, '@', 1) or damerau_levenshtein(a, b) <= 2 then 'close'
         else 'different' end;
create or replace macro sb_phone_level(a, b) as
    case when a is null or b is null then null
         when a = b then 'exact'
         when damerau_levenshtein(a, b) <= 1 then 'close'
         else 'different' end;
"""


COMPARISONS = ("name", "birth_date", "street", "postcode", "email", "phone")


def _levels_sql(close_name: float, close_street: float, comparisons=COMPARISONS) -> str:
    """SELECT list of the comparison levels (`comparisons`) of a pair `l`, `r` of int_identity__records rows."""
    exprs = {
        "name": f"sb_name_level(l.name_key, l.name_partial, r.name_key, r.name_partial, {close_name})",
        "birth_date": "sb_birth_level(l.birth_date, r.birth_date)",
        "street": f"sb_text_level(l.street_key, r.street_key, {close_street})",
        "postcode": "sb_exact_level(l.postcode_key, r.postcode_key)",
        "email": "sb_email_level(l.email_norm, r.email_norm)",
        "phone": "sb_phone_level(l.phone_norm, r.phone_norm)",
    }
    return ",\n        ".join(f"{exprs[c]} as {c}" for c in comparisons)


GUARDS_SQL = """
create or replace table identity_guards as
select key_type, sb_hash(key_value) as value_hash, any_value(key_records) as records, reason
from (
    select key_type, key_value, key_records,
           'shared by more records than max_records_per_key (' || $cap || ')' as reason
    from int_identity__all_keys where key_records > $cap
    union all
    select key_type, key_value, key_records, 'role mailbox (info@, service@...), not a person'
    from int_identity__all_keys where key_type = 'email' and sb_is_role_email(key_value) and key_records <= $cap
    union all
    select key_type, key_value, key_records,
           'shared by different people (names or birth dates disagree): links only records that agree'
    from int_identity__contested
)
group by key_type, key_value, reason
order by key_type, value_hash, reason
"""


def connected_components(con: duckdb.DuckDBPyConnection, nodes: str, edges: str, out: str) -> int:
    """Connected components by min-label propagation: `nodes(node)`, `edges(a, b)` -> `out(node, label)`.

    Returns the number of iterations. Labels are the smallest node of each component (tested against networkx).
    """
    con.execute(f"create or replace table {out} as select node, node as label from {nodes}")
    for iteration in range(1, MAX_ITERATIONS + 1):
        con.execute(f"""
            create or replace table {out}__next as
            with candidates as (
                select node, label from {out}
                union all select e.b, l.label from {edges} as e join {out} as l on l.node = e.a
                union all select e.a, l.label from {edges} as e join {out} as l on l.node = e.b
            )
            select node, min(label) as label from candidates group by node""")
        changed = con.execute(f"select count(*) from {out}__next as n join {out} as o using (node) "
                              "where n.label <> o.label").fetchall()[0][0]
        con.execute(f"create or replace table {out} as select * from {out}__next")
        con.execute(f"drop table {out}__next")
        if changed == 0:
            return iteration
    raise RuntimeError(f"identity clustering did not converge in {MAX_ITERATIONS} iterations")  # pragma: no cover


def _deterministic(con: duckdb.DuckDBPyConnection, identity: IdentityConfig) -> None:
    """Guarded strong-key links: pairs of records sharing a key value. A value shared by records that
    disagree on name or birth date (a family email) is contested: it links only records that agree."""
    p = identity.probabilistic
    con.execute("""
        create or replace table int_identity__usable_keys as
        select * from int_identity__all_keys
        where key_records <= $cap and not (key_type = 'email' and sb_is_role_email(key_value))""",
                {"cap": identity.max_records_per_key})
    con.execute(f"""
        create or replace table int_identity__key_pairs as
        select a.key_type, a.key_value, a.key_priority, a.rid as rid_a, b.rid as rid_b,
               {_levels_sql(p.name_close, p.street_close, ("name", "birth_date"))}
        from int_identity__usable_keys as a
        join int_identity__usable_keys as b
          on a.key_type = b.key_type and a.key_value = b.key_value and a.rid < b.rid
        join int_identity__records as l on l.rid = a.rid
        join int_identity__records as r on r.rid = b.rid""")
    con.execute("""
        create or replace table int_identity__contested as
        select key_type, key_value, count(distinct rid_a) + 1 as key_records
        from int_identity__key_pairs
        group by key_type, key_value
        having bool_or(name = 'different' or birth_date = 'different')""")
    con.execute("""
        create or replace table int_identity__keys as
        select k.* from int_identity__usable_keys as k
        where not exists (select 1 from int_identity__contested as c
                          where c.key_type = k.key_type and c.key_value = k.key_value)""")
    # one link per record pair: the highest-priority key that links them
    con.execute("""
        create or replace table int_identity__det_links as
        select rid_a, rid_b, arg_min(key_type, key_priority) as key_type,
               list(distinct key_type order by key_type) as key_types
        from int_identity__key_pairs as p
        where not exists (select 1 from int_identity__contested as c
                          where c.key_type = p.key_type and c.key_value = p.key_value)
           or ((name in ('exact', 'close', 'partial') or birth_date = 'exact')
               and coalesce(name, '') <> 'different' and coalesce(birth_date, '') <> 'different')
        group by rid_a, rid_b""")


def _probabilistic(con: duckdb.DuckDBPyConnection, identity: IdentityConfig) -> dict:
    """Fellegi-Sunter links between deterministic clusters. m-probabilities are estimated from pairs the
    strong keys linked, u-probabilities from random pairs; weights are log2(m/u) per comparison level."""
    p = identity.probabilistic
    levels = _levels_sql(p.name_close, p.street_close)
    comparisons = list(p.comparisons)
    con.execute("create or replace table int_identity__fs_records as "
                "select r.*, c.label as det_label from int_identity__records as r "
                "join int_identity__det_clusters as c on c.node = r.rid where r.name_key is not null")
    # training pairs: m from deterministically linked pairs of different systems, u from random pairs
    con.execute(f"""
        create or replace table int_identity__m_pairs as
        select {levels} from int_identity__det_links as d
        join int_identity__fs_records as l on l.rid = d.rid_a
        join int_identity__fs_records as r on r.rid = d.rid_b
        where l.system <> r.system""")
    # random pairs of records from different deterministic clusters (deterministic for a given seed)
    n_fs = max(con.execute("select count(*) from int_identity__fs_records").fetchall()[0][0], 1)
    con.execute("create or replace table int_identity__numbered as "
                "select *, row_number() over (order by rid) as idx from int_identity__fs_records")
    # (in one statement with the draws, DuckDB 2.0 plans a cross product of the records: keep them apart)
    con.execute(f"""
        create or replace table int_identity__u_draws as
        select cast(1 + hash(i, {p.seed}) % {n_fs} as bigint) as ia, cast(1 + hash(i, {p.seed + 1}) % {n_fs} as bigint) as ib
        from range({p.u_pairs}) as t(i)""")
    con.execute("""
        create or replace table int_identity__u_pair_ids as
        select l.rid as rid_a, r.rid as rid_b, l.det_label as label_a, r.det_label as label_b
        from int_identity__u_draws as d
        join int_identity__numbered as l on l.idx = d.ia
        join int_identity__numbered as r on r.idx = d.ib""")
    con.execute("delete from int_identity__u_pair_ids where label_a = label_b")
    con.execute(f"""
        create or replace table int_identity__u_pairs as
        select {levels} from int_identity__u_pair_ids as p
        join int_identity__fs_records as l on l.rid = p.rid_a
        join int_identity__fs_records as r on r.rid = p.rid_b""")
    model_rows = []
    for comparison in comparisons:
        for side in ("m", "u"):
            for level, n, total in con.execute(f"""
                    select {comparison}, count(*), sum(count(*)) over ()
                    from int_identity__{side}_pairs where {comparison} is not null group by 1""").fetchall():
                model_rows.append((comparison, side, level, n, total))
    con.execute("create or replace table int_identity__model_counts (comparison varchar, side varchar, "
                "level varchar, n bigint, total bigint)")
    if model_rows:
        con.executemany("insert into int_identity__model_counts values (?, ?, ?, ?, ?)", model_rows)
    # Laplace smoothing over the levels of each comparison keeps unseen levels finite
    con.execute("""
        create or replace table identity_model as
        with levels as (
            select distinct comparison, level from int_identity__model_counts
        ),
        totals as (
            select l.comparison, s.side, count(distinct l.level) as levels,
                   coalesce((select sum(n) from int_identity__model_counts as c
                             where c.comparison = l.comparison and c.side = s.side), 0) as total
            from levels as l cross join (values ('m'), ('u')) as s(side) group by l.comparison, s.side
        ),
        probs as (
            select l.comparison, l.level,
                   (coalesce(m.n, 0) + 1.0) / (tm.total + tm.levels) as m_probability,
                   (coalesce(u.n, 0) + 1.0) / (tu.total + tu.levels) as u_probability
            from levels as l
            join totals as tm on tm.comparison = l.comparison and tm.side = 'm'
            join totals as tu on tu.comparison = l.comparison and tu.side = 'u'
            left join int_identity__model_counts as m on m.side = 'm' and m.comparison = l.comparison and m.level = l.level
            left join int_identity__model_counts as u on u.side = 'u' and u.comparison = l.comparison and u.level = l.level
        )
        select comparison, level, m_probability, u_probability, log2(m_probability / u_probability) as weight
        from probs order by comparison, level""")
    # prior: share of all record pairs that the strong keys linked (a lower bound of the match rate)
    n_records, det_pairs = con.execute("""
        select (select count(*) from int_identity__fs_records),
               (select coalesce(sum(n * (n - 1) / 2), 0) from
                   (select count(*) as n from int_identity__fs_records group by det_label))""").fetchall()[0]
    all_pairs = max(n_records * (n_records - 1) / 2, 1)
    prior = min(max(det_pairs / all_pairs, 1e-9), 0.5)
    prior_weight = math.log2(prior / (1 - prior))
    # candidate pairs from the blocking rules (blocks larger than max_block_size are skipped)
    blocks = []
    for rule in p.blocking:
        cols = ", ".join(rule)
        on = " and ".join(f"l.{c} = r.{c}" for c in rule)
        not_null = " and ".join(f"{c} is not null" for c in rule)
        blocks.append(f"""
            select l.rid as rid_a, r.rid as rid_b
            from (select *, count(*) over (partition by {cols}) as block_size
                  from int_identity__fs_records where {not_null}) as l
            join int_identity__fs_records as r on {on} and l.rid < r.rid and l.det_label <> r.det_label
            where l.block_size <= {p.max_block_size}""")
    con.execute("create or replace table int_identity__candidates as select distinct * from ("
                + " union all ".join(blocks) + ")")
    weights: dict[str, dict[str, float]] = {}
    for comparison, level, weight in con.execute("select comparison, level, weight from identity_model").fetchall():
        weights.setdefault(comparison, {})[level] = weight
    weight_terms = " + ".join(
        "case s.{c} {whens} else 0 end".format(
            c=c, whens=" ".join(f"when '{level}' then {w!r}" for level, w in sorted(weights.get(c, {}).items())) or "when '' then 0")
        for c in comparisons)
    con.execute(f"""
        create or replace table int_identity__scored as
        with levels as (
            select c.rid_a, c.rid_b, l.det_label as label_a, r.det_label as label_b, {levels}
            from int_identity__candidates as c
            join int_identity__fs_records as l on l.rid = c.rid_a
            join int_identity__fs_records as r on r.rid = c.rid_b
        ),
        scored as (
            select s.*, {prior_weight} + {weight_terms} as match_weight from levels as s
        )
        select *, 1 / (1 + pow(2, -match_weight)) as match_probability,
               concat_ws(', ', {", ".join(f"'{c}=' || {c}" for c in comparisons)}) as evidence
        from scored""")
    # No chaining of two customers through one weak link: each deterministic cluster keeps only its best
    # fuzzy partner (a link survives when it is the best of at least one of its two clusters), and a cluster
    # left with several partners (a hub) drops those whose linked record disagrees with its best partner's
    # on name or birth date, so that two different people are not joined through a record that lacks the
    # attribute telling them apart.
    con.execute(f"""
        create or replace table int_identity__fs_links as
        with accepted as (
            -- a clear disagreement on name or birth date vetoes a fuzzy link whatever else agrees (a father
            -- and son of one name at one address are two customers)
            select * from int_identity__scored
            where match_probability >= $threshold
              and coalesce(name, '') <> 'different' and coalesce(birth_date, '') <> 'different'
        ),
        cluster_pairs as (
            select least(label_a, label_b) as c1, greatest(label_a, label_b) as c2,
                   arg_max(rid_a, match_weight) as rid_a, arg_max(rid_b, match_weight) as rid_b,
                   arg_max(case when label_a < label_b then rid_a else rid_b end, match_weight) as rid_1,
                   arg_max(case when label_a < label_b then rid_b else rid_a end, match_weight) as rid_2,
                   arg_max(evidence, match_weight) as evidence,
                   max(match_weight) as match_weight, max(match_probability) as match_probability
            from accepted group by 1, 2
        ),
        ranked as (
            select *, row_number() over (partition by c1 order by match_weight desc, c2) as rank_1,
                      row_number() over (partition by c2 order by match_weight desc, c1) as rank_2
            from cluster_pairs
        ),
        kept as (
            select * from ranked where rank_1 = 1 or rank_2 = 1
        ),
        ends as (
            select c1 as hub, c2 as partner, rid_2 as partner_rid, match_weight from kept
            union all
            select c2, c1, rid_1, match_weight from kept
        ),
        best as (
            select hub, arg_max(partner, [match_weight, -partner]) as best_partner,
                   arg_max(partner_rid, [match_weight, -partner]) as best_rid, count(*) as partners
            from ends group by hub
        ),
        conflicting as (
            select e.hub, e.partner
            from ends as e
            join best as b using (hub)
            join int_identity__records as l on l.rid = e.partner_rid
            join int_identity__records as r on r.rid = b.best_rid
            where b.partners > 1 and e.partner <> b.best_partner
              and (sb_name_level(l.name_key, l.name_partial, r.name_key, r.name_partial, {p.name_close}) = 'different'
                   or sb_birth_level(l.birth_date, r.birth_date) = 'different')
        )
        select k.rid_a, k.rid_b, k.match_weight, k.match_probability, k.evidence
        from kept as k
        where not exists (select 1 from conflicting as x
                          where (x.hub = k.c1 and x.partner = k.c2) or (x.hub = k.c2 and x.partner = k.c1))""",
                {"threshold": p.threshold})
    return {"candidate_pairs": con.execute("select count(*) from int_identity__candidates").fetchall()[0][0],
            "probabilistic_links": con.execute("select count(*) from int_identity__fs_links").fetchall()[0][0],
            "prior": prior}


def resolve_identities(con: duckdb.DuckDBPyConnection, identity: IdentityConfig) -> dict:
    """Build records and keys, guard keys, link deterministically then probabilistically, cluster.

    Returns counts, plus `seconds` per phase (the benchmark prints them)."""
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[phase] = round(now - clock, 2)
        clock = now

    con.execute(LEVEL_MACROS)
    con.execute(LOCATED_SQL)
    for statement in NORMALISED_SQL.split(";\n"):
        con.execute(statement)
    lap("records (normalise)")
    con.execute(KEYS_SQL, {"key_types": identity.keys})
    _deterministic(con, identity)
    con.execute(GUARDS_SQL, {"cap": identity.max_records_per_key})
    lap("strong keys and guards")
    con.execute("create or replace view int_identity__nodes as select rid as node from int_identity__records")
    con.execute("create or replace view int_identity__det_edges as select rid_a as a, rid_b as b from int_identity__det_links")
    connected_components(con, "int_identity__nodes", "int_identity__det_edges", "int_identity__det_clusters")
    lap("deterministic clusters")
    fs = {"candidate_pairs": 0, "probabilistic_links": 0, "prior": None}
    if identity.probabilistic.enabled:
        fs = _probabilistic(con, identity)
    else:
        con.execute("create or replace table int_identity__fs_links (rid_a bigint, rid_b bigint, "
                    "match_weight double, match_probability double, evidence varchar)")
        con.execute("create or replace table identity_model (comparison varchar, level varchar, "
                    "m_probability double, u_probability double, weight double)")
    lap("probabilistic model")
    con.execute("""
        create or replace table int_identity__links as
        select rid_a, rid_b, 'deterministic' as link_rule, key_type, key_types, null::double as match_probability,
               'same ' || array_to_string(key_types, ', ') as evidence
        from int_identity__det_links
        union all
        select rid_a, rid_b, 'probabilistic', null, []::varchar[], match_probability,
               evidence || ' (weight ' || round(match_weight, 1) || ')'
        from int_identity__fs_links""")
    con.execute("create or replace view int_identity__all_edges as select rid_a as a, rid_b as b from int_identity__links")
    iterations = connected_components(con, "int_identity__nodes", "int_identity__all_edges", "int_identity__clusters")
    lap("final clusters")
    return {
        "identity_records": con.execute("select count(*) from int_identity__records").fetchall()[0][0],
        "clusters": con.execute("select count(distinct label) from int_identity__clusters").fetchall()[0][0],
        "guards_fired": con.execute("select count(*) from identity_guards").fetchall()[0][0],
        "deterministic_links": con.execute("select count(*) from int_identity__det_links").fetchall()[0][0],
        "probabilistic_links": fs["probabilistic_links"],
        "candidate_pairs": fs["candidate_pairs"],
        "iterations": iterations,
        "seconds": seconds,
    }


IDENTITIES_SQL = """
create or replace table customer_identities as
with members as (
    select r.rid, r.system, r.entity, r.record_id, r.seen_at, a.customer_id,
           count(*) over (partition by a.customer_id) as customer_records
    from int_identity__records as r join int_identity__assigned as a using (rid)
),
ends as (
    select rid_a as rid, link_rule, key_types, match_probability from int_identity__links
    union all
    select rid_b, link_rule, key_types, match_probability from int_identity__links
),
linked as (
    -- how the record is tied to the others: by strong keys (their types, highest priority first) or
    -- only by the probabilistic model (its best match probability)
    select e.rid,
           bool_or(e.link_rule = 'deterministic') as deterministic,
           list_distinct(flatten(list(e.key_types))) as link_keys,
           max(e.match_probability) as match_probability
    from ends as e group by e.rid
),
carried as (
    select rid, list(key_type order by key_priority) as identifier_types
    from int_identity__usable_keys group by rid
),
final as (
    select m.customer_id, m.system, m.entity, m.record_id,
           case when l.deterministic then 'deterministic'
                when l.rid is not null then 'probabilistic'
                else 'unlinked' end as link_rule,
           coalesce(list_filter(c.identifier_types, lambda k: list_contains(l.link_keys, k)), []::varchar[]) as link_keys,
           coalesce(c.identifier_types, []::varchar[]) as identifier_types,
           l.match_probability,
           m.customer_records,
           m.seen_at as record_seen_at,
           m.rid
    from members as m
    left join linked as l using (rid)
    left join carried as c using (rid)
)
select *, link_keys[1] as identifier_type
from final order by customer_id, system, entity, record_id
"""

KEY_CUSTOMERS_SQL = """
create or replace table int_identity__key_customers as
select distinct k.key_type, k.key_value, c.customer_id
from int_identity__keys as k join customer_identities as c using (rid)
"""


def build_customer_identities(con: duckdb.DuckDBPyConnection) -> None:
    """`customer_identities` (one row per record, with its customer and how it was linked) and the
    key -> customer lookup the models use, from the assigned ids."""
    con.execute(IDENTITIES_SQL)
    con.execute(KEY_CUSTOMERS_SQL)


def resolve_customers(con: duckdb.DuckDBPyConnection, identity: IdentityConfig, run_id: str,
                      has_previous: bool = False) -> dict:
    """The whole identity path: resolve, assign stable ids (from `prev_identities` / `prev_id_map` when
    `has_previous`), build customer_identities. Returns resolution counts plus `changes` (id events)."""
    counts = resolve_identities(con, identity)
    clock = time.perf_counter()
    changes = assign_customer_ids(con, run_id, has_previous)
    build_customer_identities(con)
    counts["seconds"]["stable ids"] = round(time.perf_counter() - clock, 2)
    return counts | {"customers": changes["customers"], "changes": changes}
