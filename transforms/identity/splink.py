"""Identity v3: probabilistic linking of identity records with Splink 5 (issue 11).

Pure: a `Database` (DuckDB or Spark: the engine seam gives Splink its backend) and the name of a table
of identity records in, tables in the same database out; no files, no clock, no Prefect. Splink does the
modelling (prior, u by sampling, m by EM, term frequencies, graded comparisons, scoring); this module only
maps our record columns onto a Splink model, applies the household rule over the scored evidence and
reports when the model cannot be trusted.

Input table (`int_identity__records` plus optional columns; a column that is absent or entirely null is
left out of the model, a null value is "no evidence", never a disagreement):
- `rid` (unique id), `system`;
- names: `given_name`, `middle_name` (or an initial), `family_name`; `name_key` (the order-insensitive full
  name key) is compared only when given and family names are absent;
- `birth_date` (DATE), `street_key`, `city`, `postcode` (full; `postcode_key` is used when it is absent);
- identifiers, each a fuzzy comparison (exact / one edit / two edits): `email_norm`, `phone_norm`,
  `loyalty_norm`, `login_norm` and any extra column declared in `ProbabilisticConfig.identifiers` (one
  without a column: the identifier of that name the sources map, from the records' `identifiers_norm` JSON,
  normalised by `int_identity__records`, the one place that normalises them for the strong keys too).

Output tables (prefix `ProbabilisticConfig.output_prefix`, default `int_identity__splink_`):
- `<prefix>links`: pairs at or above the threshold that the household rule lets through
  (rid_l, rid_r, match_weight, match_probability, and per comparison `level_<c>` (label) and `mw_<c>`
  (its weight, term frequency included): the rows of an `explain` waterfall);
- `<prefix>possible`: pairs in the clerical-review band [review_threshold, threshold) plus the pairs held
  by the household rule, with `reason`;
- `<prefix>model`: the parameters (comparison, level, m, u, Bayes factor, weight, term frequencies).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from importlib.metadata import version
from dataclasses import dataclass, field
from typing import Any, Literal

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import ColumnExpression, Linker, SettingsCreator, block_on
from transforms import similarity
from transforms.config import HouseholdRule, Identifier, ProbabilisticConfig
from transforms.database import Database
from transforms.identity.tables import columns as table_columns
from transforms.normalize import NICKNAMES

log = logging.getLogger(__name__)

# Logical fields the model knows -> the column of the input table that carries them.
FIELD_COLUMNS = {
    "given_name": "given_name", "middle_name": "middle_name", "family_name": "family_name",
    "name": "name_key", "birth_date": "birth_date", "street": "street_key", "city": "city",
    "postcode": "postcode",
}


@dataclass
class LinkResult:
    """What `link_records` made: output table names, counts, the fitted prior and warnings (never silent)."""

    links_table: str
    possible_table: str
    model_table: str
    links: int = 0
    possible: int = 0
    held_by_household_rule: int = 0
    expected_matching_pairs: float | None = None
    probability_two_random_records_match: float | None = None
    comparisons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per phase (the benchmark prints them)
    parameters: dict | None = None  # the trained model (`model_parameters`): scores the same on any engine
    # the model to store for the next runs (`stored_model`), and whether tonight's m and u were a stored one's
    model: dict | None = None
    reused: bool = False
    _clock: float | None = field(default=None, repr=False)

    def lap(self, phase: str) -> None:
        """Record the seconds since the previous lap under `phase` (added up when a phase repeats)."""
        now = time.perf_counter()
        if self._clock is not None:
            self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._clock, 2)
        self._clock = now


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# ---- input preparation -------------------------------------------------------------------------------

def _present_columns(db: Database, table: str) -> set[str]:
    """Columns of `table` that hold at least one non-null value."""
    columns = table_columns(db, table)
    if not columns:
        return set()
    counts = db.one("splink.present columns", "select " + ", ".join(f"count({_q(c)})" for c in columns) + f" from {_q(table)}")
    return {c for c, n in zip(columns, counts) if n}


def prepare_input_sql(table: str, present: set[str], config: ProbabilisticConfig, prepared: str) -> str:
    """SQL that builds the model's input: one row per record, logical field names, derived keys."""
    def col(name: str, expr: str | None = None) -> str:
        return f"{expr or _q(name)}" if name in present else "null"

    def field(name: str, expr: str) -> str:
        """`expr`, null when it is one of the field's placeholder values (compared trimmed, lowercase)."""
        if not config.placeholders.get(name):
            return expr
        return f"case when list_contains($placeholder_{name}, lower(trim(cast({expr} as varchar)))) then null else {expr} end"

    def text(name: str, column: str) -> str:
        return field(name, f"nullif(trim(lower(cast({col(column)} as varchar))), '')")

    def raw(name: str, column: str, cast: str = "cast") -> str:
        return field(name, f"{cast}({col(column)} as {'date' if name == 'birth_date' else 'varchar'})")

    selects = [
        "cast(rid as bigint) as unique_id",
        f"{text('given_name', 'given_name')} as given_name",
        f"{text('middle_name', 'middle_name')} as middle_name",
        f"{text('family_name', 'family_name')} as family_name",
        f"{raw('name', 'name_key')} as name",
        f"{raw('birth_date', 'birth_date', 'try_cast')} as birth_date",
        f"{raw('street', 'street_key')} as street",
        f"{text('city', 'city')} as city",
        f"{raw('postcode', 'postcode' if 'postcode' in present else 'postcode_key')} as postcode",
    ]
    def identifier(i: Identifier) -> str:
        if i.column is not None:
            return f"cast({col(i.column)} as varchar)"
        if "identifiers_norm" not in present:
            return "null::varchar"
        # a source-mapped identifier, already normalised; the name is checked by its pattern ([a-z][a-z0-9_]*:
        # `$.name` unquoted, as Spark's get_json_object reads paths)
        return f"json_extract_string(identifiers_norm, '$.{i.name}')"

    compared = [i for i in config.identifiers if config.compares_identifier(i)]
    selects += [f"{identifier(i)} as {_q('id_' + i.name)}" for i in compared]
    # each identifier's character set (`_IdentifierComparison`'s guard)
    chars = "".join(f", {char_set_sql('s.' + _q('id_' + i.name))} as {_q('id_' + i.name + CHAR_SET_SUFFIX)}"
                    for i in compared)
    # the area key: the record's own (int_identity__records cuts it with its source's length) when the table
    # has both postcode and postcode_key, else the first `postcode_key_length` characters of the postcode
    own_key = "postcode" in present and "postcode_key" in present
    selects.append(f"{'cast(postcode_key as varchar)' if own_key else 'null::varchar'} as _own_postcode_key")
    return f"""
create or replace table {_q(prepared)} as
with source as (
    select {", ".join(selects)} from {_q(table)}
),
final as (
    select s.* exclude (_own_postcode_key), coalesce(n.formal, s.given_name) as given_formal,
           case when s.postcode is not null then {'s._own_postcode_key' if own_key else
                                                  'left(s.postcode, $postcode_key_length)'} end as postcode_key{chars}
    from source as s left join {_q(prepared + '_nicknames')} as n on n.nickname = s.given_name
)
select * from final order by unique_id
"""


