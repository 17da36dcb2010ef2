"""The run-state store: what each run set out to do and how each of its nodes ended.

``odibi run --resume`` needs to know what the last run planned and which nodes failed or never ran, and
``odibi runs`` lists recent runs; a killed run cannot write a summary on its way out. So every run records
itself as it goes in ``.odibi/state.db`` beside the project: one row per run when it starts and ends, one
row per node as soon as the node is done.

Several processes (runs side by side) and several threads of one process (a parallel runner's workers)
write at once. The database is in WAL mode (readers never wait for writers), every write is one short
``BEGIN IMMEDIATE`` transaction (it takes the write lock up front, so two writers never deadlock on an
upgrade), and a 30 s ``busy_timeout`` makes a writer wait for the lock instead of failing with "database
is locked". Each thread of a process uses its own connection (``threading.local``; a forked child opens
its own too), so no connection is ever shared between threads. WAL needs a local filesystem (not NFS/SMB).

A run killed with SIGKILL stays ``running`` in the database. While it runs, its process holds a lock file
(``.odibi/state/running/<run id>.lock``, see :mod:`odibi.run.locks`); a reader that finds a ``running`` run
whose lock is free or gone reports it ``died`` (without rewriting the row).

Every text that could carry a secret (failure messages and hints, written targets) is masked with
:func:`odibi.secrets.mask_data` before it is stored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odibi.errors import UsageError
from odibi.run import locks
from odibi.secrets import mask, mask_data

STATE_DB = Path(".odibi") / "state.db"
RUNNING_LOCKS = Path(".odibi") / "state" / "running"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

NODE_STATUSES = frozenset({"success", "failed", "skipped", "not_run"})
NODE_ACTIONS = frozenset({"run", "recomputed"})
END_STATUSES = frozenset({"success", "failed"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    engine TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    duration_s REAL,
    config_hash TEXT,
    planned TEXT NOT NULL,
    resumed_from TEXT,
    workers INTEGER,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS runs_by_project ON runs (project, started_at);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at);
CREATE TABLE IF NOT EXISTS nodes (
    run_id TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    node TEXT NOT NULL,
    status TEXT NOT NULL,
    action TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    rows INTEGER,
    rows_read INTEGER,
    written TEXT,
    version INTEGER,
    failure TEXT,
    started_at REAL,
    ended_at REAL,
    PRIMARY KEY (run_id, pipeline, node)
);
"""

_NODE_COLUMNS = (
    "run_id, pipeline, node, status, action, attempts, duration_s, rows, rows_read, written, version, "
    "failure, started_at, ended_at"
)
_RUN_COLUMNS = (
    "run_id, project, engine, status, started_at, ended_at, duration_s, config_hash, planned, "
    "resumed_from, workers"
)


@dataclass
class NodeRecord:
    """How one node of a run ended."""

    run_id: str
    pipeline: str
    node: str
    status: str  # success | failed | skipped | not_run
    action: str = "run"  # run | recomputed (executed only to feed resumed nodes, its write skipped)
    attempts: int = 1
    duration_s: float = 0.0
    rows: int | None = None
    rows_read: int | None = None
    written: str | None = None  # the target written
    version: int | None = None  # e.g. the Delta version written
    failure: dict | None = None  # kind, stage, message, hint, location, retryable, ... (stored as JSON)
    started_at: float | None = None  # epoch seconds
    ended_at: float | None = None


@dataclass
class RunRecord:
    """One run: what it planned, how it ended (``died``: still ``running`` but its process is gone)."""

    run_id: str
    project: str
    engine: str
    status: str  # running | success | failed | died
    started_at: float
    ended_at: float | None
    duration_s: float | None
    config_hash: str | None
    planned: list[tuple[str, str]]  # (pipeline, node) the run set out to run, in order
    resumed_from: str | None
    workers: int | None
    nodes: list[NodeRecord] = field(default_factory=list)


