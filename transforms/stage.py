"""Typing of one source: canonical fields cast to their types, timestamps to UTC (SQL built here)."""

from __future__ import annotations

import re

from connectors.config import SourceConfig, SyntheticKey
from connectors.expressions import EXPORT_PREFIX, export_sql
from connectors.schemas import ATTRIBUTES, KINDS, LINEAGE, REPLAY_PREFIX, REPLAYED_KEY, FieldSpec
from transforms.database import Database
from transforms.sqltext import quote

__all__ = ["DUCK_TYPES", "FORMULA_RE", "field_format", "formula_sql", "prepared_sql", "quote", "raw_texts_sql",
           "staged_columns", "trimmed", "typed_sql"]

DUCK_TYPES = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
    "decimal": "DECIMAL(18, 2)",
    "integer": "BIGINT",
    "json": "VARCHAR",
    "list": "VARCHAR[]",
}

_OFFSET_RE = r"(Z|z|[+-]\d\d(:?\d\d)?)$"
# A text value a spreadsheet would run as a formula (=HYPERLINK(...), @SUM(...), +cmd|...).
FORMULA_RE = r"^\s*([=@]|[+-]\s*[A-Za-z_][A-Za-z0-9_.]*\s*[(!|])"


def field_format(source: SourceConfig, name: str, spec: FieldSpec) -> str | None:
    """The declared format of a typed field (None means ISO-8601 / plain numbers)."""
    if spec.type in ("timestamp", "date"):
        return source.formats.get(name, "iso8601")
    return None


# Numbers without a declared format: the readings that fit one convention only (regex -> what to remove /
# replace). `1,234` (thousands or decimal comma?) fits none and stays unread: never guessed.
_UNDECLARED_NUMBERS = (
    (r"[+-]?\d+(\.\d+)?", "{s}"),
    (r"[+-]?\d{1,3}(,\d{3})+\.\d+|[+-]?\d{1,3}(,\d{3}){2,}", "replace({s}, ',', '')"),
    (r"[+-]?\d{1,3}(\.\d{3})+,\d+|[+-]?\d{1,3}(\.\d{3}){2,}", "replace(replace({s}, '.', ''), ',', '.')"),
    (r"[+-]?\d+,(\d{1,2}|\d{4,})", "replace({s}, ',', '.')"),
)
# Taiwan (Minguo/ROC) calendar dates: year 1 is 1912 (`075/06/16` = 1986-06-16), with an optional time.
_ROC_RE = r"^(\d{2,3})[/.-](\d{1,2})[/.-](\d{1,2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?$"


def _number_text(raw: str, source: SourceConfig, params: dict) -> str:
    """SQL: the raw text as a plain number (`-1234.5`), or NULL when it is not one under the source's
    number format (declared, or detected per value when only one reading fits)."""
    nf = source.number_format
    symbols = nf.currency_symbols if nf else ["NT$", "US$", "$", "€", "£", "¥"]
    params["currency_re"] = "|".join(re.escape(c) for c in sorted(symbols, key=len, reverse=True)) or "(?!)"
    s = f"regexp_replace(regexp_replace({raw}, $currency_re, '', 'g'), '\\s', '', 'g')"
    if nf is None:
        cases = " ".join(f"WHEN regexp_full_match({s}, '{pattern}') THEN {fix.format(s=s)}"
                         for pattern, fix in _UNDECLARED_NUMBERS)
        return f"CASE {cases} END"
    d, t = re.escape(nf.decimal), re.escape(nf.thousands)
    grouped = rf"[+-]?\d{{1,3}}({t}\d{{3}})+({d}\d+)?|" if nf.thousands not in ("", " ") else ""
    params["number_re"] = rf"{grouped}[+-]?\d+({d}\d+)?"
    params["thousands"], params["decimal"] = nf.thousands, nf.decimal
    return f"CASE WHEN regexp_full_match({s}, $number_re) THEN replace(replace({s}, $thousands, ''), $decimal, '.') END"