def collapse_identical(db: Database, prepared: str) -> int:
    """Keep one record (the lowest id) of each group equal on every compared column; `<prepared>_members`
    maps each record to it, `<prepared>_all` keeps every record (for the prior and the term frequencies).
    Splink then trains and scores one record where the input had several identical ones (records already
    joined by strong keys, a customer exported unchanged twice); `expand_pairs_sql` gives each scored pair
    back to every member. Returns the number of records left out."""
    columns = [c for c in table_columns(db, prepared) if c != "unique_id"]
    members = _q(prepared + "_members")
    db.run("splink", f"""create or replace table {members} as
        select unique_id as rid, min(unique_id) over (partition by {", ".join(_q(c) for c in columns)}) as rep
        from {_q(prepared)}""")
    collapsed = db.scalar("splink", f"select count(*) filter (where rid <> rep) from {members}")
    if collapsed:
        db.run("splink.all records", f"create or replace table {_q(prepared + '_all')} as select * from {_q(prepared)}")
        db.run("splink", f"create or replace table {_q(prepared)} as select p.* from {_q(prepared + '_all')} as p "
                    f"semi join {members} as m on m.rep = p.unique_id order by p.unique_id")
    return collapsed


def _scoring_linker(db: Database, linker: Any, prepared: str) -> tuple[Any, list[str]]:
    """A linker with `linker`'s trained model over the kept records of `prepared`, with the term-frequency
    tables of every record (`<prepared>_all`, Splink's own formula): the scores are those the records would
    get uncollapsed. Returns it and the tables made for it."""
    model = linker.misc.save_model_to_json()
    scoring = Linker(linker._db_api.register(prepared), model, log_level=None)
    tables = []
    for column in scoring._settings_obj._term_frequency_columns:
        # quoted here, not by Splink (its quoting is its backend's dialect; our SQL is DuckDB's on every engine)
        bare = column.unquote().name
        name, tf_name = _q(bare), _q(column.unquote().tf_name)
        table = f"{prepared}_tf_{bare}"
        db.run("splink", f"""create or replace table {_q(table)} as
            select {name}, cast(count(*) as float8) / (select count({name}) from {_q(prepared + "_all")}) as {tf_name}
            from {_q(prepared + "_all")} where {name} is not null group by {name} order by {name}""")
        scoring.table_management.register_term_frequency_lookup(scoring._db_api.register(table), bare)
        tables.append(table)
    return scoring, tables


def _self_pairs(db: Database, prepared: str) -> str | None:
    """The (kept, kept) pairs of the groups `collapse_identical` made, as Splink's blocked pairs: scored like
    any pair, so identical records link only when their shared values are evidence enough."""
    table = prepared + "_self_pairs"
    db.run("splink", f"""create or replace table {_q(table)} as
        select '0' as match_key, rep as join_key_l, rep as join_key_r
        from {_q(prepared + "_members")} group by rep having count(*) > 1 order by rep""")
    if not db.scalar("splink", f"select count(*) from {_q(table)}"):
        db.run("splink", f"drop table {_q(table)}")
        return None
    return table


def expand_pairs_sql(predictions: list[str], prepared: str, expanded: str) -> str:
    """Scored pairs of kept records -> the same scores for every pair of the records they stand for
    (a pair of two groups: every cross pair; a group with itself: every pair inside it)."""
    members = _q(prepared + "_members")
    scored = " union all ".join(f"select * from {_q(p)}" for p in predictions)
    return f"""
create or replace table {_q(expanded)} as
with scored as (
    {scored}
),
final as (
    select least(a.rid, b.rid) as unique_id_l, greatest(a.rid, b.rid) as unique_id_r,
           p.* exclude (unique_id_l, unique_id_r)
    from scored as p
    join {members} as a on a.rep = p.unique_id_l
    join {members} as b on b.rep = p.unique_id_r
    where p.unique_id_l <> p.unique_id_r or a.rid < b.rid
)
select * from final
"""


# ---- the model ---------------------------------------------------------------------------------------

@dataclass
class _Spec:
    """One comparison: its Splink creator and how many of its top levels count as agreement."""

    name: str
    creator: Any
    agree_levels: int


def _bytes(sql_dialect: Any, column: str) -> str:
    """`column` as Levenshtein must see it: DuckDB's counts bytes, Spark's characters; on Spark the text is
    re-read with one character per UTF-8 byte, so that both engines give the same values (issue 16: one
    semantics, DuckDB's)."""
    if sql_dialect.sql_dialect_str == "spark":
        return f"decode(encode({column}, 'UTF-8'), 'ISO-8859-1')"
    return column


def _similarity_function(sql_dialect: Any, name: str) -> str:
    """DuckDB's `name` function ("jaro_winkler", "damerau_levenshtein") on `sql_dialect`'s engine: on Spark,
    transforms.similarity's copy of DuckDB's (Splink's jar counts characters and halves Jaro's transpositions
    without rounding down, so its values differ)."""
    if sql_dialect.sql_dialect_str == "spark":
        return {"jaro_winkler": similarity.JARO_WINKLER, "damerau_levenshtein": similarity.DAMERAU_LEVENSHTEIN}[name]
    return getattr(sql_dialect, f"{name}_function_name")


