"""Connectors: read one kind of export into Arrow with lineage columns; they write nothing."""
