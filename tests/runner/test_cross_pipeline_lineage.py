"""Lineage across pipelines (issue 21): a read of what an earlier pipeline's node writes depends on it.

A failed silver node skips its gold readers (no gold output rebuilt from last run's silver file), validate
checks gold against silver's compiled columns in a fresh folder, says which column checks it had to skip,
and `odibi graph` / `compile` / `--node` follow the same link (odibi/plan/lineage.py)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app
from odibi.plan.lineage import normalise_path, path_matches

# one pipeline per layer; gold reads silver's file under another spelling of the same path
LAYERS = """
project: layers
engine: {engine}
connections:
  data: {{type: local, base_path: ./data}}
  out: {{type: local, base_path: ./out}}
pipelines:
  - pipeline: silver
    nodes:
      - name: sales
        read: {{connection: data, path: sales.csv}}
        transform:
          steps:
            - "SELECT CAST(id AS INTEGER) AS id, CAST(amount AS DOUBLE) AS amount FROM df"
        write: {{connection: out, path: silver/sales.parquet}}
  - pipeline: gold
    nodes:
      - name: report
        read: {{connection: out, path: ./silver//sales.parquet}}
        transform:
          steps:
            - "SELECT id, {column} * 2 AS revenue FROM df"
        write: {{connection: out, path: gold/report.parquet}}
      - name: total
        depends_on: [report]
        transform:
          steps:
            - "SELECT SUM(revenue) AS revenue FROM report"
        write: {{connection: out, path: gold/total.csv}}
"""

GOOD_DATA = "id,amount\n1,5\n2,7\n"
BAD_DATA = "id,amount\nx,5\n"  # a cast no validation can see: silver.sales fails at run time


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def _project(tmp_path, engine: str = "duckdb", column: str = "amount", data: str | None = GOOD_DATA):
    (tmp_path / "data").mkdir(exist_ok=True)
    if data is not None:
        (tmp_path / "data" / "sales.csv").write_text(data)
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(LAYERS.format(engine=engine, column=column))
    return cfg


def _line(cfg, text: str) -> int:
    return next(i for i, line in enumerate(cfg.read_text().splitlines(), 1) if text in line)


def _nodes(result) -> dict[str, dict]:
    doc = json.loads(result.stdout)
    return {f"{n['pipeline']}.{n['node']}": n for n in doc["nodes"]}


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_failed_writer_skips_its_readers_in_later_pipelines(tmp_path, cli, engine):
    cfg = _project(tmp_path, engine)
    first = cli.invoke(app, ["run", str(cfg), "--format", "json"])
    assert first.exit_code == 0, first.output
    outputs = [tmp_path / "out/gold/report.parquet", tmp_path / "out/gold/total.csv"]
    before = [p.read_bytes() for p in outputs]

    (tmp_path / "data" / "sales.csv").write_text(BAD_DATA)
    second = cli.invoke(app, ["run", str(cfg), "--format", "json"])
    assert second.exit_code == 1, second.output
    nodes = _nodes(second)
    assert nodes["silver.sales"]["status"] == "failed"
    assert nodes["gold.report"]["status"] == "skipped"
    assert nodes["gold.report"]["error"] == (
        "its input ./silver//sales.parquet is written by silver.sales, which failed"
    )
    assert nodes["gold.total"]["status"] == "skipped"
    assert [p.read_bytes() for p in outputs] == before  # nothing rebuilt from the stale silver file

    text = cli.invoke(app, ["run", str(cfg)])
    assert text.exit_code == 1
    assert "is written by silver.sales, which failed" in text.stdout


def test_a_run_of_the_later_pipeline_alone_reads_what_is_there(tmp_path, cli):
    """`--pipeline gold` does not pull silver in: the user asked for gold on the existing file."""
    cfg = _project(tmp_path)
    assert cli.invoke(app, ["run", str(cfg)]).exit_code == 0
    (tmp_path / "data" / "sales.csv").write_text(BAD_DATA)  # would fail silver, which is not run
    result = cli.invoke(app, ["run", str(cfg), "--pipeline", "gold", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert set(_nodes(result)) == {"gold.report", "gold.total"}


def test_node_selection_pulls_in_the_writer(tmp_path, cli):
    cfg = _project(tmp_path, data=BAD_DATA)
    result = cli.invoke(app, ["run", str(cfg), "--node", "report", "--format", "json"])
    assert result.exit_code == 1, result.output
    nodes = _nodes(result)
    assert list(nodes) == ["silver.sales", "gold.report"]
    assert nodes["gold.report"]["status"] == "skipped"
    assert not (tmp_path / "out/gold/report.parquet").exists()


def test_validate_checks_gold_against_silver_columns_in_a_fresh_folder(tmp_path, cli):
    cfg = _project(tmp_path, column="amout")  # no out/ folder: silver has never run
    result = cli.invoke(app, ["validate", str(cfg), "--format", "json"])
    assert result.exit_code == 2, result.output
    [error] = json.loads(result.stdout)
    assert "unknown column 'amout'" in error["message"]
    assert (error["node"], error["line"]) == ("report", _line(cfg, "amout * 2"))  # the step's YAML line

    good = _project(tmp_path)
    result = cli.invoke(app, ["validate", str(good), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []  # the writer's columns are known: nothing skipped


def test_validate_notes_a_check_it_had_to_skip(tmp_path, cli):
    """No writer and no file: the column checks of that read cannot run, and validate says so."""
    cfg = _project(tmp_path, data=None)
    result = cli.invoke(app, ["validate", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "valid (2 pipeline(s), 3 node(s)); 1 check(s) skipped" in result.stdout
    line = _line(cfg, "sales.csv")
    assert (
        f"odibi.yaml:{line}:15: note: node silver.sales: columns of its input not known (sales.csv does not "
        "exist yet and no node writes it); its column checks were skipped"
    ) in result.stderr

    result = cli.invoke(app, ["validate", str(cfg), "--format", "json"])
    assert result.exit_code == 0
    [note] = json.loads(result.stdout)
    assert (note["kind"], note["pipeline"], note["node"], note["line"]) == ("note", "silver", "sales", line)


def test_graph_and_compile_show_the_link(tmp_path, cli):
    cfg = _project(tmp_path)
    graph = json.loads(cli.invoke(app, ["graph", str(cfg), "--format", "json"]).stdout)
    gold = next(p for p in graph["pipelines"] if p["name"] == "gold")
    assert gold["reads_from"] == ["silver"]
    assert gold["nodes"][0]["written_by"] == ["silver.sales"]
    sql = cli.invoke(app, ["compile", str(cfg), "--node", "report"]).stdout
    assert "written by silver.sales" in sql


@pytest.mark.parametrize(
    ("read", "written", "hit"),
    [
        ("silver/sales.parquet", "./silver//sales.parquet", True),
        ("silver/sales", "silver/sales/part-0.parquet", True),  # a folder read over a written file
        ("silver/sales/year=2024", "silver/sales", True),  # one partition of a written folder
        ("silver/*.parquet", "silver/sales.parquet", True),
        ("silver/sales/*.parquet", "silver/sales", True),  # files of a written folder
        ("silver/**/*.parquet", "silver/a/b/c.parquet", True),
        ("silver/*.parquet", "silver/x/sales.parquet", False),  # * stays within a folder
        ("silver/*.csv", "silver/sales.parquet", False),
        ("silver/sales", "silver/sales2.parquet", False),
    ],
)
def test_matching_rule(read, written, hit):
    assert path_matches(normalise_path(read), normalise_path(written)) is hit
