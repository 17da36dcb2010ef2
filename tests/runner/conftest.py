"""The production runner (issue: parallel execution, retries, error strategies, resume, run state, logs)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path: Path):
    """Write a project (YAML text and data files) into a fresh folder; returns the config path."""

    def make(yaml_text: str, files: dict[str, str] | None = None) -> Path:
        for name, text in (files or {}).items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        cfg = tmp_path / "odibi.yaml"
        cfg.write_text(textwrap.dedent(yaml_text))
        return cfg

    return make


def odibi(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "odibi", *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )
