"""Delta Lake tables for the engines that work on Arrow in this process (DuckDB, pandas), via delta-rs.

A Delta table commits through its own transaction log (``_delta_log``): a write is visible once its log
entry lands, so odibi does not stage it; the target's write lock still serialises odibi's writers.
Reads may travel in time (``versionAsOf`` / ``version``, ``timestampAsOf`` / ``timestamp``). Writes take
overwrite, append, error, ignore, upsert and append_once (Delta's own MERGE on ``keys``), ``partition_by``
and ``merge_schema`` (schema evolution when asked).
"""

from __future__ import annotations

from typing import Any

from odibi.errors import EngineError, NodeExecutionError
from odibi.formats.options import OptionError, normalise, normalise_write


def _deltalake() -> Any:
    try:
        import deltalake
    except ImportError:
        raise EngineError(
            "format delta needs the Python package 'deltalake', which is not installed",
            hint='pip install "odibi[delta]"',
        ) from None
    return deltalake


def _options(options: dict[str, Any], what: str) -> dict[str, Any]:
    try:
        return normalise_write("delta", options) if what == "write" else normalise("delta", options)
    except OptionError as exc:
        raise NodeExecutionError(str(exc)) from None


def check_local(spec: Any) -> None:
    """Delta tables are read and written on local connections in this version."""
    conn = getattr(spec, "connection", None)
    if conn is not None and conn.remote:
        raise NodeExecutionError(
            f"format delta on connection '{conn.name}' ({conn.type}) is not supported yet",
            hint="delta tables work on local and local_dbfs connections for now; see PHASES.md",
        )


def read_table(spec: Any) -> Any:
    """The table at ``spec`` (a ReadSpec) as a pyarrow Table, at the version or time asked for."""
    check_local(spec)
    deltalake = _deltalake()
    opts = _options(spec.options, "read")
    try:
        table = deltalake.DeltaTable(spec.uri, version=int(opts["version"]) if "version" in opts else None)
        if "timestamp" in opts:
            table.load_as_version(str(opts["timestamp"]))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NodeExecutionError(f"cannot read delta table {spec.uri}: {first}") from None
    return table.to_pyarrow_table()


def _null_safe_match(keys: list[str]) -> str:
    return " AND ".join(f"(t.`{k}` = s.`{k}` OR (t.`{k}` IS NULL AND s.`{k}` IS NULL))" for k in keys)


def write_table(data: Any, spec: Any) -> tuple[int, int]:
    """Write ``data`` (a pyarrow Table) to the Delta table at ``spec`` (a WriteSpec); (rows, version)."""
    check_local(spec)
    from pathlib import Path

    from odibi.connections.local import check_target

    check_target(Path(spec.uri), spec.mode)  # a folder that is not a Delta table (or odibi's) is refused
    deltalake = _deltalake()
    opts = _options(spec.options, "write")
    merge_schema = bool(opts.get("merge_schema"))
    exists = _exists(deltalake, spec.uri)
    mode = spec.mode
    if mode == "error" and exists:
        raise NodeExecutionError(
            f"output already exists: {spec.uri}",
            hint="mode: error refuses to replace it; use overwrite or append",
        )
    if mode == "ignore" and exists:
        return 0, deltalake.DeltaTable(spec.uri).version()
    partition_by = list(spec.partition_by) or None
    if mode in ("upsert", "append_once") and exists:
        keys = list(spec.keys)
        table = deltalake.DeltaTable(spec.uri)
        merger = table.merge(
            data,
            predicate=_null_safe_match(keys),
            source_alias="s",
            target_alias="t",
            merge_schema=merge_schema,
        )
        if mode == "upsert":
            merger = merger.when_matched_update_all()
        merger.when_not_matched_insert_all().execute()
        return data.num_rows, deltalake.DeltaTable(spec.uri).version()
    write_mode = "append" if mode in ("append", "upsert", "append_once") else "overwrite"
    kwargs: dict[str, Any] = {"mode": write_mode, "partition_by": partition_by}
    if merge_schema:
        kwargs["schema_mode"] = "merge"
    elif write_mode == "overwrite":
        kwargs["schema_mode"] = "overwrite"  # overwrite replaces the table, columns included
    deltalake.write_deltalake(spec.uri, data, **kwargs)
    return data.num_rows, deltalake.DeltaTable(spec.uri).version()


def _exists(deltalake: Any, uri: str) -> bool:
    try:
        deltalake.DeltaTable(uri)
        return True
    except Exception:
        return False


def version(uri: str) -> int | None:
    """The current version of the table at ``uri`` (None when it cannot be read)."""
    try:
        return int(_deltalake().DeltaTable(uri).version())
    except Exception:
        return None
