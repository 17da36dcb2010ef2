"""``odibi init --template``: every template writes a project that validates, runs on DuckDB, writes the
outputs its README promises, and whose own test passes; a bad template or a file in the way writes nothing."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from odibi.cli.app import app
from odibi.cli.init_project import TEMPLATES
from odibi.config.loader import load_file
from odibi.config.schema import schema_errors, schema_text

# template -> output file (under output/) -> rows it holds after one run of the sample data
OUTPUTS = {
    "quickstart": {"sales_clean.csv": 4},
    "medallion": {
        "bronze/customers.parquet": 6,
        "bronze/orders.parquet": 12,
        "silver/customers.parquet": 5,  # one customer was updated: the latest row wins
        "silver/orders.parquet": 8,  # 12 - 1 duplicate - 3 quarantined
        "quarantine/orders.parquet": 3,
        "gold/sales_by_month.parquet": 6,
        "gold/customer_summary.parquet": 5,
    },
    "spark_sql": {"orders.parquet": 8, "monthly_sales.csv": 6, "customers.parquet": 6},
    "star_schema": {
        "star/dim_customer.parquet": 5,  # 4 customers + the unknown member
        "star/dim_product.parquet": 5,
        "star/dim_date.parquet": 91,  # January to March 2024
        "star/fact_sales.parquet": 10,
        "reports/sales_by_month_category.parquet": 8,
    },
}
WITH_README_AND_TEST = ["quickstart", "medallion", "spark_sql", "star_schema"]


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def rows(path: Path) -> int:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return sum(1 for _ in csv.DictReader(f))
    return pq.read_metadata(path).num_rows


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if "__pycache__" not in p.parts}


def test_the_test_table_covers_every_template():
    assert set(OUTPUTS) == set(TEMPLATES)


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_template_validates_runs_and_writes_its_outputs(tmp_path, template):
    target = tmp_path / "proj"
    result = invoke("init", str(target), "--template", template, "--name", f"My {template}")
    assert result.exit_code == 0, result.output
    config = target / "odibi.yaml"
    assert f"wrote {config}" in result.output
    assert not [p for p in files_under(target) if p.endswith(".tmpl")]

    text = config.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./odibi.schema.json"
    assert (target / "odibi.schema.json").read_text(encoding="utf-8") == schema_text()
    data, _ = load_file(config, env={})
    assert data["project"] == f"My {template}"
    assert schema_errors(data) == []  # editors flag nothing either

    result = invoke("validate", str(config))
    assert result.exit_code == 0, result.output
    assert "valid (" in result.output

    result = invoke("run", str(config))
    assert result.exit_code == 0, result.output
    for rel, expected in OUTPUTS[template].items():
        path = target / "output" / rel
        assert path.is_file(), (rel, sorted(files_under(target)))
        assert rows(path) == expected, rel


@pytest.mark.parametrize("template", WITH_README_AND_TEST)
def test_template_readme_and_its_own_test_pass(tmp_path, template):
    target = tmp_path / "proj"
    assert invoke("init", str(target), "--template", template, "--name", "Shop analytics").exit_code == 0
    readme = (target / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Shop analytics\n")
    for command in ("odibi validate odibi.yaml", "odibi run odibi.yaml", "odibi story show last", "pytest"):
        assert command in readme, command

    before = files_under(target)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_pipeline.py"],
        cwd=target,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert files_under(target) == before  # the test runs a copy: the project's folder is left as it was


def test_the_run_writes_a_story_the_readme_points_at(tmp_path):
    target = tmp_path / "proj"
    assert invoke("init", str(target), "--template", "medallion").exit_code == 0
    result = invoke("run", str(target / "odibi.yaml"))
    assert result.exit_code == 0, result.output
    assert list((target / "output" / "stories").rglob("*.html"))
    listed = invoke("story", "list", str(target / "odibi.yaml"))
    assert listed.exit_code == 0, listed.output


def test_unknown_template_lists_the_templates_and_writes_nothing(tmp_path):
    target = tmp_path / "proj"
    result = invoke("init", str(target), "--template", "medalion")
    assert result.exit_code == 2
    assert "unknown template 'medalion'" in result.output
    assert "did you mean 'medallion'" in result.output
    for name in TEMPLATES:
        assert name in result.output
    assert not target.exists()


def test_existing_file_is_refused_without_force_and_nothing_is_written(tmp_path):
    (tmp_path / "README.md").write_text("mine\n", encoding="utf-8")
    result = invoke("init", str(tmp_path), "--template", "star_schema")
    assert result.exit_code == 2
    assert "not overwriting existing file(s)" in result.output and "--force" in result.output
    assert files_under(tmp_path) == {"README.md"}
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "mine\n"

    result = invoke("init", str(tmp_path), "--template", "star_schema", "--force")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "README.md").read_text(encoding="utf-8").startswith("# ")
    assert (tmp_path / "tests" / "test_pipeline.py").is_file()


def test_a_file_where_a_folder_goes_is_refused_and_nothing_is_written(tmp_path):
    (tmp_path / "data").write_text("not a folder\n", encoding="utf-8")
    result = invoke("init", str(tmp_path), "--template", "medallion", "--force")
    assert result.exit_code == 2
    assert "is not a folder" in result.output
    assert files_under(tmp_path) == {"data"}


def test_help_lists_the_templates_with_an_example():
    result = invoke("init", "--help")
    assert result.exit_code == 0
    for name in TEMPLATES:
        assert name in result.output
    assert "--template" in result.output
    assert "odibi init sales --template medallion" in result.output
