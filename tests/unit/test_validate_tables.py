"""`odibi validate` checks offline what it can about table writes and incremental reads: keys of upsert /
append_once, partition columns, the incremental column and lookback, and formats odibi can write. Each
error is located at the key that is wrong, says what to do, and makes validate exit 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app

DATA = {"data/sales.csv": "customer_id,amount,country,updated_at\n1,2.5,NL,2024-01-01\n"}

GOOD = """\
project: t
connections:
  d: {type: local, base_path: ./data}
  o: {type: local, base_path: ./out}
pipelines:
  - pipeline: p
    nodes:
      - name: sales
        read:
          connection: d
          path: sales.csv
          incremental:
            column: updated_at
            mode: rolling_window
            lookback: 3d
      - name: totals
        depends_on: [sales]
        transform:
          steps:
            - SELECT customer_id, country, SUM(amount) AS amount FROM df GROUP BY customer_id, country
        write:
          connection: o
          path: totals
          format: parquet
          mode: upsert
          keys: [customer_id]
          partition_by: [country]
"""


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _errors(runner: CliRunner, cfg) -> list[dict]:
    """The errors `odibi validate --format json` reports; it must exit 2 without crashing."""
    result = runner.invoke(app, ["validate", str(cfg), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    return json.loads(result.stdout)


def _one(runner: CliRunner, cfg) -> dict:
    [error] = _errors(runner, cfg)
    return error


def test_a_correct_config_validates(runner, make_project):
    result = runner.invoke(app, ["validate", str(make_project(GOOD, DATA))])
    assert result.exit_code == 0, result.output
    assert "valid (1 pipeline(s), 2 node(s))" in result.stdout


@pytest.mark.parametrize("mode", ["upsert", "append_once"])
def test_a_merge_write_without_keys_is_refused_at_its_mode(runner, make_project, mode):
    cfg = make_project(GOOD.replace("mode: upsert", f"mode: {mode}").replace("keys: [customer_id]", ""), DATA)
    error = _one(runner, cfg)
    assert error["message"] == f"node 'totals' write: mode '{mode}' needs keys"
    assert (error["line"], error["col"]) == (25, 17)
    assert error["hint"] == "the columns that identify a row, e.g. keys: [customer_id]"


@pytest.mark.parametrize("mode", ["upsert", "append_once"])
def test_a_key_the_output_lacks_is_located_with_a_suggestion(runner, make_project, mode):
    cfg = make_project(
        GOOD.replace("mode: upsert", f"mode: {mode}").replace(
            "keys: [customer_id]", "keys: [country, custmer_id]"
        ),
        DATA,
    )
    error = _one(runner, cfg)
    assert error["message"] == (
        f"node 'totals' write: {mode} key 'custmer_id' is not a column of the node's output "
        "(did you mean 'customer_id'?)"
    )
    assert (error["line"], error["col"]) == (26, 27)  # at `custmer_id`, the second key
    assert error["hint"] == "columns: customer_id, country, amount"
    assert error["node"] == "totals" and error["pipeline"] == "p"


def test_a_key_error_is_printed_located_in_text(runner, make_project):
    cfg = make_project(GOOD.replace("keys: [customer_id]", "keys: [custmer_id]"), DATA)
    result = runner.invoke(app, ["validate", str(cfg)])
    assert result.exit_code == 2
    assert "odibi.yaml:26:18: error: node 'totals' write: upsert key 'custmer_id'" in result.output
    assert "hint: columns: customer_id, country, amount" in result.output


def test_a_partition_column_the_output_lacks_is_located(runner, make_project):
    cfg = make_project(GOOD.replace("partition_by: [country]", "partition_by: [contry]"), DATA)
    error = _one(runner, cfg)
    assert error["message"] == (
        "node 'totals' write: partition column 'contry' is not a column of the node's output "
        "(did you mean 'country'?)"
    )
    assert (error["line"], error["col"]) == (27, 26)
    assert error["hint"] == "columns: customer_id, country, amount"


def test_options_partition_by_is_checked_too(runner, make_project):
    cfg = make_project(
        GOOD.replace("partition_by: [country]", "options: {partitionBy: [country, regio]}"), DATA
    )
    error = _one(runner, cfg)
    assert error["message"].startswith("node 'totals' write: partition column 'regio' is not a column")
    assert (error["line"], error["col"]) == (27, 44)


def test_partitioning_by_every_output_column_is_refused(runner, make_project):
    sql = "SELECT customer_id, country, SUM(amount) AS amount FROM df GROUP BY customer_id, country"
    cfg = make_project(
        GOOD.replace(sql, "SELECT DISTINCT customer_id, country FROM df").replace(
            "partition_by: [country]", "partition_by: [country, customer_id]"
        ),
        DATA,
    )
    error = _one(runner, cfg)
    assert error["message"] == (
        "node 'totals' write: partition_by takes every output column (customer_id, country); "
        "no column is left to write in the files"
    )
    assert (error["line"], error["col"]) == (27, 25)
    assert error["hint"] == "partition by fewer columns"


@pytest.mark.parametrize(("written", "near"), [("updated", "updated_at"), ("Updated_At", "updated_at")])
def test_an_incremental_column_the_read_lacks_is_located(runner, make_project, written, near):
    cfg = make_project(GOOD.replace("column: updated_at", f"column: {written}"), DATA)
    error = _one(runner, cfg)
    assert error["message"] == (
        f"node 'sales' read: incremental column '{written}' is not a column of the read "
        f"(did you mean '{near}'?)"
    )
    assert (error["line"], error["col"]) == (13, 21)
    assert error["hint"] == "columns: customer_id, amount, country, updated_at"


def test_a_lookback_that_does_not_parse_is_located(runner, make_project):
    cfg = make_project(GOOD.replace("lookback: 3d", "lookback: 3 days"), DATA)
    error = _one(runner, cfg)
    assert error["message"] == "node 'sales' read: lookback '3 days' is not a duration like 3d, 12h, 30m, 2w"
    assert (error["line"], error["col"]) == (15, 23)
    assert error["hint"] == "a whole number and a unit (s, m, h, d, w), e.g. lookback: 3d"


def test_a_rolling_window_without_lookback_is_located_at_its_mode(runner, make_project):
    cfg = make_project(GOOD.replace("            lookback: 3d\n", ""), DATA)
    error = _one(runner, cfg)
    assert error["message"] == "node 'sales' read: incremental mode rolling_window needs lookback"
    assert (error["line"], error["col"]) == (14, 19)
    assert error["hint"] == "e.g. lookback: 3d"


@pytest.mark.parametrize(
    ("change", "at"),
    [
        (("format: parquet", "format: avro"), (24, 19)),
        (("path: totals\n          format: parquet", "path: totals.avro"), (23, 17)),
    ],
)
def test_a_format_odibi_cannot_write_is_refused(runner, make_project, change, at):
    cfg = make_project(GOOD.replace(*change), DATA)
    messages = {(e["line"], e["col"]): e for e in _errors(runner, cfg)}
    error = messages[at]
    assert error["message"] == (
        "node 'totals' write: format 'avro' cannot be written (odibi writes csv, parquet, json, delta)"
    )
    assert error["hint"] == "write format: parquet (or csv, json, delta)"


def test_every_mistake_is_reported_in_one_run(runner, make_project):
    cfg = make_project(
        GOOD.replace("column: updated_at", "column: updated")
        .replace("keys: [customer_id]", "keys: [custmer_id]")
        .replace("partition_by: [country]", "partition_by: [contry]"),
        DATA,
    )
    assert [e["line"] for e in _errors(runner, cfg)] == [13, 26, 27]


def test_columns_unknown_offline_are_left_to_run_time(runner, make_project):
    """No data file yet and a `SELECT *`: the output columns cannot be told, so validate does not guess
    (run time refuses a wrong key or partition column before writing)."""
    sql = "SELECT customer_id, country, SUM(amount) AS amount FROM df GROUP BY customer_id, country"
    cfg = make_project(
        GOOD.replace(sql, "SELECT * FROM df")
        .replace("column: updated_at", "column: updated")
        .replace("keys: [customer_id]", "keys: [custmer_id]")
    )
    result = runner.invoke(app, ["validate", str(cfg)])
    assert result.exit_code == 0, result.output


def test_output_columns_named_by_the_sql_are_checked_without_the_data(runner, make_project):
    """Without the data file, a step that names its columns still tells the node's output."""
    cfg = make_project(GOOD.replace("keys: [customer_id]", "keys: [custmer_id]"))
    error = _one(runner, cfg)
    assert error["line"] == 26 and "key 'custmer_id' is not a column" in error["message"]
