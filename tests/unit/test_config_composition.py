"""A project split over files (``imports:``) with environment overlays (``environments:``), through the CLI.

The project: ``odibi.yaml`` imports ``shared/connections.yaml`` and ``pipelines/silver.yaml``; its dev and
prod environments write to different folders, and prod also filters harder. Errors planted in imported
files and overlays must name the file and line where they are written.
"""

from __future__ import annotations

import contextlib
import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app

CANARY = "canary-Pa55w0rd-7f3e"

MAIN = """\
project: composed
engine: duckdb
imports:
  - shared/connections.yaml
  - pipelines/silver.yaml
environments:
  dev:
    connections:
      out: {base_path: ./out_dev}
  prod:
    connections:
      out:
        base_path: ./out_prod
    pipelines:
      - pipeline: silver
        nodes:
          - name: clean
            transform:
              steps:
                - SELECT id, amount FROM raw WHERE amount > 6
"""

CONNECTIONS = """\
connections:
  data: {type: local, base_path: ./data}
  out: {type: local, base_path: ./out}
  db:
    type: sql
    url: ${ODIBI_TEST_DB_URL}
"""

SILVER = """\
pipelines:
  - pipeline: silver
    nodes:
      - name: raw
        read: {connection: data, path: sales.csv, format: csv}
      - name: clean
        depends_on: [raw]
        transform:
          steps:
            - SELECT id, amount FROM raw WHERE amount > 0
        write: {connection: out, path: clean.csv, format: csv}
"""


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.delenv("ODIBI_ENV", raising=False)
    monkeypatch.setenv("ODIBI_TEST_DB_URL", f"postgresql://etl:{CANARY}@db.example.com/sales")


@pytest.fixture
def project(tmp_path: Path):
    """Write the three-file project (with optional replacements per file); return the main file."""

    def make(main: str = MAIN, connections: str = CONNECTIONS, silver: str = SILVER) -> Path:
        files = {
            "odibi.yaml": main,
            "shared/connections.yaml": connections,
            "pipelines/silver.yaml": silver,
            "data/sales.csv": "id,amount\n1,5\n2,-3\n3,10\n",
        }
        for rel, text in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return tmp_path / "odibi.yaml"

    return make


