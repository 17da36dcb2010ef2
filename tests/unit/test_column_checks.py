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
    cfg = make_project(PROJECT.replace("statuss", "status").replace("amout", "amount"),
                       {"data/in.csv": "id,status,amount\n1,a,2\n"})  # fmt: skip
    code = (
        "import sys; from odibi import api;"
        f"api.validate({str(cfg)!r});"
        "print([m for m in ('pandas', 'duckdb', 'pyspark', 'ibis', 'pyarrow') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_file_outputs_refuse_upsert(make_project):
    cfg = make_project(
        "project: t\nconnections:\n  d: {type: local, base_path: .}\npipelines:\n  - pipeline: p\n    nodes:\n"
        "      - name: a\n        transform: {steps: ['SELECT 1 AS x']}\n"
        "        write: {connection: d, path: o.parquet, mode: upsert, keys: [x]}\n"
    )
    [err] = _errors(cfg)
    assert err.location.line == 9 and "mode 'upsert' is not available for files" in err.message
