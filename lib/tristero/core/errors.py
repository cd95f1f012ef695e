"""Errors that pass between layers."""


class StoreError(Exception):
    """The site's disk failed (full, read-only, I/O error): the run stops, nothing half-done."""
