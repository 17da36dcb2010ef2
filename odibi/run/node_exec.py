"""Doing one node: its read, its steps, its checks and its write, on the run's engine.

:func:`execute` runs a node once and fills its result; it raises :class:`StageFault` (the fault and
the stage it happened in: read, step N, validation, schema, write) when anything fails, so that the
runner can describe the failure and decide whether another attempt could help. Writes hold a lock
beside their target's connection (one writer per target across processes); appends are journalled so
that running a killed run again does not append its batch twice (``run/journal.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from odibi.compile.node import CompiledNode
from odibi.compile.project import render_node
from odibi.config.models import SafetyConfig
from odibi.config.project import Project
from odibi.connections.journal_hook import before_commit
from odibi.connections.local import landed as local_landed
from odibi.connections.resolve import OpenConnections, read_spec, write_spec
from odibi.engines.base import Capability, Engine, ReadSpec, WriteSpec
from odibi.errors import NodeExecutionError, ValidationFailed
from odibi.formats.csv_infer import with_inferred_schema
from odibi.formats.delta import version as delta_version
from odibi.formats.specs import read_back_options
from odibi.run import locks
from odibi.run.checks import CheckReport, run_checks
from odibi.run.incremental import IncrementalState, filter_query, max_query
from odibi.run.journal import AppendJournal
from odibi.run.merge import MODES as MERGE_MODES
from odibi.run.merge import check_keys, duplicate_keys_query, merge_query
from odibi.run.steps import run_steps
from odibi.run.story_capture import StorySettings, capture

if TYPE_CHECKING:
    from collections.abc import Callable

    from odibi.run.events import RunEvents
    from odibi.run.runner import NodeResult

    Redirect = Callable[[str, str], str]


class StageFault(Exception):
    """A node's fault and the stage it happened in; ``committed``: its write had been committed (so
    running the node again would write twice)."""

    def __init__(self, stage: str, fault: BaseException, committed: bool) -> None:
        super().__init__(f"{stage}: {fault}")
        self.stage, self.fault, self.committed = stage, fault, committed


@dataclass
class RunContext:
    """What every node of a run shares."""

    project: Project
    engine: Engine
    redirect: Redirect | None
    safety: SafetyConfig
    journal: AppendJournal | None
    consume: bool
    conns: OpenConnections
    events: RunEvents
    configured: set[str] = field(default_factory=set)  # remote connections the engine was given
    full_refresh: bool = False
    incremental: IncrementalState | None = None
    marks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # to record if all went well
    skip_writes: set[tuple[str, str]] = field(default_factory=set)  # resumed runs: writes done earlier
    lock: threading.Lock = field(default_factory=threading.Lock)
    story: StorySettings | None = None  # what the run's story records (None: no story)
    story_s: float = 0.0  # seconds spent gathering story facts (samples, counts) in nodes
    story_unsampled: list[str] = field(default_factory=list)  # nodes a sample would have cost a job


def project_plan_upstream(node: CompiledNode) -> list[str]:
    """Nodes a function step may read through the v1 context (its dependencies and their inputs)."""
    return list(dict.fromkeys([*node.config.depends_on, *node.reads]))


def inputs(node: CompiledNode) -> list[str]:
    return list(dict.fromkeys([*node.config.depends_on, *node.reads]))


def execute(ctx: RunContext, node: CompiledNode, uses: int, deep: bool, result: NodeResult) -> None:
    """Run ``node`` once, filling ``result``; :class:`StageFault` on failure."""
    engine = ctx.engine
    cfg = node.config
    stage = "read"
    try:
        # a node nothing consumes or writes would never run: materialize it, which computes every column
        # (a count alone may not: DuckDB prunes the columns a count does not need)
        unused = uses == 0 and cfg.write is None
        materialize = bool(cfg.cache or cfg.validation or uses > 1 or deep or unused)
        # a node that only reads is registered under its own name: no second relation over the read
        # (on Spark each relation costs a SQL analysis and a temp view, ~35 ms)
        plain_read = cfg.read is not None and node.query is None and not node.deferred and not materialize
        if cfg.read is not None:
            target = node.name if plain_read else node.read_relation
            if cfg.read.path is None:  # a table or a query of a SQL connection
                _table_read(ctx, node, target, result)
            elif cfg.read.incremental is None:
                spec = _read_spec(ctx, cfg.read)
                ctx.events.debug("read", f"reading {spec.uri}", pipeline=node.pipeline, node=node.name,
                                 format=spec.format)  # fmt: skip
                engine.register_read(target, spec)
            else:
                spec = _read_spec(ctx, cfg.read)
                _incremental_read(ctx, node, target, lambda name: engine.register_read(name, spec), result)
        stage = "transform"
        if not plain_read:
            _define(ctx, node, materialize, result)
        if cfg.validation is not None:
            stage = "validation"
            qspec = None
            if cfg.validation.quarantine is not None:
                qspec = _write_spec(ctx, cfg.validation.quarantine)
            try:
                with _target_lock(qspec, ctx.safety):
                    report = run_checks(engine, node.name, cfg.validation, quarantine_spec=qspec)
            except ValidationFailed as exc:  # a failed node still shows what its checks counted
                if getattr(exc, "report", None) is not None:
                    _record_checks(result, exc.report)  # type: ignore[attr-defined]
                raise
            _record_checks(result, report)
            _tell_checks(ctx, node, report)
        stage = "schema"
        result.columns = engine.columns(node.name)
        skip_write = (node.pipeline, node.name) in ctx.skip_writes
        spec = None
        if cfg.write is not None and skip_write:
            result.notes.append("recomputed for the resumed nodes; its write was done by the resumed run")
        elif cfg.write is not None and cfg.write.path is None:
            stage = "write"
            result.rows = _table_write(ctx, node, result)
        elif cfg.write is not None:
            stage = "write"
            spec = _write_spec(ctx, cfg.write)
            ctx.events.debug("write", f"writing {spec.uri} ({spec.mode})", pipeline=node.pipeline,
                             node=node.name, format=spec.format)  # fmt: skip
            with _target_lock(spec, ctx.safety):
                written = _write(ctx, node.name, spec, result)
            result.written = spec.uri if written is not None or cfg.write.mode != "ignore" else None
            if cfg.write.mode == "ignore" and result.written is None:
                result.notes.append("not written: the output exists (mode: ignore)")
            # an append to a single file rewrites old + new rows: report the node's own rows
            merged = spec.mode in ("append", *MERGE_MODES)
            result.rows = engine.count(node.name) if merged else written
        stage = "count"
        if materialize or skip_write:
            result.rows = engine.count(node.name)
        elif cfg.write is None:
            result.lazy = True
        capture(ctx, node, result, materialized=materialize or plain_read, written=spec)
    except Exception as exc:
        step = getattr(exc, "step", None)
        if stage == "transform" and isinstance(step, int):
            stage = f"step {step + 1}"
        raise StageFault(stage, exc, committed=result.written is not None) from exc


def _record_checks(result: NodeResult, report: CheckReport) -> None:
    result.checks = report.passed
    result.check_results = [r.__dict__ for r in report.results]
    result.quarantined = report.quarantined
    result.checked_rows = report.checked_rows


def _tell_checks(ctx: RunContext, node: CompiledNode, report: CheckReport) -> None:
    """A warning line per node whose checks warned (shown at the CLI's default, quiet level); a quarantine
    is told at INFO (the summary shows it either way)."""
    for status, level in (("warned", logging.WARNING), ("quarantined", logging.INFO)):
        hits = [r for r in report.results if r.status == status]
        if hits:
            what = "; ".join(
                f"{r.check} {r.failing_rows:,} row(s) ({r.failing_pct or 0:.1f} %)" for r in hits
            )
            verb = "warn" if status == "warned" else "quarantine"
            ctx.events.emit(f"checks_{status}", level, f"{node.pipeline}.{node.name}: data-quality {verb}: {what}",
                            pipeline=node.pipeline, node=node.name, rows=sum(r.failing_rows for r in hits))  # fmt: skip


def _write(ctx: RunContext, relation: str, spec: WriteSpec, result: NodeResult) -> int | None:
    """``engine.write``, with appends journalled (and skipped when a killed run already made them)."""
    engine, journal = ctx.engine, ctx.journal
    if spec.format == "delta":  # Delta commits (and merges) through its own log
        written = engine.write(relation, spec)
        version = delta_version(spec.uri, spec.connection)
        if version is not None:
            result.notes.append(f"delta version {version}")
        return written
    if spec.mode in MERGE_MODES:
        return _merge_write(ctx, relation, spec)
    if spec.mode != "append" or journal is None:
        return engine.write(relation, spec)
    batch = engine.fingerprint(relation)
    landed = spec.connection.landed if spec.connection is not None else local_landed
    done = journal.committed_before(spec.uri, batch, landed)
    if done is not None:
        journal.carry(done)
        result.notes.append(
            f"append skipped: run {done['run_id']} was interrupted after appending this batch ({done['at']})"
        )
        return None
    token = before_commit.set(lambda staged: journal.record(staged, batch))
    try:
        return engine.write(relation, spec)
    finally:
        before_commit.reset(token)


_UNSET: Any = object()


def _incremental_read(
    ctx: RunContext, node: CompiledNode, target: str, register, result: NodeResult, mark: Any = _UNSET
) -> None:
    """Register the read (``register(name)``), keep only the rows past the node's mark under ``target``,
    and note the new mark (recorded when the pipeline succeeds). A ``mark`` given by the caller means the
    source already holds only the rows past it (the filter ran in the database)."""
    engine, incr = ctx.engine, node.config.read.incremental
    pushed_down = mark is not _UNSET
    if not pushed_down:
        mark = (
            None
            if ctx.full_refresh or ctx.incremental is None
            else ctx.incremental.get(node.pipeline, node.name)
        )
    source = f"{target}__odibi_all"
    register(source)
    columns = engine.columns(source)
    if incr.column not in columns:
        raise NodeExecutionError(
            f"incremental column '{incr.column}' is not a column of the read",
            hint=f"columns: {', '.join(columns)}",
        )
    if mark is None or pushed_down:
        engine.alias(target, source, materialize=True)
    else:
        sql = filter_query(source, incr, columns, mark).sql(dialect=engine.dialect)
        engine.define(target, sql, materialize=True)
    result.rows_read = engine.count(target)
    newest = engine.scalar(max_query(target, incr.column).sql(dialect=engine.dialect))
    if mark is not None:
        since = f"past {mark['value']}"
    else:
        since = "everything (--full-refresh)" if ctx.full_refresh else "everything (first run)"
    result.notes.append(f"incremental: read {result.rows_read} rows, {since}")
    if newest is not None:
        ctx.marks[(node.pipeline, node.name)] = {"value": str(newest), "type": columns[incr.column]}
    elif mark is not None:
        ctx.marks[(node.pipeline, node.name)] = mark  # nothing new: the mark stays


def _sql_connection(ctx: RunContext, name: str, what: str):
    conn = ctx.conns.get(name)
    if not getattr(conn, "tables", False):
        raise NodeExecutionError(
            f"{what} of a table or query needs a SQL connection; '{name}' is {conn.type}",
            hint="use `path:` with file connections, `table:` / `query:` with type: sql",
        )
    return conn


def _jdbc_target(engine: Engine, conn: Any, result: NodeResult) -> Any:
    """How the engine reaches ``conn`` over JDBC, or None: engines without JDBC (DuckDB, pandas) and a Spark
    session without the database's driver go through Arrow in the driver process (the node says so)."""
    if not hasattr(engine, "read_jdbc"):
        return None
    target = conn.jdbc()
    if target is None:
        result.notes.append(f"{conn.name}: no JDBC URL known for this database; rows went through the driver")
        return None
    if not engine.jdbc_driver(target.driver):
        result.notes.append(
            f"{conn.name}: JDBC driver {target.driver} is not on the Spark classpath; rows went through the "
            "driver process (add its jar with spark.jars for executor reads and writes)"
        )
        return None
    return target


def _table_read(ctx: RunContext, node: CompiledNode, target: str, result: NodeResult) -> None:
    """A table or query of a SQL connection, fetched in bulk (Arrow) and handed to the engine; an
    incremental read sends its filter to the database, so only new rows travel."""
    from odibi.engines.arrow_frames import to_pandas

    read = node.config.read
    conn = _sql_connection(ctx, read.connection, "a read")
    engine = ctx.engine
    jdbc = _jdbc_target(engine, conn, result)

    def fetch(name: str, query: str | None = None) -> None:
        table = conn.table_name(read.table) if read.table and query is None else None
        if jdbc is not None:
            engine.read_jdbc(name, jdbc, table=table, query=None if table else query or read.query)
            return
        data = conn.read_arrow(table=read.table if query is None else None, query=query or read.query)
        engine.from_pandas(name, to_pandas(data))

    if read.incremental is None:
        fetch(target)
        return
    mark = (
        None if ctx.full_refresh or ctx.incremental is None else ctx.incremental.get(node.pipeline, node.name)
    )
    if mark is None:
        _incremental_read(ctx, node, target, fetch, result)
        return
    inner = f"SELECT * FROM {conn.table_name(read.table)}" if read.table else read.query
    test = filter_query("odibi_src", read.incremental, {read.incremental.column: mark["type"]}, mark)
    condition = test.find(exp.Where).this.sql(dialect=conn.dialect)
    pushed = f"SELECT * FROM ({inner}) AS odibi_src WHERE {condition}"
    _incremental_read(ctx, node, target, lambda name: fetch(name, pushed), result, mark=mark)


def _table_write(ctx: RunContext, node: CompiledNode, result: NodeResult) -> int:
    """Write the node to a table of a SQL connection (COPY; upsert / append_once as one MERGE)."""
    from odibi.engines.arrow_frames import to_arrow

    write, engine = node.config.write, ctx.engine
    conn = _sql_connection(ctx, write.connection, "a write")
    mode, keys = str(write.mode), list(write.keys)
    if mode in MERGE_MODES:
        check_keys(mode, keys, engine.columns(node.name))
        dupes = engine.scalar(duplicate_keys_query(node.name, keys).sql(dialect=engine.dialect))
        if dupes:
            raise NodeExecutionError(
                f"{mode}: {dupes} key value(s) of ({', '.join(keys)}) occur more than once in the node's rows",
                hint="deduplicate the rows first (e.g. the deduplicate operation)",
            )
    lock = WriteSpec(f"sql://{conn.name}/{write.table}", "sql", mode, root=str(ctx.project.root))
    jdbc = _jdbc_target(engine, conn, result)
    with _target_lock(lock, ctx.safety):
        if jdbc is not None:  # the executors stage the rows in a new table; one transaction publishes it
            schema, _, _ = conn.table_name(write.table).rpartition(".")
            staged = (f"{schema}." if schema else "") + f"odibi_stage_{uuid.uuid4().hex[:12]}"
            try:
                rows = engine.write_jdbc(node.name, jdbc, staged)
            except BaseException:
                conn.discard(staged)
                raise
            conn.publish(staged, table=write.table, mode=mode, keys=keys)
        else:
            arrow = getattr(engine, "to_arrow", None)  # an engine holding Arrow data hands it over as it is
            data = arrow(node.name) if arrow is not None else to_arrow(engine.to_pandas(node.name))
            rows = conn.write_arrow(data, table=write.table, mode=mode, keys=keys)
    result.written = f"{conn.name}:{conn.table_name(write.table)}"
    return rows


def _merge_write(ctx: RunContext, relation: str, spec: WriteSpec) -> int | None:
    """``upsert`` / ``append_once``: merge the node's rows into the existing output with one query, then
    overwrite it through the ordinary commit (``run/merge.py``)."""
    engine, conn = ctx.engine, spec.connection
    over = replace(spec, mode="overwrite")
    keys = list(spec.keys)
    if not keys:
        raise NodeExecutionError(f"mode {spec.mode} needs keys", hint="write: {keys: [id]}")
    check_keys(spec.mode, keys, engine.columns(relation))
    dupes = engine.scalar(duplicate_keys_query(relation, keys).sql(dialect=engine.dialect))
    if dupes:
        raise NodeExecutionError(
            f"{spec.mode}: {dupes} key value(s) of ({', '.join(keys)}) occur more than once in the node's rows",
            hint="deduplicate the rows first (e.g. the deduplicate operation)",
        )
    exists = conn.exists(spec.uri) if conn is not None else Path(spec.uri).exists()
    if not exists:
        return engine.write(relation, over)
    location = local = spec.uri
    if conn is not None and conn.remote:
        spark_reads = Capability.REMOTE_STORAGE in engine.capabilities
        if not spark_reads or spec.format == "csv":  # CSV types are decided on a local copy
            local = conn.local_copy(spec.uri, refresh=True)
        location = conn.spark_uri(spec.uri) if spark_reads else local
    back = ReadSpec(local, spec.format, read_back_options(spec))
    if spec.format == "csv":
        back = with_inferred_schema(back)
    back = replace(back, uri=location)
    existing, merged = f"{relation}__odibi_existing", f"{relation}__odibi_merged"
    engine.register_read(existing, back)
    query = merge_query(
        spec.mode, relation, engine.columns(relation), existing, engine.columns(existing), keys
    )
    engine.define(merged, query.sql(dialect=engine.dialect), materialize=False)
    return engine.write(merged, over)


@contextlib.contextmanager
def _target_lock(spec: WriteSpec | None, safety: SafetyConfig) -> Iterator[None]:
    """Hold the lock of ``spec``'s target: one writer per target across processes."""
    if spec is None:
        yield
        return
    root = Path(spec.root) if spec.root else Path(spec.uri).parent
    key = hashlib.sha256(spec.uri.encode()).hexdigest()[:24]
    timeout = 0.0 if safety.write_lock == "fail" else safety.write_lock_timeout
    try:
        held = locks.acquire(root / ".odibi" / "locks" / f"{key}.lock", timeout=timeout)
    except locks.LockBusy:
        waited = "" if timeout == 0 else f" (waited {timeout:g} s)"
        raise NodeExecutionError(
            f"another run is writing {spec.uri}{waited}",
            hint="run again when it is done; safety: {write_lock: wait, write_lock_timeout: N} waits longer",
        ) from None
    try:
        yield
    finally:
        held.release(unlink=True)  # acquire() re-checks the inode, so unlinking is safe


def _define(ctx: RunContext, node: CompiledNode, materialize: bool, result: NodeResult) -> None:
    """Give the engine the node's relation: its steps, its query, or its input under its name; the
    SQL it ran is kept on ``result`` (for the story)."""
    engine = ctx.engine
    if node.deferred:
        run_steps(engine, node, sorted(project_plan_upstream(node)), materialize=materialize,
                  trace=result.steps)  # fmt: skip
    elif node.query is not None:
        sql = render_node(node, engine.dialect, consume=ctx.consume).sql or ""
        result.sql = sql
        ctx.events.debug("sql", f"defining {node.name}", pipeline=node.pipeline, node=node.name, sql=sql)
        engine.define(node.name, sql, materialize=materialize)
    elif node.input_name is not None:
        engine.alias(node.name, node.input_name, materialize=materialize)
    else:
        raise NodeExecutionError("node has no input and no steps")


def _read_spec(ctx: RunContext, read) -> ReadSpec:
    """The read's spec as this engine reads it: a remote store's URI for engines that reach stores
    themselves (given the connection's settings once), else a local copy; CSV types decided once."""
    spec = read_spec(ctx.project, read, ctx.redirect, ctx.conns)
    conn = spec.connection
    if conn is None or not conn.remote:
        return with_inferred_schema(spec)
    if Capability.REMOTE_STORAGE not in ctx.engine.capabilities:
        if spec.format == "delta":  # delta-rs reads the store itself (time travel needs the log)
            return spec
        return with_inferred_schema(replace(spec, uri=conn.local_copy(spec.uri)))
    _give_connection(ctx, conn)
    native = replace(spec, uri=conn.spark_uri(spec.uri))
    if spec.format != "csv":
        return native
    # CSV types are decided by one inferrer, on a local copy of the data
    return replace(native, schema=with_inferred_schema(replace(spec, uri=conn.local_copy(spec.uri))).schema)


def _write_spec(ctx: RunContext, write) -> WriteSpec:
    spec = write_spec(ctx.project, write, ctx.redirect, ctx.conns)
    conn = spec.connection
    if conn is not None and conn.remote and Capability.REMOTE_STORAGE in ctx.engine.capabilities:
        _give_connection(ctx, conn)
    return spec


def _give_connection(ctx: RunContext, conn) -> None:
    """Hand a remote connection's Spark/Hadoop settings to the engine, once per run."""
    with ctx.lock:
        if conn.name in ctx.configured:
            return
        use = getattr(ctx.engine, "use_connection", None)
        if use is not None:
            use(conn)
        ctx.configured.add(conn.name)
