"""Shared fixtures: a helper that writes a project folder and runs odibi on it."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

# Azurite, moto and the GCS emulator, started on free ports by the tests that use them
pytest_plugins = ["tests.emulator_fixtures"]

# The one local Spark session of a test process starts with PostgreSQL's JDBC driver on its classpath
# when Debian's libpostgresql-jdbc-java is installed (.ci/run installs it): Spark then reads and writes
# PostgreSQL over JDBC (tests/connections/test_sql_databases.py). pyspark reads this when it launches Java.
_PG_JDBC = Path("/usr/share/java/postgresql.jar")
if _PG_JDBC.exists() and "PYSPARK_SUBMIT_ARGS" not in os.environ:
    os.environ["PYSPARK_SUBMIT_ARGS"] = f"--jars {_PG_JDBC} pyspark-shell"


@pytest.fixture
def make_project(tmp_path: Path):
    """Write ``odibi.yaml`` (dedented) and data files into a fresh folder; return the config path."""

    def make(yaml_text: str, files: dict[str, str] | None = None) -> Path:
        for rel, content in (files or {}).items():
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        cfg = tmp_path / "odibi.yaml"
        cfg.write_text(textwrap.dedent(yaml_text).lstrip("\n"), encoding="utf-8")
        return cfg

    return make


@pytest.fixture(autouse=True)
def _forget_secrets():
    """The secret registry is process-wide (a CLI process, a notebook): a value one test registers would
    be masked in every later test's messages, so each test starts with none."""
    from odibi import secrets

    secrets.clear()
    yield
    secrets.clear()
