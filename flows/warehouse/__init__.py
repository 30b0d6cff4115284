"""The one package that reads and writes the warehouse: Parquet versions, the DuckDB catalog of views, the
run ledger and the private state beside it.

Layout under the warehouse directory:
    versions/<run_id>/<table>.parquet   one complete, immutable version per successful run
    versions/<run_id>/warehouse.duckdb  that version's catalog: views by paths relative to the warehouse dir
    current -> versions/<run_id>        the one pointer, moved by one rename on publish
    warehouse.duckdb -> current/warehouse.duckdb   fixed: the catalog follows the pointer
    runs/<run_id>.json                  the run ledger, one file per run (failed runs too)
    .lock                               the run holding the warehouse (lock.py)
A reader either sees the previous version or the new one, never half of a run.

Beside it, in the state directory (not for analysts: personal data in clear):
    <state>/<run_id>/staging/<source>.parquet  the typed rows each source had in that version,
                                               reused for sources not run on a later night
    <state>/<run_id>/staging/<source>.rejected.parquet  the quarantined rows' original text (for replay)
    <state>/loaded_files.json                  ledger of loaded files: content checksum -> first load

Modules: versions (publish, prune, recover, current version, state files), lock (one run at a time), ledger (runs/ and the pipeline_run*
tables), files (the loaded-files ledger), staged (views over a run's staged files), catalog (read-only
access to the published catalog for the CLI, the report and explain).
"""

from flows.warehouse.files import note_loaded_files, read_file_ledger, record_loaded_files, record_pending_files
from flows.warehouse.ledger import read_run_records, write_run_record
from flows.warehouse.lock import WarehouseLocked, warehouse_lock
from flows.warehouse.versions import (
    CATALOG, IDENTITY_MODEL_STATE, IDENTITY_RECORDS_STATE, RUN_ID, current_version, identity_model_file,
    identity_records_file, publish, recover, rejected_file, state_file,
)

__all__ = ["CATALOG", "IDENTITY_MODEL_STATE", "IDENTITY_RECORDS_STATE", "RUN_ID", "WarehouseLocked",
           "current_version", "identity_model_file", "identity_records_file", "note_loaded_files", "publish",
           "read_file_ledger", "read_run_records", "record_loaded_files", "record_pending_files", "recover",
           "rejected_file", "state_file", "warehouse_lock", "write_run_record"]
