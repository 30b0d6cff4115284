"""Transforms: pure table-in, table-out steps (validate, stage, identity, model, metrics)."""
