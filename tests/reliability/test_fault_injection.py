"""Injected faults: a rename or an engine write that fails at each possible moment, and retries.

Runs are real (``odibi.api.run_project`` in this process, DuckDB and pandas engines, real files, the
real run state); the only fakes are the injected faults, named in each test: ``os.replace`` or the
engine's ``write`` raising ``OSError(EIO)`` on its k-th call, Python transform functions that raise,
and a fake clock (``odibi.run.retries.sleep`` records the waits instead of sleeping).

What a user would notice, and what is checked:

- a failed write never leaves a target half old, half new, nor a file a reader's glob trips on, nor
  staging behind; the failed node says why (an I/O fault, transient, not retried without a policy),
  and ``--resume`` finishes the job without appending any batch twice;
- with ``retry:`` the same fault costs one more attempt and the run's outputs are the clean run's;
- a transient fault is tried exactly ``max_attempts`` times with the configured backoff, a permanent
  one (a Python ValueError, a failing cast in SQL) exactly once, and a node's ``retry:`` wins over the
  project's;
- a fault while the run's story is committed leaves the run's outcome and outputs as they were, says the
  story was not written, and leaves no half story listed.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from odibi import api
from odibi.engines.duckdb import DuckDBEngine
from odibi.engines.pandas import PandasEngine
from odibi.errors import OdibiError
from odibi.run import retries
from odibi.run.state import RunStateStore

ENGINES = {"duckdb": DuckDBEngine, "pandas": PandasEngine}

# --------------------------------------------------------------------------- failing writes and renames

WRITES = """\
project: faults
engine: {engine}
{retry}
connections:
  data: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: data, path: batch.csv, format: csv}}
      - name: over_parquet
        depends_on: [src]
        transform: {{steps: ["SELECT batch, id, id * 10 AS v FROM src"]}}
        write: {{connection: data, path: out/over.parquet, format: parquet, mode: overwrite}}
      - name: over_csv
        depends_on: [src]
        transform: {{steps: ["SELECT batch, id, id * 20 AS v FROM src"]}}
        write: {{connection: data, path: out/over.csv, format: csv, mode: overwrite}}
      - name: app_parquet
        depends_on: [src]
        transform: {{steps: ["SELECT batch, id, id * 30 AS v FROM src"]}}
        write: {{connection: data, path: out/app.parquet, format: parquet, mode: append}}
      - name: app_csv
        depends_on: [src]
        transform: {{steps: ["SELECT batch, id, id * 40 AS v FROM src"]}}
        write: {{connection: data, path: out/app.csv, format: csv, mode: append}}
"""
TARGETS = {
    "over_parquet": "out/over.parquet",
    "over_csv": "out/over.csv",
    "app_parquet": "out/app.parquet",
    "app_csv": "out/app.csv",
}
RETRY = "retry: {max_attempts: 3, delay: 1, jitter: 0}"

Contents = dict[str, list[tuple]]  # node -> the sorted rows of its target


def _batch(root: Path, b: int) -> None:
    rows = "".join(f"{b},{b * 100 + i}\n" for i in range(1, 6))
    (root / "data" / "batch.csv").write_text("batch,id\n" + rows)


def _contents(root: Path) -> Contents:
    """Each target as a reader of the folder's glob sees it (``out/*.parquet``, ``out/*.csv``)."""
    out = root / "data" / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(t).name for t in TARGETS.values()), (
        f"{out} holds {sorted(p.name for p in out.iterdir())}"
    )
    found: Contents = {}
    with duckdb.connect() as con:
        for fmt, reader in (("parquet", "read_parquet"), ("csv", "read_csv")):
            rows = con.execute(
                f"SELECT filename, batch, id, v FROM {reader}('{out}/*.{fmt}', filename = true)"
            ).fetchall()
            for node, rel in TARGETS.items():
                if rel.endswith(fmt):
                    name = str(out / Path(rel).name)
                    found[node] = sorted(tuple(r[1:]) for r in rows if r[0] == name)
    return found


def _staging_files(root: Path) -> list[str]:
    staging = root / "data" / ".odibi" / "staging"
    return sorted(str(p.relative_to(staging)) for p in staging.rglob("*")) if staging.exists() else []


@dataclass
class Call:
    """One call of the function a fault is injected into: its arguments, as far as the test needs."""

    args: tuple


