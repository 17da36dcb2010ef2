"""Run a compiled project on an engine: pipelines in list order, the nodes of each as their inputs allow.

A node runs read → steps → validation → write (``run/node_exec.py``), in a worker thread when the run
has several workers (``run/scheduler.py``): a node starts as soon as its inputs are done. A node that
hits a transient fault is tried again under the ``retry:`` policy (``run/retries.py``); every failure
is kept as a record (``run/failures.py``). With ``on_error: continue`` a failure skips only the failed
node's downstream; with ``fail_fast`` the run stops starting nodes. A node is reported ``success`` only
once its query ran: a node nothing consumes or writes is counted, and a lazy node whose consumers all
failed is reported ``not_run``.

Every run has an id, and (unless it is a scratch run of the portability check) is recorded in the
project's run state (``run/state.py``), from which ``odibi run --resume`` and ``odibi runs`` read.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odibi.compile.node import CompiledNode
from odibi.config.project import Project
from odibi.connections.local import STAGING
from odibi.connections.resolve import OpenConnections
from odibi.engines.base import Capability, Engine
from odibi.errors import OdibiError
from odibi.plan import lineage
from odibi.plan.graph import PipelinePlan
from odibi.run import locks, retries
from odibi.run.events import Listener, RunEvents
from odibi.run.failures import Failure, describe
from odibi.run.incremental import IncrementalState
from odibi.run.journal import AppendJournal, new_run_id
from odibi.run.node_exec import RunContext, StageFault, execute, inputs
from odibi.run.node_exec import project_plan_upstream as project_plan_upstream
from odibi.run.scheduler import ReadyQueue

Redirect = Callable[[str, str], str]  # (resolved location, "read" | "write") -> location to use

ON_ERROR = ("fail_fast", "continue")


@dataclass
class NodeResult:
    """What happened to one node."""

    pipeline: str
    node: str
    status: str  # success | failed | skipped | not_run
    rows: int | None = None
    duration_s: float = 0.0
    error: str | None = None  # one line: the failure rendered, or why the node was skipped
    written: str | None = None
    checks: list[str] = field(default_factory=list)  # names of the checks that passed
    check_results: list[dict[str, Any]] = field(default_factory=list)  # every check: status, failing rows
    quarantined: int = 0
    checked_rows: int | None = None  # rows the row-level checks looked at (the base of their percents)
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what a reader should know (e.g. an append skipped)
    lazy: bool = False  # fused into its consumers as a view: it ran inside them, never on its own
    rows_read: int | None = None  # an incremental read: the rows it picked up this run
    failure: dict[str, Any] | None = None  # the structured failure (run/failures.py Failure.to_dict())
    attempts: int = 0  # 0: not started
    action: str = "run"  # run | recomputed (only to feed resumed nodes; its write was skipped)
    started_at: float | None = None  # epoch seconds
    ended_at: float | None = None
    # for the story (run/story_capture.py): what ran, what it read, its first rows, earlier attempts
    sql: str | None = None  # the node's query as run, in the engine's dialect
    steps: list[str] = field(default_factory=list)  # step by step nodes: what each step ran
    source_columns: dict[str, str] | None = None  # the columns of a read node's read, before its steps
    sample: dict[str, Any] | None = None  # {"columns", "rows", "source"}: JSON values, not yet masked
    retries: list[dict[str, Any]] = field(default_factory=list)  # failures of attempts that were retried


@dataclass
class RunResult:
    """A whole run."""

    project: str
    engine: str
    nodes: list[NodeResult]
    duration_s: float
    in_process: bool = False  # the engine declares Capability.IN_PROCESS (nothing outlives its close())
    run_id: str | None = None
    workers: int = 1
    on_error: str = "continue"
    resumed_from: str | None = None
    story: dict[str, str] = field(default_factory=dict)  # format → where the run's story was written
    story_error: str | None = None  # why the story could not be written (the run's outcome stands)
    story_s: float = 0.0  # seconds the story cost: samples and counts in nodes, then build and write

    @property
    def ok(self) -> bool:
        return all(n.status == "success" for n in self.nodes)

    @property
    def quality(self) -> dict[str, int]:
        """What the checks of nodes that succeeded let through: nodes that warned, rows quarantined."""
        done = [n for n in self.nodes if n.status == "success"]
        warned = sum(any(c.get("status") == "warned" for c in n.check_results) for n in done)
        return {"nodes_warned": warned, "rows_quarantined": sum(n.quarantined for n in done)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "run_id": self.run_id,
            "engine": self.engine,
            "ok": self.ok,
            "quality": self.quality,
            "duration_s": round(self.duration_s, 4),
            "workers": self.workers,
            "on_error": self.on_error,
            "resumed_from": self.resumed_from,
            "story": self.story,
            "story_error": self.story_error,
            "story_s": round(self.story_s, 4),
            "nodes": [n.__dict__ for n in self.nodes],
        }


@dataclass
class Resume:
    """What a resumed run does: ``rerun`` nodes run for their own sake; ``recompute`` nodes (upstream of
    them, done by the earlier run) are computed again to feed them, without writing."""

    from_run: str
    rerun: set[tuple[str, str]]
    recompute: set[tuple[str, str]]


def default_workers(engine: Engine) -> int:
    """Nodes at once for an engine that does not say: 4 where relations may be built from several
    threads (DuckDB, Spark), else 1 (pandas: function steps hold the GIL; see docs/performance.md)."""
    declared = getattr(engine, "default_workers", None)
    if isinstance(declared, int) and declared >= 1:
        return declared
    return 4 if Capability.CONCURRENT in getattr(engine, "capabilities", ()) else 1


def run_plan(
    project: Project,
    engine: Engine,
    selection: list[tuple[PipelinePlan, list[str]]],
    compiled: dict[tuple[str, str], CompiledNode],
    log=None,
    redirect: Redirect | None = None,
    *,
    consume: bool = False,
    full_refresh: bool = False,
    workers: int | None = None,
    on_error: str | None = None,
    resume: Resume | None = None,
    listener: Listener | None = None,
    debug: bool = False,
    record: bool = True,
    story: bool = True,
) -> RunResult:
    """Execute the selected nodes on ``engine``.

    ``redirect`` (used by the portability check) maps every resolved read/write location elsewhere; such
    scratch runs keep no append journal, no incremental marks and no run record.
    ``consume``: ``compiled`` serves this run only, so each node's tree is rendered without a copy.
    ``full_refresh``: incremental reads ignore their marks (and record new ones).
    ``workers``: nodes at once (default: the project's ``workers:``, else the engine's).
    ``on_error``: ``fail_fast`` or ``continue`` for nodes that do not set their own (default: the
    project's). ``resume``: the nodes of an earlier run to run again (``selection`` holds them).
    ``log(result)`` is called as each node ends; ``listener(event, fields)`` follows the run's events.
    ``debug``: failures keep their traceback. ``record``: keep the run in the project's run state.
    ``story``: write the run's story (unless the project's ``story.auto_generate`` is false; scratch
    runs never do), also when nodes fail or the run stops half-way.
    """
    started, started_at = time.perf_counter(), time.time()
    run_id = new_run_id()
    cfg = project.config
    workers = workers or cfg.workers or default_workers(engine)
    on_error = on_error or cfg.on_error
    if Capability.CONCURRENT not in getattr(engine, "capabilities", ()) and workers > 1:
        engine = _Serialized(engine)  # type: ignore[assignment]
    events = RunEvents(run_id, listener)
    scratch = redirect is not None
    _sweep_staging(project)
    planned = [(p.name, n) for p, names in selection for n in names]
    store = journal = conns = None
    results: list[NodeResult] = []
    settings = None if scratch or not story else _story_settings(project)
    story_files: dict[str, str] = {}
    story_error: str | None = None
    story_s = 0.0
    ctx: RunContext | None = None
    stopped: BaseException | None = None
    try:  # whatever fails from here on, what was opened is closed (locks, journal, state, secrets)
        store = _start_record(project, record and not scratch, run_id, engine.name, planned, resume,
                              workers, started_at)  # fmt: skip
        journal = _open_journal(project, run_id) if not scratch else None
        conns = OpenConnections(project)
        ctx = RunContext(project, engine, redirect, cfg.safety, journal, consume, conns, events)
        ctx.full_refresh = full_refresh
        ctx.story = settings
        ctx.incremental = IncrementalState(project.root) if not scratch else None  # scratch runs: no marks
        if resume is not None:
            ctx.skip_writes = set(resume.recompute)
        events.emit("run_started", logging.INFO, f"run {run_id} of {cfg.project} on {engine.name}",
                    project=cfg.project, engine=engine.name, nodes=len(planned), workers=workers)  # fmt: skip
        runner = _Runner(ctx, compiled, workers, on_error, log, store, debug, resume)
        used = _used_connections(selection, compiled)
        story_conn = cfg.story.connection if settings is not None and cfg.story is not None else None
        conns.prepare(used + ([story_conn] if story_conn else []))  # secrets: once, in parallel, up front
        for pplan, names in selection:
            ran = runner.pipeline(pplan, names)
            results.extend(ran)
            _record_marks(ctx, pplan.name, ran)
    except BaseException as exc:  # noted for the story (which says what stopped the run), then raised
        stopped = exc
        raise
    finally:
        if settings is not None and conns is not None:
            story_started = time.perf_counter()
            story_files, story_error = _write_story(
                project, conns, settings, run_id=run_id, engine=engine.name, planned=planned,
                results=results, compiled=compiled, started_at=started_at,
                duration_s=time.perf_counter() - started, workers=workers, on_error=on_error,
                resumed_from=resume.from_run if resume else None,
                error=None if stopped is None else f"{type(stopped).__name__}: {stopped}",
                unsampled=list(ctx.story_unsampled) if ctx is not None else [],
            )  # fmt: skip
            story_s = time.perf_counter() - story_started + (ctx.story_s if ctx is not None else 0.0)
            if story_error is not None:
                events.emit("story_failed", logging.WARNING, f"story not written: {story_error}")
        if conns is not None:
            conns.close()
        if journal is not None:
            journal.close()
        ok = len(results) == len(planned) and all(r.status == "success" for r in results)
        if store is not None:
            try:
                store.end_run(run_id, "success" if ok else "failed")
            finally:
                store.close()
    duration = time.perf_counter() - started
    failed = sum(r.status == "failed" for r in results)
    succeeded = sum(r.status == "success" for r in results)  # skipped nodes are not ok
    events.emit("run_finished", logging.INFO if ok else logging.WARNING,
                f"run {run_id} {'succeeded' if ok else 'failed'}: {succeeded} of "
                f"{len(results)} nodes ok", status="success" if ok else "failed",
                duration_s=round(duration, 4), failed=failed)  # fmt: skip
    return RunResult(
        cfg.project,
        engine.name,
        results,
        duration,
        in_process=Capability.IN_PROCESS in getattr(engine, "capabilities", ()),
        run_id=run_id,
        workers=workers,
        on_error=on_error,
        resumed_from=resume.from_run if resume else None,
        story=story_files,
        story_error=story_error,
        story_s=story_s,
    )


def _story_settings(project: Project):
    """What this project's stories record, or None when it writes none (``auto_generate: false``)."""
    from odibi.run.story_capture import StorySettings

    cfg = project.config.story
    if cfg is None:
        return StorySettings()
    if not cfg.auto_generate:
        return None
    return StorySettings(verbosity=cfg.verbosity, max_sample_rows=cfg.max_sample_rows)


