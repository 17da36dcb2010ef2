"""on_error: continue skips only the failed node's downstream; fail_fast stops starting nodes. A node's own
on_error wins over the run's, and --on-error over the project's. Failures are records: kind, stage, the
engine's message, the YAML line and a hint."""

from __future__ import annotations

import json

import pytest

from odibi import api
from tests.runner.conftest import odibi

# a fails at run time (a cast no validation can see), b is its downstream, c and d are independent
DAG = """
project: strategies
on_error: {on_error}
workers: 1
connections:
  local: {{type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: local, path: in.csv}}
      - name: a
        depends_on: [src]
        transform:
          steps:
            - "SELECT CAST(v AS INTEGER) AS v FROM src"
        write: {{connection: local, path: out/a.csv}}
      - name: b
        depends_on: [a]
        write: {{connection: local, path: out/b.csv}}
      - name: c
        depends_on: [src]
        write: {{connection: local, path: out/c.csv}}
      - name: d
        depends_on: [c]
        {node_on_error}
        write: {{connection: local, path: out/d.csv}}
"""
DATA = {"in.csv": "id,v\n1,x\n2,y\n"}


def _statuses(result) -> dict[str, str]:
    return {n.node: n.status for n in result.nodes}


def test_continue_skips_only_the_failed_nodes_downstream(project):
    cfg = project(DAG.format(on_error="continue", node_on_error=""), DATA)
    result = api.run_project(cfg)
    assert _statuses(result) == {
        "src": "success",
        "a": "failed",
        "b": "skipped",
        "c": "success",
        "d": "success",
    }
    assert (cfg.parent / "out/c.csv").exists() and (cfg.parent / "out/d.csv").exists()
    b = next(n for n in result.nodes if n.node == "b")
    assert b.error == "upstream node 'a' failed"


def test_fail_fast_stops_starting_nodes(project):
    cfg = project(DAG.format(on_error="fail_fast", node_on_error=""), DATA)
    result = api.run_project(cfg)
    assert _statuses(result) == {
        "src": "success",
        "a": "failed",
        "b": "skipped",
        "c": "skipped",
        "d": "skipped",
    }
    c = next(n for n in result.nodes if n.node == "c")
    assert "stopped when 'p.a' failed" in c.error and "fail_fast" in c.error
    assert not (cfg.parent / "out/c.csv").exists()


def test_the_command_line_overrides_the_project(project):
    cfg = project(DAG.format(on_error="fail_fast", node_on_error=""), DATA)
    result = api.run_project(cfg, on_error="continue")
    assert _statuses(result)["c"] == "success"


def test_a_nodes_own_on_error_wins(project):
    """d says fail_fast: when it is the one failing the run stops; a's failure (run: continue) does not."""
    text = DAG.format(on_error="continue", node_on_error="on_error: fail_fast")
    text = text.replace(
        "depends_on: [c]\n",
        'depends_on: [c]\n        transform: {steps: ["SELECT CAST(v AS INT) AS v FROM c"]}\n',
    )
    text = text.replace(
        "      - name: c\n",
        "      - name: e\n        depends_on: [d]\n        write: {connection: local, path: out/e.csv}\n      - name: c\n",
    )
    cfg = project(text, DATA)
    result = api.run_project(cfg, workers=1)
    statuses = _statuses(result)
    assert statuses["a"] == "failed" and statuses["d"] == "failed"
    assert statuses["c"] == "success"  # a's failure (continue) did not stop the run


def test_a_failure_is_a_record_with_kind_stage_location_and_message(project):
    cfg = project(DAG.format(on_error="continue", node_on_error=""), DATA)
    result = api.run_project(cfg)
    a = next(n for n in result.nodes if n.node == "a")
    failure = a.failure
    assert failure["kind"] == "type"
    # the step is a lazy view: it runs when the node is written, and the record says where to look
    assert failure["stage"] == "write" and "may be in a step" in failure["hint"]
    assert "Could not convert string 'x'" in failure["message"]
    assert failure["location"] == f"{cfg}:17:16"  # the node's write: (line 1 is blank)
    assert failure["retryable"] is False and "same rows fail the same way" in failure["retry_reason"]
    assert failure["traceback"] is None
    assert a.error.startswith(f"write: {failure['message']} (hint: ")


def test_a_failing_step_of_a_materialized_node_is_located_at_its_step(project):
    text = DAG.format(on_error="continue", node_on_error="").replace(
        "      - name: a\n        depends_on: [src]\n",
        "      - name: a\n        depends_on: [src]\n        cache: true\n",
    )
    cfg = project(text, DATA)
    a = next(n for n in api.run_project(cfg).nodes if n.node == "a")
    assert a.failure["kind"] == "type" and a.failure["stage"] == "transform"
    assert a.failure["location"].startswith(f"{cfg}:")


@pytest.mark.parametrize("debug", [False, True])
def test_the_cli_json_output_renders_the_same_record(project, debug):
    cfg = project(DAG.format(on_error="continue", node_on_error=""), DATA)
    args = (["--debug"] if debug else []) + ["run", str(cfg), "--format", "json"]
    done = odibi(*args, cwd=cfg.parent)
    assert done.returncode == 1, done.stderr
    record = json.loads(done.stdout)
    a = next(n for n in record["nodes"] if n["node"] == "a")
    assert a["failure"]["kind"] == "type" and a["failure"]["stage"] == "write"
    assert record["run_id"] and record["on_error"] == "continue"
    if debug:
        assert "Traceback" in a["failure"]["traceback"]
    else:
        assert a["failure"]["traceback"] is None and "Traceback" not in done.stderr


def test_a_bad_on_error_flag_is_a_usage_error(project):
    cfg = project(DAG.format(on_error="continue", node_on_error=""), DATA)
    done = odibi("run", str(cfg), "--on-error", "stop", cwd=cfg.parent)
    assert done.returncode == 2 and "fail_fast, continue" in done.stderr
    assert not (cfg.parent / "out").exists()
