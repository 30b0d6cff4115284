"""The one package that reads and writes the warehouse: Parquet versions, the DuckDB catalog of views, the
run ledger and the private state beside it.

Layout under the warehouse directory:
    versions/<run_id>/<table>.parquet   one complete, immutable version per successful run
    current -> versions/<run_id>        symlink swapped atomically on publish
    warehouse.duckdb                    views over the current version, replaced atomically
    runs/<run_id>.json                  the run ledger, one file per run (failed runs too)
A reader either sees the previous version or the new one, never half of a run.

Beside it, in the state directory (not for analysts: personal data in clear):
    <state>/<run_id>/staging/<source>.parquet  the typed rows each source had in that version,
                                               reused for sources not run on a later night
    <state>/<run_id>/staging/<source>.rejected.parquet  the quarantined rows' original text (for replay)
    <state>/loaded_files.json                  ledger of loaded files: content checksum -> first load

Modules: versions (publish, prune, current version, state files), ledger (runs/ and the pipeline_run*
tables), files (the loaded-files ledger), staged (views over a run's staged files), catalog (read-only
access to the published catalog for the CLI, the report and explain).
"""

from flows.warehouse.files import read_file_ledger, record_loaded_files
from flows.warehouse.ledger import read_run_records, write_run_record
from flows.warehouse.versions import (
    CATALOG, IDENTITY_RECORDS_STATE, current_version, identity_records_file, publish, rejected_file, state_file,
)

__all__ = ["CATALOG", "IDENTITY_RECORDS_STATE", "current_version", "identity_records_file", "publish",
           "read_file_ledger", "read_run_records", "record_loaded_files", "rejected_file", "state_file",
           "write_run_record"]
