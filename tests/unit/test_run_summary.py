"""The run summary of a large run lists what a reader needs (failures, writes, the slowest nodes) and
says how many nodes it left out; ``--all-nodes`` lists every node."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from benchmarks.generate_project import generate, name
from odibi.cli.app import app


def _project(tmp_path: Path, nodes: int) -> Path:
    cfg = generate(tmp_path / "p", nodes)
    text = cfg.read_text()
    # the last node (which writes) fails at run time: a string that is not a number
    failing = name(nodes - 1)
    at = text.index(f"- name: {failing}")
    select = text.index("SELECT a.id,", at)
    text = text[:select] + "SELECT CAST('x' || a.id AS INTEGER) AS id," + text[select + len("SELECT a.id,") :]
    cfg.write_text(text)
    return cfg


def test_a_large_run_lists_its_notable_nodes(tmp_path, monkeypatch):
    cfg = _project(tmp_path, 60)
    monkeypatch.chdir(cfg.parent)
    result = CliRunner().invoke(app, ["run", str(cfg)])
    assert result.exit_code == 1, result.output
    out = result.output
    assert f"{name(59)} │ failed" in out
    # the lazy views that fed only the failed node never ran: they are listed as not_run
    not_run = [n for n in range(60) if f"{name(n)} │ not_run" in out]
    assert not_run == [56, 57, 58]
    listed = [n for n in range(60) if f"│ {name(n)} │" in out]
    assert 1 + 3 < len(listed) <= 1 + 3 + 10  # the failure, the not-run views, at most the 10 slowest
    assert f"{60 - len(listed)} more nodes succeeded; odibi run --all-nodes lists every node" in out
    assert out.splitlines()[-2].startswith("failed: 56 succeeded, 1 failed, 0 skipped, 3 not run")
    assert out.splitlines()[-1].startswith("story: ")  # where the run's story was written


def test_all_nodes_lists_every_node(tmp_path, monkeypatch):
    cfg = _project(tmp_path, 60)
    monkeypatch.chdir(cfg.parent)
    result = CliRunner().invoke(app, ["run", str(cfg), "--all-nodes"])
    assert all(f"│ {name(n)} │" in result.output for n in range(60))
    assert "--all-nodes lists" not in result.output