def _roc_expr(raw: str, timestamp: bool) -> str:
    """SQL: a ROC-calendar date (or timestamp, naive) read from `raw`; NULL when it is not one."""
    g = [f"regexp_extract({raw}, $roc_re, {i})" for i in range(1, 5)]
    date = (f"try_strptime(cast(try_cast({g[0]} AS INTEGER) + 1911 AS VARCHAR) || '-' || {g[1]} || '-' || {g[2]}"
            + (f" || ' ' || coalesce(nullif({g[3]}, ''), '00:00')" if timestamp else "")
            + (", ['%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S'])" if timestamp else ", '%Y-%m-%d')"))
    return f"CASE WHEN regexp_matches({raw}, $roc_re) THEN {date} END"


def trimmed(text: str) -> str:
    """SQL: `trim(text)` (DuckDB's: spaces of Unicode category Zs off both ends), called only where it can change
    the text: an ASCII text (as many bytes as characters) that neither starts nor ends with a space is its own
    trim. DuckDB's trim decodes the whole text to find its end: typing 2M web events' 8 text fields into a
    table took 3.3 CPU s with it, 1.4 with this test, 1.0 with no trim at all."""
    return (f"CASE WHEN starts_with({text}, ' ') OR ends_with({text}, ' ') OR strlen({text}) <> length({text}) "
            f"THEN trim({text}) ELSE {text} END")


def formula_sql(text: str) -> str:
    """SQL: whether `text` matches FORMULA_RE ($formula_re). A match starts with a space (RE2's \\s: tab, line
    feed, form feed, carriage return, space) or one of = @ + -, all below '0' or between ':' and 'A': a text
    whose first byte is elsewhere (a digit, a letter, any non-ASCII character) is not run through the regex,
    a comparison of bytes instead (over 2M web events' 7 text fields: 0.7 CPU s with the regex alone, 0.2)."""
    return f"({text} < '0' or ({text} >= ':' and {text} < 'A')) and regexp_matches({text}, $formula_re)"


def _typed_expr(name: str, spec: FieldSpec, source: SourceConfig, params: dict) -> str:
    raw = f"nullif({trimmed(quote(name))}, '')"
    if name in source.value_maps:
        # a vendor's codes or names to canonical values; a value not in the map is kept as it is
        params[f"map_{name}_from"] = list(source.value_maps[name])
        params[f"map_{name}_to"] = list(source.value_maps[name].values())
        raw = (f"coalesce(map_extract_value(map(CAST(${'map_' + name + '_from'} AS VARCHAR[]), "
               f"CAST(${'map_' + name + '_to'} AS VARCHAR[])), {raw}), {raw})")
    fmt = field_format(source, name, spec)
    if spec.values:
        return f"lower({raw})"
    if spec.type in ("string", "json"):
        return raw
    if spec.type == "list":
        return f"list_filter(list_transform(string_split({raw}, $list_delim), lambda x: trim(x)), lambda x: x <> '')"
    if spec.type == "integer":
        return f"try_cast({_number_text(raw, source, params)} AS BIGINT)"
    if spec.type == "decimal":
        return f"try_cast({_number_text(raw, source, params)} AS DECIMAL(18, 2))"
    param = f"fmt_{name}"
    if fmt == "roc":
        params["roc_re"] = _ROC_RE
        if spec.type == "date":
            return f"CAST({_roc_expr(raw, False)} AS DATE)"
        return f"timezone($tz, {_roc_expr(raw, True)})"
    if spec.type == "date":
        if fmt == "epoch_days":  # days since 1970-01-01 (e.g. a Parquet int column without a date type)
            return f"CAST(DATE '1970-01-01' + try_cast({raw} AS INTEGER) AS DATE)"
        if fmt == "iso8601":
            return f"try_cast({raw} AS DATE)"
        params[param] = fmt
        return f"CAST(try_strptime({raw}, ${param}) AS DATE)"
    # timestamps: always TIMESTAMPTZ in UTC; naive text is read in the source's time zone
    if fmt == "epoch_ms":
        return f"timezone('UTC', epoch_ms(try_cast({raw} AS BIGINT)))"
    if fmt == "epoch_us":  # microseconds (e.g. GA4's event_timestamp)
        return f"timezone('UTC', make_timestamp(try_cast({raw} AS BIGINT)))"
    if fmt == "epoch_days":
        return f"timezone('UTC', CAST(DATE '1970-01-01' + try_cast({raw} AS INTEGER) AS TIMESTAMP))"
    if fmt == "epoch_s":
        return f"timezone('UTC', to_timestamp(try_cast({raw} AS DOUBLE))::TIMESTAMP)"
    if fmt == "iso8601":
        return (
            f"CASE WHEN regexp_matches({raw}, '{_OFFSET_RE}') THEN try_cast({raw} AS TIMESTAMPTZ) "
            f"ELSE timezone($tz, try_cast({raw} AS TIMESTAMP)) END"
        )
    params[param] = fmt
    if "%z" in fmt or "%Z" in fmt:  # the text states its offset: strptime gives the instant, no zone to apply
        return f"try_strptime({raw}, ${param})"
    return f"timezone($tz, try_strptime({raw}, ${param}))"


