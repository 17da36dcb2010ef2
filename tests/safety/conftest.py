"""The safety suite (issue: no run may destroy, lose or leak data).

Each case reproduces a way odibi 0.4.0 lost, destroyed or leaked data and shows the guarded behaviour, on
every engine where the case applies (the same ``engine`` fixture as the conformance suite: Spark is never
skipped in CI).
"""

from __future__ import annotations

import pytest

from tests.conformance.conftest import ENGINE_PARAMS


@pytest.fixture(params=ENGINE_PARAMS)
def engine(request) -> str:
    return request.param
