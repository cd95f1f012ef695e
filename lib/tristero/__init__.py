"""Tristero: a batch mailing-list manager."""

__version__ = "0.1.0"