@dataclass
class Injector:
    """Wraps ``real``: counts its calls and raises ``OSError(EIO)`` on call number ``fail_at`` (0: never)."""

    real: Callable
    fail_at: int = 0
    calls: list[Call] = field(default_factory=list)

    def __call__(self, *args, **kwargs):
        self.calls.append(Call(args))
        if len(self.calls) == self.fail_at:
            raise OSError(errno.EIO, f"injected I/O error on call {self.fail_at}")
        return self.real(*args, **kwargs)


@dataclass
class Template:
    """A project after a clean run of batch 1 (``old``), and what a clean run of batch 2 makes (``new``),
    with the calls that clean run made to the function the faults go into."""

    root: Path
    old: Contents
    new: Contents
    calls: list[Call]


def _patch(monkeypatch, where: str, engine: str, injector: Injector) -> None:
    if where == "os.replace":
        monkeypatch.setattr(os, "replace", injector)
    else:
        monkeypatch.setattr(ENGINES[engine], "write", lambda self, *a, **k: injector(self, *a, **k))


def _template(tmp_path: Path, monkeypatch, engine: str, where: str, retry: str) -> Template:
    root = tmp_path / "template"
    (root / "data").mkdir(parents=True)
    cfg = root / "odibi.yaml"
    cfg.write_text(WRITES.format(engine=engine, retry=retry))
    _batch(root, 1)
    assert api.run_project(cfg, workers=1).ok
    old = _contents(root)
    clean = tmp_path / "clean"
    shutil.copytree(root, clean)
    _batch(clean, 2)
    counter = Injector(os.replace if where == "os.replace" else ENGINES[engine].write)
    with monkeypatch.context() as m:
        _patch(m, where, engine, counter)
        result = api.run_project(clean / "odibi.yaml", workers=1)
    assert result.ok, [n.error for n in result.nodes]
    new = _contents(clean)
    assert new != old and all(new[n] != old[n] for n in TARGETS)
    return Template(root, old, new, counter.calls)


STORY = "<story>"  # the k-th call belongs to writing the run's story, after every node ended


def _faulted_node(template: Template, where: str, k: int) -> str | None:
    """The node whose write the k-th call belongs to (None: a call outside any node, e.g. a lock that
    the engine or the run state takes before the nodes start; STORY: a call of the story's commit)."""
    if where != "os.replace":
        return template.calls[k - 1].args[1]  # (engine, relation, spec): the relation is the node
    later = [str(c.args[1]) for c in template.calls[k - 1 :]]  # os.replace(src, dst): the dst
    story_staging = str(template.root.parent / "clean" / ".odibi" / "staging") + "/"
    if "/.odibi/stories/" in later[0] or later[0].startswith(story_staging):
        return STORY
    if not any(part in later[0] for part in ("/data/.odibi/staging/", "/data/out/")):
        return None
    # a commit renames onto its target; a staging lock belongs to the next commit's write
    commit = next(d for d in later if "/data/out/" in d)
    return next(node for node, rel in TARGETS.items() if commit.endswith(rel))


def _expect_story_fault(root: Path, result, template: Template, label: str) -> None:
    """A fault while the story is committed: every node succeeded and wrote its batch, the run says its
    story was not written and why, no staging is left, and no half story is listed (the JSON record is
    committed last, so a listed story has every rendering)."""
    from odibi.story.store import StoryStore

    assert result.ok, f"{label}: {[n.error for n in result.nodes]}"
    assert result.story == {} and "injected I/O error" in (result.story_error or ""), label
    assert _contents(root) == template.new, label
    assert _staging_files(root) == [], label
    own = root / ".odibi" / "staging"
    left = [p.name for p in own.rglob("*") if not p.name.endswith(".lock")] if own.exists() else []
    assert left == [], f"{label}: story staging left: {left}"
    store = StoryStore(api.load_project(root / "odibi.yaml"))
    try:
        assert result.run_id not in [e.run_id for e in store.entries()], label
        for entry in store.entries():
            assert set(entry.files) == {"json", "md", "html"}, f"{label}: {entry}"
    finally:
        store.close()


