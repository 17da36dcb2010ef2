"""Data-quality checks on every engine: each check's failing rows counted the same way, and on_fail
fail / warn / quarantine behaving the same (expected results written out by hand from the input)."""

from __future__ import annotations

import pandas as pd
import pytest

from odibi.api import run_project

CSV = """\
id,status,amount,email,day
1,new,10,a@x.com,2024-01-01
2,old,-5,bad,2024-01-02
2,new,30,c@x.com,2024-01-03
4,weird,40,,2024-01-04
5,new,,e@x.com,2024-01-05
"""

# check → (validation block, the days of the failing rows); read off the five rows above
CASES = {
    "no_nulls": ("no_nulls: [amount]", {"2024-01-05"}),
    "unique": ("unique: [id]", {"2024-01-02", "2024-01-03"}),
    "unique_compound": ("unique: [[id, status]]", set()),
    "accepted_values": ("accepted_values: {status: [new, old]}", {"2024-01-04"}),
    "range_min": ("range: {amount: {min: 0}}", {"2024-01-02"}),
    "range_both": ("range: {amount: {min: 0, max: 35}}", {"2024-01-02", "2024-01-04"}),
    "regex_match": ('regex_match: {email: "^[^@]+@[^@]+$"}', {"2024-01-02"}),
    "custom_sql": ("custom_sql: {recent: \"day >= DATE '2024-01-02'\"}", {"2024-01-01"}),
}

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
          {check}
          on_fail: {on_fail}
          quarantine: {{connection: d, path: out/rejects.parquet, mode: overwrite}}
        write: {{connection: d, path: out/good.parquet}}
"""


def _run(make_project, engine, check: str, on_fail: str):
    cfg = make_project(PROJECT.format(check=check, on_fail=on_fail), {"data/in.csv": CSV})
    [node] = run_project(cfg, engine=engine).nodes
    return node


@pytest.mark.parametrize("case", list(CASES))
def test_failing_rows_are_counted_alike(make_project, engine, case):
    check, failing = CASES[case]
    node = _run(make_project, engine, check, "warn")
    assert node.status == "success", node.error
    [result] = node.check_results
    expected_rows = len(failing)
    assert result["failing_rows"] == expected_rows
    assert result["status"] == ("warned" if expected_rows else "passed")


@pytest.mark.parametrize("case", ["no_nulls", "accepted_values", "range_both", "custom_sql"])
def test_fail_stops_the_node_and_names_the_check(make_project, engine, tmp_path, case):
    check, _ = CASES[case]
    node = _run(make_project, engine, check, "fail")
    assert node.status == "failed"
    assert "validation failed" in node.error and "row(s)" in node.error
    assert not (tmp_path / "data/out/good.parquet").exists()


@pytest.mark.parametrize("case", list(CASES))
def test_quarantine_moves_failing_rows_with_their_reason(make_project, engine, tmp_path, case):
    check, failing_days = CASES[case]
    node = _run(make_project, engine, check, "quarantine")
    assert node.status == "success", node.error
    good = pd.read_parquet(tmp_path / "data/out/good.parquet")
    all_days = {"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"}
    assert {str(d) for d in good.day} == all_days - failing_days
    rejects_path = tmp_path / "data/out/rejects.parquet"
    if failing_days:
        rejects = pd.read_parquet(rejects_path)
        assert {str(d) for d in rejects.day} == failing_days
        assert rejects["_odibi_reason"].str.len().min() > 0
        assert node.quarantined == len(rejects)
    else:
        assert node.quarantined == 0


def test_table_level_checks(make_project, engine):
    node = _run(make_project, engine, "row_count: {min: 6}", "warn")
    assert node.status == "failed" and "row_count" in node.error  # table-level checks fail in every mode
    node = _run(make_project, engine, "row_count: {min: 1, max: 5}\n          not_empty: true", "fail")
    assert node.status == "success"
    assert {r["check"]: r["status"] for r in node.check_results} == {
        "not_empty": "passed",
        "row_count": "passed",
    }


def test_reasons_list_every_failed_check(make_project, engine, tmp_path):
    check = (
        'unique: [id]\n          range: {amount: {min: 0}}\n          regex_match: {email: "^[^@]+@[^@]+$"}'
    )
    node = _run(make_project, engine, check, "quarantine")
    assert node.status == "success", node.error
    rejects = pd.read_parquet(tmp_path / "data/out/rejects.parquet")
    reasons = dict(zip(rejects.email.fillna(""), rejects["_odibi_reason"], strict=True))
    assert reasons["bad"] == "unique(id); range(amount); regex_match(email)"
    assert reasons["c@x.com"] == "unique(id)"