def _typed_columns(source: SourceConfig, params: dict) -> tuple[dict[str, str], list[str], list[str]]:
    """SELECT items of the typed fields (by field), their `<field>__raw` texts and their `_unparsed__<field>` flags."""
    mapped = set(source.mapped_fields)
    typed, raws, flags = {}, [], []
    for name, spec in KINDS[source.kind].items():
        duck = DUCK_TYPES[spec.type]
        if name not in mapped:
            typed[name] = f"CAST(NULL AS {duck}) AS {quote(name)}"
            continue
        typed[name] = f"CAST({_typed_expr(name, spec, source, params)} AS {duck}) AS {quote(name)}"
        raws.append(f"{quote(name)} AS {quote(name + '__raw')}")
        if spec.type not in ("string", "json", "list"):
            flags.append(
                f"(nullif({trimmed(quote(name + '__raw'))}, '') IS NOT NULL AND {quote(name)} IS NULL) "
                f"AS {quote('_unparsed__' + name)},"
            )
    if "$tz" in " ".join(typed.values()):
        params["tz"] = source.timezone or "UTC"
    if "$list_delim" in " ".join(typed.values()):
        params["list_delim"] = source.list_delimiter
    return typed, raws, flags


def _row_flags(source: SourceConfig, relations: dict[str, str] | None, params: dict) -> list[str]:
    """SELECT items of `_formula_field`, `_long_field` and the `_orphan__<field>` relation flags."""
    flags = []
    computed = [*source.columns, *source.field_expressions]
    texts = [n for n in computed if KINDS[source.kind][n].type in ("string", "list")]
    formula = ", ".join(f"case when {formula_sql(quote(n + '__raw'))} then '{n}' end" for n in texts)
    long = ", ".join(f"case when length({quote(n + '__raw')}) > $max_len then '{n}' end" for n in computed)
    # a header row repeated in the middle of a file (files concatenated with their headers): every mapped
    # column holds its own name; with one mapped column a value could be its name by chance
    header = ([f"lower({quote(n + '__raw')}) = lower($hdr_{i})" for i, n in enumerate(source.columns)]
              if source.format in ("csv", "excel") else [])
    for i, col in enumerate(source.columns.values() if len(header) > 1 else []):
        params[f"hdr_{i}"] = col
    flags.append(f"coalesce({' and '.join(header) if len(header) > 1 else 'false'}, false) AS _header_row,")
    flags.append(f"coalesce({formula or 'NULL'}, NULL) AS _formula_field,")
    flags.append(f"coalesce({long or 'NULL'}, NULL) AS _long_field,")
    params["formula_re"] = FORMULA_RE
    params["max_len"] = source.contract.max_field_length
    for name in source.contract.relations:
        table = (relations or {}).get(name)
        check = (f"({quote(name)} is not null and {quote(name)} not in (select value from {quote(table)}))"
                 if table else "CAST(NULL AS BOOLEAN)")
        flags.append(f"{check} AS {quote('_orphan__' + name)},")
    return flags


