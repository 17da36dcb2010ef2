"""Errors a user can act on, through the CLI: a Python function step's own error names the user's file,
line and source line (not odibi's or pandas' frames), ``--debug`` adds the full traceback; and the small
messages of issue 21 (``list transforms`` beside a v1 ``transforms.py``, required operation params, the
``lazy`` rows note).

Function names start with ``ae_``: the transform registry is process-global.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app

TRANSFORMS = """\
import ibis

from odibi.transforms import transform


def _ae_pick(df, col):
    return df[col]


@transform
def ae_add_margin(df):
    out = df.copy()
    out["margin"] = _ae_pick(out, "revenu") * 0.2
    return out


@transform
def ae_ibis_margin(t: ibis.Table) -> ibis.Table:
    return t.mutate(margin=t.revenu * 0.2)
"""

CONFIG = """\
project: ae
engine: {engine}
connections:
  data: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: data, path: sales.csv}}
      - name: out
        depends_on: [src]
        transform:
          steps:
            - sql: SELECT * FROM df
            - function: {function}
        write: {{connection: data, path: out.csv}}
"""


def _line(marker: str) -> int:
    return next(i for i, text in enumerate(TRANSFORMS.splitlines(), 1) if marker in text)


@pytest.fixture
def project(make_project, monkeypatch):
    def make(engine: str = "duckdb", function: str = "ae_add_margin"):
        cfg = make_project(
            CONFIG.format(engine=engine, function=function),
            {"data/sales.csv": "id,revenue\n1,10.0\n2,20.0\n", "transforms.py": TRANSFORMS},
        )
        monkeypatch.chdir(cfg.parent)  # locations print relative to the working directory
        return cfg

    return make


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_a_function_error_names_the_users_file_and_line(project, engine):
    project(engine)
    result = CliRunner().invoke(app, ["run", "odibi.yaml", "--format", "json"])
    assert result.exit_code == 1, result.output
    failure = json.loads(result.stdout)["nodes"][-1]["failure"]
    inner, outer = _line("return df[col]"), _line('_ae_pick(out, "revenu")')
    assert failure["stage"] == "step 2"  # the function step, located at its YAML line
    assert failure["location"] == "odibi.yaml:15:15"
    assert failure["kind"] == "python"
    assert failure["message"] == (
        f"function 'ae_add_margin' raised KeyError: 'revenu' at transforms.py:{inner} in _ae_pick: "
        "`return df[col]`"
    )
    assert failure["hint"] == (
        f"called from transforms.py:{outer} in ae_add_margin: "
        '`out["margin"] = _ae_pick(out, "revenu") * 0.2`; --debug shows the full traceback'
    )
    assert failure["code"] == [
        f'transforms.py:{outer} in ae_add_margin: `out["margin"] = _ae_pick(out, "revenu") * 0.2`',
        f"transforms.py:{inner} in _ae_pick: `return df[col]`",
    ]
    assert failure["traceback"] is None  # only with --debug
    text = json.dumps(failure)
    assert "odibi/run" not in text and "pandas/core" not in text  # odibi's and pandas' frames left out


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_the_summary_shows_the_users_code_as_written(project, engine):
    project(engine)
    result = CliRunner().invoke(app, ["run", "odibi.yaml"])
    assert result.exit_code == 1, result.output
    out = result.output
    assert "KeyError: 'revenu'" in out
    assert f"transforms.py:{_line('return df[col]')}" in out and "_ae_pick" in out
    assert "df[col]`" in out  # printed as written, not eaten as rich markup
    assert "(at odibi.yaml:15:15)" in out


def test_debug_keeps_the_full_traceback(project):
    project()
    result = CliRunner().invoke(app, ["--debug", "run", "odibi.yaml", "--format", "json"])
    assert result.exit_code == 1, result.output
    failure = json.loads(result.stdout)["nodes"][-1]["failure"]
    trace = failure["traceback"]
    assert f'transforms.py", line {_line("return df[col]")}, in _ae_pick' in trace
    assert "odibi/run/steps.py" in trace and "KeyError: 'revenu'" in trace
    assert failure["message"].endswith("in _ae_pick: `return df[col]`")


def test_an_ibis_function_error_names_the_users_line(project):
    cfg = project(function="ae_ibis_margin")
    result = CliRunner().invoke(app, ["validate", str(cfg)])
    assert result.exit_code == 2, result.output
    assert (
        "AttributeError: 'Table' object has no attribute 'revenu' at "
        f"transforms.py:{_line('t.revenu')} in ae_ibis_margin: `return t.mutate(margin=t.revenu * 0.2)`"
    ) in result.output


def test_list_transforms_loads_the_transforms_py_beside_the_config(project):
    cfg = project()
    result = CliRunner().invoke(app, ["list", "transforms", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "ae_add_margin" in result.output and "ae_ibis_margin" in result.output
    assert "no transform functions registered" not in result.output


def test_list_operations_marks_required_params():
    result = CliRunner().invoke(app, ["list", "operations"])
    assert result.exit_code == 0, result.output
    assert "PydanticUndefined" not in result.output
    assert "group_by: list (required)" in result.output  # pivot's
    assert "group_by: list = []" in result.output  # aggregate's, a default factory


def test_the_summary_explains_lazy_rows(make_project, monkeypatch):
    note = "lazy: fused into its consumers as a view; it ran inside them (no rows counted)"
    cfg = make_project(
        """
        project: lazy
        connections:
          data: {type: local, base_path: ./data}
        pipelines:
          - pipeline: p
            nodes:
              - name: src
                read: {connection: data, path: sales.csv}
              - name: mid
                depends_on: [src]
                transform: {steps: ["SELECT id FROM df"]}
              - name: out
                depends_on: [mid]
                write: {connection: data, path: out.csv}
        """,
        # more rows than a story samples (a relation that fits in its sample is counted from it)
        {"data/sales.csv": "id,revenue\n" + "".join(f"{i},1.0\n" for i in range(200))},
    )
    monkeypatch.chdir(cfg.parent)
    result = CliRunner().invoke(app, ["run", "odibi.yaml"])
    assert result.exit_code == 0, result.output
    assert "│ lazy │" in result.output and note in result.output
    cached = cfg.read_text().replace("transform:", "cache: true\n        transform:")
    cfg.write_text(cached.replace("read:", "cache: true\n        read:"))  # no node stays lazy
    result = CliRunner().invoke(app, ["run", "odibi.yaml"])
    assert result.exit_code == 0, result.output
    assert "│ lazy │" not in result.output and note not in result.output
