"""The run-state store (``.odibi/state.db``): runs and node outcomes survive the process that wrote them,
a killed run reads as ``died``, concurrent writers (processes and threads) lose nothing, secrets never
reach the file, and ``odibi runs`` lists what was recorded."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from odibi import secrets
from odibi.cli.runs import runs_command
from odibi.errors import UsageError
from odibi.run.state import STATE_DB, NodeRecord, RunStateStore

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_a_run_and_its_nodes_read_back_from_a_new_store(tmp_path):
    store = RunStateStore(tmp_path)
    store.start_run(
        run_id="r1",
        project="sales",
        engine="duckdb",
        planned=[("p", "load"), ("p", "clean"), ("p", "report")],
        config_hash="abc123",
        workers=4,
        started_at=1000.0,
    )
    failure = {"kind": "node", "stage": "transform", "message": "division by zero", "retryable": False}
    store.record_node(NodeRecord("r1", "p", "report", "failed", attempts=3, duration_s=0.5, failure=failure))
    store.record_node(
        NodeRecord(
            "r1",
            "p",
            "load",
            "success",
            rows=10,
            rows_read=12,
            written="out/load.parquet",
            version=7,
            started_at=1000.5,
            ended_at=1001.0,
            duration_s=0.5,
        )
    )
    store.record_node(NodeRecord("r1", "p", "clean", "failed"))
    store.record_node(NodeRecord("r1", "p", "clean", "success", action="recomputed", rows=9))  # replaces
    store.end_run("r1", "failed", ended_at=1003.5)
    store.close()

    run = RunStateStore(tmp_path).get_run("r1")
    assert run is not None
    assert (run.project, run.engine, run.status, run.config_hash, run.workers) == (
        "sales",
        "duckdb",
        "failed",
        "abc123",
        4,
    )
    assert (run.started_at, run.ended_at, run.duration_s) == (1000.0, 1003.5, 3.5)
    assert run.planned == [("p", "load"), ("p", "clean"), ("p", "report")]
    # one record per node (the second record of 'clean' replaced the first), in planned order
    assert [(n.node, n.status, n.action) for n in run.nodes] == [
        ("load", "success", "run"),
        ("clean", "success", "recomputed"),
        ("report", "failed", "run"),
    ]
    load = run.nodes[0]
    assert (load.rows, load.rows_read, load.written, load.version) == (10, 12, "out/load.parquet", 7)
    assert (load.started_at, load.ended_at) == (1000.5, 1001.0)
    assert run.nodes[2].failure == failure and run.nodes[2].attempts == 3
    assert (tmp_path / STATE_DB).is_file()
    assert not list((tmp_path / ".odibi" / "state" / "running").iterdir())  # the run's lock is gone


def test_last_run_is_the_newest_of_the_project_with_its_nodes(tmp_path):
    store = RunStateStore(tmp_path)
    for i, (project, started) in enumerate([("a", 100.0), ("a", 300.0), ("b", 500.0), ("a", 200.0)]):
        run_id = f"r{i}"
        store.start_run(
            run_id=run_id, project=project, engine="pandas", planned=[("p", "n")], started_at=started
        )
        store.record_node(NodeRecord(run_id, "p", "n", "success", rows=i))
        store.end_run(run_id, "success", ended_at=started + 1)
    store.start_run(
        run_id="resumed", project="a", engine="pandas", planned=[], resumed_from="r1", started_at=400.0
    )

    last = store.last_run("a")
    assert last is not None and last.run_id == "resumed" and last.resumed_from == "r1"
    assert last.status == "running"  # this process holds it
    store.end_run("resumed", "success")
    assert [r.run_id for r in store.list_runs("a")] == ["resumed", "r1", "r3", "r0"]
    assert [r.run_id for r in store.list_runs(limit=2)] == ["r2", "resumed"]
    newest_done = store.list_runs("a")[1]
    assert [(n.node, n.rows) for n in newest_done.nodes] == [("n", 1)]
    assert store.last_run("nobody") is None and store.get_run("nope") is None
    store.close()


HOLD_RUN = """
import sys, time
from pathlib import Path
from odibi.run.state import RunStateStore
store = RunStateStore(Path(sys.argv[1]))
store.start_run(run_id=sys.argv[2], project="p", engine="duckdb", planned=[("p", "a")])
print("started", flush=True)
if sys.argv[3] == "exit":
    import os
    os._exit(0)  # no end_run, no cleanup
