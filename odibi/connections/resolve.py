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


def read_spec(project, read, redirect=None):
    """The resolved :class:`~odibi.engines.base.ReadSpec` of a node's ``read`` block (no schema yet)."""
    from odibi.config.semantics import infer_format
    from odibi.engines.base import ReadSpec
    from odibi.errors import NodeExecutionError

    conn = project.config.connections[read.connection]
    if read.path is None:
        raise NodeExecutionError("reading tables and queries needs a SQL connection, not supported yet")
    fmt = read.format or infer_format(read.path)
    uri = resolve_path(conn, read.path, project.root)
    if redirect is not None:
        uri = redirect(uri, "read")
    return ReadSpec(uri, str(fmt), dict(read.options))
