"""The pinned stack (docs/architecture.md): installed versions are inside the ranges we tested."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from packaging.version import Version


def test_ibis_duckdb_sqlglot_pins():
    assert version("ibis-framework") == "12.0.0"
    assert Version("1.5.5") <= Version(version("duckdb")) < Version("2")
    assert Version("30") <= Version(version("sqlglot")) < Version("30.18")


def test_compiled_sqlglot_matches_sqlglot_and_is_the_one_in_use():
    """sqlglotc replaces sqlglot's modules with compiled ones; a version mismatch would mix the two."""
    import platform

    if platform.python_implementation() != "CPython":
        return
    import sqlglot.parser

    assert version("sqlglotc") == version("sqlglot")
    assert Path(sqlglot.parser.__file__).suffix in (".so", ".pyd"), sqlglot.parser.__file__


def test_duckdb_api_that_ibis_needs_is_there():
    import duckdb

    rel = duckdb.connect().sql("SELECT 1 AS x")
    assert hasattr(rel, "fetch_arrow_table") or hasattr(rel, "to_arrow_table")


def test_pyspark_in_the_supported_range():
    import pytest

    pytest.importorskip("pyspark")
    assert Version("3.5") <= Version(version("pyspark")) < Version("4.1")