sys.stdin.readline()
time.sleep(60)
"""


def test_a_killed_run_reads_as_died_while_a_live_one_reads_as_running(tmp_path):
    live = _python(HOLD_RUN, str(tmp_path), "live", "hold")
    gone = _python(HOLD_RUN, str(tmp_path), "gone", "exit")
    try:
        assert live.stdout.readline().strip() == "started", live.stderr.read()
        assert gone.wait(10) == 0, gone.stderr.read()

        store = RunStateStore(tmp_path)
        assert store.get_run("live").status == "running"  # another process holds it
        assert store.get_run("gone").status == "died"  # exited without end_run

        live.send_signal(signal.SIGKILL)
        live.wait(10)
        assert store.get_run("live").status == "died"
        assert {r.run_id: r.status for r in store.list_runs("p")} == {"live": "died", "gone": "died"}
        store.close()
    finally:
        live.kill()
        live.wait()
    # reading did not rewrite the rows: they still say running
    with sqlite3.connect(tmp_path / STATE_DB) as conn:
        assert conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone() == (2,)


WRITER = """
import sys, time
from pathlib import Path
from odibi.run.state import NodeRecord, RunStateStore
root, run_id, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
while not go.exists():
    time.sleep(0.005)
store = RunStateStore(root)  # every process opens (and may create) the database at the same moment
store.start_run(run_id=run_id, project="p", engine="duckdb", planned=[("p", f"n{i}") for i in range(count)])
for i in range(count):
    store.record_node(NodeRecord(run_id, "p", f"n{i}", "success", rows=i))
