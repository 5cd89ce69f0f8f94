"""Where the repository is, for tests that read its files or run tools in it (one place, whatever folder a test
module sits in)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/support/paths.py → the repository