def synthetic_key_sql(key: SyntheticKey) -> str:
    """SQL (text) of a synthetic key over the extracted rows: the first 16 hex digits of the SHA-256 of its
    columns' values as a JSON list (NULL and '' stay distinct; 64 bits: a collision is unlikely below
    billions of keys), or the row's number within its group of equal values, in file order (file name,
    row number: the same file gives the same numbers on every run; filtered rows are numbered too, so that
    a filter change does not renumber the others)."""
    cols = [quote(EXPORT_PREFIX + c) for c in key.export_columns]
    if key.hash is not None:
        return f"left(sha256(to_json(list_value({', '.join(cols)}))), 16)"
    within = ", ".join([f"starts_with(_source_file, '{REPLAY_PREFIX}/')", *(cols or ["_source_file"])])
    return f"CAST(row_number() over (partition by {within} order by _source_file, _row_number) AS VARCHAR)"


def prepared_sql(source: SourceConfig, extracted: str) -> str:
    """SELECT over the extracted rows: mapped and constant fields as they are, each expression field and
    synthetic key computed (as text) from the export columns it references, lineage, and `_kept`: whether the
    row passes the source's filter (no filter: every row; a filter that is NULL or false for a row filters it
    out)."""
    items = [quote(c) for c in [*source.columns, *source.constants]]
    items += [f"CAST(({export_sql(text)}) AS VARCHAR) AS {quote(name)}" for name, text in source.field_expressions.items()]
    # a replayed row keeps the key its original had (computed on the export's rows: replays never renumber them)
    items += [f"coalesce({quote(REPLAYED_KEY + name)}, {synthetic_key_sql(key)}) AS {quote(name)}"
              for name, key in source.keys.items()]
    items += [quote(c) for c in (ATTRIBUTES, *LINEAGE)]
    kept = f"coalesce(({export_sql(source.filter)}), false)" if source.filter else "true"
    return f"select {', '.join(items)}, {kept} AS _kept from {quote(extracted)}"


# A file's offset (typed_sql) is a constant of a CASE for up to this many files, else joined: DuckDB does not keep
# the rows' order through the join (at 100k customers it moved blocks of the 2M web events), which the staged
# write then has to sort; a CASE keeps it, at a cost per row that grows with the files.
OFFSETS_INLINE_MAX = 64


def file_offsets_sql(raw_table: str = "raw") -> str:
    """SELECT (_source_file, _offset) of the files of `raw_table`: a row's `_row_id` is its file's offset plus its
    row number. Replayed rows (corrected quarantined rows) first, so that a corrected row wins its key over the
    bad original; then by file name. No sort of the rows themselves."""
    return f"""
    select
        _source_file,
        coalesce(sum(_rows) over (order by not starts_with(_source_file, $replay_prefix), _source_file
                                  rows between unbounded preceding and 1 preceding), 0) as _offset
    from (select _source_file, max(_row_number) as _rows from {quote(raw_table)} group by all)
"""


