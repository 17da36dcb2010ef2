"""What a story needs from a node while the engine still holds its data: a sample, the read's columns,
and (``detailed``) a count of nodes that were never counted.

Sampling must cost little next to the node itself. A node that is a view over an expensive query (an
aggregate it just wrote, say) would be computed again by ``LIMIT n``; when the node wrote a local file
in ``overwrite`` mode, its sample is read back from that file instead (the first rows of a Parquet
file are one row group; of a CSV, one buffer). Everything here is best-effort: a sample that cannot be
taken becomes a note on the node, never a failure of it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
import time
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from odibi.engines.base import Capability, ReadSpec

if TYPE_CHECKING:
    from odibi.compile.node import CompiledNode
    from odibi.engines.base import WriteSpec
    from odibi.run.node_exec import RunContext
    from odibi.run.runner import NodeResult

MAX_TEXT = 500  # characters of one sampled value kept in a story
_READ_BACK = ("parquet", "csv", "json", "delta")


@dataclass(frozen=True)
class StorySettings:
    """How much a run's story records (``story:`` block; None on runs that keep no story)."""

    verbosity: str = "normal"  # minimal | normal | detailed
    max_sample_rows: int = 10

    @property
    def samples(self) -> bool:
        return self.verbosity != "minimal" and self.max_sample_rows > 0


def capture(
    ctx: RunContext, node: CompiledNode, result: NodeResult, *, materialized: bool, written: WriteSpec | None
) -> None:
    """Fill ``result``'s story facts after the node succeeded (never raises)."""
    settings = ctx.story
    if settings is None:
        return
    started = time.perf_counter()
    try:
        _capture(ctx, settings, node, result, materialized, written)
    finally:
        with ctx.lock:
            ctx.story_s += time.perf_counter() - started


def _capture(ctx, settings: StorySettings, node, result, materialized: bool, written) -> None:
    engine = ctx.engine
    try:
        has_steps = node.query is not None or node.deferred
        if settings.verbosity != "minimal" and node.config.read is not None and has_steps:
            result.source_columns = dict(engine.columns(node.read_relation))
    except Exception as exc:
        result.notes.append(f"story: input columns unavailable ({_first_line(exc)})")
    if settings.samples and node.config.sensitive is not True:
        try:
            _sample(ctx, node, result, settings, materialized, written, has_steps)
        except Exception as exc:
            result.notes.append(f"story: no sample ({_first_line(exc)})")
    if settings.verbosity == "detailed" and result.rows is None:
        try:
            result.rows = engine.count(node.name)
        except Exception as exc:
            result.notes.append(f"story: not counted ({_first_line(exc)})")


def _sample(ctx, node, result, settings: StorySettings, materialized: bool, written, has_steps: bool) -> None:
    """The node's first rows: from the file it just wrote, or the local Parquet file it only reads
    (read here, in Python: no engine query), else ``LIMIT n`` on its relation. An engine whose data is
    not in this process (Spark: each sample is a job, ~50-250 ms) samples relations at ``detailed``."""
    engine, n = ctx.engine, settings.max_sample_rows
    rows, source = None, "output"
    back = _read_back_spec(written, result)
    if back is not None:
        rows = _file_head(back, n)
    if rows is None and not has_steps:
        rows, source = _source_head(ctx, node, n), "relation"
    if rows is None and back is not None and back.format == "delta" and not materialized:
        relation = f"{node.name}__odibi_story"
        engine.register_read(relation, back)
        rows, source = engine.sample(relation, n), "output"
    if rows is None:
        if Capability.LOCAL_PANDAS not in engine.capabilities and settings.verbosity != "detailed":
            with ctx.lock:
                ctx.story_unsampled.append(node.name)
            return
        rows, source = engine.sample(node.name, n), "relation"
        if result.rows is None and len(rows) < n:
            result.rows = len(rows)  # the whole relation fit in the sample: its count is known
    columns = list(result.columns) or (list(rows[0]) if rows else [])
    result.sample = {
        "columns": columns,
        "rows": [[jsonable(row.get(c)) for c in columns] for row in rows],
        "source": source,
    }


def _read_back_spec(written: WriteSpec | None, result: NodeResult) -> ReadSpec | None:
    """The output the node just wrote, when reading its first rows back is cheap and shows the node's
    own rows: a local, unpartitioned overwrite in a format engines read natively."""
    if written is None or result.written is None or written.mode != "overwrite":
        return None
    if written.partition_by or written.format not in _READ_BACK:
        return None
    if written.connection is not None and written.connection.remote:
        return None
    from odibi.formats.specs import read_back_options

    spec = ReadSpec(written.uri, written.format, read_back_options(written))
    if written.format == "csv":  # the types it was written with: no sniffing of the file
        spec = replace(spec, schema=dict(result.columns) if result.columns else None)
        header = {str(k).lower(): v for k, v in spec.options.items()}.get("header", True)
        if spec.schema is None or header in (False, "false", 0):
            return None
    return spec


