"""Data-quality outcomes on every engine: how many rows each check warned or quarantined (and in percent
of the rows checked) is on the node's result, and thresholds (max_failed / max_failed_pct, per node or
per check) turn a warn or a quarantine into a data_quality failure that writes nothing."""

from __future__ import annotations

import pytest

from odibi.api import run_project
from tests.conformance.test_quality import CSV  # five rows: amount NULL in one, < 0 in one, > 35 in one

PROJECT = """
project: quality
connections:
  d: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: d, path: in.csv}}
        validation:
          {checks}
          on_fail: {on_fail}
          quarantine: {{connection: d, path: out/rejects.parquet, mode: overwrite}}
        write: {{connection: d, path: out/good.parquet}}
"""


def _run(make_project, engine, checks: str, on_fail: str):
    cfg = make_project(PROJECT.format(checks=checks, on_fail=on_fail), {"data/in.csv": CSV})
    [node] = run_project(cfg, engine=engine).nodes
    return node


def _results(node) -> dict[str, tuple[str, int, float | None]]:
    return {r["check"]: (r["status"], r["failing_rows"], r["failing_pct"]) for r in node.check_results}


def test_warn_counts_rows_and_percent(make_project, engine):
    node = _run(make_project, engine, "no_nulls: [amount]\n          range: {amount: {min: 0}}", "warn")
    assert node.status == "success", node.error
    assert node.checked_rows == 5 and node.quarantined == 0
    assert _results(node) == {"no_nulls(amount)": ("warned", 1, 20.0), "range(amount)": ("warned", 1, 20.0)}


def test_quarantine_counts_rows_and_percent(make_project, engine, tmp_path):
    node = _run(make_project, engine, "range: {amount: {min: 0, max: 35}}", "quarantine")
    assert node.status == "success", node.error
    assert (node.quarantined, node.checked_rows) == (2, 5)
    assert _results(node) == {"range(amount)": ("quarantined", 2, 40.0)}
    assert (tmp_path / "data/out/rejects.parquet").exists()


THRESHOLDS = {  # validation keys → the text the failure must hold
    "node_rows": ("max_failed: 1", "2 of 5 rows (40.0 %) failed a check, above max_failed: 1"),
    "node_pct": ("max_failed_pct: 39.9", "2 of 5 rows (40.0 %) failed a check, above max_failed_pct: 39.9"),
    "check_rows": (
        'thresholds: {"range(amount)": {max_failed: 1}}',
        "range(amount): 2 of 5 rows (40.0 %) failed, above max_failed: 1",
    ),
    "kind_pct": (
        "thresholds: {range: {max_failed_pct: 20}}",
        "range(amount): 2 of 5 rows (40.0 %) failed, above max_failed_pct: 20",
    ),
}


@pytest.mark.parametrize("on_fail", ["warn", "quarantine"])
@pytest.mark.parametrize("case", list(THRESHOLDS))
def test_a_threshold_exceeded_fails_the_node_and_writes_nothing(
    make_project, engine, tmp_path, case, on_fail
):
    keys, expected = THRESHOLDS[case]
    node = _run(make_project, engine, f"range: {{amount: {{min: 0, max: 35}}}}\n          {keys}", on_fail)
    assert node.status == "failed"
    assert node.failure["kind"] == "data_quality" and node.failure["stage"] == "validation"
    assert f"data-quality threshold exceeded (on_fail: {on_fail})" in node.error
    assert expected in node.error
    assert _results(node) == {"range(amount)": ("failed", 2, 40.0)}  # the counts stay on the result
    assert node.quarantined == 0
    assert not (tmp_path / "data/out/good.parquet").exists()
    assert not (tmp_path / "data/out/rejects.parquet").exists()


def test_under_the_thresholds_the_node_passes(make_project, engine, tmp_path):
    # unique(id) fails 2 rows and range 1 of them: the node's count takes each row once (2, not 3)
    checks = (
        "unique: [id]\n          range: {amount: {min: 0}}\n          max_failed: 2\n          max_failed_pct: 40\n"
        '          thresholds: {"unique(id)": {max_failed: 2}, range: {max_failed_pct: 20}}'
    )
    node = _run(make_project, engine, checks, "quarantine")
    assert node.status == "success", node.error
    assert node.quarantined == 2
    assert _results(node) == {
        "unique(id)": ("quarantined", 2, 40.0),
        "range(amount)": ("quarantined", 1, 20.0),
    }
    assert (tmp_path / "data/out/good.parquet").exists()
