"""Every built-in engine implements the whole protocol, and the registry's facts match the engine's own:
a fourth engine is one module plus one registry line, with nothing else to keep in step."""

from __future__ import annotations

import sys
from importlib import import_module

import pytest

from odibi.engines import registry
from odibi.engines.base import Engine


@pytest.mark.parametrize("name", sorted(registry.BUILTIN))
def test_a_builtin_engine_matches_its_registry_line(name):
    spec = registry.BUILTIN[name]
    module, _, cls_name = spec.target.partition(":")
    cls = getattr(import_module(module), cls_name)
    assert cls.name == name
    assert cls.dialect == spec.dialect == registry.dialect_of(name)
    for member in (
        "register_read",
        "define",
        "alias",
        "columns",
        "scalar",
        "count",
        "sample",
        "write",
        "fingerprint",
        "to_pandas",
        "from_pandas",
        "close",
        "max_view_depth",
        "capabilities",
    ):
        assert hasattr(cls, member), f"{name} lacks {member}"
    assert spec.options_model() is not None


def test_the_config_knows_engines_only_through_the_registry():
    from odibi.config import models

    assert [e.value for e in models.EngineName] == list(registry.BUILTIN)
    assert set(models.EngineOptions.model_fields) == set(registry.BUILTIN)


def test_engines_do_not_import_each_other():
    """duckdb and pandas share helpers through their own modules (arrow_frames, duckdb_sql), not each other."""
    code = (
        "import sys, odibi.engines.duckdb; a = 'odibi.engines.pandas' in sys.modules; "
        "import odibi.engines.pandas; print(a)"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, odibi.engines.pandas; print('odibi.engines.duckdb' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_formats_import_no_engine():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "odibi" / "formats"
    assert not [p.name for p in root.glob("*.py") if "odibi.engines" in p.read_text()]


def test_protocol_is_runtime_checkable():
    from odibi.engines.duckdb import DuckDBEngine

    engine = DuckDBEngine()
    try:
        assert isinstance(engine, Engine)
    finally:
        engine.close()
