"""``odibi init``: a starter project that validates and runs, points editors at its schema, and is never
overwritten by accident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app
from odibi.cli.init_project import init_project
from odibi.config.loader import load_file
from odibi.config.schema import schema_errors, schema_text
from odibi.errors import UsageError


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: str):
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_init_writes_a_project_that_validates_and_runs(runner, tmp_path):
    target = tmp_path / "starter"
    result = invoke(runner, "init", str(target), "--name", "Starter: demo")
    assert result.exit_code == 0, result.output
    config = target / "odibi.yaml"
    for rel in ("odibi.yaml", "odibi.schema.json", "data/sales.csv"):
        assert (target / rel).is_file()
        assert f"wrote {target / rel}" in result.output

    first = config.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=./odibi.schema.json"
    assert (target / "odibi.schema.json").read_text(encoding="utf-8") == schema_text()
    json.loads((target / "odibi.schema.json").read_text(encoding="utf-8"))

    data, _ = load_file(config, env={})
    assert data["project"] == "Starter: demo"
    assert schema_errors(data) == []  # editors see no problem either
    kinds = [set(node) - {"name", "description", "depends_on"} for node in data["pipelines"][0]["nodes"]]
    assert kinds == [{"read"}, {"transform", "validation"}, {"write"}]

    result = invoke(runner, "validate", str(config))
    assert result.exit_code == 0, result.output
    assert "valid (1 pipeline(s), 3 node(s))" in result.output

    result = invoke(runner, "run", str(config))
    assert result.exit_code == 0, result.output
    out = (target / "output" / "sales_clean.csv").read_text(encoding="utf-8").splitlines()
    assert out[0] == "order_id,customer_id,order_date,amount,status"
    assert [line.split(",")[0] for line in out[1:]] == ["1", "2", "4", "7"]
    assert all(line.split(",")[1] == line.split(",")[1].strip().upper() for line in out[1:])


def test_second_init_refuses_and_force_overwrites(runner, tmp_path):
    assert invoke(runner, "init", str(tmp_path)).exit_code == 0
    config = tmp_path / "odibi.yaml"
    config.write_text("project: edited\n", encoding="utf-8")

    result = invoke(runner, "init", str(tmp_path))
    assert result.exit_code == 2
    assert "not overwriting existing file(s)" in result.output
    assert "--force" in result.output
    assert config.read_text(encoding="utf-8") == "project: edited\n"

    result = invoke(runner, "init", str(tmp_path), "--force")
    assert result.exit_code == 0, result.output
    assert config.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=")
    assert invoke(runner, "validate", str(config)).exit_code == 0


def test_one_existing_file_is_enough_to_refuse(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales.csv").write_text("mine\n", encoding="utf-8")
    with pytest.raises(UsageError) as err:
        init_project(tmp_path, "x", False)
    assert err.value.exit_code == 2 and err.value.hint
    assert not (tmp_path / "odibi.yaml").exists()  # nothing written
    assert (tmp_path / "data" / "sales.csv").read_text(encoding="utf-8") == "mine\n"


def test_init_default_name_and_target_that_is_a_file(tmp_path):
    written = init_project(tmp_path / "sales-lab", None, False)
    assert sorted(p.name for p in written) == sorted(
        ["odibi.yaml", "odibi.schema.json", "sales.csv", "README.md", "test_pipeline.py"]
    )
    data, _ = load_file(tmp_path / "sales-lab" / "odibi.yaml", env={})
    assert data["project"] == "sales-lab"

    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="not a folder"):
        init_project(a_file, None, True)


def test_init_into_current_folder(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(runner, "init")
    assert result.exit_code == 0, result.output
    assert Path("odibi.yaml").is_file() and Path("data/sales.csv").is_file()
