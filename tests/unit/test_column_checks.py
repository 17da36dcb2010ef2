"""`odibi validate` checks the columns SQL steps use when the input's columns can be read cheaply (a CSV
header, the first JSON record), without loading an engine; and refuses write modes files cannot honour."""

from __future__ import annotations

import subprocess
import sys

import pytest

from odibi.api import validate
from odibi.errors import ConfigError, ConfigErrors

PROJECT = """\
project: t
connections:
  d: {type: local, base_path: ./data}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {connection: d, path: in.csv}
      - name: b
        depends_on: [src]
        transform:
          steps:
            - |
              SELECT id, statuss, amount
              FROM src
            - SELECT id, amount FROM df WHERE amout > 1
"""


def _errors(cfg):
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    return err.value.errors if isinstance(err.value, ConfigErrors) else [err.value]


def test_unknown_columns_are_located_with_a_suggestion(make_project):
    cfg = make_project(PROJECT, {"data/in.csv": "id,status,amount\n1,a,2\n"})
    errors = _errors(cfg)
    found = {(e.location.line, e.location.col): e.message for e in errors}
    assert found[(14, 26)] == "unknown column 'statuss' (did you mean 'status'?)"
    assert found[(16, 47)] == "unknown column 'amout' (did you mean 'amount'?)"


def test_without_the_file_only_what_the_sql_itself_tells_is_checked(make_project):
    cfg = make_project(PROJECT)  # no data file: step 1's input is unknown, but its output is not
    [err] = _errors(cfg)
    assert err.location.line == 16 and "unknown column 'amout'" in err.message


def test_valid_columns_pass(make_project):
    good = PROJECT.replace("statuss", "status").replace("amout", "amount")
    cfg = make_project(good, {"data/in.csv": "id;status;amount\n1;a;2\n"})  # a sniffed delimiter
    validate(cfg)


def test_header_peek_loads_no_engine(make_project):
    """Only DuckDB's parser is loaded (compile/duckdb_syntax.py checks DuckDB SQL), not its Python
    engine's data libraries."""
    cfg = make_project(PROJECT.replace("statuss", "status").replace("amout", "amount"),
                       {"data/in.csv": "id,status,amount\n1,a,2\n"})  # fmt: skip
    code = (
        "import sys; from odibi import api;"
        f"api.validate({str(cfg)!r});"
        "print([m for m in ('pandas', 'odibi.engines.duckdb', 'pyspark', 'ibis', 'pyarrow', 'numpy')"
        " if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_upsert_without_keys_is_located(make_project):
    cfg = make_project(
        "project: t\nconnections:\n  d: {type: local, base_path: .}\npipelines:\n  - pipeline: p\n    nodes:\n"
        "      - name: a\n        transform: {steps: ['SELECT 1 AS x']}\n"
        "        write: {connection: d, path: o.parquet, mode: upsert}\n"
    )
    [err] = _errors(cfg)
    assert err.location.line == 9 and "mode 'upsert' needs keys" in err.message


JOINED = """\
project: t
connections:
  d: {type: local, base_path: ./data}
pipelines:
  - pipeline: p
    nodes:
      - name: orders
        read: {connection: d, path: orders.csv}
      - name: customers
        read: {connection: d, path: customers.csv}
      - name: joined
        depends_on: [orders, customers]
        transform:
          steps:
            - |
              SELECT o.id, c.nme, o.amount * 2 AS doubled
              FROM df AS o LEFT JOIN customers AS c ON o.customer = c.id
      - name: next
        depends_on: [joined]
        transform:
          steps:
            - SELECT * FROM df WHERE doubled > 0 AND amount > 1
"""
JOINED_DATA = {"data/orders.csv": "id,customer,amount\n1,7,2\n", "data/customers.csv": "id,name\n7,x\n"}


def test_a_qualified_column_its_table_lacks_is_an_error(make_project):
    """`c.nme`: the alias names a table with known columns, which have no `nme` (sqlglot's own qualify
    words this 'Unknown column'; it used to pass unchecked)."""
    cfg = make_project(JOINED, JOINED_DATA)
    [err, *_] = _errors(cfg)
    assert (err.location.line, err.location.col) == (16, 30)  # at `nme`
    assert err.message == "unknown column 'nme' in 'c' (did you mean 'name'?)"
    assert err.hint == "columns of 'c': id, name"


def test_output_columns_carry_through_stars_and_aliases(make_project):
    """Step outputs are tracked through `*` and aliases: the next node's `amount` (not an output of
    `joined`) is an error, its `doubled` is not."""
    cfg = make_project(JOINED.replace("c.nme", "c.name"), JOINED_DATA)
    [err] = _errors(cfg)
    assert err.node == "next" and err.message.startswith("unknown column 'amount'")


def test_projection_aliases_may_be_referenced_and_case_does_not_matter(make_project):
    sql = "SELECT ID AS key, Amount * 2 AS twice FROM df WHERE twice > 1 ORDER BY key"
    cfg = make_project(
        JOINED.replace("SELECT * FROM df WHERE doubled > 0 AND amount > 1", sql).replace("c.nme", "c.name"),
        JOINED_DATA,
    )
    with pytest.raises(ConfigError, match="unknown column 'amount'"):
        validate(cfg)  # `joined` has no amount: its outputs are id, name, doubled
    cfg = make_project(
        JOINED.replace(
            "SELECT * FROM df WHERE doubled > 0 AND amount > 1", sql.replace("Amount", "Doubled")
        ).replace("c.nme", "c.name"),
        JOINED_DATA,
    )
    validate(cfg)


@pytest.mark.parametrize(
    "sql",
    [
        "WITH x AS (SELECT id FROM df) SELECT idd FROM x",  # a CTE: sqlglot's qualify decides
        "SELECT idd FROM (SELECT id FROM df) AS s",  # a subquery
        "SELECT idd FROM df UNION ALL SELECT id FROM df",  # a set operation
    ],
)
def test_queries_beyond_one_flat_select_are_still_checked(make_project, sql):
    cfg = make_project(
        JOINED.replace("SELECT * FROM df WHERE doubled > 0 AND amount > 1", sql).replace("c.nme", "c.name"),
        JOINED_DATA,
    )
    [err] = _errors(cfg)
    assert err.node == "next" and "unknown column 'idd'" in err.message


def test_a_table_alias_that_renames_columns_is_honoured(make_project):
    sql = "SELECT a.k, a.v FROM df AS a(k, v, w)"
    cfg = make_project(
        JOINED.replace("SELECT * FROM df WHERE doubled > 0 AND amount > 1", sql).replace("c.nme", "c.name"),
        JOINED_DATA,
    )
    valid = validate(cfg)  # k, v, w are the columns of `a`: no error
    assert list(valid.compiled[("p", "next")].columns) == ["k", "v"]