def _write_story(project: Project, conns, settings, **facts) -> tuple[dict[str, str], str | None]:
    """Build and commit the run's story; (format → location, None) or ({}, why it was not written)."""
    try:
        from odibi.run.story_build import build_story, write_story

        cfg = project.config.story
        record = build_story(project, ended_at=time.time(), verbosity=settings.verbosity, **facts)
        formats = list(cfg.formats) if cfg is not None else ["json", "md", "html"]
        return write_story(project, conns, record, formats, cfg.keep_last if cfg is not None else None), None
    except Exception as exc:
        from odibi.secrets import mask

        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {}, mask(text)


class _Runner:
    """Runs the pipelines of one run: schedules nodes, retries them, records them."""

    def __init__(self, ctx: RunContext, compiled, workers, on_error, log, store, debug, resume) -> None:
        self.ctx, self.compiled, self.workers = ctx, compiled, workers
        self.on_error, self.log, self.store, self.debug, self.resume = on_error, log, store, debug, resume
        self.stopped: str | None = None  # the node whose failure stopped the run (fail_fast)
        self.locations = _node_paths(ctx.project)
        self.feeds = lineage.of_config(ctx.project.config)  # reads of what earlier pipelines write
        self.ended: dict[tuple[str, str], str] = {}  # (pipeline, node) → status, across this run

    def pipeline(self, pplan: PipelinePlan, names: list[str]) -> list[NodeResult]:
        consumers = pplan.consumers()
        wanted = set(names)
        status: dict[str, str] = {}
        depth: dict[str, int] = {}  # views stacked under a node since the last materialized relation
        plan: dict[str, tuple[int, bool]] = {}  # node → (uses, deep), decided when it is admitted
        max_depth = self.ctx.engine.max_view_depth
        nodes = {name: self.compiled[(pplan.name, name)] for name in names}

        def admit(name: str) -> NodeResult | None:
            node = nodes[name]
            if self.stopped is not None:
                return self._not_started(node, f"not started: the run stopped when '{self.stopped}' failed "
                                               "(on_error: fail_fast)")  # fmt: skip
            bad = [d for d in inputs(node) if status.get(d) in ("failed", "skipped")]
            if bad:
                return self._not_started(node, f"upstream node '{bad[0]}' {status[bad[0]]}")
            stale = lineage.stale_input(self.feeds.get((pplan.name, name), []), self.ended)
            if stale:  # an earlier pipeline's writer of its input failed: never read last run's file
                return self._not_started(node, stale)
            uses = len([c for c in consumers.get(name, []) if c in wanted])
            depth[name] = 1 + max((depth.get(d, 0) for d in inputs(node)), default=0)
            deep = max_depth is not None and depth[name] > max_depth
            if deep or uses > 1 or node.config.cache or node.config.validation:
                depth[name] = 0
            plan[name] = (uses, deep)
            self.ctx.events.debug("node_started", f"{pplan.name}.{name} started", pipeline=pplan.name,
                                  node=name)  # fmt: skip
            return None

        def work(name: str) -> NodeResult:
            uses, deep = plan[name]
            return self._run_node(nodes[name], uses, deep)

        def finished(name: str, result: NodeResult) -> None:
            status[name] = self.ended[(pplan.name, name)] = result.status
            if result.status == "failed" and self._on_error(nodes[name]) == "fail_fast" and not self.stopped:
                self.stopped = f"{pplan.name}.{name}"
            self._report(result)

        inputs_of = {name: inputs(node) for name, node in nodes.items()}
        workers = self.workers if len(names) > 1 else 1
        results = ReadyQueue(names, inputs_of, admit=admit, work=work, finished=finished,
                             workers=workers).run()  # fmt: skip
        _mark_not_run(results, consumers, wanted, names)
        self.ended.update({(pplan.name, n): r.status for n, r in results.items()})
        if self.store is not None:
            for result in results.values():
                if result.status == "not_run":  # judged once its consumers ended: recorded again
                    self.store.record_node(_record(self.ctx, result))
        return list(results.values())

    def _on_error(self, node: CompiledNode) -> str:
        return node.config.on_error or self.on_error

    def _not_started(self, node: CompiledNode, why: str) -> NodeResult:
        result = NodeResult(node.pipeline, node.name, "skipped", error=why)
        result.started_at = result.ended_at = time.time()
        if self.resume is not None and (node.pipeline, node.name) in self.resume.recompute:
            result.action = "recomputed"
        return result

    def _report(self, result: NodeResult) -> None:
        ctx = self.ctx
        if result.error:
            result.error = ctx.conns.display(result.error)
        level = logging.INFO if result.status == "success" else logging.WARNING
        ctx.events.emit(
            "node_finished",
            level,
            f"{result.pipeline}.{result.node} {result.status}"
            + (f": {result.error}" if result.error else ""),
            pipeline=result.pipeline,
            node=result.node,
            status=result.status,
            duration_s=round(result.duration_s, 4),
            rows=result.rows,
            attempt=result.attempts or None,
        )
        if self.store is not None:
            self.store.record_node(_record(ctx, result))
        if self.log is not None:
            self.log(result)

    def _run_node(self, node: CompiledNode, uses: int, deep: bool) -> NodeResult:
        """The node, tried as often as its retry policy allows for transient faults."""
        ctx = self.ctx
        key = (node.pipeline, node.name)
        policy = retries.RetryPolicy.of(ctx.project.config.retry, node.config.retry)
        started, started_at = time.perf_counter(), time.time()
        attempts: list[Failure] = []
        last: list[NodeResult] = []

        def attempt(number: int) -> NodeResult:
            result = NodeResult(node.pipeline, node.name, "success", attempts=number, started_at=started_at)
            if self.resume is not None and key in self.resume.recompute:
                result.action = "recomputed"
            last[:] = [result]
            execute(ctx, node, uses, deep, result)
            return result

        def retryable(fault: BaseException) -> bool:
            if not isinstance(fault, StageFault):
                return False
            failure = self._describe(node, fault)
            attempts.append(failure)
            return failure.retryable and not fault.committed

        def on_retry(number: int, wait: float, fault: BaseException) -> None:
            failure = attempts[-1]
            ctx.events.emit("node_retry", logging.WARNING,
                            f"{node.pipeline}.{node.name} attempt {number} of {policy.max_attempts} failed "
                            f"({failure.retry_reason}): {failure.render()}; trying again in {wait:.1f} s",
                            pipeline=node.pipeline, node=node.name, attempt=number,
                            wait_s=round(wait, 3))  # fmt: skip

        try:
            result = retries.call(attempt, policy, retryable, on_retry)
            result.retries = [_retried(ctx, f) for f in attempts]
            if len(attempts) > 0:
                result.notes.append(
                    f"succeeded at attempt {result.attempts} of {policy.max_attempts} "
                    f"(earlier: {attempts[0].retry_reason})"
                )
        except StageFault as fault:
            result = last[0]
            failure = attempts[-1] if attempts and attempts[-1].stage == fault.stage else None
            failure = failure or self._describe(node, fault)
            if fault.committed and failure.retryable:
                failure.retryable = False
                failure.retry_reason = "its write was committed: another attempt would write it twice"
            elif failure.retryable and policy.max_attempts <= 1:
                failure.retry_reason += "; not retried: no retry policy (retry: {max_attempts: N})"
            elif failure.retryable:
                failure.retry_reason += f"; gave up after {result.attempts} attempts"
            result.status = "failed"
            result.retries = [_retried(ctx, f) for f in attempts if f is not failure]
            result.error = ctx.conns.display(failure.render())
            result.failure = failure.to_dict()
            result.failure["message"] = ctx.conns.display(result.failure["message"])
        result.duration_s = time.perf_counter() - started
        result.ended_at = time.time()
        return result

    def _describe(self, node: CompiledNode, fault: StageFault) -> Failure:
        location = None
        path = self.locations.get((node.pipeline, node.name))
        if path is not None:
            stage = fault.stage
            sub: tuple = ()
            if stage.startswith("step "):
                sub = ("transform", "steps", int(stage.split()[1]) - 1)
            elif stage in ("read", "write", "validation"):
                sub = (stage,)
            location = self.ctx.project.source.locate((*path, *sub))
        return describe(fault.fault, fault.stage, location=location, debug=self.debug)


