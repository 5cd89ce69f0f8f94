"""Helpers the tests share (a test module is not a library: what two test files use lives here)."""