def odibi(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def output(result) -> str:
    parts = []
    for attr in ("stdout", "stderr"):
        with contextlib.suppress(ValueError, AttributeError):
            parts.append(getattr(result, attr) or "")
    text = "\n".join(parts)
    return text if text.strip() else (result.output or "")


def line_of(path: Path, fragment: str) -> int:
    """The 1-based line of ``path`` holding ``fragment`` (a line equal to it first)."""
    lines = path.read_text().splitlines()
    exact = [i for i, text in enumerate(lines, 1) if text == fragment]
    return exact[0] if exact else next(i for i, text in enumerate(lines, 1) if fragment in text)


def assert_error_at(result, path: Path, fragment: str, *messages: str) -> None:
    out = output(result)
    assert result.exit_code == 2, out
    where = f"{path}:{line_of(path, fragment)}:"
    assert where in out, f"expected an error at {where}\n{out}"
    for message in messages:
        assert message in out, out


# --------------------------------------------------------------------------- the happy path


def test_validates_compiles_and_runs_in_both_environments(project):
    cfg = project()
    for env in ("dev", "prod"):
        result = odibi("validate", cfg, "--env", env)
        assert result.exit_code == 0, output(result)
        assert "1 pipeline(s), 2 node(s)" in output(result)

    compiled = output(odibi("compile", cfg, "--env", "prod"))
    assert "amount > 6" in compiled and "amount > 0" not in compiled
    assert "amount > 0" in output(odibi("compile", cfg, "--env", "dev"))

    for env in ("dev", "prod"):
        result = odibi("run", cfg, "--env", env, "--no-story")
        assert result.exit_code == 0, output(result)
    root = cfg.parent
    assert (root / "out_dev" / "clean.csv").read_text().splitlines() == ["id,amount", "1,5", "3,10"]
    assert (root / "out_prod" / "clean.csv").read_text().splitlines() == ["id,amount", "3,10"]
    assert not (root / "out").exists()


def test_without_environment_the_base_applies(project):
    cfg = project()
    result = odibi("run", cfg, "--no-story")
    assert result.exit_code == 0, output(result)
    assert (cfg.parent / "out" / "clean.csv").is_file()


def test_odibi_env_chooses_the_environment(project):
    cfg = project()
    result = odibi("run", cfg, "--no-story", env={"ODIBI_ENV": "prod"})
    assert result.exit_code == 0, output(result)
    assert (cfg.parent / "out_prod" / "clean.csv").is_file()
    # --env wins over ODIBI_ENV
    result = odibi("run", cfg, "--no-story", "--env", "dev", env={"ODIBI_ENV": "prod"})
    assert result.exit_code == 0, output(result)
    assert (cfg.parent / "out_dev" / "clean.csv").is_file()


def test_python_api_takes_the_environment(project):
    from odibi import api

    cfg = project()
    sql = [n.sql for n in api.compile_project(cfg, environment="prod") if n.sql]
    assert any("amount > 6" in s for s in sql)
    assert api.load_project(cfg, environment="dev").config.connections["out"].base_path == "./out_dev"


def test_unset_variable_in_another_environment_is_not_needed(project, monkeypatch):
    monkeypatch.delenv("ODIBI_TEST_PROD_ONLY", raising=False)
    main = MAIN.replace("        base_path: ./out_prod\n", "        base_path: ${ODIBI_TEST_PROD_ONLY}\n")
    cfg = project(main=main)
    assert odibi("validate", cfg, "--env", "dev").exit_code == 0
    result = odibi("validate", cfg, "--env", "prod")
    assert_error_at(result, cfg, "${ODIBI_TEST_PROD_ONLY}", "ODIBI_TEST_PROD_ONLY", "not set")


def test_several_unset_variables_in_another_environment(project, monkeypatch):
    for name in ("ODIBI_TEST_A", "ODIBI_TEST_B"):
        monkeypatch.delenv(name, raising=False)
    main = MAIN.replace(
        "        base_path: ./out_prod\n", "        base_path: ${ODIBI_TEST_A}/${ODIBI_TEST_B}\n"
    )
    cfg = project(main=main.replace("  dev:\n", "  dev:\n    workers: nope\n"))
    # dev's own mistake is reported, prod's unset variables are not
    result = odibi("validate", cfg, "--env", "dev")
    assert_error_at(result, cfg, "workers: nope", "expected an integer")
    assert "ODIBI_TEST_A" not in output(result)


# --------------------------------------------------------------------------- errors name their file and line


def test_secret_variable_outside_a_secret_field_of_an_overlay(project, monkeypatch):
    monkeypatch.setenv("ODIBI_TEST_DB_PASSWORD", CANARY)
    cfg = project(main=MAIN.replace("  prod:\n", "  prod:\n    description: ${ODIBI_TEST_DB_PASSWORD}\n"))
    result = odibi("validate", cfg, "--env", "prod")
    assert_error_at(result, cfg, "description: ${ODIBI_TEST_DB_PASSWORD}", "holds a secret")
    assert CANARY not in output(result)


def test_vars_in_an_overlay_is_refused(project):
    cfg = project(main=MAIN.replace("  dev:\n", "  dev:\n    vars: {x: 1}\n"))
    assert_error_at(odibi("validate", cfg, "--env", "dev"), cfg, "vars: {x: 1}", "cannot hold 'vars'")


def test_bad_key_in_an_imported_file(project):
    cfg = project(
        silver=SILVER.replace(
            "format: csv}\n      - name: clean", "format: csv, mdoe: x}\n      - name: clean"
        )
    )
    silver = cfg.parent / "pipelines" / "silver.yaml"
    assert_error_at(odibi("validate", cfg), silver, "mdoe", "unknown key 'mdoe'")


def test_bad_value_type_in_an_imported_file(project):
    cfg = project(silver=SILVER.replace("      - name: raw\n", "      - name: raw\n        cache: maybe\n"))
    silver = cfg.parent / "pipelines" / "silver.yaml"
    assert_error_at(odibi("validate", cfg), silver, "cache: maybe", "expected a boolean")


def test_bad_sql_column_in_an_imported_file(project):
    cfg = project(silver=SILVER.replace("WHERE amount > 0", "WHERE amout > 0"))
    silver = cfg.parent / "pipelines" / "silver.yaml"
    result = odibi("validate", cfg, "--env", "dev")
    assert_error_at(result, silver, "amout", "unknown column 'amout'")
    col = (silver.read_text().splitlines()[line_of(silver, "amout") - 1]).index("amout") + 1
    assert f"silver.yaml:{line_of(silver, 'amout')}:{col}:" in output(result)


def test_error_in_an_overlay_points_at_the_overlay(project):
    cfg = project(main=MAIN.replace("WHERE amount > 6", "WHERE amout > 6"))
    assert odibi("validate", cfg, "--env", "dev").exit_code == 0  # dev does not use that overlay
    assert_error_at(odibi("validate", cfg, "--env", "prod"), cfg, "amout > 6", "unknown column 'amout'")


def test_bad_value_type_in_an_overlay(project):
    cfg = project(
        main=MAIN.replace("  dev:\n    connections:\n", "  dev:\n    workers: lots\n    connections:\n")
    )
    assert_error_at(odibi("validate", cfg, "--env", "dev"), cfg, "workers: lots", "expected an integer")


def test_overlay_naming_an_unknown_node(project):
    cfg = project(main=MAIN.replace("- name: clean", "- name: claen"))
    assert_error_at(
        odibi("validate", cfg, "--env", "prod"), cfg, "name: claen", "'claen'", "did you mean 'clean'"
    )


def test_import_cycle(project):
    cfg = project(silver="imports: [../odibi.yaml]\n" + SILVER)
    silver = cfg.parent / "pipelines" / "silver.yaml"
    result = odibi("validate", cfg)
    assert_error_at(result, silver, "imports:", "import cycle")
    assert "odibi.yaml -> " in output(result) and "silver.yaml -> " in output(result)


def test_missing_import_names_the_imports_item(project):
    cfg = project(main=MAIN.replace("  - pipelines/silver.yaml", "  - pipelines/gold.yaml"))
    assert_error_at(odibi("validate", cfg), cfg, "pipelines/gold.yaml", "imported file not found")


def test_nested_imports(project, tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "more.yaml").write_text("connections:\n  extra: {type: local, base_path: ./x}\n")
    cfg = project(connections="imports: [more.yaml]\n" + CONNECTIONS)
    shown = output(odibi("config", "show", cfg, "--format", "json"))
    assert "extra" in json.loads(shown)["connections"]


def test_duplicate_pipeline_across_files(project):
    cfg = project(main=MAIN + SILVER)
    silver = cfg.parent / "pipelines" / "silver.yaml"
    result = odibi("validate", cfg)
    assert_error_at(result, cfg, "  - pipeline: silver", "pipeline 'silver' is defined in two files")
    assert f"{silver}:{line_of(silver, 'pipeline: silver')}:" in output(result)


def test_duplicate_connection_across_files(project):
    cfg = project(main=MAIN + "connections:\n  data: {type: local, base_path: ./elsewhere}\n")
    result = odibi("validate", cfg)
    assert_error_at(result, cfg, "base_path: ./elsewhere", "connection 'data' is defined in two files")
    assert "shared/connections.yaml:2:" in output(result)


def test_unknown_environment_lists_the_known_ones(project):
    cfg = project()
    result = odibi("validate", cfg, "--env", "stage")
    assert_error_at(result, cfg, "environments:", "unknown environment 'stage'", "dev, prod")
    result = odibi("validate", cfg, env={"ODIBI_ENV": "prdo"})
    assert_error_at(result, cfg, "environments:", "'prdo' (from ODIBI_ENV)", "did you mean 'prod'")


# --------------------------------------------------------------------------- config show


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_config_show_prints_the_effective_config_masked(project, fmt):
    cfg = project()
    result = odibi("config", "show", cfg, "--env", "prod", "--format", fmt)
    text = output(result)
    assert result.exit_code == 0, text
    assert CANARY not in text
    if fmt == "json":
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    assert data["connections"]["db"]["url"] == "***"
    assert data["connections"]["out"]["base_path"] == "./out_prod"
    assert "imports" not in data and "environments" not in data
    steps = data["pipelines"][0]["nodes"][1]["transform"]["steps"]
    assert steps == ["SELECT id, amount FROM raw WHERE amount > 6"]


def test_config_show_masks_values_of_secret_variables(project, monkeypatch):
    # a secret-named variable's value is masked wherever it shows, even written out literally
    monkeypatch.setenv("ODIBI_SECRET_NOTE", "hush-" + CANARY)
    cfg = project(main=MAIN.replace("engine: duckdb", f"engine: duckdb\ndescription: owner hush-{CANARY}"))
    for fmt in ("yaml", "json"):
        result = odibi("config", "show", cfg, "--format", fmt)
        assert result.exit_code == 0, output(result)
        assert CANARY not in output(result) and "owner ***" in output(result)


def test_odibi_env_is_ignored_by_a_project_without_environments(tmp_path):
    """ODIBI_ENV exported machine-wide must not break projects that define no environments; --env does."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        "project: plain\nconnections: {data: {type: local, base_path: ./data}}\npipelines:\n"
        "  - pipeline: p\n    nodes:\n      - name: a\n        read: {connection: data, path: a.csv}\n"
    )
    assert odibi("validate", cfg, env={"ODIBI_ENV": "prod"}).exit_code == 0
    result = odibi("validate", cfg, "--env", "prod")
    assert result.exit_code == 2 and "this project defines no environments" in output(result)