class _JaroWinklerLevel(cll.JaroWinklerLevel):
    """Splink's Jaro-Winkler level with DuckDB's function on every engine (`_similarity_function`)."""

    def create_sql(self, sql_dialect: Any) -> str:
        self.col_expression.sql_dialect = sql_dialect
        col = self.col_expression
        return (f"{_similarity_function(sql_dialect, 'jaro_winkler')}({col.name_l}, {col.name_r}) "
                f">= {self.distance_threshold}")


def _name_levels(column: str, config: ProbabilisticConfig, tf: bool, formal: str | None = None) -> list:
    exact = cll.ExactMatchLevel(column)
    if tf:
        exact = exact.configure(tf_adjustment_column=column)
    levels = [cll.NullLevel(column), exact]
    if formal:
        levels.append(cll.ExactMatchLevel(formal).configure(label_for_charts="Same formal name (nickname)"))
    levels += [_JaroWinklerLevel(column, 0.92), _JaroWinklerLevel(column, config.name_close),
               _JaroWinklerLevel(column, 0.7), cll.ElseLevel()]
    return levels


# The characters an identifier's character set records, one bit per group (a letter's two cases share one):
# ASCII, so each is one byte in UTF-8 and the bound below holds whether a distance counts characters or bytes
# (`_bytes`); other characters are left out, which can only make two sets closer.
CHAR_SET_BITS = [*(c + c.upper() for c in "abcdefghijklmnopqrstuvwxyz"), *"0123456789", ".", "@", "_", "-", "+"]
CHAR_SET_SUFFIX = "_chars"


def char_set_sql(text: str) -> str:
    """SQL: a bigint whose bit i is set when `text` contains a character of CHAR_SET_BITS[i] (0 for null)."""
    bits = " + ".join("case when " + " or ".join(f"instr({text}, '{c}') > 0" for c in chars)
                      + f" then {1 << i} else 0 end" for i, chars in enumerate(CHAR_SET_BITS))
    return f"cast({bits} as bigint)"


class _GuardedDamerauLevenshteinLevel(cll.DamerauLevenshteinLevel):
    """Splink's Damerau-Levenshtein level over bytes (DuckDB's function on every engine), the same pairs, tested
    cheapest first.

    1. The character sets (`<column>_chars`, `char_set_sql`): an insertion, deletion or substitution adds at
       most one character to a text's set and removes at most one, a transposition neither, so two texts
       within distance d differ on at most 2d of the set's characters (a bit count: ~30x cheaper than a
       distance). Random pairs of identifiers almost never pass it, and u sampling compares a million of them.
    2. The Levenshtein distance (8x cheaper than Damerau-Levenshtein), within 2d (a transposition is two
       Levenshtein edits).
    3. The Damerau-Levenshtein distance, within d."""

    def create_sql(self, sql_dialect: Any) -> str:
        self.col_expression.sql_dialect = sql_dialect
        col = self.col_expression
        left, right = _bytes(sql_dialect, col.name_l), _bytes(sql_dialect, col.name_r)
        chars = ColumnExpression(col.raw_sql_expression + CHAR_SET_SUFFIX, sql_dialect=sql_dialect)
        chars_l, chars_r = chars.name_l, chars.name_r
        differ = f"{chars_l} ^ {chars_r}" if sql_dialect.sql_dialect_str == "spark" else f"xor({chars_l}, {chars_r})"
        return (f"bit_count({differ}) <= {2 * self.distance_threshold} and "
                f"levenshtein({left}, {right}) <= {2 * self.distance_threshold} and "
                f"{_similarity_function(sql_dialect, 'damerau_levenshtein')}({col.name_l}, {col.name_r}) "
                f"<= {self.distance_threshold}")


class _IdentifierComparison(cl.DamerauLevenshteinAtThresholds):
    """Splink's identifier comparison (exact, Damerau-Levenshtein thresholds, else), guarded levels (the
    input carries each identifier's `<column>_chars`: `prepare_input_sql`)."""

    def create_comparison_levels(self) -> list:
        return [cll.NullLevel(self.col_expression), cll.ExactMatchLevel(self.col_expression),
                *[_GuardedDamerauLevenshteinLevel(self.col_expression, t) for t in self.thresholds],
                cll.ElseLevel()]


def build_comparisons(present: set[str], config: ProbabilisticConfig) -> list[_Spec]:
    """The comparisons the data can support, each graded from exact down to 'else' (a learned weight)."""
    want = set(config.comparisons)
    tf = set(config.term_frequencies)
    have = {f for f in FIELD_COLUMNS if FIELD_COLUMNS[f] in present}
    if "postcode_key" in present:
        have.add("postcode")
    specs: list[_Spec] = []
    # the full-name key is compared when some records carry no split name (a Latin full name alone)
    split_names = {"given_name", "family_name"} <= have and "unsplit_names" not in present
    if "given_name" in want and "given_name" in have:
        specs.append(_Spec("given_name", cl.CustomComparison(
            comparison_levels=_name_levels("given_name", config, "given_name" in tf, "given_formal"),
            output_column_name="given_name"), 3))
    if "family_name" in want and "family_name" in have:
        specs.append(_Spec("family_name", cl.CustomComparison(
            comparison_levels=_name_levels("family_name", config, "family_name" in tf),
            output_column_name="family_name"), 2))
    if "name" in want and "name" in have and not split_names:
        levels = _name_levels("name", config, "name" in tf)
        if {"given_name", "family_name"} <= have:
            # records with split names on both sides are compared on them: the full-name key would count
            # the same evidence twice, so it is "no evidence" for that pair
            levels[0] = cll.CustomLevel(
                "name_l is null or name_r is null or (given_name_l is not null and family_name_l is not null "
                "and given_name_r is not null and family_name_r is not null)",
                label_for_charts="Null or compared on split names").configure(is_null_level=True)
        specs.append(_Spec("name", cl.CustomComparison(comparison_levels=levels, output_column_name="name"), 2))
    if "middle_name" in want and "middle_name" in have:
        specs.append(_Spec("middle_name", cl.CustomComparison(comparison_levels=[
            cll.NullLevel("middle_name"), cll.ExactMatchLevel("middle_name"),
            cll.CustomLevel("left(middle_name_l, 1) = left(middle_name_r, 1)", label_for_charts="Same initial"),
            cll.ElseLevel()], output_column_name="middle_name"), 2))
    if "birth_date" in want and "birth_date" in have:
        # exact, one character apart, within a month: agreement; within a year or ten: weaker, learned
        specs.append(_Spec("birth_date", cl.DateOfBirthComparison("birth_date", input_is_string=False), 3))
    if "street" in want and "street" in have:
        exact = cll.ExactMatchLevel("street")
        if "street" in tf:
            exact = exact.configure(tf_adjustment_column="street")
        specs.append(_Spec("street", cl.CustomComparison(comparison_levels=[
            cll.NullLevel("street"), exact, _JaroWinklerLevel("street", config.street_close),
            _JaroWinklerLevel("street", 0.7), cll.ElseLevel()], output_column_name="street"), 2))
    if "city" in want and "city" in have:
        exact = cll.ExactMatchLevel("city")
        if "city" in tf:
            exact = exact.configure(tf_adjustment_column="city")
        specs.append(_Spec("city", cl.CustomComparison(comparison_levels=[
            cll.NullLevel("city"), exact, _JaroWinklerLevel("city", config.name_close), cll.ElseLevel()],
            output_column_name="city"), 2))
    if "postcode" in want and "postcode" in have:
        exact = cll.ExactMatchLevel("postcode")
        if "postcode" in tf:
            exact = exact.configure(tf_adjustment_column="postcode")
        specs.append(_Spec("postcode", cl.CustomComparison(comparison_levels=[
            cll.NullLevel("postcode"), exact,
            cll.ExactMatchLevel("postcode_key").configure(label_for_charts="Same postcode area"),
            cll.ElseLevel()], output_column_name="postcode"), 1))
    for ident in config.identifiers:
        if (ident.column if ident.column is not None else "id_" + ident.name) in present \
                and config.compares_identifier(ident):
            column = "id_" + ident.name
            specs.append(_Spec(column, _IdentifierComparison(column, [1, 2]), 3))
    return specs


