"""Shared fixtures: a helper that writes a project folder and runs odibi on it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

# Azurite, moto and the GCS emulator, started on free ports by the tests that use them
pytest_plugins = ["tests.emulator_fixtures"]


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