def typed_sql(source: SourceConfig, raw_table: str = "raw", relations: dict[str, str] | None = None,
              offsets: list[tuple[str, int]] | None = None) -> tuple[str, dict]:
    """SELECT typing every canonical field of the source's kind, with flags and lineage.

    Returns (sql, parameters). Unmapped fields are typed NULLs so that all sources of one kind union.
    Columns added for validation: `_row_id` (the row's place in the source: replayed files first, then by
    file name and row number; its position where no row was filtered out, else unique and in that order but
    with gaps), `_unparsed__<field>` (text present but not of the field's type),
    `_key_rank` / `_key_first_file` / `_key_first_row` (duplicate keys: a row's rank among the rows with its
    key, and the first such row's file and row number; 1 and the row's own here, as for a key held once or
    incomplete: `key_ranks_sql` ranks the rows of repeated keys in the typed table, `create_typed` does both),
    `_header_row` (every mapped column holds its own name: a header repeated mid-file),
    `_formula_field` / `_long_field` (the first field holding a spreadsheet formula / more characters than
    the contract's max_field_length), and `_orphan__<field>` for each contract relation: `relations` maps
    the field to a relation (table or view) whose column `value` holds the target's values; a relation
    without a table gets NULL flags (not checked). Rows come in no guaranteed order (a global sort of the
    wide rows costs a quarter of the typing time at 10M rows): order by `_row_id` where order matters, or
    check it (`create_typed`).
    Row numbers must be 1.. within each file (as the readers number them): `_row_id` is then unique.
    `offsets` (file, offset) are the files' offsets as `file_offsets_sql` gives them, when the caller has them
    (`create_typed`): up to OFFSETS_INLINE_MAX files they are constants of the SELECT, else they are joined.
    The text each field was typed from is not kept (a second copy of every row): `raw_texts_sql` reads it
    back from `raw_table` for the rows that need it (quarantine reasons and records).
    """
    params: dict = {}
    typed, raws, flags = _typed_columns(source, params)
    flags += _row_flags(source, relations, params)
    nl = ",\n        "
    if offsets and len(offsets) <= OFFSETS_INLINE_MAX:
        # each file's offset a constant of a CASE (no join: the rows keep their order)
        whens = []
        for i, (file, offset) in enumerate(offsets):
            params[f"file_{i}"], params[f"offset_{i}"] = file, int(offset)
            whens.append(f"when $file_{i} then cast($offset_{i} as hugeint)")
        source_cte = f"""source as (
    select r.*, (case r._source_file {' '.join(whens)} end) + r._row_number as _row_id
    from {quote(raw_table)} as r
),"""
    else:
        params["replay_prefix"] = f"{REPLAY_PREFIX}/"
        source_cte = f"""files as ({file_offsets_sql(raw_table)}),
source as (
    select r.*, f._offset + r._row_number as _row_id
    from {quote(raw_table)} as r
    join files as f using (_source_file)
),"""
    sql = f"""
with {source_cte}
typed as (
    select
        {nl.join(typed.values())},
        {nl.join(raws)},
        attributes, _source_system, _source_entity, _source_file, _row_number, _row_id
    from source
),
final as (
    -- every row first of its key (key_ranks_sql ranks the rows of repeated keys): no join to the ranks, whose
    -- left join put a chunk's matched rows before the others, so that the rows left their file order
    select
        t.* exclude ({", ".join(quote(n + "__raw") for n in _raw_fields(source))}),
        {" ".join(flags)}
        cast(1 as bigint) as _key_rank,
        t._source_file as _key_first_file,
        t._row_number as _key_first_row
    from typed as t
)
select * from final
"""
    return sql, params


def key_ranks_sql(source: SourceConfig, table: str = "typed") -> str:
    """UPDATE of typed table `table` (typed_sql's columns) giving each row of a repeated key its rank among
    the rows with that key (by `_row_id`) and the first such row's file and row number; only the rows of keys
    held more than once are ranked (a window over every row sorts them all), and only those ranked after the
    first are written (the first keeps typed_sql's values, its own)."""
    keys = ", ".join(quote(k) for k in source.unique_keys)
    present = " and ".join(f"{quote(k)} is not null" for k in source.unique_keys)
    t = quote(table)
    return f"""
update {t} set _key_rank = k._key_rank, _key_first_file = k._key_first_file, _key_first_row = k._key_first_row
from (
    select
        _row_id,
        row_number() over w as _key_rank,
        first_value(_source_file) over w as _key_first_file,
        first_value(_row_number) over w as _key_first_row
    from {t}
    -- hashes of keys held by more than one row (a number groups faster than text; a hash shared by two keys
    -- only adds their rows to the ranking, where each key is ranked on its own)
    where {present} and hash({keys}) in (select hash({keys}) from {t} where {present} group by all having count(*) > 1)
    window w as (partition by {keys} order by _row_id)
) as k
where {t}._row_id = k._row_id and k._key_rank > 1
"""