def _expect_after_fault(template: Template, contents: Contents, failed: str | None, where: str) -> None:
    for node in TARGETS:
        want = template.old if node == failed or failed is None else template.new
        assert contents[node] == want[node], (
            f"{where}: {node}'s target holds {contents[node]}; expected the "
            f"{'old' if want is template.old else 'new'} content {want[node]}"
        )


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
@pytest.mark.parametrize("where", ["os.replace", "engine.write"])
def test_a_failing_write_or_rename_at_every_call_leaves_old_or_new_never_mixed(
    tmp_path, monkeypatch, engine, where
):
    """Injected fault: ``os.replace`` (every rename of a run: locks, staging, commits) or the engine's
    ``write`` raises ``OSError(EIO)`` on its k-th call, for every k a clean run reaches. No retry
    policy: the node of that write fails (an I/O fault, transient, not retried), every other node
    writes its batch, each target is the old content or the new (the failed one old), no staging is
    left, and ``--resume`` then writes the missing batch without appending any other twice. A rename
    outside every node (the engine's or the run's own locks) fails the run before any node starts."""
    template = _template(tmp_path, monkeypatch, engine, where, retry="")
    assert len(template.calls) >= (4 if where == "engine.write" else 8), template.calls
    if where == "os.replace":  # the story's commits are among the renames a fault may hit
        stories = [k for k in range(1, len(template.calls) + 1) if _faulted_node(template, where, k) == STORY]
        assert len(stories) >= 3, template.calls
    for k in range(1, len(template.calls) + 1):
        root = tmp_path / f"k{k}"
        shutil.copytree(template.root, root)
        _batch(root, 2)
        cfg = root / "odibi.yaml"
        failed = _faulted_node(template, where, k)
        label = f"{engine}, {where} fails at call {k} of {len(template.calls)} (node {failed})"
        injector = Injector(os.replace if where == "os.replace" else ENGINES[engine].write, k)
        with monkeypatch.context() as m:
            _patch(m, where, engine, injector)
            if failed is None:
                with pytest.raises((OSError, OdibiError), match="injected I/O error"):
                    api.run_project(cfg, workers=1)
                result = None
            else:
                result = api.run_project(cfg, workers=1)
        assert len(injector.calls) >= k, label
        if failed == STORY:
            _expect_story_fault(root, result, template, label)
            continue
        contents = _contents(root)
        _expect_after_fault(template, contents, failed, label)
        assert _staging_files(root) == [], f"{label}: staging left: {_staging_files(root)}"

        if result is not None:
            assert not result.ok, label
            by_node = {n.node: n for n in result.nodes}
            bad = by_node[failed]
            assert [n.node for n in result.nodes if n.status != "success"] == [failed], label
            assert bad.status == "failed" and bad.attempts == 1, f"{label}: {bad}"
            failure = bad.failure
            assert failure["kind"] in ("io", "transient") and failure["stage"] == "write", (
                f"{label}: {failure}"
            )
            assert failure["retryable"] is True, f"{label}: {failure}"
            assert "EIO" in failure["retry_reason"] and "not retried" in failure["retry_reason"], failure
            assert "injected I/O error" in bad.error, label
            # the run state tells the same story (what `odibi runs` shows)
            store = RunStateStore(root)
            try:
                run = store.get_run(result.run_id)
            finally:
                store.close()
            assert run.status == "failed", label
            recorded = {n.node: n for n in run.nodes}
            assert recorded[failed].status == "failed" and recorded[failed].failure["retryable"] is True
            assert recorded[failed].failure["kind"] == failure["kind"], label

        # the user finishes the job: --resume (or a plain run when the failed run never started)
        again = api.run_project(cfg, workers=1, resume=result is not None)
        assert again.ok, f"{label}: {[n.error for n in again.nodes]}"
        if result is not None:
            assert again.resumed_from == result.run_id, label
            ran = {n.node: n.action for n in again.nodes}
            assert ran == {"src": "recomputed", failed: "run"}, f"{label}: resumed {ran}"
        assert _contents(root) == template.new, (
            f"{label}: after finishing, the targets are not the clean run's"
        )
        assert _staging_files(root) == [], label


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
@pytest.mark.parametrize("where", ["os.replace", "engine.write"])
def test_with_retries_a_failing_write_costs_one_more_attempt(tmp_path, monkeypatch, engine, where):
    """Injected fault: as above, with ``retry: {max_attempts: 3, delay: 1, jitter: 0}`` and a fake clock.
    A fault in a node's write is retried: the node succeeds at attempt 2 after one wait of 1 s, and the
    outputs are exactly the clean run's (each append's batch once). A rename outside every node still
    fails the run before any node starts, leaving every target old."""
    template = _template(tmp_path, monkeypatch, engine, where, retry=RETRY)
    for k in range(1, len(template.calls) + 1):
        root = tmp_path / f"k{k}"
        shutil.copytree(template.root, root)
        _batch(root, 2)
        cfg = root / "odibi.yaml"
        failed = _faulted_node(template, where, k)
        label = f"{engine}, {where} fails at call {k} of {len(template.calls)} (node {failed})"
        injector = Injector(os.replace if where == "os.replace" else ENGINES[engine].write, k)
        waits: list[float] = []
        with monkeypatch.context() as m:
            m.setattr(retries, "sleep", waits.append)
            _patch(m, where, engine, injector)
            if failed is None:
                with pytest.raises((OSError, OdibiError), match="injected I/O error"):
                    api.run_project(cfg, workers=1)
                result = None
            else:
                result = api.run_project(cfg, workers=1)
        if failed == STORY:  # the story is not a node: nothing retries it, the run stands
            _expect_story_fault(root, result, template, label)
            assert waits == [], label
            continue
        assert _staging_files(root) == [], f"{label}: staging left: {_staging_files(root)}"
        if result is None:
            _expect_after_fault(template, _contents(root), None, label)
            assert waits == [], label
            continue
        assert result.ok, f"{label}: {[n.error for n in result.nodes]}"
        node = next(n for n in result.nodes if n.node == failed)
        assert node.attempts == 2, f"{label}: {node}"
        assert any("succeeded at attempt 2 of 3" in note for note in node.notes), f"{label}: {node.notes}"
        assert all(n.attempts == 1 for n in result.nodes if n.node != failed), label
        assert waits == [1.0], f"{label}: waits {waits}"
        assert _contents(root) == template.new, f"{label}: the outputs differ from a clean run's"


