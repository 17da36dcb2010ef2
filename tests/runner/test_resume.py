"""odibi run --resume: only what failed or was skipped in the last run, and what depends on it, runs
again; the upstream it needs is recomputed without writing. Asserted from the run state."""

from __future__ import annotations

from odibi import api
from odibi.run.state import RunStateStore
from tests.runner.conftest import odibi

PROJECT = """
project: resumable
connections:
  local: {type: local, base_path: .}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {connection: local, path: in.csv}
      - name: good
        depends_on: [src]
        write: {connection: local, path: out/good.csv}
      - name: a
        read: {connection: local, path: a.csv}
        transform:
          steps:
            - "SELECT CAST(v AS INTEGER) AS v FROM df"
        write: {connection: local, path: out/a.csv}
      - name: b
        depends_on: [a, src]
        transform:
          steps:
            - "SELECT src.id, a.v FROM src CROSS JOIN a"
        write: {connection: local, path: out/b.csv}
  - pipeline: later
    nodes:
      - name: tail
        read: {connection: local, path: out/b.csv}
        write: {connection: local, path: out/tail.csv}
"""
FILES = {"in.csv": "id\n1\n2\n", "a.csv": "v\nx\n"}


def test_resume_reruns_only_the_failed_node_and_its_downstream(project):
    cfg = project(PROJECT, FILES)
    root = cfg.parent
    first = api.run_project(cfg, workers=1)
    # a failed and b was skipped; tail (a later pipeline) reads b's output: skipped too (issue 21)
    assert {n.node: n.status for n in first.nodes} == {
        "src": "success", "good": "success", "a": "failed", "b": "skipped", "tail": "skipped",
    }  # fmt: skip
    good_written = (root / "out/good.csv").stat().st_mtime_ns
    (root / "a.csv").write_text("v\n7\n")  # the fix

    second = api.run_project(cfg, resume=True)
    assert second.ok and second.resumed_from == first.run_id
    store = RunStateStore(root)
    try:
        run = store.get_run(second.run_id)
        assert run.status == "success" and run.resumed_from == first.run_id
        acted = {(n.node, n.action) for n in run.nodes}
    finally:
        store.close()
    # a failed, b and tail were skipped: they run; src is recomputed to feed b; good is left alone
    assert acted == {("a", "run"), ("b", "run"), ("tail", "run"), ("src", "recomputed")}
    assert (root / "out/good.csv").stat().st_mtime_ns == good_written
    assert (root / "out/b.csv").read_text().splitlines() == ["id,v", "1,7", "2,7"]
    assert (root / "out/tail.csv").exists()


def test_resume_after_a_successful_run_has_nothing_to_do(project):
    cfg = project(PROJECT, {"in.csv": "id\n1\n", "a.csv": "v\n1\n"})
    first = api.run_project(cfg)
    assert first.ok
    done = odibi("run", str(cfg), "--resume", cwd=cfg.parent)
    assert done.returncode == 0, done.stderr
    assert f"nothing to resume: the last recorded run of resumable ({first.run_id}) succeeded" in done.stdout
    store = RunStateStore(cfg.parent)
    try:
        assert len(store.list_runs("resumable")) == 1  # nothing ran, nothing recorded
    finally:
        store.close()


def test_resume_without_an_earlier_run_is_a_usage_error(project):
    cfg = project(PROJECT, FILES)
    done = odibi("run", str(cfg), "--resume", cwd=cfg.parent)
    assert done.returncode == 2
    assert "no earlier run of project 'resumable' to resume" in done.stderr
    assert not (cfg.parent / "out").exists()


def test_odibi_runs_lists_the_runs_and_a_runs_nodes(project):
    cfg = project(PROJECT, FILES)
    first = api.run_project(cfg)
    listing = odibi("runs", str(cfg), cwd=cfg.parent)
    assert listing.returncode == 0 and first.run_id in listing.stdout and "failed" in listing.stdout
    one = odibi("runs", str(cfg), "--run", first.run_id, cwd=cfg.parent)
    assert one.returncode == 0
    assert "Could not convert string 'x'" in one.stdout and "skipped" in one.stdout


def test_a_resume_that_fails_again_can_be_resumed_without_writing_twice(project):
    """src appends; it succeeded in the first run. The first resume fails while recomputing it (its input
    is gone); the second resume computes it again, and its batch is still in the output once."""
    text = PROJECT.replace(
        "      - name: src\n        read: {connection: local, path: in.csv}\n",
        "      - name: src\n        read: {connection: local, path: in.csv}\n"
        "        write: {connection: local, path: out/src.csv, mode: append}\n",
    )
    cfg = project(text, FILES)
    root = cfg.parent
    first = api.run_project(cfg)
    assert not first.ok
    (root / "a.csv").write_text("v\n7\n")
    (root / "in.csv").rename(root / "in.bak")
    second = api.run_project(cfg, resume=True)
    src = next(n for n in second.nodes if n.node == "src")
    assert src.status == "failed" and src.action == "recomputed"
    (root / "in.bak").rename(root / "in.csv")
    third = api.run_project(cfg, resume=True)
    assert third.ok and third.resumed_from == second.run_id
    assert {n.node: n.action for n in third.nodes}["src"] == "recomputed"
    assert (root / "out/src.csv").read_text().splitlines() == ["id", "1", "2"]  # one batch
