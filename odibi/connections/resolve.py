"""Resolve a connection + relative path to a location an engine can read or write.

Local and mock-DBFS connections resolve to absolute paths inside their folder (``connections/local.py``
keeps every path there). Remote kinds
(ADLS, S3, GCS, SQL databases) are accepted by the config but not yet runnable: they raise a clear
:class:`EngineError` naming the kind, instead of failing somewhere inside an engine.
"""

from __future__ import annotations

from pathlib import Path

from odibi.config.models import LocalConnection, LocalDbfsConnection
from odibi.connections import local
from odibi.errors import EngineError, NodeExecutionError


def resolve_path(connection, path: str, root: Path, *, write: bool = False) -> str:
    """Absolute location of ``path`` inside ``connection`` (a path that leads out is an error)."""
    if isinstance(connection, LocalConnection | LocalDbfsConnection):
        try:
            return local.resolve(connection, path, root, write=write)
        except local.PathRuleError as exc:
            raise NodeExecutionError(exc.message, hint=exc.hint) from None
    raise EngineError(
        f"connections of type '{connection.type}' cannot be read or written yet in this version of odibi",
        hint="use a local connection for now; see PHASES.md for the connections roadmap",
    )


def connection_root(connection, root: Path) -> str | None:
    """The folder a local connection owns (where odibi keeps its ``.odibi/`` staging and locks)."""
    if isinstance(connection, LocalConnection | LocalDbfsConnection):
        return str(local.connection_root(connection, root))
    return None


def _locate(project, io, redirect, kind: str) -> tuple[str, str, str | None]:
    """(absolute location, format, connection root) of a read / write block's path."""
    from odibi.config.semantics import infer_format
    from odibi.errors import NodeExecutionError

    conn = project.config.connections[io.connection]
    if io.path is None:
        raise NodeExecutionError(f"{kind} of tables and queries needs a SQL connection, not supported yet")
    fmt = io.format or infer_format(io.path)
    uri = resolve_path(conn, io.path, project.root, write=kind == "write")
    owner = connection_root(conn, project.root)
    if redirect is not None:
        redirected = redirect(uri, kind)
        if redirected != uri and kind == "write":
            owner = None  # a scratch output (run --compare): staged beside it, in its own .odibi/
        uri = redirected
    return uri, str(fmt), owner


def read_spec(project, read, redirect=None):
    """The resolved :class:`~odibi.engines.base.ReadSpec` of a node's ``read`` block (no schema yet)."""
    from odibi.engines.base import ReadSpec

    uri, fmt, _ = _locate(project, read, redirect, "read")
    return ReadSpec(uri, fmt, dict(read.options))


def write_spec(project, write, redirect=None):
    """The resolved :class:`~odibi.engines.base.WriteSpec` of a ``write`` (or quarantine) block."""
    from odibi.engines.base import WriteSpec

    uri, fmt, owner = _locate(project, write, redirect, "write")
    options = dict(getattr(write, "options", None) or {})
    return WriteSpec(uri, fmt, str(write.mode), options, root=owner)
