"""SQL may not reach files or the network (issue: a SQL step read any file: `read_csv('/etc/passwd')`).

Reads belong in a node's `read:` block, where connections, path containment and lineage apply. Every
SQL text below reaches a file, a URL or another database in DuckDB or Spark SQL: `odibi validate` and
`odibi run` refuse it with exit code 2, located at the construct inside the SQL (file:line:col) and with
the hint naming the opt-out; `safety: {allow_sql_file_access: true}` lets it validate and run on DuckDB.
Statements that are not queries stay refused whatever the setting.
"""

from __future__ import annotations

import contextlib

import pytest
import sqlglot
from typer.testing import CliRunner

from odibi.cli.app import app
from odibi.compile.sql import FILE_ACCESS_HINT, file_access

# (SQL, the text the error points at: its last occurrence in the SQL).
DUCKDB_CASES = [
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto"),
    ("SELECT * FROM READ_CSV('/etc/passwd')", "READ_CSV"),
    ("SELECT * FROM \"read_csv\"('/etc/passwd')", '"read_csv"'),
    ("SELECT * FROM main.read_csv('/etc/passwd')", "read_csv"),
    ("FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM read_csv(['/etc/passwd', '/etc/group'])", "read_csv"),
    ("SELECT * FROM read_parquet('/data/x.parquet')", "read_parquet"),
    ("SELECT * FROM parquet_scan('/data/x.parquet')", "parquet_scan"),
    ("SELECT * FROM parquet_metadata('/data/x.parquet')", "parquet_metadata"),
    ("SELECT * FROM parquet_schema('/data/x.parquet')", "parquet_schema"),
    ("SELECT * FROM read_json('/data/x.json')", "read_json"),
    ("SELECT * FROM read_json_auto('/data/x.json')", "read_json_auto"),
    ("SELECT * FROM read_json_objects('/data/x.json')", "read_json_objects"),
    ("SELECT * FROM read_ndjson('/data/x.json')", "read_ndjson"),
    ("SELECT * FROM read_ndjson_objects('/data/x.json')", "read_ndjson_objects"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text"),
    ("SELECT * FROM read_blob('/etc/passwd')", "read_blob"),
    ("SELECT * FROM glob('/**')", "glob"),
    ("SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv"),
    ("SELECT * FROM delta_scan('/lake/t')", "delta_scan"),
    ("SELECT * FROM iceberg_scan('/lake/t')", "iceberg_scan"),
    ("SELECT * FROM iceberg_metadata('/lake/t')", "iceberg_metadata"),
    ("SELECT * FROM postgres_scan('host=db', 'public', 't')", "postgres_scan"),
    ("SELECT * FROM postgres_query('host=db', 'SELECT 1')", "postgres_query"),
    ("SELECT * FROM sqlite_scan('/data/x.db', 't')", "sqlite_scan"),
    ("SELECT * FROM mysql_query('db', 'SELECT 1')", "mysql_query"),
    ("SELECT * FROM read_xlsx('/data/x.xlsx')", "read_xlsx"),
    ("SELECT * FROM query_table('/data/x.csv')", "query_table"),
    ("SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')", "query"),
    ("SELECT * FROM st_read('/data/x.shp')", "st_read"),
    ("SELECT * FROM read_csv('https://example.com/x.csv')", "read_csv"),
    ("SELECT * FROM 'data/x.csv'", "'data/x.csv'"),
    ("SELECT * FROM '/etc/passwd.csv'", "'/etc/passwd.csv'"),
    ('SELECT * FROM "s3://bucket/x.parquet"', '"s3://bucket/x.parquet"'),
    ("SELECT * FROM 'https://example.com/x.parquet'", "'https://example.com/x.parquet'"),
    ("SELECT * FROM df WHERE id IN (FROM 'x.csv')", "'x.csv'"),
    ("SELECT *\nFROM df\nJOIN read_csv('/etc/passwd') AS r ON true", "read_csv"),
    ("SELECT * FROM df, LATERAL (SELECT * FROM read_csv(df.path))", "read_csv"),
    ("SELECT * FROM df, LATERAL (SELECT * FROM READ_TEXT(df.path))", "READ_TEXT"),  # no quote at all
    ("SELECT * FROM df WHERE id IN (SELECT * FROM glob('/*'))", "glob"),
    ("WITH a AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM a", "read_text"),
    ("SELECT * FROM df UNION ALL SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT (SELECT max(content) FROM read_text('/etc/passwd')) AS c FROM df", "read_text"),
    ("SELECT id,\n  (SELECT count(*)\n   FROM read_blob('/etc/shadow')) AS n\nFROM df", "read_blob"),
    # a CTE named like a file, but out of scope where the path is read
    ('SELECT * FROM (WITH "a.csv" AS (SELECT 1) SELECT * FROM "a.csv") t, \'a.csv\'', "'a.csv'"),
]
SPARK_CASES = [
    ("SELECT * FROM csv.`/etc/passwd`", "csv"),
    ("SELECT * FROM parquet.`/lake/t`", "parquet"),
    ("SELECT * FROM json.`/lake/t`", "json"),
    ("SELECT * FROM orc.`/lake/t`", "orc"),
    ("SELECT * FROM text.`/etc/passwd`", "text"),
    ("SELECT * FROM binaryFile.`/etc`", "binaryFile"),
    ("SELECT * FROM delta.`/lake/t`", "delta"),
    ("SELECT * FROM `delta`.`/lake/t`", "`delta`"),
    ("SELECT * FROM avro.`/lake/t`", "avro"),
    ("SELECT * FROM jdbc.`t`", "jdbc"),
    ("SELECT * FROM CSV.data", "CSV"),  # no quote at all
    ("SELECT * FROM df JOIN csv.`/etc/passwd` AS p ON true", "csv"),
    ("SELECT * FROM `/etc/passwd.csv`", "`/etc/passwd.csv`"),
    ("SELECT * FROM read_files('/lake/t')", "read_files"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT reflect('java.lang.System', 'getenv', 'HOME') AS h FROM df", "reflect"),
    ("SELECT java_method('java.lang.System', 'getProperty', 'user.home') AS h FROM df", "java_method"),
    ("SELECT from_protobuf(b, 'M', '/etc/x.desc') AS m FROM df", "from_protobuf"),
]
CASES = [("duckdb", sql, at) for sql, at in DUCKDB_CASES] + [("spark", sql, at) for sql, at in SPARK_CASES]

SQL_FIRST_LINE = 17  # the YAML line of the SQL block's first line in PROJECT


PROJECT = """\
project: file access
engine: {engine}
{safety}
connections:
  data: {{type: local, base_path: ./data}}
  out: {{type: local, base_path: ./out}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: data, path: src.csv, format: csv}}
      - name: sneaky
        depends_on: [src]
        transform:
          steps:
            - sql: |
{sql}
        write: {{connection: out, path: sneaky.csv, format: csv, mode: overwrite}}
"""


def project_text(engine: str, sql: str, *, allow: bool = False) -> str:
    body = "".join(" " * 16 + line + "\n" for line in sql.splitlines()).rstrip("\n")
    safety = "safety: {allow_sql_file_access: true}" if allow else "# (no safety block)"
    text = PROJECT.format(engine=engine, safety=safety, sql=body)
    assert text.splitlines()[SQL_FIRST_LINE - 1] == " " * 16 + sql.splitlines()[0], text
    return text


def expected_position(sql: str, at: str) -> tuple[int, int]:
    """YAML (line, col) of the last ``at`` in the SQL (a `|` block indented by 16)."""
    index = sql.rindex(at)
    line = sql.count("\n", 0, index)
    col = index - sql.rfind("\n", 0, index)
    return SQL_FIRST_LINE + line, 16 + col


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _output(result) -> str:
    parts = []
    for attr in ("stdout", "stderr"):
        with contextlib.suppress(ValueError, AttributeError):
            parts.append(getattr(result, attr) or "")
    return "\n".join(parts) or result.output


def _invoke(runner: CliRunner, *args: str):
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result, _output(result)


def _write(make_project, text: str):
    return make_project(text, {"data/src.csv": "id,path,b\n1,/etc/passwd,x\n"})


@pytest.mark.parametrize(("engine", "sql", "at"), CASES, ids=[f"{e}:{s}" for e, s, _ in CASES])
def test_sql_reaching_files_is_refused_at_validate_and_run(runner, make_project, engine, sql, at):
    cfg = _write(make_project, project_text(engine, sql))
    line, col = expected_position(sql, at)
    for command in ("validate", "run"):
        result, out = _invoke(runner, command, str(cfg))
        assert result.exit_code == 2, f"{command}: exit {result.exit_code}\n{out}"
        assert f"odibi.yaml:{line}:{col}: error: a SQL step may not reach files or the network" in out, out
        assert "allow_sql_file_access: true" in out and "`read:` block" in out, out
        assert "Traceback" not in out
    assert not (cfg.parent / "out").exists()  # run refused before anything ran


@pytest.mark.parametrize(("engine", "sql", "at"), CASES, ids=[f"{e}:{s}" for e, s, _ in CASES])
def test_the_guard_matches_the_parsed_tree(engine, sql, at):
    tree = sqlglot.parse_one(sql, read=engine)
    found = file_access(tree, sql)
    assert found is not None, sql
    index = sql.rindex(at)
    assert (found.line, found.col) == (sql.count("\n", 0, index) + 1, index - sql.rfind("\n", 0, index))


@pytest.mark.parametrize(
    ("engine", "sql"),
    [
        ("duckdb", "SELECT * FROM df WHERE path GLOB '*.csv'"),
        ("duckdb", "SELECT 'read_csv(''/etc/passwd'')' AS s, id AS read_count FROM df"),
        ("duckdb", 'WITH "a.csv" AS (SELECT * FROM df) SELECT * FROM "a.csv"'),
        ("duckdb", "SELECT * FROM range(3) AS r(id)"),
        ("duckdb", "SELECT * FROM generate_series(1, 3) AS g(id)"),
        ("duckdb", "SELECT unnest([1, 2]) AS id"),
        ("duckdb", "SELECT * FROM df WHERE path LIKE '%.csv' OR path = 's3://bucket/x.parquet'"),
        ("spark", "SELECT * FROM df WHERE path RLIKE '.*csv'"),
        ("spark", "SELECT explode(array(1, 2)) AS id"),
        ("spark", "SELECT input_file_name() AS f FROM df"),
    ],
)
def test_sql_that_only_names_files_is_fine(make_project, runner, engine, sql):
    cfg = _write(make_project, project_text(engine, sql))
    result, out = _invoke(runner, "validate", str(cfg))
    assert result.exit_code == 0, out
    assert file_access(sqlglot.parse_one(sql, read=engine), sql) is None


SQL_PARAMS = """\
project: file access in params
engine: duckdb
connections:
  data: {type: local, base_path: ./data}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {connection: data, path: src.csv, format: csv}
      - name: other
        depends_on: [src]
        validation: {custom_sql: {leak: "id > (SELECT count(*) FROM 'x.csv')"}}
      - name: ops
        depends_on: [src, other]
        transform:
          steps:
            - operation: filter
              params: {condition: "id > (SELECT count(*) FROM glob('/*'))"}
            - operation: derive
              params:
                columns:
                  fine: "id + 1"
                  leak: "id + (SELECT count(*) FROM read_text('/etc/passwd'))"
            - operation: join
              params: {right: other, condition: "left.id = right.id AND EXISTS (FROM 'x.csv')"}
            - operation: aggregate
              params: {group_by: [id], measures: {n: "count(*) + (SELECT count(*) FROM read_blob('/etc'))"}}
        validation:
          custom_sql:
            fine: "id > 0"
            leak: "id < (SELECT count(*) FROM read_csv('/etc/passwd'))"
"""


def test_operations_and_custom_sql_are_guarded_too(make_project, runner):
    cfg = _write(make_project, SQL_PARAMS)
    lines = SQL_PARAMS.splitlines()
    expected = {  # a node with checks and no steps (line 12) is checked too
        12: (lines[11].index("'x.csv'") + 1, "custom_sql check 'leak' may not reach files or the network"),
        18: (
            lines[17].index("glob") + 1,
            "an operation's SQL may not reach files or the network: it calls glob()",
        ),
        23: (lines[22].index("read_text") + 1, "it calls read_text()"),
        25: (lines[24].index("'x.csv'") + 1, "'x.csv' as a table reads a file"),
        27: (lines[26].index("read_blob") + 1, "it calls read_blob()"),
        31: (lines[30].index("read_csv") + 1, "custom_sql check 'leak' may not reach files or the network"),
    }
    for command in ("validate", "run"):
        result, out = _invoke(runner, command, str(cfg))
        assert result.exit_code == 2, out
        for line, (col, message) in expected.items():
            assert f"odibi.yaml:{line}:{col}: error: " in out, (line, col, out)
            assert message in out, out
        assert out.count(FILE_ACCESS_HINT) == len(expected), out


@pytest.mark.parametrize(
    ("engine", "sql"),
    [
        ("duckdb", "COPY (SELECT * FROM df) TO '/tmp/x.csv'"),
        ("duckdb", "ATTACH '/tmp/x.db'"),
        ("duckdb", "INSTALL httpfs"),
        ("duckdb", "LOAD httpfs"),
        ("duckdb", "PRAGMA version"),
        ("duckdb", "SET enable_external_access = true"),
        ("duckdb", "CREATE TABLE t AS SELECT * FROM df"),
        ("duckdb", "CALL dbgen(sf = 1)"),
        ("duckdb", "SELECT * FROM df; COPY df TO '/tmp/x.csv'"),
        ("spark", "LOAD DATA LOCAL INPATH '/etc/passwd' INTO TABLE t"),
        ("spark", "ADD JAR '/tmp/x.jar'"),
        ("spark", "INSERT OVERWRITE DIRECTORY '/tmp/x' SELECT * FROM df"),
    ],
)
def test_statements_are_refused_even_with_the_opt_out(make_project, runner, engine, sql):
    cfg = _write(make_project, project_text(engine, sql, allow=True))
    result, out = _invoke(runner, "validate", str(cfg))
    assert result.exit_code == 2, out
    assert f"odibi.yaml:{SQL_FIRST_LINE}:" in out, out
    assert "one statement" in out or "must be a query" in out or "syntax error" in out, out


OPT_OUT = """\
project: file access allowed
engine: duckdb
safety: {{allow_sql_file_access: true}}
connections:
  data: {{type: local, base_path: ./data}}
  out: {{type: local, base_path: ./out}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: data, path: src.csv, format: csv}}
      - name: by_function
        depends_on: [src]
        transform:
          steps:
            - SELECT x.id, x.extra FROM read_csv('{extra}') AS x
        write: {{connection: out, path: by_function.csv, format: csv}}
      - name: by_path
        depends_on: [src]
        transform:
          steps:
            - SELECT * FROM '{extra}'
        write: {{connection: out, path: by_path.csv, format: csv}}
      - name: by_ops
        depends_on: [src]
        transform:
          steps:
            - operation: filter
              params: {{condition: "id <= (SELECT count(*) FROM glob('{folder}/*.csv'))"}}
            - operation: derive
              params: {{columns: {{files: "0 + (SELECT count(*) FROM glob('{folder}/*.csv'))"}}}}
        validation:
          custom_sql:
            two_files: "files = (SELECT count(*) FROM glob('{folder}/*.csv'))"
        write: {{connection: out, path: by_ops.csv, format: csv}}
"""


def test_the_opt_out_validates_and_runs_on_duckdb(make_project, runner, tmp_path):
    folder = tmp_path / "data"
    text = OPT_OUT.format(extra=folder / "extra.csv", folder=folder)
    cfg = make_project(
        text, {"data/src.csv": "id,v\n1,10\n2,20\n3,30\n", "data/extra.csv": "id,extra\n7,x\n"}
    )
    result, out = _invoke(runner, "validate", str(cfg))
    assert result.exit_code == 0, out
    result, out = _invoke(runner, "run", str(cfg))
    assert result.exit_code == 0, out
    outputs = cfg.parent / "out"
    assert (outputs / "by_function.csv").read_text().splitlines() == ["id,extra", "7,x"]
    assert (outputs / "by_path.csv").read_text().splitlines() == ["id,extra", "7,x"]
    assert (outputs / "by_ops.csv").read_text().splitlines() == ["id,v,files", "1,10,2", "2,20,2"]