def _open_files() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # the descriptor listdir itself used
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="lists open files through /proc")
def test_a_run_that_cannot_start_leaves_no_journal_behind(tmp_path, monkeypatch):
    """Injected fault: ``os.replace`` fails (EIO) when the run state takes the run's lock, i.e. the run
    fails as it starts. A run that ends, whatever its outcome, removes its append journal
    (docs/safety.md): the journal's lock may not stay open and held by this process (a notebook or a
    service that calls the API keeps running), and no journal file may outlive the next good run."""
    root = tmp_path
    (root / "data").mkdir()
    cfg = root / "odibi.yaml"
    cfg.write_text(WRITES.format(engine="duckdb", retry=""))
    _batch(root, 1)
    real = os.replace
    opened = _open_files()

    def failing(src, dst, *args, **kwargs):
        if "/.odibi/state/running/" in str(dst):
            raise OSError(errno.EIO, "injected I/O error")
        return real(src, dst, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(os, "replace", failing)
        with pytest.raises((OSError, OdibiError), match="injected I/O error"):
            api.run_project(cfg, workers=1)
    journal = root / ".odibi" / "journal"
    held = sorted(f for f in _open_files() - opened if f.startswith(str(journal)))
    assert held == [], f"the failed run still holds its journal open: {held}"
    assert api.run_project(cfg, workers=1).ok  # the next run, in the same process, goes well
    left = sorted(p.name for p in journal.glob("*"))
    assert left == [], f"the failed run's journal outlived the next good run: {left}"


# --------------------------------------------------------------------------- retries and backoff

FLAKY = """
import errno

from odibi.transforms import transform

CALLS = {"reset": 0, "value": 0, "twice": 0}


@transform
def reliability_always_reset(df):
    CALLS["reset"] += 1
    raise ConnectionResetError(errno.ECONNRESET, "connection reset by peer (injected)")


@transform
def reliability_value_error(df):
    CALLS["value"] += 1
    raise ValueError("no such customer segment (injected)")


@transform
def reliability_fails_twice(df):
    CALLS["twice"] += 1
    if CALLS["twice"] <= 2:
        raise ConnectionResetError(errno.ECONNRESET, "connection reset by peer (injected)")
    return df
"""

RETRIES = """\
project: retries
engine: duckdb
transform_modules: [flaky.py]
{retry}
connections:
  data: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: data, path: in.csv, format: csv}}
      - name: reset
        depends_on: [src]
        transform: {{steps: [{{function: reliability_always_reset}}]}}
      - name: value
        depends_on: [src]
        transform: {{steps: [{{function: reliability_value_error}}]}}
      - name: twice
        depends_on: [src]
        transform: {{steps: [{{function: reliability_fails_twice}}]}}
        write: {{connection: data, path: out/twice.parquet, format: parquet, mode: append}}
      - name: own_policy
        depends_on: [src]
        retry: {{max_attempts: 2, backoff: constant, delay: 7, jitter: 0}}
        transform: {{steps: [{{function: reliability_always_reset}}]}}
      - name: no_retry
        depends_on: [src]
        retry: {{enabled: false}}
        transform: {{steps: [{{function: reliability_always_reset}}]}}
      - name: bad_cast
        depends_on: [src]
        transform: {{steps: ["SELECT CAST('x' AS INTEGER) AS v FROM src"]}}
"""


@pytest.fixture
def retry_project(tmp_path):
    def make(retry: str) -> Path:
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / "in.csv").write_text("id,name\n1,a\n2,b\n")
        (tmp_path / "flaky.py").write_text(FLAKY)
        cfg = tmp_path / "odibi.yaml"
        cfg.write_text(RETRIES.format(retry=retry))
        return cfg

    return make


