"""Resolve a connection + relative path to a location an engine can read or write.

Local and mock-DBFS connections resolve to absolute paths, relative to the project folder. Remote kinds
(ADLS, S3, GCS, SQL databases) are accepted by the config but not yet runnable: they raise a clear
:class:`EngineError` naming the kind, instead of failing somewhere inside an engine.
"""

from __future__ import annotations

from pathlib import Path

from odibi.config.models import LocalConnection, LocalDbfsConnection
from odibi.errors import EngineError


def resolve_path(connection, path: str, root: Path) -> str:
    """Absolute location of ``path`` inside ``connection``."""
    if isinstance(connection, LocalConnection):
        base = Path(connection.base_path).expanduser()
        if not base.is_absolute():
            base = root / base
        return str((base / path).resolve()) if not _is_glob(path) else str(base.resolve() / path)
    if isinstance(connection, LocalDbfsConnection):
        base = Path(connection.root).expanduser()
        if not base.is_absolute():
            base = root / base
        rel = path.removeprefix("dbfs:").lstrip("/")
        return str((base / rel).resolve())
    raise EngineError(
        f"connections of type '{connection.type}' cannot be read or written yet in this version of odibi",
        hint="use a local connection for now; see PHASES.md for the connections roadmap",
    )


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def _locate(project, io, redirect, kind: str) -> tuple[str, str]:
    """(absolute location, format) of a read / write block's path."""
    from odibi.config.semantics import infer_format
    from odibi.errors import NodeExecutionError

    conn = project.config.connections[io.connection]
    if io.path is None:
        raise NodeExecutionError(f"{kind} of tables and queries needs a SQL connection, not supported yet")
    fmt = io.format or infer_format(io.path)
    uri = resolve_path(conn, io.path, project.root)
    if redirect is not None:
        uri = redirect(uri, kind)
    return uri, str(fmt)


def read_spec(project, read, redirect=None):
    """The resolved :class:`~odibi.engines.base.ReadSpec` of a node's ``read`` block (no schema yet)."""
    from odibi.engines.base import ReadSpec

    uri, fmt = _locate(project, read, redirect, "read")
    return ReadSpec(uri, fmt, dict(read.options))


def write_spec(project, write, redirect=None):
    """The resolved :class:`~odibi.engines.base.WriteSpec` of a ``write`` (or quarantine) block."""
    from odibi.engines.base import WriteSpec

    uri, fmt = _locate(project, write, redirect, "write")
    return WriteSpec(uri, fmt, str(write.mode), dict(getattr(write, "options", None) or {}))