def _retried(ctx: RunContext, failure: Failure) -> dict[str, Any]:
    out = failure.to_dict()
    out["message"] = ctx.conns.display(out["message"])
    return out


class _Serialized:
    """An engine that builds relations from one thread at a time, shared by parallel nodes: each call
    holds one lock (I/O outside the engine, such as fetching remote files, still overlaps)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.RLock()

    def __getattr__(self, name: str):
        value = getattr(self._engine, name)
        if not callable(value):
            return value

        def locked(*args, **kwargs):
            with self._lock:
                return value(*args, **kwargs)

        return locked


def _record(ctx: RunContext, result: NodeResult):
    from odibi.run.state import NodeRecord

    version = next((int(n.split()[-1]) for n in result.notes if n.startswith("delta version ")), None)
    return NodeRecord(
        run_id=ctx.events.run_id,
        pipeline=result.pipeline,
        node=result.node,
        status=result.status,
        action=result.action,
        attempts=result.attempts,
        duration_s=result.duration_s,
        rows=result.rows,
        rows_read=result.rows_read,
        written=result.written,
        version=version,
        failure=result.failure or ({"kind": "skipped", "message": result.error} if result.error else None),
        started_at=result.started_at,
        ended_at=result.ended_at,
    )


def _start_record(project: Project, wanted: bool, run_id, engine, planned, resume, workers, started_at):
    """The run's row in the project's run state (None for scratch runs); a state that cannot be written
    is a clear error before anything runs."""
    if not wanted:
        return None
    import sqlite3

    from odibi.run.state import STATE_DB, RunStateStore

    store = RunStateStore(project.root)
    try:
        store.start_run(
            run_id=run_id,
            project=project.config.project,
            engine=engine,
            planned=planned,
            config_hash=config_hash(project),
            resumed_from=resume.from_run if resume else None,
            workers=workers,
            started_at=started_at,
        )
    except (OSError, sqlite3.Error) as exc:
        store.close()
        raise OdibiError(
            f"cannot record the run in {project.root / STATE_DB}: {exc}",
            hint="odibi keeps run state in .odibi/ beside the project: it must be a writable folder",
        ) from exc
    return store


def config_hash(project: Project) -> str:
    """A digest of the config as loaded (files and overlays included): runs of one config share it."""
    text = project.config.model_dump_json(exclude_none=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _node_paths(project: Project) -> dict[tuple[str, str], tuple]:
    """Where each node sits in the YAML: (pipeline, node) → its path for ``source.locate``."""
    out = {}
    for pi, pipeline in enumerate(project.config.pipelines):
        for ni, node in enumerate(pipeline.nodes):
            out[(pipeline.pipeline, node.name)] = ("pipelines", pi, "nodes", ni)
    return out


def _record_marks(ctx: RunContext, pipeline: str, ran: list[NodeResult]) -> None:
    """Keep the incremental marks of a pipeline whose every node succeeded: if any failed, the next run
    reads the same rows again (nothing is lost between a read and a write that did not happen)."""
    pending = {key: mark for key, mark in ctx.marks.items() if key[0] == pipeline}
    if ctx.incremental is None or not pending:
        return
    if all(r.status == "success" for r in ran):
        for (pipe, node), mark in pending.items():
            ctx.incremental.record(pipe, node, mark)
    for key in pending:
        ctx.marks.pop(key, None)


def _used_connections(selection, compiled) -> list[str]:
    """Connections the selected nodes read, write or quarantine to."""
    names: list[str] = []
    for pplan, wanted in selection:
        for name in wanted:
            cfg = compiled[(pplan.name, name)].config
            quarantine = cfg.validation.quarantine if cfg.validation is not None else None
            names += [io.connection for io in (cfg.read, cfg.write, quarantine) if io is not None]
    return names


def _mark_not_run(results: dict[str, NodeResult], consumers, wanted: set[str], names: list[str]) -> None:
    """A lazy node runs only inside its consumers: when none of them succeeded, it did not run."""
    for name in reversed(names):  # consumers first, so a chain of lazy nodes is judged end to start
        result = results[name]
        if result.status != "success" or not result.lazy:
            continue
        mine = [c for c in consumers.get(name, []) if c in wanted and c in results]
        if mine and not any(results[c].status == "success" for c in mine):
            result.status = "not_run"
            result.error = (
                f"not run: a lazy view computed only inside its consumers, and none of them ran "
                f"({', '.join(f'{c} {results[c].status}' for c in mine)})"
            )


def _sweep_staging(project: Project) -> None:
    """Remove the staging folders that killed runs left under this project's local connections (and the
    project's own, where remote connections stage)."""
    roots = {str(project.root)}
    for name, conn in project.config.connections.items():
        try:
            opened = conn.open(name, project.root)
        except OdibiError:
            continue  # its nodes fail with the reason when they use it
        root = None if opened.remote else getattr(opened, "root", None)
        if isinstance(root, Path):
            roots.add(str(root))
    for root in roots:
        locks.sweep(Path(root) / STAGING)


def _open_journal(project: Project, run_id: str) -> AppendJournal | None:
    if not any(
        n.write is not None and str(n.write.mode) == "append"
        for p in project.config.pipelines
        for n in p.nodes
    ):
        return None  # nothing to journal: no folder made
    return AppendJournal(project.root, run_id)
