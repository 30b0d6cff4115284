"""Orchestration: the nightly Prefect flow, its thin tasks, the CLI and the settings."""