def _field_columns(rule: list[str], present_fields: set[str], expand_name: bool = False) -> list[str] | None:
    """The rule's columns, or None when the data lacks one; with `expand_name` (blocking rules written for
    the first model, whose one name field was the full-name key) `name` means given + family name when
    the records carry split names (the full-name key is then not compared)."""
    if expand_name and "name" in rule and "name" not in present_fields and {"given_name", "family_name"} <= present_fields:
        rule = [c for f in rule for c in (["given_name", "family_name"] if f == "name" else [f])]
    columns = list(dict.fromkeys(rule))
    return columns if all(f in present_fields for f in columns) else None


def _present_fields(specs: list[_Spec], present: set[str]) -> set[str]:
    fields = {s.name for s in specs}
    if "postcode" in fields:
        fields.add("postcode_key")
    return fields


def _block_size_sql(prepared: str, rules: list[list[str]]) -> str:
    """Per record and blocking rule, the size of its block (null when the record lacks one of the rule's
    values: it is in no block): rules skip blocks above max_block_size. Counted per block and joined back:
    one window per rule would sort the whole table once per rule (5x the CPU at 250k records)."""
    blocks, sizes = [], []
    for i, rule in enumerate(rules):
        columns = ", ".join(_q(c) for c in rule)
        block = _q(f"__b{i}")
        blocks.append(f"left join (select {columns}, count(*) as n from {_q(prepared)} "
                      f"where {' and '.join(_q(c) + ' is not null' for c in rule)} group by {columns}) as {block} on "
                      + " and ".join(f"{block}.{_q(c)} = p.{_q(c)}" for c in rule))
        sizes.append(f"{block}.n as {_q(f'__bs_{i}')}")
    return (f"create or replace table {_q(prepared)} as select p.*, {', '.join(sizes)} from {_q(prepared)} as p "
            f"{' '.join(blocks)} order by p.unique_id")


def _training_rule_sql(rule: list[str]) -> str:
    # unquoted: Splink reads a rule in its backend's dialect, where "x" may be a string (Spark); the columns
    # are the model's own names (fields, id_<identifier>, __bs_<n>), plain identifiers
    return " and ".join(f"l.{c} = r.{c}" for c in rule)


