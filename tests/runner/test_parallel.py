"""Parallel nodes: a ready-queue over each pipeline's DAG, bounded by --workers / workers:. The results,
the outputs and the summary are the same whatever order nodes finish in."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from odibi import api
from odibi.engines.registry import create
from odibi.run.runner import default_workers
from tests.runner.conftest import odibi

WIDE = """
project: wide
connections:
  local: {{type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: local, path: in.csv}}
{nodes}
      - name: total
        depends_on: [{names}]
        transform:
          steps:
            - "{union}"
        write: {{connection: local, path: out/total.parquet}}
"""


def _wide(n: int) -> str:
    names = [f"n{i}" for i in range(n)]
    nodes = "\n".join(
        f"""      - name: {name}
        depends_on: [src]
        transform:
          steps:
            - "SELECT id, v * {i} AS v, '{name}' AS node FROM src WHERE id % {n} <> {i}"
        write: {{connection: local, path: out/{name}.csv}}"""
        for i, name in enumerate(names)
    )
    union = " UNION ALL ".join(f"SELECT * FROM {name}" for name in names)
    return WIDE.format(nodes=nodes, names=", ".join(names), union=union)


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "out").glob("*.csv"))
    }


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_parallel_and_serial_runs_write_the_same_outputs_and_summary(project, tmp_path, engine):
    data = "id,v\n" + "".join(f"{i},{i % 7}\n" for i in range(500))
    cfg = project(_wide(12), {"in.csv": data})
    serial = api.run_project(cfg, engine=engine, workers=1)
    serial_out = _digest(cfg.parent)
    for _ in range(3):
        parallel = api.run_project(cfg, engine=engine, workers=4)
        assert parallel.ok and parallel.workers == 4
        assert _digest(cfg.parent) == serial_out
        assert [(n.node, n.status, n.rows) for n in parallel.nodes] == [
            (n.node, n.status, n.rows) for n in serial.nodes
        ]


SLOW = """
project: ready
transform_modules: [slow.py]
connections:
  local: {type: local, base_path: .}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {connection: local, path: in.csv}
      - name: slow
        depends_on: [src]
        transform:
          steps:
            - function: wait_a_little
        write: {connection: local, path: out/slow.csv}
      - name: fast1
        depends_on: [src]
        write: {connection: local, path: out/fast1.csv}
      - name: fast2
        depends_on: [fast1]
        write: {connection: local, path: out/fast2.csv}
"""
SLOW_PY = """
import time

from odibi.transforms import transform


@transform
def wait_a_little(df):
    time.sleep(1.0)
    return df
"""


def test_a_node_starts_as_soon_as_its_inputs_are_done_not_when_its_layer_is(project):
    """fast2 (layer 3) depends only on fast1: it must not wait for the slow node of layer 2."""
    cfg = project(SLOW, {"in.csv": "id\n1\n", "slow.py": SLOW_PY})
    result = api.run_project(cfg, workers=2)
    assert result.ok
    by = {n.node: n for n in result.nodes}
    assert by["fast2"].ended_at < by["slow"].ended_at
    assert [n.node for n in result.nodes] == ["src", "slow", "fast1", "fast2"]  # the pipeline's order


def test_workers_come_from_the_flag_the_project_or_the_engine(project):
    cfg = project(
        SLOW.replace("project: ready\n", "project: ready\nworkers: 3\n"),
        {"in.csv": "id\n1\n", "slow.py": SLOW_PY},
    )
    assert api.run_project(cfg).workers == 3
    assert api.run_project(cfg, workers=2).workers == 2
    duck, pandas = create("duckdb"), create("pandas")
    try:
        assert default_workers(duck) == 4 and default_workers(pandas) == 1
    finally:
        duck.close()
        pandas.close()


def test_the_workers_flag_is_bounded(project):
    cfg = project(SLOW, {"in.csv": "id\n1\n", "slow.py": SLOW_PY})
    done = odibi("run", str(cfg), "--workers", "0", cwd=cfg.parent)
    assert done.returncode == 2 and "--workers" in done.stderr
