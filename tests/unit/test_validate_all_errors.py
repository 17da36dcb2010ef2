"""One `odibi validate` run reports every independent mistake, whatever stage finds it (config/recovery.py).

A schema error no longer stops the semantic and compile checks: the part it is in is neutralised, the
rest is checked, and nothing follows from the neutralised part (no "unknown dependency" for a node left
out, no "unknown connection" for a connection whose config is invalid, no column errors downstream).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from odibi import api
from odibi.cli.app import app
from odibi.errors import ConfigError

FOUR = """\
project: four
connections:
  data: {type: local, base_path: ./data}
pipelines:
  - pipeline: p
    nodes:
      - name: raw
        read: {connection: data, path: in.csv, format: xlsx}
      - name: typo
        read: {connection: data, path: in.csv}
        depnds_on: [raw]
      - name: lost
        read: {connection: warehouse, path: in.csv}
      - name: cols
        read: {connection: data, path: in.csv}
        transform:
          steps:
            - |
              SELECT id,
                     amout
              FROM df
      - name: after_raw
        depends_on: [raw, typo]
        transform:
          steps:
            - SELECT r.whatever, t.anything FROM raw AS r JOIN typo AS t ON r.id = t.id
"""


def _project(tmp_path, text: str) -> str:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "in.csv").write_text("id,amount\n1,2\n")
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(text)
    return str(cfg)


def _errors(cfg: str) -> list[ConfigError]:
    with pytest.raises(ConfigError) as caught:
        api.validate(cfg)
    return list(getattr(caught.value, "errors", [caught.value]))


def test_four_mistakes_of_four_stages_in_one_run(tmp_path):
    cfg = _project(tmp_path, FOUR)
    result = CliRunner().invoke(app, ["validate", cfg, "--format", "json"])
    assert result.exit_code == 2, result.output
    errors = json.loads(result.stdout)
    got = [(e["line"], e["col"]) for e in errors]
    assert got == [(8, 56), (11, 9), (13, 28), (20, 22)], errors
    messages = [e["message"] for e in errors]
    assert "invalid value 'xlsx'" in messages[0]
    assert "unknown key 'depnds_on'" in messages[1]
    assert "unknown connection 'warehouse'" in messages[2]
    assert "unknown column 'amout'" in messages[3]


def test_invalid_connection_is_not_also_unknown(tmp_path):
    cfg = _project(
        tmp_path,
        """\
project: t
connections:
  data: {type: local, base_path: ./data}
  wh: {type: local, base_pth: ./data}
  odd: {type: nosuch}
pipelines:
  - pipeline: p
    nodes:
      - name: a
        read: {connection: wh, path: in.csv}
      - name: b
        read: {connection: odd, path: in.csv}
        write: {connection: wh, path: out.csv}
      - name: c
        read: {connection: nowhere, path: in.csv}
""",
    )
    errors = _errors(cfg)
    assert [e.location.line for e in errors] == [4, 5, 15], [str(e) for e in errors]
    assert "unknown connection 'nowhere'" in errors[2].message


def test_every_misspelt_key_and_what_they_hid(tmp_path):
    """A mapping's first unknown key hides the rest of the document from pydantic: recovery finds the
    other unknown keys, and the errors of the levels below, in the same run."""
    cfg = _project(
        tmp_path,
        """\
project: t
engin: duckdb
verison: 1
connections:
  data: {type: local, base_path: ./data}
pipelines:
  - pipeline: p
    layr: silver
    nodes:
      - name: a
        read: {connection: data, path: in.csv, format: xlsx}
      - name: "bad name"
        read: {connection: data, path: in.csv}
      - name: c
        depends_on: ["bad name", a, missing]
        transform: {steps: ["SELECT * FROM df"]}
  - pipeline: q
    nodes: 3
  - pipeline: r
    nodes:
      - name: d
        transform: {steps: ["SELECT 1 AS x FROM nowhere"]}
""",
    )
    errors = _errors(cfg)
    lines = [e.location.line for e in errors]
    assert lines == [2, 3, 8, 11, 12, 15, 18, 22], [str(e) for e in errors]
    assert "unknown dependency 'missing'" in errors[5].message
    assert "unknown table 'nowhere'" in errors[7].message


def test_valid_project_still_valid(tmp_path):
    text = FOUR.replace(", format: xlsx", "").replace("depnds_on", "depends_on").replace("warehouse", "data")
    text = text.replace("amout", "amount").replace("r.whatever, t.anything", "r.id, t.amount")
    api.validate(_project(tmp_path, text))


def test_a_misspelt_required_key_is_not_also_missing(tmp_path):
    cfg = _project(
        tmp_path,
        """\
projct: t
pipelines:
  - pipeline: p
    nodes:
      - name: a
        transform: {steps: ["SELECT 1 AS x FROM nowhere"]}
""",
    )
    errors = _errors(cfg)
    assert [e.location.line for e in errors] == [1, 6], [str(e) for e in errors]
    assert "unknown key 'projct'" in errors[0].message