def _file_head(spec: ReadSpec, n: int) -> list[dict[str, Any]] | None:
    """The first ``n`` rows of a local file odibi wrote, read in Python; None when that is not cheap
    or not faithful (Delta, a JSON array, a folder)."""
    if not os.path.isfile(spec.uri):
        return None
    if spec.format == "csv":
        return _csv_head(spec, n)
    if spec.format == "parquet":
        return _parquet_head(spec.uri, n)
    if spec.format == "json":
        return _json_lines_head(spec.uri, n)
    return None


def _source_head(ctx, node, n: int) -> list[dict[str, Any]] | None:
    """The first rows of a node that only reads one local Parquet file (no steps, no options)."""
    read = node.config.read
    if read is None or read.path is None or read.options or read.incremental is not None:
        return None
    from odibi.connections.resolve import read_spec

    spec = read_spec(ctx.project, read, ctx.redirect, ctx.conns)
    if spec.format != "parquet" or (spec.connection is not None and spec.connection.remote):
        return None
    return _parquet_head(spec.uri, n) if os.path.isfile(spec.uri) else None


def _parquet_head(path: str, n: int) -> list[dict[str, Any]] | None:
    """Through DuckDB as Python values when this process has DuckDB loaded and not pyarrow (a DuckDB run
    never imports pyarrow or pandas: ~0.4 s of a cold process); else through pyarrow."""
    import sys

    if "duckdb" in sys.modules and "pyarrow" not in sys.modules:
        import duckdb

        with duckdb.connect() as con:
            # no bound parameters: binding them makes DuckDB import pandas and pyarrow
            quoted = "'" + path.replace("'", "''") + "'"
            cursor = con.execute(f"SELECT * FROM read_parquet({quoted}) LIMIT {int(n)}")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as handle:
        if handle.metadata.num_rows == 0:
            return []
        batch = next(handle.iter_batches(batch_size=n), None)
    return [] if batch is None else batch.to_pylist()[:n]


def _json_lines_head(path: str, n: int) -> list[dict[str, Any]] | None:
    import json

    out: list[dict[str, Any]] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            text = line.strip()
            if not text:
                continue
            if not out and text.startswith("["):
                return None  # a JSON array: the engine reads it
            value = json.loads(text)
            if not isinstance(value, dict):
                return None
            out.append(value)
            if len(out) >= n:
                break
    return out


def _csv_head(spec: ReadSpec, n: int) -> list[dict[str, Any]]:
    """The first ``n`` rows of a CSV file odibi wrote (header line first), typed by the schema it was
    written with: an engine's reader would parse (DuckDB: load) far more of the file than ``n`` rows."""
    import csv

    opts = {str(k).lower(): v for k, v in spec.options.items()}
    sep = str(opts.get("sep") or opts.get("delimiter") or opts.get("delim") or ",")
    quote = str(opts.get("quote") or '"')
    schema = spec.schema or {}
    out: list[dict[str, Any]] = []
    with open(spec.uri, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=sep, quotechar=quote)
        header = next(reader, None)
        if header is None:
            return out
        for record in reader:
            if len(out) >= n:
                break
            out.append({c: _typed(v, schema.get(c)) for c, v in zip(header, record, strict=False)})
    return out


def _typed(text: str, logical: str | None) -> Any:
    if text == "":
        return None
    try:
        if logical in ("int", "integer"):
            return int(text)
        if logical == "float":
            return float(text)
        if logical in ("bool", "boolean"):
            return {"true": True, "false": False}.get(text.lower(), text)
    except ValueError:
        return text
    return text


def jsonable(value: Any) -> Any:
    """A sampled value as a JSON value: text, a number, a boolean, null, or a list / object of them."""
    if value is None or isinstance(value, bool | int | str):
        return value[:MAX_TEXT] + "…" if isinstance(value, str) and len(value) > MAX_TEXT else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return "0x" + raw[:32].hex() + ("…" if len(raw) > 32 else "")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy values and arrays
        return jsonable(value.tolist())
    if hasattr(value, "asDict"):  # Spark Row
        return jsonable(value.asDict(recursive=True))
    text = str(value)
    return text[:MAX_TEXT] + "…" if len(text) > MAX_TEXT else text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]