def link_records(db: Database, table: str, config: ProbabilisticConfig = ProbabilisticConfig(),
                 trained: LinkResult | None = None, score: bool = True, stored: dict | None = None) -> LinkResult:
    """Train a Splink model on `table` without labels (or take the model of `trained`, an earlier result
    over the same records, on any database), score candidate pairs, apply the household rule.

    `stored`: a model an earlier run trained (`LinkResult.model`, kept by the caller): its m and u are reused
    (the prior is estimated on these records) when it was trained for the same comparisons and training
    settings on about as many records (`reusable`); else the model is trained.

    Writes the links, possible-match and model tables into `db` (see the module docstring) and returns
    their names, counts, warnings and the model's parameters. `score=False` trains only (the parameters and
    the training's warnings), for scoring on another database: the Spark engine trains on DuckDB
    (`Database.splink_trainer`).
    """
    prefix = config.output_prefix
    result = LinkResult(links_table=prefix + "links", possible_table=prefix + "possible",
                        model_table=prefix + "model")
    prepared = prefix + "input"
    result.lap("start")
    _empty_outputs(db, result)
    if not config.enabled:
        return result
    present = _present_columns(db, table)
    if "rid" not in table_columns(db, table):
        raise ValueError(f"{table} has no rid column")
    db.run("splink", f"create or replace table {_q(prepared + '_nicknames')} (nickname varchar, formal varchar)")
    db.run_many("splink", f"insert into {_q(prepared + '_nicknames')} values (?, ?)", sorted(NICKNAMES.items()))
    input_sql = prepare_input_sql(table, present, config, prepared)
    db.run("splink", input_sql,
                {**({"postcode_key_length": config.postcode_key_length} if "$postcode_key_length" in input_sql else {}),
                 **{f"placeholder_{f}": [v.strip().lower() for v in values]
                    for f, values in config.placeholders.items() if values}})
    n_records, unsplit = db.one("splink", 
        f"select count(*), count(*) filter (where name is not null and given_name is null and family_name is null) "
        f"from {_q(prepared)}")
    if unsplit:
        present = present | {"unsplit_names"}
    for f in [f for f, values in config.placeholders.items() if values and f in FIELD_COLUMNS]:
        # a field whose every value was a placeholder is absent, like a column nobody filled
        if not db.scalar("splink", f"select count({_q(f)}) from {_q(prepared)}"):
            present = present - {FIELD_COLUMNS[f], "postcode_key" if f == "postcode" else FIELD_COLUMNS[f]}
    for ident in config.identifiers:
        # a source-mapped identifier is present when some record has it
        column = "id_" + ident.name
        if ident.column is None and config.compares_identifier(ident) and \
                db.scalar("splink", f"select count({_q(column)}) from {_q(prepared)}"):
            present = present | {column}
    specs = build_comparisons(present, config)
    result.comparisons = [s.name for s in specs]
    if n_records < 2:
        result.warnings.append(f"no candidate pairs: {n_records} record(s)")
        return result
    if len(specs) < 2:
        result.warnings.append(f"cannot train: the records carry too few attributes to compare ({result.comparisons})")
        return result
    fields = _present_fields(specs, present)
    id_fields = [s.name for s in specs if s.name.startswith("id_")]
    rules: list[list[str]] = []
    for rule in [*(_field_columns(r, fields, expand_name=True) for r in config.blocking), *([c] for c in id_fields)]:
        if rule and rule not in rules:
            rules.append(rule)
    db.run("splink", _block_size_sql(prepared, rules))
    blocking = [f"{_training_rule_sql(rule)} and l.__bs_{i} <= {config.max_block_size}"
                for i, rule in enumerate(rules)]

    result.lap("prepare input")
    collapsed = collapse_identical(db, prepared)
    result.lap("collapse identical")
    db_api = db.splink_api()
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[s.creator for s in specs],
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,  # Splink 5 keeps the gamma (level) columns only with them
        max_iterations=config.max_iterations,
    )
    # log_level None: Splink leaves the "splink" logger as the caller set it (its default, INFO, narrates training)
    # trained on every record (the prior, u, m and term frequencies are those of all records), scored on
    # one record per group of identical ones
    linker = Linker(db_api.register(prepared + "_all" if collapsed else prepared), settings, log_level=None)
    try:
        if trained is not None:
            if trained.parameters is None:  # it could not train: its reasons, no links
                result.warnings += trained.warnings
                return result
            return _predict_with(db, linker, trained, specs, id_fields, n_records, config, result)
        fingerprint = training_fingerprint(linker, config)
        why_not = reusable(stored, fingerprint, n_records, config)
        if stored is not None and why_not:
            log.info("splink linker: training a new model (the stored one is not reused: %s)", why_not)
        if stored is not None and not why_not:
            if not _reuse(linker, fields, id_fields, n_records, config, result, stored):
                return result
            result.model = {**stored, "parameters": result.parameters}
        elif not _train(linker, fields, id_fields, n_records, config, result):
            return result
        else:
            result.model = {"fingerprint": fingerprint, "records": n_records, "parameters": result.parameters,
                            "warnings": list(result.warnings)}
        if not score:
            return result
        return _score(db, linker, specs, id_fields, config, result)
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        if collapsed:
            db.run("splink", f"drop table if exists {_q(prepared + '_all')}")


def _estimate_prior(linker: Any, fields: set[str], id_fields: list[str], config: ProbabilisticConfig,
                    result: LinkResult) -> float | None:
    """The prior (the probability that two random records match) from the deterministic rules, set on
    `linker`; None, with the reason among `result`'s warnings, when no pair is certain enough."""
    training = linker.training
    deterministic = [block_on(*r) for r in config.deterministic if _field_columns(r, fields)]
    deterministic += [block_on(c) for c in id_fields]
    prior_set = False
    if deterministic:
        try:
            training.estimate_probability_two_random_records_match(deterministic, recall=config.deterministic_recall)
            prior_set = linker._settings_obj._probability_two_random_records_match > 0
        except ValueError as error:  # the rules found more pairs than the recall allows
            result.warnings.append(f"prior not estimated: {error}")
    if not prior_set:
        # no pair is certain enough to anchor the model: scoring with a guessed prior links strangers
        result.warnings.append("cannot train: the deterministic rules found no pairs, so the match rate "
                               "cannot be estimated; no links made")
        return None
    result.lap("prior")
    return linker._settings_obj._probability_two_random_records_match


def _train(linker: Any, fields: set[str], id_fields: list[str], n_records: int, config: ProbabilisticConfig,
           result: LinkResult) -> bool:
    """Train `linker`'s model (prior, u, m); `result` gets the prior, the parameters and the warnings. Returns
    False when it cannot train (the reason among the warnings): no links are made then."""
    training = linker.training
    all_pairs = n_records * (n_records - 1) / 2
    estimated_prior = _estimate_prior(linker, fields, id_fields, config, result)
    if estimated_prior is None:
        return False
    log.info("splink linker: prior %.3g, estimating u", estimated_prior)
    # u
    u_pairs = min(all_pairs, max(config.u_pairs_min, min(config.u_pairs, config.u_pairs_per_record * n_records)))
    # one chunk: each comparison's levels counted over all sampled pairs in one query (Splink's default, ten
    # chunks with early stopping, re-queries up to eleven times the comparisons whose rare levels never reach
    # its count, e.g. identifiers: slower, on fewer pairs)
    training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=config.seed, num_chunks=1)
    result.lap("u")
    log.info("splink linker: u estimated on %d sampled pairs, estimating m", u_pairs)
    # m
    trained_any = False
    training_rules = [r for r in (_field_columns(rule, fields) for rule in config.training_blocking) if r]
    if config.train_on_identifiers:
        training_rules += [[c] for c in id_fields]
    for columns in training_rules:
        try:
            session = estimate_m(training, columns, config.em_max_pairs)
        except Exception as error:  # noqa: BLE001 - Splink raises several types when a rule yields no pairs
            message = f"EM on {'+'.join(columns)} failed: {str(error).splitlines()[0] if str(error) else error!r}"
            if columns[0] in id_fields:  # an identifier no two records share: nothing to learn, nothing wrong
                log.info("splink linker: %s", message)
            else:
                result.warnings.append(message)
            result.lap("EM " + "+".join(columns))
            continue
        trained_any = True
        result.lap("EM " + "+".join(columns))
        # the session keeps its parameter history (private in Splink 5: no public accessor)
        iterations = len(session._core_model_settings_history) - 1
        if iterations >= config.max_iterations:
            result.warnings.append(f"EM on {'+'.join(columns)} did not converge in {iterations} iterations")
    if not trained_any:
        result.warnings.append("cannot train: no EM training rule produced candidate pairs")
    untrained = _untrained_comparisons(linker)
    if untrained:
        result.warnings.append("m not estimated for: " + ", ".join(untrained) + " (Splink's defaults used)")

    # an EM session leaves the match rate of its own blocked pairs (most of them matches) as the model's
    # prior: put back the one estimated over all pairs, which scoring needs
    _finish(linker, estimated_prior, n_records, result)
    result.lap("EM and model")
    return True


