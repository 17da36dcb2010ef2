"""From a config's ``read`` / ``write`` block to a resolved spec an engine can act on.

:class:`OpenConnections` opens each named connection once for a run (no I/O: secrets are fetched by
:meth:`OpenConnections.prepare`, for every connection at once, in parallel, with a timeout) and closes
them at the end (local copies removed). :func:`read_spec` / :func:`write_spec` resolve a block's path
through its connection, which refuses paths that leave its root.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from odibi.connections.base import Connection, PathRuleError
from odibi.connections.registry import open_connection
from odibi.errors import NodeExecutionError, OdibiError
from odibi.secrets import mask

SECRET_TIMEOUT_S = 30.0


class OpenConnections:
    """The connections of one project, opened for one run (or one compile)."""

    def __init__(self, project: Any) -> None:
        self.project = project
        self._open: dict[str, Connection] = {}
        self.failed: dict[str, OdibiError] = {}

    def get(self, name: str) -> Connection:
        """The opened connection ``name``; raises the error its secrets were not fetched with, if any."""
        if name in self.failed:
            raise self.failed[name]
        if name not in self._open:
            config = self.project.config.connections[name]
            self._open[name] = open_connection(name, config, Path(self.project.root))
        return self._open[name]

    def prepare(self, names: list[str], timeout: float = SECRET_TIMEOUT_S) -> None:
        """Fetch every named connection's secrets before any node runs: in parallel, within ``timeout``
        seconds in all. A connection that fails (or is late) is remembered: each node that uses it fails
        with that error (secrets masked); the other nodes run."""
        wanted: list[Connection] = []
        for name in dict.fromkeys(names):
            try:
                wanted.append(self.get(name))
            except OdibiError as exc:
                self.failed[name] = exc
        needing = [c for c in wanted if c.remote]  # local folders fetch nothing
        if not needing:
            return
        pool = ThreadPoolExecutor(max_workers=min(8, len(needing)), thread_name_prefix="odibi-secrets")
        try:
            futures = {pool.submit(c.prepare): c for c in needing}
            done, pending = wait(futures, timeout=timeout)
            for future in done:
                exc = future.exception()
                name = futures[future].name
                if isinstance(exc, OdibiError):
                    self.failed[name] = exc
                elif exc is not None:
                    self.failed[name] = NodeExecutionError(mask(f"connection '{name}': {exc}"))
            for future in pending:
                name = futures[future].name
                self.failed[name] = NodeExecutionError(
                    f"connection '{name}': secrets not fetched within {timeout:g} s",
                    hint="check the network path to Key Vault and the credential (odibi doctor)",
                )
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def opened(self) -> list[Connection]:
        return list(self._open.values())

    def display(self, text: str) -> str:
        """An engine's message with the local copies of remote inputs named by their URIs."""
        for conn in self._open.values():
            show = getattr(conn, "display", None)
            if show is not None:
                text = show(text)
        return text

    def close(self) -> None:
        for conn in self._open.values():
            try:
                conn.close()
            except Exception:  # closing one must not keep the others open
                continue
        self._open.clear()


def _locate(project, io, redirect, kind: str, conns: OpenConnections | None):
    """(location, format, connection, local root) of a read / write block's path."""
    from odibi.config.semantics import infer_format

    conns = conns or OpenConnections(project)
    conn = conns.get(io.connection)
    if io.path is None:
        raise NodeExecutionError(f"{kind} of tables and queries needs a SQL connection, not supported yet")
    fmt = io.format or infer_format(io.path)
    try:
        uri = conn.resolve(io.path, write=kind == "write")
    except PathRuleError as exc:
        raise NodeExecutionError(exc.message, hint=exc.hint) from None
    # where odibi keeps staging, locks and journals for this target: the local connection's folder, or
    # the project's own for remote stores
    owner: str | None = str(getattr(conn, "root", "")) if not conn.remote else str(project.root)
    used: Connection | None = conn
    if redirect is not None:
        redirected = redirect(uri, kind)
        if redirected != uri:
            used = None  # a scratch copy on the local disk (run --compare)
            if kind == "write":
                owner = None  # staged beside it, in its own .odibi/
        uri = redirected
    return uri, str(fmt), used, owner or None


def read_spec(project, read, redirect=None, conns: OpenConnections | None = None):
    """The resolved :class:`~odibi.engines.base.ReadSpec` of a node's ``read`` block (no schema yet)."""
    from odibi.engines.base import ReadSpec

    uri, fmt, conn, _ = _locate(project, read, redirect, "read", conns)
    return ReadSpec(uri, fmt, dict(read.options), connection=conn)


def write_spec(project, write, redirect=None, conns: OpenConnections | None = None):
    """The resolved :class:`~odibi.engines.base.WriteSpec` of a ``write`` (or quarantine) block."""
    from odibi.engines.base import WriteSpec

    uri, fmt, conn, owner = _locate(project, write, redirect, "write", conns)
    from odibi.formats.options import split_partition_by

    named, options = split_partition_by(dict(getattr(write, "options", None) or {}))
    partition_by = tuple(getattr(write, "partition_by", None) or named)
    keys = tuple(getattr(write, "keys", None) or ())
    return WriteSpec(
        uri, fmt, str(write.mode), options, root=owner, connection=conn, keys=keys, partition_by=partition_by
    )
