"""A node is reported ``success`` only once its query ran.

Reproduced on odibi 0.4.0: a node that nothing reads and nothing writes was shown ``success / lazy`` even
when its SQL always fails (``CAST('abc' AS INTEGER)``): it was defined as a view and never executed.
"""

from __future__ import annotations

from odibi.api import run_project

PROJECT = """
project: lazy
connections:
  data: {type: local, base_path: ./data}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {connection: data, path: in.csv}
      - name: broken_leaf
        depends_on: [src]
        transform:
          steps:
            - SELECT a, CAST('abc' || CAST(a AS VARCHAR) AS INTEGER) AS n FROM src
      - name: fine_leaf
        depends_on: [src]
        transform:
          steps:
            - SELECT a * 2 AS a2 FROM src
"""

CHAIN = """
project: chain
connections:
  data: {type: local, base_path: ./data}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {connection: data, path: in.csv}
      - name: middle
        depends_on: [src]
        transform:
          steps:
            - SELECT a, CAST('abc' || CAST(a AS VARCHAR) AS INTEGER) AS n FROM src
      - name: top
        depends_on: [middle]
        transform:
          steps:
            - SELECT a, n + 1 AS n1 FROM middle
        write: {connection: data, path: out.csv}
"""


def test_a_leaf_nobody_consumes_is_executed(make_project, engine):
    cfg = make_project(PROJECT, {"data/in.csv": "a\n1\n2\n3\n"})
    result = run_project(cfg, engine=engine)
    by = {n.node: n for n in result.nodes}
    assert by["broken_leaf"].status == "failed"
    assert by["fine_leaf"].status == "success" and by["fine_leaf"].rows == 3
    assert not result.ok


def test_a_lazy_node_whose_consumers_failed_is_not_reported_success(make_project, engine):
    cfg = make_project(CHAIN, {"data/in.csv": "a\n1\n2\n3\n"})
    result = run_project(cfg, engine=engine)
    by = {n.node: n for n in result.nodes}
    # eager engines (pandas) fail at the middle node and skip the top; lazy ones (DuckDB views, Spark)
    # fail at the top, where the fused query runs: either way the middle is never "success"
    assert (by["middle"].status, by["top"].status) in (("failed", "skipped"), ("not_run", "failed"))
    if by["middle"].status == "not_run":
        assert "top failed" in by["middle"].error
    assert not (cfg.parent / "data" / "out.csv").exists()


def test_a_lazy_node_whose_consumer_succeeded_ran_inside_it(make_project, engine):
    cfg = make_project(
        CHAIN.replace("CAST('abc' || CAST(a AS VARCHAR) AS INTEGER)", "a * 10"),
        {"data/in.csv": "a\n1\n2\n3\n"},
    )
    result = run_project(cfg, engine=engine)
    assert result.ok
    by = {n.node: n for n in result.nodes}
    assert by["middle"].status == "success" and by["middle"].lazy
    assert (cfg.parent / "data" / "out.csv").read_text().splitlines()[1:] == ["1,11", "2,21", "3,31"]
