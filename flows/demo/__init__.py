"""Deterministic demo exports for the fictional "Lumen Living" silos (see docs/demo_exports.md)."""