def _finish(linker: Any, prior: float, n_records: int, result: LinkResult) -> None:
    """Set the prior, round the parameters (`_stable`); `result` gets the prior, the expected matching pairs
    and the parameters."""
    linker._settings_obj._probability_two_random_records_match = _stable(prior)
    _round_parameters(linker)
    prior = linker._settings_obj._probability_two_random_records_match
    result.probability_two_random_records_match = prior
    result.expected_matching_pairs = prior * n_records * (n_records - 1) / 2
    result.parameters = model_parameters(linker)


# settings that change only how a trained model's scores are used, not what training learns
_SCORING_SETTINGS = {"threshold", "review_threshold", "household", "min_expected_share", "output_prefix",
                     "retrain_after_days", "retrain_record_change"}


def training_fingerprint(linker: Any, config: ProbabilisticConfig) -> str:
    """What a model's m and u were trained for: the training settings, the comparisons and their levels, and
    Splink's version (16 hex digits of a SHA-256). A stored model is reused only under the same fingerprint."""
    payload = {"settings": config.model_dump(mode="json", exclude=_SCORING_SETTINGS),
               "comparisons": [[c.output_column_name, [lvl.label_for_charts for lvl in c.comparison_levels]]
                               for c in linker._settings_obj.comparisons],
               "splink": version("splink")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def reusable(stored: dict | None, fingerprint: str, n_records: int, config: ProbabilisticConfig) -> str | None:
    """Why the stored model cannot score these records (None: it can): none stored, trained for other
    comparisons or settings, it could not train, or the records grew or shrank by more than
    `config.retrain_record_change` since it was trained."""
    if stored is None:
        return "no stored model"
    if stored.get("fingerprint") != fingerprint:
        return "the comparisons or the training settings changed"
    if not stored.get("parameters"):
        return "the stored model could not be trained"
    trained_on = stored.get("records") or 0
    if trained_on < 2 or abs(n_records - trained_on) > config.retrain_record_change * trained_on:
        return f"records changed from {trained_on:,} to {n_records:,}"
    return None


def _reuse(linker: Any, fields: set[str], id_fields: list[str], n_records: int, config: ProbabilisticConfig,
           result: LinkResult, stored: dict) -> bool:
    """The prior estimated on these records, m and u from `stored` (a model `reusable` accepted); its
    training's warnings stand. False when the prior cannot be estimated (no links then)."""
    prior = _estimate_prior(linker, fields, id_fields, config, result)
    if prior is None:
        return False
    _apply_parameters(linker, stored["parameters"])
    result.warnings += [w for w in stored.get("warnings", []) if not w.startswith("prior not estimated")]
    result.reused = True
    _finish(linker, prior, n_records, result)
    log.info("splink linker: prior %.3g estimated; m and u of the stored model", prior)
    result.lap("stored model")
    return True


def _apply_parameters(linker: Any, parameters: dict) -> None:
    """Set each comparison level's m and u from `parameters` (`model_parameters`); comparisons it has none for
    are dropped, as Splink drops from a trained model the comparisons it could learn nothing about."""
    settings = linker._settings_obj
    settings.comparisons = [c for c in settings.comparisons if c.output_column_name in parameters["comparisons"]]
    for comparison in settings.comparisons:
        levels = parameters["comparisons"][comparison.output_column_name]
        if len(levels) != len(comparison.comparison_levels):
            raise ValueError(f"the given model's {comparison.output_column_name} has {len(levels)} levels, "
                             f"these records' {len(comparison.comparison_levels)}")
        for level, (m, u) in zip(comparison.comparison_levels, levels):
            level._m_probability, level._u_probability = m, u


def _score(db: Database, linker: Any, specs: list[_Spec], id_fields: list[str], config: ProbabilisticConfig,
           result: LinkResult) -> LinkResult:
    """Write the model table, score the candidate pairs with `linker`'s trained model, apply the household rule."""
    _write_model(db, linker, specs, result)
    log.info("splink linker: model trained, scoring candidate pairs")
    predicted = _predict_expanded(db, linker, config)
    result.lap("predict")
    _write_pairs(db, predicted, specs, id_fields, config, result)
    result.lap("household rule and pairs")
    db.run("splink", f"drop table {_q(predicted)}")
    log.info("splink linker: %d links, %d possible matches", result.links, result.possible)
    # whether the links fall far short of the matches the model expects is judged on the final customers
    # (probabilistic.short_of_expected): records the strong keys join need no scored pair
    for warning in result.warnings:
        log.warning("splink linker: %s", warning)
    return result


def _stable(value: float) -> float:
    """A trained parameter to 10 significant digits: Splink sums EM's floats in parallel, so two runs on the same
    data differ in the last digits; scoring with rounded parameters gives every rerun the same pair scores
    (rounding only the scores could still land either side of a digit)."""
    return float(f"{value:.10g}") if isinstance(value, float) and math.isfinite(value) and value else value


def _round_parameters(linker: Any) -> None:
    """Every trained m and u of the model, through `_stable`, before scoring."""
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            for name in ("m_probability", "u_probability"):
                value = getattr(level, name)
                if isinstance(value, float):
                    setattr(level, name, _stable(value))


# how many times more pairs a training rule is given when EM drove an m to zero on its sample
EM_RETRY_PAIRS_FACTOR = 4


def _m_underflow(error: Exception) -> bool:
    """Splink's refusal of an m (or u) below 1e-300, which EM reached."""
    return isinstance(error, ValueError) and "below the minimum allowed value" in str(error)


def estimate_m(training: Any, columns: list[str], max_pairs: int) -> Any:
    """One EM session on the pairs that agree on `columns`, sampled by Splink (deterministic, hash-based) to
    about `max_pairs`; returns the session.

    EM can drive the m of a level to exactly 0: when every sampled pair at that level looks like a non-match,
    each iteration multiplies its weight against a match (m 1e-18, 1e-31, 1e-56, 1e-105, 1e-202, then 0 in six
    iterations of the name rule at 100k customers with 300k pairs), and Splink refuses an m below 1e-300, so
    the whole rule used to be lost (a warning, and that rule's m untrained). A larger sample carries the
    level's rare true matches, which keep its m above zero: the session is run once more on
    `EM_RETRY_PAIRS_FACTOR` times the pairs (still a deterministic sample; a rule with fewer pairs uses them
    all). Other errors, and a second underflow, are the caller's."""
    def session(pairs: int) -> Any:
        # EM iterates on counts of agreement patterns (no term frequencies): far faster, the same m
        return training.estimate_parameters_using_expectation_maximisation(
            block_on(*columns), estimate_without_term_frequencies=True, max_pairs=pairs)
    try:
        return session(max_pairs)
    except ValueError as error:
        if not _m_underflow(error):
            raise
        log.info("splink linker: EM on %s drove an m to zero on ~%d pairs; retrying on ~%d",
                 "+".join(columns), max_pairs, EM_RETRY_PAIRS_FACTOR * max_pairs)
        return session(EM_RETRY_PAIRS_FACTOR * max_pairs)


def model_parameters(linker: Any) -> dict:
    """A trained model's parameters: the prior and each comparison level's m and u, by comparison name and
    level position (Splink's saved JSON carries its SQL in one engine's dialect; these carry none)."""
    settings = linker._settings_obj
    return {"prior": settings._probability_two_random_records_match,
            "comparisons": {c.output_column_name: [(lvl._m_probability, lvl._u_probability)
                                                   for lvl in c.comparison_levels]
                            for c in settings.comparisons}}


def _predict_with(db: Database, linker: Any, trained: LinkResult, specs: list[_Spec], id_fields: list[str],
                  n_records: int, config: ProbabilisticConfig, result: LinkResult) -> LinkResult:
    """Score with the model of `trained` (trained on the same records, on any engine) instead of training: its
    parameters (`model_parameters`) and its training's warnings."""
    parameters = trained.parameters
    result.warnings += trained.warnings
    linker._settings_obj._probability_two_random_records_match = parameters["prior"]
    _apply_parameters(linker, parameters)
    result.probability_two_random_records_match = parameters["prior"]
    result.expected_matching_pairs = parameters["prior"] * n_records * (n_records - 1) / 2
    result.parameters = parameters
    result.model, result.reused = trained.model, trained.reused
    result.lap("parameters")
    return _score(db, linker, specs, id_fields, config, result)


def _predict_expanded(db: Database, linker: Any, config: ProbabilisticConfig) -> str:
    """Splink scores the candidate pairs of the kept records, then each group of identical records with
    itself; the scores are expanded to every record (`expand_pairs_sql`). Returns the table's name."""
    prepared = config.output_prefix + "input"
    expanded = config.output_prefix + "predicted"
    self_pairs = _self_pairs(db, prepared)
    collapsed = db.scalar("splink", f"select count(*) from {_q(prepared + '_members')} where rid <> rep")
    scoring, made = _scoring_linker(db, linker, prepared) if collapsed else (linker, [])
    try:
        scored = [scoring.inference.predict(threshold_match_probability=config.review_threshold,
                                            warning_mode="never")]
        if self_pairs:
            scoring.table_management.register_blocked_pairs_for_predict(scoring._db_api.register(self_pairs))
            scored.append(scoring.inference.predict(threshold_match_probability=config.review_threshold,
                                                    warning_mode="never"))
        db.run("splink", expand_pairs_sql([p.physical_name for p in scored], prepared, expanded))
        for p in scored:
            p.drop_table_from_database_and_remove_from_cache()
    finally:
        if scoring is not linker:
            scoring.table_management.delete_tables_created_by_splink_from_db()
        for table in [*made, *([self_pairs] if self_pairs else [])]:
            db.run("splink", f"drop table if exists {_q(table)}")
    return expanded


def _untrained_comparisons(linker: Any) -> list[str]:
    """Comparisons with no trained m value at all (a level never observed keeps Splink's default quietly)."""
    return [c.output_column_name for c in linker._settings_obj.comparisons if not c._some_m_are_trained]


def _empty_outputs(db: Database, result: LinkResult) -> None:
    db.run("splink", f"create or replace table {_q(result.links_table)} (rid_l bigint, rid_r bigint, "
                "match_weight double, match_probability double)")
    db.run("splink", f"create or replace table {_q(result.possible_table)} (rid_l bigint, rid_r bigint, "
                "match_weight double, match_probability double, reason varchar)")
    db.run("splink", f"create or replace table {_q(result.model_table)} (comparison varchar, gamma integer, "
                "level varchar, m_probability double, u_probability double, bayes_factor double, "
                "match_weight double, tf_adjustment_column varchar, tf_adjustment_weight double)")


def _write_model(db: Database, linker: Any, specs: list[_Spec], result: LinkResult) -> None:
    rows = []
    prior = result.probability_two_random_records_match or 0
    if 0 < prior < 1:
        rows.append(("prior", None, "probability two random records match", prior, None, prior / (1 - prior),
                     math.log2(prior / (1 - prior)), None, None))
    for r in linker._settings_obj._parameters_as_detailed_records:
        if r.comparison_name == "probability_two_random_records_match" or r.is_null_level:
            continue
        rows.append((r.comparison_name, r.comparison_vector_value, r.label_for_charts,
                     r.m_probability, r.u_probability, r.bayes_factor, r.log2_bayes_factor,
                     r.tf_adjustment_column if r.has_tf_adjustments else None,
                     r.tf_adjustment_weight if r.has_tf_adjustments else None))
    db.run_many("splink", f"insert into {_q(result.model_table)} values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _agree_condition(spec: _Spec, alias: str = "p") -> str:
    """gamma of the comparison is one of its top `agree_levels` levels (Splink: null -1, else 0, exact max)."""
    max_gamma = len(spec.creator.get_comparison("duckdb").comparison_levels) - 2
    return f"{alias}.{_q('gamma_' + spec.name)} >= {max_gamma - spec.agree_levels + 1}"


def _disagree_condition(spec: _Spec, alias: str = "p", or_missing: bool = False) -> str:
    max_gamma = len(spec.creator.get_comparison("duckdb").comparison_levels) - 2
    g = f"{alias}.{_q('gamma_' + spec.name)}"
    return f"({g} >= {-1 if or_missing else 0} and {g} < {max_gamma - spec.agree_levels + 1})"


def household_condition(specs: list[_Spec], rule: HouseholdRule) -> str | None:
    """SQL over a prediction row `p`: true when the household rule holds the pair back."""
    by_name = {s.name: s for s in specs}
    different_fields = [f for f in rule.different if f in by_name]
    if not rule.enabled or not all(f in by_name for f in rule.same) or not different_fields or (
            not rule.missing_is_different and len(different_fields) < len(rule.different)):
        return None
    same = [_agree_condition(by_name[f]) for f in rule.same]
    different = [_disagree_condition(by_name[f], or_missing=rule.missing_is_different) for f in different_fields]
    if rule.missing_is_different:
        different.append("(" + " or ".join(_disagree_condition(by_name[f]) for f in different_fields) + ")")
    ids = [_agree_condition(s) for s in specs if s.name.startswith("id_")]
    condition = " and ".join(same + different)
    if ids:
        condition += " and not (" + " or ".join(ids) + ")"
    return condition


def undated_household_condition(specs: list[_Spec], rule: HouseholdRule) -> str | None:
    """SQL over a prediction row `p`: true when the household rule's no-date branch holds the pair back
    (`HouseholdRule.strict_without_dates`): the `different` fields other than the given name are missing on
    both sides, and either the given name clearly differs (its lowest level) with the same family name, or
    the pair agrees on the `same` fields with a differing middle name, or with no agreeing given name and no
    agreeing identifier. An agreeing identifier does not rescue the pair: households share them."""
    by_name = {s.name: s for s in specs}
    if not (rule.enabled and rule.strict_without_dates and "given_name" in by_name and "family_name" in by_name
            and all(f in by_name for f in rule.same)):
        return None
    undated = [f"p.{_q(f + '_l')} is null and p.{_q(f + '_r')} is null"
               for f in rule.different if f != "given_name" and f in by_name]
    given = by_name["given_name"]
    household = " and ".join(_agree_condition(by_name[f]) for f in rule.same)
    person = [f"p.{_q('gamma_given_name')} = 0 and {_agree_condition(by_name['family_name'])}"]
    if "middle_name" in by_name:
        person.append(f"{household} and p.{_q('gamma_middle_name')} = 0")
    ids = [_agree_condition(s) for s in specs if s.name.startswith("id_")]
    person.append(f"{household} and not {_agree_condition(given)}" + (f" and not ({' or '.join(ids)})" if ids else ""))
    return " and ".join([*undated, "(" + " or ".join(f"({c})" for c in person) + ")"])


def _write_pairs(db: Database, predictions: str, specs: list[_Spec], id_fields: list[str], config: ProbabilisticConfig,
                 result: LinkResult) -> None:
    # Splink leaves out of the scores a comparison whose m it could not estimate at all
    scored = set(table_columns(db, predictions))
    specs = [s for s in specs if "gamma_" + s.name in scored]
    held = household_condition(specs, config.household) or "false"
    undated = undated_household_condition(specs, config.household) or "false"
    levels = []
    for s in specs:
        comparison = s.creator.get_comparison("duckdb")
        cases = " ".join(
            f"when {lvl.comparison_vector_value} then '{lvl.label_for_charts.replace(chr(39), chr(39) * 2)}'"
            for lvl in comparison.comparison_levels)
        g = _q("gamma_" + s.name)
        has_tf = any(lvl._has_tf_adjustments for lvl in comparison.comparison_levels)
        tf = f" + coalesce(p.{_q('mw_tf_adj_' + s.name)}, 0)" if has_tf else ""
        levels.append(f"case p.{g} {cases} end as {_q('level_' + s.name)}")
        levels.append(f"p.{g} as {_q('gamma_' + s.name)}")
        levels.append(f"round(p.{_q('mw_' + s.name)}{tf}, 6) as {_q('mw_' + s.name)}")
        if has_tf:  # the term-frequency part of that weight, for explain's waterfall
            levels.append(f"round(coalesce(p.{_q('mw_tf_adj_' + s.name)}, 0), 6) as {_q('tf_' + s.name)}")
    sql = f"""
create or replace table {{out}} as
with scored as (
    select p.unique_id_l as rid_l, p.unique_id_r as rid_r, round(p.match_weight, 9) as match_weight,
           round(p.match_probability, 12) as match_probability,
           coalesce(({held}), false) or coalesce(({undated}), false) as held_by_household_rule,
           coalesce(({held}), false) as held_by_dated_rule,
           {", ".join(levels)}
    from {_q(predictions)} as p
)
select {{columns}} from scored where {{where}} order by rid_l, rid_r
"""
    db.run("splink", sql.format(out=_q(result.links_table), columns="* exclude (held_by_dated_rule)",
                           where=f"match_probability >= {config.threshold!r} and not held_by_household_rule"))
    db.run("splink", sql.format(out=_q(result.possible_table + "_tmp"), columns="*",
                           where=f"match_probability < {config.threshold!r} or held_by_household_rule"))
    db.run("splink", f"""create or replace table {_q(result.possible_table)} as
        select * exclude (held_by_dated_rule),
               case when held_by_dated_rule then 'household rule: agree on ' || $same
                        || ', differ on ' || $different || ', no identifier agrees'
                    when held_by_household_rule then 'household rule: no birth date, and the given or middle '
                        || 'name differs within one family (shared identifiers do not decide)'
                    else 'review band' end as reason
        from {_q(result.possible_table + '_tmp')} order by rid_l, rid_r""",
                {"same": "+".join(config.household.same), "different": "+".join(config.household.different)})
    db.run("splink", f"drop table {_q(result.possible_table + '_tmp')}")
    result.links = db.scalar("splink", f"select count(*) from {_q(result.links_table)}")
    result.possible = db.scalar("splink", f"select count(*) from {_q(result.possible_table)}")
    result.held_by_household_rule = db.scalar("splink", 
        f"select count(*) from {_q(result.possible_table)} where held_by_household_rule")