def create_typed(db: Database, source: SourceConfig, relations: dict[str, str] | None = None,
                 raw_table: str = "raw", table: str = "typed") -> tuple[int, bool]:
    """Table `table`: the rows of `raw_table` typed (typed_sql) with their keys ranked (key_ranks_sql).
    Returns (rows, whether the table holds them in `_row_id` order): DuckDB keeps the rows' order through
    the typing in practice, but does not promise it across a join, so it is checked (one streaming pass over
    `_row_id`), and a reader that needs the order sorts only when this says it must."""
    offsets = db.rows("typed file offsets", file_offsets_sql(raw_table), {"replay_prefix": f"{REPLAY_PREFIX}/"})
    sql, params = typed_sql(source, raw_table, relations, offsets)
    db.run("typed", f"create table {quote(table)} as {sql}", params)
    if source.unique_keys:
        db.run("typed key ranks", key_ranks_sql(source, table))
    rows, back = db.one("typed order", f"select count(*), count(*) filter (where _row_id < previous) from "
                                       f"(select _row_id, lag(_row_id) over () as previous from {quote(table)})")
    return rows, back == 0


def _raw_fields(source: SourceConfig) -> list[str]:
    """The fields the source gives (typed from a text of the prepared rows), in the kind's order."""
    mapped = set(source.mapped_fields)
    return [name for name in KINDS[source.kind] if name in mapped]


def raw_texts_sql(source: SourceConfig, rows: str, typed_table: str = "typed", raw_table: str = "raw") -> str:
    """SELECT of `_row_id` and the text each given field was typed from (`<field>__raw`, as `raw_table` has it),
    for the typed rows whose `_row_id` is in relation `rows`: the prepared row is found by file and row number."""
    texts = "".join(f", r.{quote(n)} as {quote(n + '__raw')}" for n in _raw_fields(source))
    return (f"select t._row_id{texts} from {quote(typed_table)} as t "
            f"semi join {quote(rows)} as x using (_row_id) "
            f"join {quote(raw_table)} as r on r._source_file = t._source_file and r._row_number = t._row_number")


def staged_columns(kind: str) -> list[str]:
    """Columns of a staged table: the kind's canonical fields, the unmapped columns (`attributes`), lineage."""
    return [*KINDS[kind], ATTRIBUTES, "_source_system", "_source_entity", "_source_file", "_row_number"]


def merged_sql(source: SourceConfig, accepted: str) -> str:
    """SELECT of the rows of `accepted` (typed rows not rejected) that repeat the source's key of an earlier row
    (by `_row_id`: file order) and are folded into it, for a source with `merge: true`: `_row_id`, the row's
    file and row number, the kept row's (`kept_file`, `kept_row_number`), and `conflicts`: the fields whose
    value differs from the kept row's (both present), then the unmapped columns that do (`attributes.<column>`).
    Rows whose key is incomplete are never merged (they stay rows of their own)."""
    keys = ", ".join(quote(k) for k in source.unique_keys)
    present = " and ".join(f"{quote(k)} is not null" for k in source.unique_keys)
    fields = [f for f in source.mapped_fields if f not in source.unique_keys]
    diffs = ", ".join(f"case when m.{quote(f)} is distinct from k.{quote(f)} and m.{quote(f)} is not null "
                      f"and k.{quote(f)} is not null then '{f}' end" for f in fields) or "NULL"
    return f"""
with ranked as (
    select
        *,
        json_transform(attributes, '"MAP(VARCHAR, VARCHAR)"') as _attrs,
        case when {present} then row_number() over (partition by {keys} order by _row_id) else 1 end as _merge_rank,
        first_value(_row_id) over (partition by {keys} order by _row_id) as _kept_row_id
    from {quote(accepted)}
),

final as (
    select
        m._row_id,
        m._source_file as file,
        m._row_number as row_number,
        k._source_file as kept_file,
        k._row_number as kept_row_number,
        list_concat(
            list_filter([{diffs}], lambda x: x is not null),
            coalesce(list_transform(
                list_filter(map_keys(m._attrs), lambda c: m._attrs[c] is distinct from k._attrs[c]
                            and k._attrs[c] is not null),
                lambda c: 'attributes.' || c), [])
        )::varchar[] as conflicts
    from ranked as m
    join ranked as k on k._row_id = m._kept_row_id
    where m._merge_rank > 1
)

select * from final order by _row_id
"""
