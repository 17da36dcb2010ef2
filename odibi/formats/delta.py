"""Delta Lake tables for the engines that work on Arrow in this process (DuckDB, pandas), via delta-rs.

A Delta table commits through its own transaction log (``_delta_log``): a write is visible once its log
entry lands, so odibi does not stage it; the target's write lock still serialises odibi's writers.
Reads may travel in time (``versionAsOf`` / ``version``, ``timestampAsOf`` / ``timestamp``). Writes take
overwrite, append, error, ignore, upsert and append_once (Delta's own MERGE on ``keys``), ``partition_by``
and ``merge_schema`` (schema evolution when asked).

Tables live on local connections or on object stores (azure_adls, s3, gcs). On a store, delta-rs talks
to it directly (no local copy: time travel needs the log): the connection gives the URI
(:meth:`~odibi.connections.object_store.ObjectStore.delta_uri`, checked against its root) and delta-rs's
``storage_options`` (credentials, held in memory for the call and masked in every message). Each commit
is one conditional create of the next log entry (``If-None-Match: *``), which Azure Blob, GCS and S3
(since 2024) honour, so concurrent writers of one table cannot overwrite each other's commit; a store
that ignores conditional writes (some older S3-compatible servers) does not give that guarantee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odibi import secrets
from odibi.connections.base import PathRuleError
from odibi.errors import EngineError, NodeExecutionError
from odibi.formats.options import OptionError, normalise, normalise_write

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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


@dataclass(frozen=True)
class Table:
    """Where delta-rs finds a table: its URI, and for a store its connection and ``storage_options``."""

    uri: str
    conn: Any = None
    storage: dict[str, str] | None = None

    def delta_table(self, **kwargs: Any) -> Any:
        return _deltalake().DeltaTable(self.uri, storage_options=self.storage, **kwargs)


def locate(uri: str, conn: Any = None) -> Table:
    """The table at ``uri`` (a spec's location) as delta-rs addresses it: a store's URI must lie under
    its connection's root; the store's secrets are registered for masking before delta-rs gets them."""
    if conn is None or not conn.remote:
        return Table(uri)
    delta_options = getattr(conn, "delta_storage_options", None)
    if delta_options is None:
        raise NodeExecutionError(
            f"format delta on connection '{conn.name}' ({conn.type}) is not supported",
            hint="delta tables work on local, azure_adls, s3 and gcs connections",
        )
    try:
        table_uri = conn.delta_uri(uri)
    except PathRuleError as exc:
        raise NodeExecutionError(exc.message, hint=exc.hint) from None
    storage = delta_options()
    for key, value in storage.items():
        if secrets.is_secret_name(key):
            secrets.register(value)
    return Table(table_uri, conn, storage)


def _reason(exc: Exception) -> str:
    """delta-rs's multi-line error as one line: what failed, plus the HTTP status and the store's code."""
    text = _ANSI.sub("", str(exc))
    lines = [line.strip().lstrip("↳").strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return type(exc).__name__
    first = lines[0].removeprefix("Kernel error -> ")
    extra = [line for line in lines[1:] if re.fullmatch(r"\d{3} [A-Za-z ]+", line)][:1]
    code = re.search(r"<Code>([^<]+)</Code>", text)
    if code:
        extra.append(code.group(1))
    return first + (f" ({', '.join(extra)})" if extra else "")


def _failure(what: str, table: Table, exc: Exception) -> NodeExecutionError:
    hint = None
    if table.conn is not None and "Error performing" in str(exc):  # the store answered badly, or not
        hint = "check the connection's credentials, endpoint and network (odibi doctor)"
    return NodeExecutionError(
        secrets.mask(f"cannot {what} delta table {table.uri}: {_reason(exc)}"), hint=hint
    )


def _check_files(table: Table, dt: Any) -> None:
    """Every data file of the version read lies under the connection's root. A log may name files by
    absolute URI (shallow clones); the connection's credentials must not fetch what lies outside it."""
    if table.conn is None:
        return
    for uri in dt.file_uris():
        try:
            table.conn.key(uri)
        except PathRuleError as exc:
            raise NodeExecutionError(
                f"delta table {table.uri} names a data file outside connection '{table.conn.name}': "
                f"{exc.message}",
                hint="odibi reads only tables whose files lie under the connection's root",
            ) from None


def read_table(spec: Any) -> Any:
    """The table at ``spec`` (a ReadSpec) as a pyarrow Table, at the version or time asked for."""
    _deltalake()
    opts = _options(spec.options, "read")
    table = locate(spec.uri, spec.connection)
    try:
        dt = table.delta_table(version=int(opts["version"]) if "version" in opts else None)
        if "timestamp" in opts:
            dt.load_as_version(str(opts["timestamp"]))
    except Exception as exc:
        raise _failure("read", table, exc) from None
    _check_files(table, dt)
    try:
        return dt.to_pyarrow_table()
    except Exception as exc:
        raise _failure("read", table, exc) from None


def _null_safe_match(keys: list[str]) -> str:
    return " AND ".join(f"(t.`{k}` = s.`{k}` OR (t.`{k}` IS NULL AND s.`{k}` IS NULL))" for k in keys)


def _check_target(spec: Any, table: Table, exists: bool) -> None:
    """A write may replace a Delta table or odibi's own output, never a folder / prefix of other data."""
    if table.conn is None:
        from odibi.connections.local import check_target

        check_target(Path(spec.uri), spec.mode)
    elif not exists:
        table.conn.check_delta_target(spec.uri, spec.mode)


def write_table(data: Any, spec: Any) -> tuple[int, int]:
    """Write ``data`` (a pyarrow Table) to the Delta table at ``spec`` (a WriteSpec); (rows, version)."""
    deltalake = _deltalake()
    opts = _options(spec.options, "write")
    table = locate(spec.uri, spec.connection)
    exists = _exists(table)
    _check_target(spec, table, exists)
    mode = spec.mode
    if mode == "error" and exists:
        raise NodeExecutionError(
            f"output already exists: {spec.uri}",
            hint="mode: error refuses to replace it; use overwrite or append",
        )
    try:
        if mode == "ignore" and exists:
            return 0, table.delta_table().version()
        _write(deltalake, data, spec, table, exists, bool(opts.get("merge_schema")))
        return data.num_rows, table.delta_table().version()
    except Exception as exc:
        if table.conn is None:
            raise
        raise _failure("write", table, exc) from None


def _write(deltalake: Any, data: Any, spec: Any, table: Table, exists: bool, merge_schema: bool) -> None:
    mode = spec.mode
    if mode in ("upsert", "append_once") and exists:
        merger = table.delta_table().merge(
            data,
            predicate=_null_safe_match(list(spec.keys)),
            source_alias="s",
            target_alias="t",
            merge_schema=merge_schema,
        )
        if mode == "upsert":
            merger = merger.when_matched_update_all()
        merger.when_not_matched_insert_all().execute()
        return
    write_mode = "append" if mode in ("append", "upsert", "append_once") else "overwrite"
    if mode == "error":
        write_mode = "error"  # a table that appeared since the check is refused by delta-rs itself
    kwargs: dict[str, Any] = {"mode": write_mode, "partition_by": list(spec.partition_by) or None}
    if merge_schema:
        kwargs["schema_mode"] = "merge"
    elif write_mode == "overwrite":
        kwargs["schema_mode"] = "overwrite"  # overwrite replaces the table, columns included
    deltalake.write_deltalake(table.uri, data, storage_options=table.storage, **kwargs)


def _exists(table: Table) -> bool:
    """Whether a Delta table is there; a store that cannot be asked is an error, not "no table"."""
    from deltalake.exceptions import TableNotFoundError

    try:
        table.delta_table()
        return True
    except TableNotFoundError:
        return False
    except Exception as exc:
        if table.conn is None:
            return False
        raise _failure("read", table, exc) from None


def spark_target(spec: Any) -> tuple[str, bool]:
    """Where Spark writes ``spec``'s Delta table, and whether one is there: a local path, or the store's
    URI as Spark's connectors name it (``abfss://``, ``s3a://``, ``gs://``), checked like delta-rs writes."""
    conn = spec.connection
    if conn is None or not conn.remote:
        from odibi.connections.local import check_target

        check_target(Path(spec.uri), spec.mode)
        return spec.uri, Path(spec.uri, "_delta_log").is_dir()
    try:
        location = conn.spark_uri(spec.uri)
    except PathRuleError as exc:
        raise NodeExecutionError(exc.message, hint=exc.hint) from None
    exists = conn.is_delta_table(spec.uri)
    if not exists:
        conn.check_delta_target(spec.uri, spec.mode)
    return location, exists


def version(uri: str, connection: Any = None) -> int | None:
    """The current version of the table at ``uri`` (None when it cannot be read)."""
    try:
        return int(locate(uri, connection).delta_table().version())
    except Exception:
        return None