store.end_run(run_id, "success")
store.close()
"""


def test_four_processes_writing_at_once_lose_nothing(tmp_path):
    go = tmp_path / "go"
    procs = [_python(WRITER, str(tmp_path), f"run{k}", "50", str(go)) for k in range(4)]
    time.sleep(0.3)  # let them start and wait
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err

    runs = RunStateStore(tmp_path).list_runs("p")
    assert sorted(r.run_id for r in runs) == ["run0", "run1", "run2", "run3"]
    assert all(r.status == "success" for r in runs)
    assert all(sorted(n.rows for n in r.nodes) == list(range(50)) for r in runs)
    assert sum(len(r.nodes) for r in runs) == 200


def test_eight_threads_of_one_process_lose_nothing(tmp_path):
    store = RunStateStore(tmp_path)
    store.start_run(run_id="par", project="p", engine="duckdb", planned=[], workers=8)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            barrier.wait()
            for i in range(50):
                store.record_node(NodeRecord("par", f"t{t}", f"n{i}", "success", duration_s=0.01))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store.end_run("par", "success")
    store.close()
    nodes = RunStateStore(tmp_path).get_run("par").nodes
    assert len(nodes) == 400
    assert {(n.pipeline, n.node) for n in nodes} == {(f"t{t}", f"n{i}") for t in range(8) for i in range(50)}


def test_secrets_never_reach_the_state_file(tmp_path):
    secret = "canary-secret-value-123"
    secrets.register(secret)
    store = RunStateStore(tmp_path)
    store.start_run(run_id="r", project="p", engine="duckdb", planned=[("p", "a")])
    failure = {
        "kind": "connection",
        "message": f"login failed for password {secret}",
        "hint": f"check the key {secret}",
        "location": {"file": f"/tmp/{secret}/odibi.yaml", "line": 3},
        "attempts": [f"try 1: {secret}"],
    }
    store.record_node(
        NodeRecord("r", "p", "a", "failed", written=f"abfss://c@acct/x?sig={secret}", failure=failure)
    )
    node = store.get_run("r").nodes[0]
    assert secret not in json.dumps([node.failure, node.written])
    assert node.failure["message"] == "login failed for password ***"
    assert node.written == "abfss://c@acct/x?sig=***"
    raw = b"".join(p.read_bytes() for p in _files(tmp_path / ".odibi"))  # the db, its WAL, locks
    assert b"login failed" in raw and secret.encode() not in raw
    store.end_run("r", "failed")
    store.close()
    assert secret.encode() not in (tmp_path / STATE_DB).read_bytes()


def test_reading_a_project_without_state_creates_no_file(tmp_path, capsys):
    (tmp_path / "odibi.yaml").write_text("project: empty\npipelines: []\n")
    store = RunStateStore(tmp_path)
    assert store.list_runs() == [] and store.last_run("empty") is None and store.get_run("x") is None
    store.close()

    assert runs_command(tmp_path, 20, None, "text") == 0
    out = capsys.readouterr().out
    assert f"no runs recorded for project empty (state: {tmp_path / STATE_DB})" in out
    assert runs_command(tmp_path / "odibi.yaml", 20, None, "json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert _files(tmp_path) == [tmp_path / "odibi.yaml"]


def test_state_from_a_newer_odibi_is_refused_with_a_hint(tmp_path, capsys):
    store = RunStateStore(tmp_path)
    store.start_run(run_id="r", project="p", engine="duckdb", planned=[])
    store.end_run("r", "success")
    store.close()
    with sqlite3.connect(tmp_path / STATE_DB) as conn:
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")

    with pytest.raises(UsageError) as info:
        RunStateStore(tmp_path).list_runs()
    assert "newer odibi" in info.value.hint
    with pytest.raises(UsageError):
        RunStateStore(tmp_path).start_run(run_id="s", project="p", engine="duckdb", planned=[])

    (tmp_path / "odibi.yaml").write_text("project: p\n")
    assert runs_command(tmp_path, 20, None, "text") == 2
    assert "newer odibi" in capsys.readouterr().err


def _recorded_project(root: Path) -> None:
    (root / "odibi.yaml").write_text("project: shop\nengine: duckdb\npipelines: []\n")
    store = RunStateStore(root)
    store.start_run(
        run_id="20250101T000000Z-first",
        project="shop",
        engine="duckdb",
        planned=[("p", "orders"), ("p", "report")],
        started_at=1735689600.0,
    )
    store.record_node(
        NodeRecord("20250101T000000Z-first", "p", "orders", "success", rows=1234, duration_s=1.5)
    )
    store.record_node(
        NodeRecord(
            "20250101T000000Z-first",
            "p",
            "report",
            "failed",
            attempts=2,
            failure={"kind": "node", "stage": "write", "message": "disk full"},
        )
    )
    store.end_run("20250101T000000Z-first", "failed", ended_at=1735689612.0)
    store.start_run(
        run_id="20250101T010000Z-again",
        project="shop",
        engine="duckdb",
        planned=[("p", "orders"), ("p", "report")],
        resumed_from="20250101T000000Z-first",
        started_at=1735693200.0,
    )
    store.record_node(
        NodeRecord("20250101T010000Z-again", "p", "orders", "success", action="recomputed", rows=1234)
    )
    store.close()  # never ended: this run died


def test_odibi_runs_lists_runs_newest_first(tmp_path, capsys, monkeypatch):
    _recorded_project(tmp_path)
    monkeypatch.chdir(tmp_path)  # default config: ./odibi.yaml
    assert runs_command(None, 20, None, "text") == 0
    out = capsys.readouterr().out
    again, first = out.index("20250101T010000Z-again"), out.index("20250101T000000Z-first")
    assert again < first
    lines = out.splitlines()
    row = next(line for line in lines if line.startswith("│ 20250101T000000Z-first"))
    assert "failed" in row and "2025-01-01T00:00:00Z" in row and "12.00s" in row
    assert [cell.strip() for cell in row.split("│")][6:9] == ["1", "1", "0"]  # ok, failed, skipped
    resumed = next(line for line in lines if line.startswith("│ 20250101T010000Z-again"))
    assert "died" in resumed and "20250101T000000Z-first" in resumed

    assert runs_command(tmp_path, 1, None, "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in data] == ["20250101T010000Z-again"]
    assert data[0]["status"] == "died" and data[0]["nodes"][0]["action"] == "recomputed"


def test_odibi_runs_shows_one_runs_nodes(tmp_path, capsys):
    _recorded_project(tmp_path)
    assert runs_command(tmp_path, 20, "20250101T000000Z-first", "text") == 0
    out = capsys.readouterr().out
    assert "run 20250101T000000Z-first of shop on duckdb: failed" in out
    report = next(line for line in out.splitlines() if "│ report" in line)
    assert "failed" in report and "node/write: disk full" in report
    assert "1,234" in next(line for line in out.splitlines() if "│ orders" in line)

    assert runs_command(tmp_path, 20, "20250101T010000Z-again", "text") == 0
    out = capsys.readouterr().out
    assert "no record" in next(line for line in out.splitlines() if "│ report" in line)  # planned, never run

    assert runs_command(tmp_path, 20, "20250101T000000Z-first", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["planned"] == [["p", "orders"], ["p", "report"]]
    assert data["nodes"][1]["failure"]["message"] == "disk full"


def test_odibi_runs_unknown_run_or_project_exits_2(tmp_path, capsys):
    _recorded_project(tmp_path)
    assert runs_command(tmp_path, 20, "no-such-run", "text") == 2
    assert "no run 'no-such-run' recorded for project shop" in capsys.readouterr().err
    assert runs_command(tmp_path, 20, "no-such-run", "json") == 2
    assert json.loads(capsys.readouterr().out)[0]["kind"] == "usage"
    assert runs_command(tmp_path / "missing.yaml", 20, None, "text") == 2
    assert "no project file" in capsys.readouterr().err


def test_odibi_runs_masks_secrets_registered_after_the_run(tmp_path, capsys):
    (tmp_path / "odibi.yaml").write_text("project: p\n")
    store = RunStateStore(tmp_path)  # the secret was not known when this run was recorded
    store.start_run(run_id="r", project="p", engine="duckdb", planned=[])
    store.record_node(NodeRecord("r", "p", "a", "failed", failure={"message": "token tok-0123456789"}))
    store.end_run("r", "failed")
    store.close()
    secrets.register("tok-0123456789")
    assert runs_command(tmp_path, 20, "r", "text") == 0
    assert runs_command(tmp_path, 20, "r", "json") == 0
    out = capsys.readouterr().out
    assert "tok-0123456789" not in out and out.count("token ***") == 2
