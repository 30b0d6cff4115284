"""The nightly run's steps as plain functions (one module per step) and the one sequence that runs them
(`flows.steps.run.run_night`), shared by the Prefect flow, the tests and the benchmark.

Run directory (<work>/<run_id>/): raw/ (extracted text), staging/ (typed accepted rows, and the original
text of rejected rows, kept as private state for replay), quarantine/ (rejected rows and files set aside,
masked), quality/ (per-source validation counts and freshness, for the quality metrics), int/ (identity
internals), out/ (the new warehouse version with its Data Docs, moved into the warehouse on publish).
"""
