"""``sql_file:`` steps: a query kept in a .sql file beside the config.

It runs as the inline ``sql:`` step with the file's text would; its variables are resolved; its SQL
errors point into the .sql file (file:line:col there, exit 2); a missing file or a path leaving the
project is a located error at the ``sql_file`` value.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app

DATA = {"data/sales.csv": "id,amount,country\n1,5,NL\n2,-1,DE\n3,7,NL\n4,9,DE\n"}

QUERY = """\
-- the clean sales of one country
SELECT id, amount * 2 AS doubled
FROM df
WHERE country = '${vars.country}'
  AND amount > 0
"""

PROJECT = """\
project: sql_files
vars:
  country: NL
connections:
  data: {type: local, base_path: ./data}
  out: {type: local, base_path: ./out}
pipelines:
  - pipeline: p
    nodes:
      - name: from_file
        read: {connection: data, path: sales.csv}
        transform:
          steps:
            - sql_file: queries/clean.sql
        write: {connection: out, path: from_file.csv, format: csv}
      - name: inline
        read: {connection: data, path: sales.csv}
        transform:
          steps:
            - sql: |
                SELECT id, amount * 2 AS doubled
                FROM df
                WHERE country = '${vars.country}'
                  AND amount > 0
        write: {connection: out, path: inline.csv, format: csv}
"""
STEP_LINE = 14  # the line of `- sql_file: queries/clean.sql`
STEP_COL = PROJECT.splitlines()[STEP_LINE - 1].index("queries/") + 1


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _project(make_project, query: str = QUERY, text: str = PROJECT):
    return make_project(text, {**DATA, "queries/clean.sql": query})


def _errors(runner: CliRunner, cfg, *args: str) -> list[dict]:
    result = runner.invoke(app, ["validate", str(cfg), "--format", "json", *args])
    assert result.exit_code == 2, result.output
    return json.loads(result.stdout)


def test_a_sql_file_step_runs_like_the_inline_step(runner, make_project):
    cfg = _project(make_project)
    result = runner.invoke(app, ["run", str(cfg)])
    assert result.exit_code == 0, result.output
    out = cfg.parent / "out"
    assert (
        (out / "from_file.csv").read_text() == (out / "inline.csv").read_text() == "id,doubled\n1,10\n3,14\n"
    )


def test_variables_are_resolved_inside_the_file(runner, make_project):
    cfg = _project(make_project)
    result = runner.invoke(app, ["compile", str(cfg), "--node", "from_file", "--var", "country=DE"])
    assert result.exit_code == 0, result.output
    assert "country = 'DE'" in result.stdout
    assert "${vars" not in result.stdout


def test_a_syntax_error_is_located_in_the_sql_file(runner, make_project):
    query = QUERY.replace("FROM df", "FROM df WHERE WHERE")
    cfg = _project(make_project, query)
    [error] = _errors(runner, cfg)
    sql = str(cfg.parent / "queries" / "clean.sql")
    assert (error["file"], error["line"], error["col"]) == (sql, 3, 15)
    assert error["message"].startswith("SQL syntax error")
    assert error["node"] == "from_file" and error["step"] == 1
    text = runner.invoke(app, ["validate", str(cfg)]).stderr
    assert f"{sql}:3:15: error: SQL syntax error" in text
    assert "     3 | FROM df WHERE WHERE" in text  # the caret snippet shows the .sql file's line


def test_an_unknown_column_is_located_in_the_sql_file_after_a_variable(runner, make_project):
    query = QUERY.replace("amount > 0", "amout > 0").replace(
        "WHERE country = '${vars.country}'", "WHERE '${vars.country}' = country"
    )
    cfg = _project(make_project, query)
    [error] = _errors(runner, cfg)
    assert error["message"] == "unknown column 'amout' (did you mean 'amount'?)"
    # line 5 of the file: "  AND amout > 0"; the longer value on line 4 shifts nothing here
    assert (error["file"], error["line"], error["col"]) == (str(cfg.parent / "queries" / "clean.sql"), 5, 7)


def test_an_unknown_table_is_located_in_the_sql_file(runner, make_project):
    cfg = _project(make_project, QUERY.replace("FROM df", "FROM dff"))
    [error] = _errors(runner, cfg)
    assert "dff" in error["message"]
    assert (error["file"], error["line"], error["col"]) == (str(cfg.parent / "queries" / "clean.sql"), 3, 6)


def test_a_missing_file_is_located_at_the_sql_file_value(runner, make_project):
    cfg = make_project(PROJECT, DATA)
    [error] = _errors(runner, cfg)
    assert error["message"] == f"sql file not found: {cfg.parent / 'queries' / 'clean.sql'}"
    assert (error["file"], error["line"], error["col"]) == (str(cfg), STEP_LINE, STEP_COL)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../outside.sql", "leads outside the project folder"),
        ("queries/../../outside.sql", "leads outside the project folder"),
        ("/etc/passwd", "is not a relative path"),
        ("~/q.sql", "is not a relative path"),
        ("file:///etc/passwd", "is not a relative path"),
    ],
)
def test_paths_leaving_the_project_are_refused(runner, make_project, tmp_path, path, message):
    (tmp_path.parent / "outside.sql").write_text("SELECT 1 AS x\n", encoding="utf-8")
    cfg = _project(make_project, text=PROJECT.replace("queries/clean.sql", path))
    [error] = _errors(runner, cfg)
    assert message in error["message"]
    assert (error["line"], error["col"]) == (STEP_LINE, STEP_COL)
    assert "relative to the config file" in error["hint"]


def test_a_symlink_leading_out_is_refused(runner, make_project, tmp_path):
    outside = tmp_path.parent / "outside_link_target.sql"
    outside.write_text("SELECT 1 AS x\n", encoding="utf-8")
    cfg = _project(make_project, text=PROJECT.replace("queries/clean.sql", "queries/link.sql"))
    (cfg.parent / "queries" / "link.sql").symlink_to(outside)
    [error] = _errors(runner, cfg)
    assert "leads outside the project folder" in error["message"]


def test_sql_and_sql_file_together_are_refused(runner, make_project):
    text = PROJECT.replace("- sql_file: queries/clean.sql", "- {sql_file: queries/clean.sql, sql: SELECT 1}")
    [error] = _errors(runner, _project(make_project, text=text))
    assert error["message"] == "a step gives 'sql' or 'sql_file', not both"
    assert error["line"] == STEP_LINE


def test_an_unknown_variable_in_the_file_is_located_in_the_file(runner, make_project):
    cfg = _project(make_project, QUERY.replace("${vars.country}", "${vars.cuntry}"))
    [error] = _errors(runner, cfg)
    assert error["message"] == "unknown variable 'vars.cuntry' (did you mean 'vars.country'?)"
    assert (error["file"], error["line"], error["col"]) == (str(cfg.parent / "queries" / "clean.sql"), 4, 18)


def test_the_json_schema_knows_sql_file():
    from odibi.config.schema import project_schema

    step = project_schema()["$defs"]["SqlFileStep"]
    assert step["required"] == ["sql_file"] and set(step["properties"]) == {"sql_file"}
