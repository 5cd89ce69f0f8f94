"""Alembic revisions, one file each, written by hand (``NNNN_what.py``, ``revision = "NNNN"``)."""