def _run_node(cfg: Path, node: str, monkeypatch):
    """Run one node (and its input) with the fake clock; returns the result, the node's result, the
    recorded waits, how often each function was called, and the wall time."""
    waits: list[float] = []
    monkeypatch.setattr(retries, "sleep", waits.append)
    started = time.monotonic()
    result = api.run_project(cfg, node=node, workers=1)
    elapsed = time.monotonic() - started
    calls = dict(sys.modules["odibi_user_flaky"].CALLS)
    mine = next(n for n in result.nodes if n.node == node)
    return result, mine, waits, calls, elapsed


def _recorded(cfg: Path, run_id: str, node: str):
    store = RunStateStore(cfg.parent)
    try:
        return next(n for n in store.get_run(run_id).nodes if n.node == node)
    finally:
        store.close()


BACKOFFS = {
    # backoff: (policy, the waits before attempts 2..5 without jitter)
    "exponential": (
        "{max_attempts: 5, backoff: exponential, delay: 2, max_delay: 5, jitter: 0.5}",
        [2, 4, 5, 5],
    ),
    "linear": ("{max_attempts: 5, backoff: linear, delay: 1.5, max_delay: 4, jitter: 0.25}", [1.5, 3, 4, 4]),
    "constant": ("{max_attempts: 5, backoff: constant, delay: 3, jitter: 0}", [3, 3, 3, 3]),
}


@pytest.mark.parametrize("backoff", list(BACKOFFS))
def test_a_transient_fault_is_tried_max_attempts_times_with_the_backoff(retry_project, monkeypatch, backoff):
    """Injected fault: a Python function step that raises ConnectionResetError on every call; fake clock.
    The node is tried exactly max_attempts (5) times, the function ran 5 times, the four waits follow the
    backoff (exponential delay*2^(n-1), linear delay*n, constant delay; capped at max_delay; plus jitter
    in [0, jitter]), nothing really slept, and the failure says it is retryable and that odibi gave up."""
    policy, bases = BACKOFFS[backoff]
    jitter = float(policy.split("jitter: ")[1].rstrip("}"))
    cfg = retry_project(f"retry: {policy}")
    result, node, waits, calls, elapsed = _run_node(cfg, "reset", monkeypatch)
    assert not result.ok and node.status == "failed"
    assert node.attempts == 5 and calls["reset"] == 5, (node.attempts, calls)
    assert len(waits) == 4, waits
    for wait, base in zip(waits, bases, strict=True):
        assert base <= wait <= base + jitter + 1e-9, (
            f"{backoff}: waits {waits}, expected {bases} + [0, {jitter}]"
        )
    assert elapsed < sum(waits) and elapsed < 10, f"slept for real: {elapsed:.1f}s for waits {waits}"
    failure = node.failure
    assert failure["retryable"] is True, failure
    assert "ConnectionResetError" in failure["retry_reason"], failure
    assert "gave up after 5 attempts" in failure["retry_reason"], failure
    assert "connection reset by peer" in node.error
    recorded = _recorded(cfg, result.run_id, "reset")
    assert recorded.status == "failed" and recorded.attempts == 5 and recorded.failure["retryable"] is True


