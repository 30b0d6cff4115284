"""Read-only access to the published warehouse for the CLI, the report and explain: the catalog's tables and
their row counts, the quarantine, the identity scores, and the private copy of quarantined rows."""

from __future__ import annotations

from pathlib import Path

from flows.db import Database, parquet_source, quote, sql_string
from flows.warehouse.versions import CATALOG, current_version, reading, rejected_file


class NoWarehouse(LookupError):
    """Nothing is published in the warehouse directory yet."""

    def __init__(self, warehouse_dir: Path):
        super().__init__(f"no published warehouse in {warehouse_dir}: run `silobridge run` first")


class Catalog:
    """The published catalog (warehouse.duckdb), opened read-only; use as a context manager."""

    def __init__(self, db: Database, reading=None):
        self.db = db
        self._reading = reading

    @classmethod
    def open(cls, warehouse_dir: Path) -> "Catalog":
        """The catalog of `warehouse_dir`'s current version, held against pruning while open; raises
        NoWarehouse before the first publish."""
        version = current_version(warehouse_dir)
        if version is None or not (version / CATALOG).exists():
            raise NoWarehouse(warehouse_dir)
        held = reading(version)
        return cls(Database.open_catalog(version / CATALOG, warehouse_dir), held)

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.db.close()
        if self._reading is not None:
            self._reading.close()

    def table_rows(self) -> list[tuple[str, int]]:
        """(table, rows) of every table of the published version, by name."""
        names = [r[0] for r in self.db.rows("catalog.tables", "select view_name from duckdb_views() "
                                                               "where not internal order by view_name")]
        return [(name, self.db.count(name)) for name in names]

    def quarantine_by_rule(self) -> list[tuple[str, str, int]]:
        """(source, rule, rows) of the published quarantine."""
        return self.db.rows("catalog.quarantine_by_rule",
                            "select source, rule, count(*) from quarantine group by all order by 1, 2")

    def quarantine_summary(self) -> list[tuple]:
        """(source, rule, severity, rows, files, one example reason) of the published quarantine."""
        return self.db.rows("catalog.quarantine_summary", """
            select source, rule, severity, count(*), count(distinct file), min(reason)
            from quarantine group by all order by source, rule""")

    def quarantine_rows(self, source: str | None, rule: str | None, limit: int, offset: int = 0) -> list[tuple]:
        """(source, file, row number, rule, reason, masked record) of quarantined rows, optionally filtered;
        one page of `limit` rows after the first `offset`."""
        return self.db.rows("catalog.quarantine_rows", """
            select source, file, row_number, rule, reason, record from quarantine
            where ($s is null or source = $s) and ($r is null or rule = $r)
            order by source, file, row_number, rule limit $n offset $o""",
                            {"s": source, "r": rule, "n": limit, "o": offset})

    def quarantine_count(self, source: str | None, rule: str | None) -> int:
        """How many quarantined rows match the filters of quarantine_rows."""
        return self.db.scalar("catalog.quarantine_count", """
            select count(*) from quarantine where ($s is null or source = $s) and ($r is null or rule = $r)""",
                              {"s": source, "r": rule})

    def identity_scores(self) -> list[tuple]:
        """(metric, scope, value, detail) of the latest run's identity scores (metrics family 'identity')."""
        return self.db.rows("catalog.identity_scores", """
            select metric, dimension, value, detail from metrics
            where family = 'identity' and run_id = (select max(run_id) from metrics where family = 'identity')
            order by dimension, metric""")

    def identity_review(self) -> list[tuple]:
        """The clerical review queue (identity_review): record keys, customers, probability, reason, evidence
        (levels and weights only) and the label stored when the version was built; strongest first."""
        return self.db.rows("catalog.identity_review", """
            select system_a, entity_a, record_id_a, system_b, entity_b, record_id_b, customer_id_a, customer_id_b,
                   same_customer, match_probability, match_weight, reason, evidence, label
            from identity_review""")


def version_database(version: Path, tables: tuple[str, ...], step: str) -> Database:
    """An in-memory database with views over `tables` of a published version's Parquet files."""
    db = Database.connect(step=step)
    for table in tables:
        db.view_over_parquet(table, version / f"{table}.parquet")
    return db


def export_rejected(warehouse_dir: Path, state_dir: Path, source: str, out: Path) -> int:
    """Write the current version's quarantined rows of `source`, original values, to CSV `out`; return the rows.

    Raises NoWarehouse before the first publish, FileNotFoundError when the source has no quarantined rows.
    """
    version = current_version(warehouse_dir)
    if version is None:
        raise NoWarehouse(warehouse_dir)
    path = rejected_file(state_dir, version.name, source)
    if not path.exists():
        raise FileNotFoundError(f"no quarantined rows of {source!r} in the current version {version.name}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with Database.connect(step="quarantine export") as db:
        db.run("view rejected", f"create view {quote('rejected')} as select * from {parquet_source(path)}")
        db.run("export rejected", f"copy (select * from {quote('rejected')}) to {sql_string(out)} "
                                  "(header, delimiter ',')")
        return db.count("rejected")
