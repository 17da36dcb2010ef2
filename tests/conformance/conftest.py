"""The conformance suite runs every case on every engine (DESIGN.md §3.4).

Engines not yet built are listed in PENDING with the issue that brings them; they are not silently
skipped: the `engine` fixture covers exactly the engines odibi ships today.
"""

from __future__ import annotations

import pytest

ENGINES = ["duckdb"]
PENDING = {"pandas": "issue #3", "spark": "issue #3"}


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param