def test_a_permanent_fault_is_tried_once(retry_project, monkeypatch):
    """Injected fault: a Python function step that raises ValueError; fake clock. Even with a retry
    policy the node is tried once (the function ran once, nothing waited) and the failure says it is not
    retryable and why."""
    cfg = retry_project("retry: {max_attempts: 5, delay: 1}")
    result, node, waits, calls, _ = _run_node(cfg, "value", monkeypatch)
    assert node.status == "failed" and node.attempts == 1 and calls["value"] == 1, (node, calls)
    assert waits == []
    failure = node.failure
    assert failure["retryable"] is False, failure
    assert "not a transient fault" in failure["retry_reason"], failure
    assert "ValueError" in node.error and "no such customer segment" in node.error
    assert _recorded(cfg, result.run_id, "value").attempts == 1


def test_a_node_that_fails_twice_then_succeeds(retry_project, monkeypatch):
    """Injected fault: a Python function step that raises ConnectionResetError on its first two calls;
    fake clock. The node succeeds at attempt 3 (two waits: 1 s and 2 s, no jitter), says so in a note,
    and its append was written once."""
    cfg = retry_project("retry: {max_attempts: 4, backoff: exponential, delay: 1, jitter: 0}")
    result, node, waits, calls, _ = _run_node(cfg, "twice", monkeypatch)
    assert result.ok and node.status == "success", node
    assert node.attempts == 3 and calls["twice"] == 3, (node.attempts, calls)
    assert waits == [1.0, 2.0], waits
    assert any("succeeded at attempt 3 of 4" in note for note in node.notes), node.notes
    assert node.failure is None
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{cfg.parent / 'data' / 'out' / 'twice.parquet'}')")
    assert sorted(rows.fetchall()) == [(1, "a"), (2, "b")]
    assert _recorded(cfg, result.run_id, "twice").attempts == 3


def test_a_nodes_own_retry_policy_wins_over_the_projects(retry_project, monkeypatch):
    """Injected fault: ConnectionResetError on every call; fake clock. The project allows 5 attempts;
    a node with ``retry: {max_attempts: 2, backoff: constant, delay: 7, jitter: 0}`` is tried twice with
    one 7 s wait, and a node with ``retry: {enabled: false}`` once, saying it was not retried."""
    cfg = retry_project("retry: {max_attempts: 5, backoff: exponential, delay: 1, jitter: 0}")
    _, node, waits, calls, _ = _run_node(cfg, "own_policy", monkeypatch)
    assert node.attempts == 2 and calls["reset"] == 2 and waits == [7.0], (node.attempts, calls, waits)
    assert "gave up after 2 attempts" in node.failure["retry_reason"]

    _, node, waits, calls, _ = _run_node(cfg, "no_retry", monkeypatch)
    assert node.attempts == 1 and calls["reset"] == 1 and waits == [], (node.attempts, calls, waits)
    assert node.failure["retryable"] is True and "not retried" in node.failure["retry_reason"], node.failure


def test_a_sql_error_at_run_time_is_not_retried(retry_project, monkeypatch):
    """Injected fault: none; a SQL step that compiles and validates but fails on the data
    (``CAST('x' AS INTEGER)``). With a retry policy of 5 attempts it is attempted once, as a type (or
    SQL) error that is not retryable; nothing waited."""
    cfg = retry_project("retry: {max_attempts: 5, delay: 1}")
    api.validate(cfg)  # it passes validation: the failure is one of the run
    result, node, waits, _, _ = _run_node(cfg, "bad_cast", monkeypatch)
    assert node.status == "failed" and node.attempts == 1 and waits == [], (node, waits)
    failure = node.failure
    assert failure["kind"] in ("type", "sql"), failure
    assert failure["retryable"] is False and "not retried" not in failure["retry_reason"], failure
    assert failure["retry_reason"], failure
    assert "'x'" in node.error
    assert _recorded(cfg, result.run_id, "bad_cast").failure["kind"] == failure["kind"]
