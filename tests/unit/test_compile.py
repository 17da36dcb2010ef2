"""Compiling nodes: df chaining, CTE hoisting, table checks, transpilation, located SQL errors."""

from __future__ import annotations

import pytest
import sqlglot

from odibi.api import compile_project
from odibi.config.project import load_project_text
from odibi.errors import CompileError

BASE = """\
project: t
engine: {engine}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        transform:
          steps:
            - "SELECT 1 AS id, 'a' AS name"
      - name: out
        depends_on: [src]
        transform:
          steps:
{steps}
"""


def _compile(steps: str, engine: str = "duckdb", dialect: str = "duckdb"):
    text = BASE.format(engine=engine, steps=steps)
    return compile_project(load_project_text(text, "t.yaml"), dialect=dialect)


def test_steps_chain_through_df_and_hoist_ctes():
    steps = (
        "            - |\n"
        "              WITH x AS (SELECT * FROM src)\n"
        "              SELECT id, name FROM x\n"
        "            - sql: WITH x AS (SELECT * FROM df) SELECT id FROM x WHERE id > 0\n"
    )
    [_, out] = _compile(steps)
    tree = sqlglot.parse_one(out.sql, read="duckdb")
    ctes = [c.alias for c in tree.find_all(sqlglot.exp.CTE)]
    assert ctes == ["x", "out_step1", "x_2"]
    # the renamed CTE is the one the second step reads, and df points at step 1
    assert "FROM out_step1 AS df" in out.sql
    assert "FROM x_2" in out.sql


def test_spark_sql_is_read_as_spark_and_written_as_duckdb():
    steps = "            - SELECT nvl(name, 'n/a') AS n, date_add(current_date(), 1) AS d FROM df\n"
    [_, out] = _compile(steps, engine="spark", dialect="duckdb")
    assert "COALESCE" in out.sql.upper()
    sqlglot.parse_one(out.sql, read="duckdb")


def test_reading_a_node_not_depended_on_names_the_fix():
    text = (
        BASE.format(engine="duckdb", steps="            - SELECT * FROM df").replace(
            "      - name: out",
            "      - name: other\n        transform: {steps: ['SELECT 2 AS y']}\n      - name: out",
        )
        + "            - SELECT * FROM df JOIN other USING (id)\n"
    )
    with pytest.raises(CompileError) as err:
        compile_project(load_project_text(text, "t.yaml"))
    assert "is not in its depends_on" in err.value.message
    assert "depends_on" in err.value.hint
    assert err.value.location.line == 17


def test_sql_syntax_error_in_block_scalar_points_at_the_yaml_line():
    steps = "            - |\n              SELECT id,\n                name\n              FROM df WHERE (id > 1\n"
    with pytest.raises(CompileError) as err:
        _compile(steps)
    # the unclosed parenthesis is on the SQL's third line, YAML line 17, at the '1' (col 35)
    assert (err.value.location.line, err.value.location.col) == (17, 35)
    assert err.value.node == "out"


def test_non_query_statement_is_rejected():
    with pytest.raises(CompileError, match="must be a query"):
        _compile("            - DROP TABLE src\n")


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "snowflake", "bigquery", "tsql", "postgres"])
def test_rendered_sql_parses_back_in_its_dialect(dialect):
    steps = (
        "            - |\n"
        "              SELECT id, name, ROW_NUMBER() OVER (PARTITION BY name ORDER BY id) AS rn,\n"
        "                     COALESCE(name, 'x') AS n2, CASE WHEN id > 1 THEN 'big' ELSE 'small' END AS size\n"
        "              FROM df\n"
    )
    [_, out] = _compile(steps, dialect=dialect)
    sqlglot.parse_one(out.sql, read=dialect)


def test_validate_for_an_engine_flags_untranslatable_steps_at_their_line(tmp_path):
    from odibi.api import validate
    from odibi.compile.project import check_portable
    from odibi.errors import Problems

    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        "project: x\npipelines:\n  - pipeline: p\n    nodes:\n      - name: a\n        transform:\n"
        "          steps:\n            - SELECT 1 AS d, 2 AS x\n            - |\n"
        "              SELECT d,\n"
        "                SUM(x) OVER (ORDER BY d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS t\n"
        "              FROM df\n"
    )
    valid = validate(cfg, engine="spark")  # Spark SQL can express it
    problems = Problems()
    check_portable(valid.compiled.values(), "tsql", "some_tsql_engine", problems)
    [err] = problems.errors
    assert (err.location.line, err.location.col) == (10, 15)
    assert err.node == "a" and err.step == 1
    assert "NULLS LAST" in err.message
