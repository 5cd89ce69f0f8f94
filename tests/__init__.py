"""The test suite: ``unit`` (pure), ``store``, ``integration`` (real sockets), ``crash``; helpers in ``support``.

pytest rewrites ``assert`` only in test modules and conftest files; registered here, before any helper is
imported, the asserts in ``tests.support`` explain a failure the way they did while they lived in test modules.
"""

import pytest

pytest.register_assert_rewrite("tests.support")
