"""The conformance suite runs every case on every engine (DESIGN.md §3.4).

Every engine odibi ships is in ENGINES. Spark needs pyspark and Java: where they are missing the spark
cases skip with that reason, except in CI (CI=true), where a missing Spark is an error, never a skip.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

ENGINES = ["duckdb", "pandas", "spark"]


def spark_missing() -> str | None:
    """Why Spark cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return 'pyspark is not installed (pip install -e ".[spark]")'
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) and not shutil.which(
        "java"
    ):
        return "no Java runtime (Spark needs Java 17)"
    return None


def engine_param(name: str):
    """A pytest param for ``name``, skipped with the reason when its engine cannot run here."""
    reason = spark_missing() if name == "spark" else None
    if reason and os.environ.get("CI"):
        raise RuntimeError(f"CI must run the spark conformance cases, but {reason}")
    marks = [pytest.mark.skip(reason=reason)] if reason else []
    return pytest.param(name, marks=marks, id=name)


ENGINE_PARAMS = [engine_param(name) for name in ENGINES]


def runnable_engines() -> list[str]:
    """The engines that can run here (all of them in CI)."""
    return [name for name in ENGINES if name != "spark" or spark_missing() is None]


@pytest.fixture(params=ENGINE_PARAMS)
def engine(request) -> str:
    return request.param
