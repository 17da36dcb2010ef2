"""Every command's ``--help`` shows an example a user can copy (issue 15)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app

COMMANDS = [
    ["validate"], ["compile"], ["run"], ["runs"], ["schema"], ["init"], ["list"], ["graph"], ["doctor"],
    ["config", "show"], ["story", "list"], ["story", "show"], ["story", "diff"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_an_example(command):
    result = CliRunner().invoke(app, [*command, "--help"], env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert f"odibi {' '.join(command)} " in result.output  # the example runs this very command


def test_compile_as_json_for_machines(tmp_path):
    import json

    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        "project: t\npipelines:\n  - pipeline: p\n    nodes:\n"
        "      - {name: a, transform: {steps: ['SELECT 1 AS x']}}\n"
    )
    result = CliRunner().invoke(app, ["compile", str(cfg), "--format", "json", "--dialect", "snowflake"])
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.output)
    assert item["pipeline"] == "p" and item["node"] == "a" and " ".join(item["sql"].split()) == "SELECT 1 AS x"
    bad = CliRunner().invoke(app, ["compile", str(cfg), "--format", "yaml"])
    assert bad.exit_code == 2