class RunStateStore:
    """The run-state database of one project (``<project_root>/.odibi/state.db``).

    Nothing is created until the first write; reading a project without a database returns nothing.
    Safe to share between threads (each thread gets its own connection) and to use from several
    processes at once.
    """

    def __init__(self, project_root: Path) -> None:
        self.root = Path(project_root)
        self.path = self.root / STATE_DB
        self._local = threading.local()
        self._guard = threading.Lock()
        # what this store opened and holds, with the pid that did (a forked child leaves its parent's alone)
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._held: dict[str, tuple[int, locks.HeldLock]] = {}  # run id -> lock of a run it started

    # ------------------------------------------------------------------ writes

    def start_run(
        self,
        *,
        run_id: str,
        project: str,
        engine: str,
        planned: list[tuple[str, str]],
        config_hash: str | None = None,
        resumed_from: str | None = None,
        workers: int | None = None,
        started_at: float | None = None,
    ) -> None:
        """Record a run as ``running`` and hold its liveness lock until :meth:`end_run`."""
        _check_run_id(run_id)
        planned_json = json.dumps([[str(p), str(n)] for p, n in planned])
        conn = self._conn(create=True)
        assert conn is not None
        if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None:
            # checked before the lock: taking it would replace the lock file of that run
            raise ValueError(f"run '{run_id}' is already recorded in {self.path}")
        # the lock exists (held) before the row says running: a reader never sees a live run as died
        held = locks.create_locked(self._lock_path(run_id))
        try:
            with self._write() as conn:
                conn.execute(
                    f"INSERT INTO runs ({_RUN_COLUMNS}, pid) VALUES (?, ?, ?, 'running', ?, NULL, NULL, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        project,
                        engine,
                        time.time() if started_at is None else float(started_at),
                        config_hash,
                        planned_json,
                        resumed_from,
                        workers,
                        os.getpid(),
                    ),
                )
        except sqlite3.IntegrityError:  # recorded by another process since we looked
            held.release()
            raise ValueError(f"run '{run_id}' is already recorded in {self.path}") from None
        except BaseException:
            held.release(unlink=True)
            raise
        with self._guard:
            self._held[run_id] = (os.getpid(), held)

    def record_node(self, record: NodeRecord) -> None:
        """Record (or replace) how a node of a run ended; texts are masked first."""
        if record.status not in NODE_STATUSES:
            raise ValueError(f"node status must be one of {sorted(NODE_STATUSES)}, not '{record.status}'")
        if record.action not in NODE_ACTIONS:
            raise ValueError(f"node action must be one of {sorted(NODE_ACTIONS)}, not '{record.action}'")
        failure = None if record.failure is None else _dump_masked(record.failure)
        values = (
            record.run_id,
            record.pipeline,
            record.node,
            record.status,
            record.action,
            int(record.attempts),
            float(record.duration_s),
            record.rows,
            record.rows_read,
            None if record.written is None else mask(str(record.written)),
            record.version,
            failure,
            record.started_at,
            record.ended_at,
        )
        with self._write() as conn:
            # an upsert keeps the row's place (rowid): nodes read back in the order first recorded
            conn.execute(
                f"INSERT INTO nodes ({_NODE_COLUMNS}) VALUES ({', '.join('?' * len(values))}) "
                "ON CONFLICT (run_id, pipeline, node) DO UPDATE SET status = excluded.status, "
                "action = excluded.action, attempts = excluded.attempts, duration_s = excluded.duration_s, "
                "rows = excluded.rows, rows_read = excluded.rows_read, written = excluded.written, "
                "version = excluded.version, failure = excluded.failure, started_at = excluded.started_at, "
                "ended_at = excluded.ended_at",
                values,
            )

    def end_run(self, run_id: str, status: str, *, ended_at: float | None = None) -> None:
        """Record how a run ended (``success`` or ``failed``), then release and remove its lock."""
        if status not in END_STATUSES:
            raise ValueError(f"a run ends as one of {sorted(END_STATUSES)}, not '{status}'")
        end = time.time() if ended_at is None else float(ended_at)
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, ended_at = ?, duration_s = MAX(0.0, ? - started_at) "
                "WHERE run_id = ?",
                (status, end, end, run_id),
            )
            found = cur.rowcount > 0
        # the row says how it ended before the lock goes: a reader never takes an ending run for dead
        with self._guard:
            owner, held = self._held.pop(run_id, (None, None))
        if held is not None and owner == os.getpid():
            held.release(unlink=True)
        if not found:
            raise ValueError(f"no run '{run_id}' in {self.path}")

    def close(self) -> None:
        """Close every connection of this store. Runs it started and did not end release their lock
        (they read as ``died`` from now on)."""
        pid = os.getpid()
        with self._guard:
            held, self._held = list(self._held.values()), {}
            conns, self._connections = self._connections, []
        for owner, lock in held:
            if owner == pid:
                lock.release(unlink=True)
        for owner, conn in conns:
            if owner == pid:  # a parent's connection is never closed (or checkpointed) by its child
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
        self._local = threading.local()

    # ------------------------------------------------------------------ reads

    def get_run(self, run_id: str) -> RunRecord | None:
        """A run with its nodes, or None."""
        runs = self._read_runs("WHERE run_id = ?", (run_id,))
        return runs[0] if runs else None

    def last_run(self, project: str) -> RunRecord | None:
        """The most recently started run of ``project`` (whatever its status), with its nodes."""
        runs = self._read_runs("WHERE project = ? ORDER BY started_at DESC, rowid DESC LIMIT 1", (project,))
        return runs[0] if runs else None

    def list_runs(self, project: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The newest runs first (of ``project``, or of every project); ``limit <= 0``: all of them.
        Each comes with its nodes."""
        where, params = ("WHERE project = ?", (project,)) if project is not None else ("", ())
        order = " ORDER BY started_at DESC, rowid DESC"
        if limit > 0:
            return self._read_runs(f"{where}{order} LIMIT ?", (*params, int(limit)))
        return self._read_runs(where + order, params)

    def _read_runs(self, clause: str, params: tuple[Any, ...]) -> list[RunRecord]:
        conn = self._conn(create=False)
        if conn is None or not self._has_schema(conn):
            return []
        conn.execute("BEGIN")  # one snapshot: the runs and their nodes agree
        try:
            rows = conn.execute(f"SELECT {_RUN_COLUMNS} FROM runs {clause}", params).fetchall()
            runs = [_run_from_row(row) for row in rows]
            by_id = {run.run_id: run for run in runs}
            ids = list(by_id)
            for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
                chunk = ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                for row in conn.execute(
                    f"SELECT {_NODE_COLUMNS} FROM nodes WHERE run_id IN ({marks}) ORDER BY rowid", chunk
                ):
                    by_id[row[0]].nodes.append(_node_from_row(row))
        finally:
            conn.execute("COMMIT")
        for run in runs:
            order = {key: i for i, key in enumerate(run.planned)}
            run.nodes.sort(key=lambda n: order.get((n.pipeline, n.node), len(order)))  # stable
        suspects = {run.run_id for run in runs if run.status == "running" and not self._alive(run.run_id)}
        if suspects:
            # it may have ended between our read and the lock check (end_run updates, then unlocks)
            marks = ", ".join("?" * len(suspects))
            now = dict(
                conn.execute(f"SELECT run_id, status FROM runs WHERE run_id IN ({marks})", list(suspects))
            )
            for i, run in enumerate(runs):
                if run.run_id not in suspects:
                    continue
                if now.get(run.run_id, "running") == "running":
                    run.status = "died"
                else:
                    runs[i] = self._read_runs("WHERE run_id = ?", (run.run_id,))[0]
        return runs

    def _alive(self, run_id: str) -> bool:
        """Does a live process (this one included) hold the run's lock?"""
        with self._guard:
            if run_id in self._held:
                return True
        try:
            held = locks.acquire(self._lock_path(run_id), timeout=0, create=False)
        except locks.LockBusy:
            return True
        except OSError:  # no lock file: its run ended or died
            return False
        held.release()  # the owner is dead; the file is left (a read changes nothing)
        return False

    # ------------------------------------------------------------------ connections

    def _lock_path(self, run_id: str) -> Path:
        return self.root / RUNNING_LOCKS / f"{run_id}{locks.LOCK_SUFFIX}"

    def _conn(self, *, create: bool) -> sqlite3.Connection | None:
        """This thread's connection; None when reading (``create=False``) a project without a database.
        A writer's connection has made sure the schema exists."""
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and local.pid != os.getpid():  # a forked child: never reuse the parent's
            conn = None
        if conn is None:
            if not create and not self.path.is_file():
                return None
            conn = self._open(create=create)
            local.conn, local.pid, local.ready = conn, os.getpid(), False
            with self._guard:
                self._connections.append((os.getpid(), conn))
        if create and not local.ready:
            self._ensure_schema(conn)
            local.ready = True
        return conn

    def _open(self, *, create: bool) -> sqlite3.Connection:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            target, uri = str(self.path), False
        else:  # mode=rw: never create the file (it may have been removed since we looked)
            target, uri = self.path.resolve().as_uri() + "?mode=rw", True
        conn = sqlite3.connect(
            target,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,  # autocommit; we BEGIN and COMMIT ourselves
            check_same_thread=False,  # used by its own thread only; close() may run on another
            uri=uri,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = FULL")  # a committed record survives a power loss too
            self._check_version(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            raise UsageError(
                f"cannot read the run state {self.path}: {exc}",
                hint="move the file aside; the next run starts a new history",
            ) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _has_schema(self, conn: sqlite3.Connection) -> bool:
        if getattr(self._local, "ready", False):
            return True
        found = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'nodes'")
        if found.fetchone()[0] == 0:
            return False  # a writer created the file and has not made the tables yet
        self._check_version(conn)
        self._local.ready = True
        return True

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript would COMMIT
                conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        except BaseException:
            _rollback(conn)
            raise
        conn.execute("COMMIT")
        self._check_version(conn)

    def _check_version(self, conn: sqlite3.Connection) -> None:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return  # a new database
            raise
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise UsageError(
                f"the run state {self.path} has schema version {row[0]}; this odibi reads version "
                f"{SCHEMA_VERSION}",
                hint="this state was written by a newer odibi: upgrade odibi, or move the file aside "
                "to start a new history",
            )

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (the write lock is taken at BEGIN, waiting up to busy_timeout)."""
        conn = self._conn(create=True)
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            _rollback(conn)
            raise
        conn.execute("COMMIT")


# ---------------------------------------------------------------------- helpers


def _check_run_id(run_id: str) -> None:
    if not run_id or run_id in (".", "..") or any(c in run_id for c in "/\\\0"):
        raise ValueError(f"bad run id {run_id!r}: it names a lock file")


def _rollback(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        conn.execute("ROLLBACK")


def _retry_locked(fn: Any) -> Any:
    """Switching a new database to WAL can report 'locked' at once while another process does the same."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _dump_masked(value: Any) -> str:
    """JSON of ``value`` with every string masked; objects JSON cannot hold become masked text."""

    def fallback(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return mask_data(dataclasses.asdict(obj))
        return mask(str(obj))

    return json.dumps(mask_data(value), default=fallback)


def _run_from_row(row: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        project=row[1],
        engine=row[2],
        status=row[3],
        started_at=row[4],
        ended_at=row[5],
        duration_s=row[6],
        config_hash=row[7],
        planned=[(p, n) for p, n in json.loads(row[8])],
        resumed_from=row[9],
        workers=row[10],
    )


def _node_from_row(row: tuple[Any, ...]) -> NodeRecord:
    return NodeRecord(
        run_id=row[0],
        pipeline=row[1],
        node=row[2],
        status=row[3],
        action=row[4],
        attempts=row[5],
        duration_s=row[6],
        rows=row[7],
        rows_read=row[8],
        written=row[9],
        version=row[10],
        failure=None if row[11] is None else json.loads(row[11]),
        started_at=row[12],
        ended_at=row[13],
    )


__all__ = ["STATE_DB", "NodeRecord", "RunRecord", "RunStateStore"]
