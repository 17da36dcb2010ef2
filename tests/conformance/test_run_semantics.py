"""Run semantics (DESIGN.md §4) and write modes, checked against independently computed data."""

from __future__ import annotations

import pandas as pd
import pytest

from odibi.api import run_project

CSV = """\
id,name,amount
1,ann,10.5
2,bob,-3
3,cy,7
4,,2
"""


def _status(result):
    return {n.node: n.status for n in result.nodes}


def test_read_steps_validation_write_and_first_dependency(make_project, engine, tmp_path):
    cfg = make_project(
        """
        project: t
        connections:
          data: {type: local, base_path: ./data}
          out: {type: local, base_path: ./out}
        pipelines:
          - pipeline: one
            nodes:
              - name: raw
                read: {connection: data, path: sales.csv, format: csv, options: {header: true}}
              - name: positive
                depends_on: [raw]
                transform:
                  steps:
                    - SELECT * FROM raw WHERE amount > 0
                    - sql: SELECT id, UPPER(COALESCE(name, 'none')) AS name, amount * 2 AS doubled FROM df
                validation: {not_empty: true, no_nulls: [id, name], schema: {required_columns: [id], types: {doubled: float}}}
              - name: save
                depends_on: [positive]
                write: {connection: out, path: positive.parquet, format: parquet}
          - pipeline: two
            nodes:
              - name: again
                read: {connection: out, path: positive.parquet}
                transform:
                  steps: ["SELECT count(*) AS n, sum(doubled) AS total FROM df"]
                write: {connection: out, path: totals.csv}
        """,
        {"data/sales.csv": CSV},
    )
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    src = pd.read_csv(tmp_path / "data/sales.csv")
    src = src[src.amount > 0]
    expected = pd.DataFrame(
        {"id": src.id, "name": src.name.fillna("none").str.upper(), "doubled": src.amount * 2}
    ).reset_index(drop=True)
    got = pd.read_parquet(tmp_path / "out/positive.parquet").sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    totals = pd.read_csv(tmp_path / "out/totals.csv")
    assert totals.n.tolist() == [3] and totals.total.tolist() == [pytest.approx(39.0)]
    rows = {n.node: n.rows for n in result.nodes}
    assert rows["save"] == 3
    # whether the CLI may end the process at once (os._exit) after the run: only when nothing of the
    # engine outlives close(); Spark leaves a JVM and scratch folders to its normal exit
    assert result.in_process is (engine != "spark")


def test_failed_node_skips_downstream_but_not_other_branches(make_project, engine, tmp_path):
    cfg = make_project(
        """
        project: t
        connections:
          out: {type: local, base_path: ./out}
        pipelines:
          - pipeline: p
            nodes:
              - name: good
                transform: {steps: ["SELECT 1 AS x"]}
                write: {connection: out, path: good.csv}
              - name: bad
                transform: {steps: ["SELECT no_such_column FROM (SELECT 1 AS x)"]}
              - name: after_bad
                depends_on: [bad]
                write: {connection: out, path: after.csv}
        """
    )
    result = run_project(cfg, engine=engine)
    assert not result.ok
    assert _status(result) == {"good": "success", "bad": "failed", "after_bad": "skipped"}
    bad = next(n for n in result.nodes if n.node == "bad")
    assert "no_such_column" in bad.error
    assert (tmp_path / "out/good.csv").exists()
    assert not (tmp_path / "out/after.csv").exists()


def test_validation_failure_blocks_the_write(make_project, engine, tmp_path):
    cfg = make_project(
        """
        project: t
        connections:
          data: {type: local, base_path: ./data}
        pipelines:
          - pipeline: p
            nodes:
              - name: n
                read: {connection: data, path: sales.csv}
                validation: {no_nulls: [name]}
                write: {connection: data, path: out.csv}
        """,
        {"data/sales.csv": CSV},
    )
    result = run_project(cfg, engine=engine)
    [n] = result.nodes
    assert n.status == "failed" and "no_nulls(name): 1 row(s)" in n.error
    assert not (tmp_path / "data/out.csv").exists()


WRITE = """
project: t
connections:
  d: {{type: local, base_path: ./d}}
pipelines:
  - pipeline: p
    nodes:
      - name: n
        transform: {{steps: ["SELECT {value} AS v"]}}
        write: {{connection: d, path: out.{fmt}, mode: {mode}}}
"""


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_write_modes(make_project, engine, tmp_path, fmt):
    def run(value, mode):
        cfg = make_project(WRITE.format(value=value, mode=mode, fmt=fmt))
        return run_project(cfg, engine=engine)

    def values():
        path = tmp_path / f"d/out.{fmt}"
        frame = {"csv": pd.read_csv, "parquet": pd.read_parquet}.get(
            fmt, lambda p: pd.read_json(p, lines=True)
        )(path)
        return frame.v.tolist()

    assert run(1, "overwrite").ok and values() == [1]
    assert run(2, "overwrite").ok and values() == [2]
    appended = run(3, "append")
    assert appended.ok and sorted(values()) == [2, 3]
    assert appended.nodes[0].rows == 1  # the node's own rows, not the file's total
    assert run(4, "ignore").ok and sorted(values()) == [2, 3]
    failed = run(5, "error")
    assert not failed.ok and "already exists" in failed.nodes[0].error
    assert sorted(values()) == [2, 3]
    leftovers = [p.name for p in (tmp_path / "d").iterdir() if "odibi-staging" in p.name]
    assert leftovers == []
    assert [p for p in (tmp_path / "d/.odibi").rglob("*") if p.is_file()] == []


def test_failed_overwrite_leaves_previous_output_intact(make_project, engine, tmp_path):
    good = make_project(WRITE.format(value=1, mode="overwrite", fmt="parquet"))
    assert run_project(good, engine=engine).ok
    before = (tmp_path / "d/out.parquet").read_bytes()
    # a query that fails while the output is being produced (a runtime error, not a compile error)
    broken = make_project(
        WRITE.format(value="CAST('x' || random() AS INTEGER)", mode="overwrite", fmt="parquet")
    )
    result = run_project(broken, engine=engine)
    assert not result.ok
    assert (tmp_path / "d/out.parquet").read_bytes() == before
    # nothing beside the output; odibi's own folder (.odibi: staging, locks) holds nothing either
    assert [p.name for p in (tmp_path / "d").iterdir() if p.name != ".odibi"] == ["out.parquet"]
    assert [p for p in (tmp_path / "d/.odibi").rglob("*") if p.is_file()] == []
