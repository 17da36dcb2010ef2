"""The portability check (`odibi run --compare`): agreeing engines pass, a planted difference is caught."""

from __future__ import annotations

import pytest

from odibi.api import compare_engines
from odibi.engines import registry
from odibi.engines.duckdb import DuckDBEngine

from .conftest import runnable_engines

PROJECT = """
project: t
connections:
  d: {type: local, base_path: ./data}
  o: {type: local, base_path: ./out}
pipelines:
  - pipeline: one
    nodes:
      - name: raw
        read: {connection: d, path: in.csv}
      - name: agg
        depends_on: [raw]
        transform:
          steps: ["SELECT k, sum(v) AS total, avg(v) AS mean FROM raw GROUP BY k"]
        write: {connection: o, path: agg.parquet}
  - pipeline: two
    nodes:
      - name: again
        read: {connection: o, path: agg.parquet}
        transform: {steps: ["SELECT k, total * 2 AS doubled FROM df"]}
        write: {connection: o, path: doubled.csv}
"""
DATA = {"data/in.csv": "k,v\na,1\na,2\nb,3\nc,4.5\n"}


class OffByOneEngine(DuckDBEngine):
    """A DuckDB engine with a planted bug: every written output loses its last row."""

    name = "offbyone"

    def write(self, relation, spec):
        self.define(
            f"{relation}__cut",
            f'SELECT * FROM "{relation}" ORDER BY 1 LIMIT (SELECT count(*) - 1 FROM "{relation}")',
            materialize=True,
        )
        return super().write(f"{relation}__cut", spec)


@pytest.fixture
def offbyone():
    registry.register("offbyone", f"{__name__}:OffByOneEngine", "duckdb")
    yield "offbyone"
    registry._REGISTERED.pop("offbyone", None)


def test_every_engine_agrees_on_a_two_pipeline_project(make_project, tmp_path):
    cfg = make_project(PROJECT, DATA)
    result = compare_engines(cfg, runnable_engines())
    assert all(r.ok for r in result.runs.values()), {
        e: [n.error for n in r.nodes] for e, r in result.runs.items()
    }
    assert result.ok, [(o.target, o.differences, o.examples) for o in result.outputs]
    assert sorted(o.target for o in result.outputs) == ["out/agg.parquet", "out/doubled.csv"]
    # the second pipeline read the first one's scratch output, and the real outputs were never touched
    assert not (tmp_path / "out").exists()
    assert (tmp_path / ".odibi/compare/duckdb/out/doubled.csv").exists()


def test_a_planted_difference_is_reported_with_the_rows(make_project, offbyone):
    cfg = make_project(PROJECT, DATA)
    result = compare_engines(cfg, ["duckdb", offbyone])
    assert not result.ok
    by_target = {o.target: o for o in result.outputs}
    agg = by_target["out/agg.parquet"]
    assert "rows: duckdb 3 vs offbyone 2" in agg.differences
    assert any(d.startswith("values:") for d in agg.differences)
    assert agg.examples and agg.examples[0]["row"] == 2
    assert agg.examples[0]["offbyone"] is None and agg.examples[0]["duckdb"]["k"] == "c"


def test_compare_from_the_cli_exits_1_on_difference(make_project, offbyone):
    from typer.testing import CliRunner

    from odibi.cli.app import app

    cfg = make_project(PROJECT, DATA)
    result = CliRunner().invoke(app, ["run", str(cfg), "--compare", f"duckdb,{offbyone}"])
    assert result.exit_code == 1, result.output
    assert "differ" in result.output and "out/agg.parquet" in result.output
