"""The pandas engine: nodes are pandas DataFrames; relational work runs in an in-process DuckDB over Arrow.

Reads and writes use pandas (``read_csv`` / ``read_parquet`` / ``read_json``; ``to_csv`` / ``to_parquet``;
JSON lines are written record by record so floats keep every digit). Each relation is kept as a DataFrame
plus the Arrow table DuckDB scans (zero-copy ``con.register``), so SQL sees exactly the types it produced.

Where pandas and DuckDB differ by nature, odibi decides once and this engine follows the DuckDB engine:

- CSV type inference: values are read as text and typed with DuckDB's sniffer rules (``true``/``false``/
  ``t``/``f`` → bool, integers without leading zeros → int, numbers → float, ``HH:MM:SS`` → time,
  ``YYYY-MM-DD`` → date, ISO timestamps → timestamp, everything else string; only empty fields are NULL).
- Integers and booleans with NULLs stay integers and booleans (pandas nullable ``Int64`` / ``boolean``),
  dates are ``datetime.date`` objects, decimals keep precision (``ArrowDtype(decimal128)``), timestamps are
  ``datetime64[us]``. DuckDB's HUGEINT (integer SUM) is narrowed to BIGINT, as on the DuckDB engine.
- Written text (CSV, JSON) spells booleans, dates and timestamps the way DuckDB does.
"""

from __future__ import annotations

import datetime as _dt
import glob as _glob
import gzip
import json
import os
import re
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from odibi.connections.staging import mark_output, stage
from odibi.engines.arrow_frames import to_arrow, to_pandas
from odibi.engines.base import Capability, ReadSpec, WriteSpec
from odibi.engines.duckdb_copy import copy_options
from odibi.engines.duckdb_sql import narrow_hugeint as _narrow_hugeint
from odibi.engines.duckdb_sql import quote_ident, relation_fingerprint
from odibi.errors import NodeExecutionError
from odibi.formats import delta, hive, malformed
from odibi.formats.csv_infer import sniff_schema
from odibi.formats.duckdb_read import csv_rejects, literal
from odibi.formats.options import OptionError, normalise
from odibi.formats.specs import read_back_options as _read_back_options
from odibi.run.locks import private_tempdir, release_dir

# canonical option → pandas parameter (options handled specially map to None)
_CSV_READ = {
    "header": "header", "delimiter": "sep", "quote": "quotechar", "escape": "escapechar",
    "null_value": "na_values", "encoding": "encoding", "skip_rows": "skiprows", "names": "names",
    "comment": "comment", "compression": "compression",
    "types": None, "infer_schema": None, "date_format": None, "timestamp_format": None, "on_bad_lines": None,
}  # fmt: skip
_CSV_WRITE = {
    "header": "header", "delimiter": "sep", "quote": "quotechar", "escape": "escapechar",
    "null_value": "na_rep", "compression": "compression", "date_format": None, "timestamp_format": None,
}  # fmt: skip
_PARQUET_READ = {"hive_partitioning": None, "union_by_name": None}
_PARQUET_WRITE = {"compression": "compression"}
_JSON_READ = {"compression": "compression", "date_format": None, "timestamp_format": None, "lines": None}
_JSON_WRITE = {"compression": None, "date_format": None, "timestamp_format": None}

_INT = re.compile(r"[+-]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")
_TSTZ = re.compile(_TS.pattern + r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)")
# DuckDB's JSON reader wants one timestamp format for the whole column: seconds, fractions all or none
_JSON_TS = (
    re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"),
    re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+"),
    re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"),
    re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+"),
)
_BOOLS = {"true": True, "false": False, "t": True, "f": False}

# type names users give in `types` / `dtype` (pandas or DuckDB spelling) → odibi's conversion
_TYPE_NAMES = {
    "str": "string", "string": "string", "object": "string", "varchar": "string", "text": "string",
    "int": "int64", "int64": "int64", "bigint": "int64", "long": "int64", "int32": "int32",
    "integer": "int32", "smallint": "int16", "int16": "int16", "float": "float64", "float64": "float64",
    "double": "float64", "float32": "float32", "real": "float32", "bool": "bool", "boolean": "bool",
    "date": "date", "timestamp": "timestamp", "datetime": "timestamp", "datetime64[ns]": "timestamp",
    "datetime64[us]": "timestamp", "time": "time",
}  # fmt: skip


# logical types from ReadSpec.schema that map to exactly one pandas conversion
_DECIDED = {"int": "int64", "float": "float64", "string": "string", "bool": "bool", "date": "date"}


def _canon(fmt: str, options: dict[str, Any], table: dict[str, str | None]) -> dict[str, Any]:
    """Options under canonical names; an option this engine cannot honour raises naming it."""
    try:
        canon = normalise(fmt, options)
    except OptionError as exc:
        raise NodeExecutionError(str(exc)) from None
    for key in canon:
        if key not in table:
            raise NodeExecutionError(f"{fmt} option '{key}' is not supported by the pandas engine")
    return canon


def _compression(value: Any) -> Any:
    text = str(value).lower()
    if text in ("auto", "infer"):
        return "infer"
    if text in ("none", "uncompressed", ""):
        return None
    return text


def csv_read_params(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """pandas ``read_csv`` keyword arguments for canonical-or-alias ``options``, plus the typing options."""
    canon = _canon("csv", options, _CSV_READ)
    kwargs: dict[str, Any] = {"header": 0, "dtype": str, "keep_default_na": False, "na_values": [""]}
    typing: dict[str, Any] = {}
    for key, value in canon.items():
        target = _CSV_READ[key]
        if target is None:
            typing[key] = value
        elif key == "header":
            kwargs["header"] = 0 if value else None
        elif key == "null_value":
            kwargs["na_values"] = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
        elif key == "escape":
            if value and value != canon.get("quote", '"'):
                kwargs["escapechar"] = value
        elif key == "compression":
            kwargs["compression"] = _compression(value)
        elif key == "names":
            kwargs["names"] = list(value)
        else:
            kwargs[target] = value
    if "names" in kwargs and kwargs["header"] is None:
        kwargs["header"] = None
    return kwargs, typing


def csv_write_params(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """pandas ``to_csv`` keyword arguments, plus the formatting options."""
    canon = _canon("csv", options, _CSV_WRITE)
    kwargs: dict[str, Any] = {"index": False, "header": True}
    formats: dict[str, Any] = {}
    for key, value in canon.items():
        target = _CSV_WRITE[key]
        if target is None:
            formats[key] = value
        elif key == "escape":
            if value and value != canon.get("quote", '"'):
                kwargs["escapechar"] = value
                kwargs["doublequote"] = False
        elif key == "compression":
            kwargs["compression"] = _compression(value)
        else:
            kwargs[target] = value
    return kwargs, formats


# -- typing --------------------------------------------------------------------------------------


def _all(values: pd.Series, pattern: re.Pattern) -> bool:
    return bool(values.str.fullmatch(pattern.pattern).all())


def _to_dates(col: pd.Series, fmt: str | None) -> pd.Series | None:
    parsed = pd.to_datetime(col, format=fmt or "%Y-%m-%d", errors="coerce")
    if (parsed.isna() & col.notna()).any():
        return None
    return pd.Series([None if pd.isna(v) else v.date() for v in parsed], index=col.index, dtype=object)


def _to_timestamps(col: pd.Series, fmt: str | None, utc: bool = False) -> pd.Series | None:
    parsed = pd.to_datetime(col, format=fmt or "ISO8601", errors="coerce", utc=utc)
    if (parsed.isna() & col.notna()).any():
        return None
    return parsed.astype("datetime64[us, UTC]" if utc else "datetime64[us]")


def _to_times(col: pd.Series) -> pd.Series:
    return pd.Series(
        [None if pd.isna(v) else _dt.time.fromisoformat(v) for v in col], index=col.index, dtype=object
    )


def _to_ints(col: pd.Series, dtype: str = "Int64") -> pd.Series:
    return pd.Series(pd.array([None if pd.isna(v) else int(v) for v in col], dtype=dtype), index=col.index)


def infer_column(col: pd.Series, typing: dict[str, Any], *, numbers: bool = True) -> pd.Series:
    """Type a column of text the way DuckDB's sniffer does (see the module docstring)."""
    values = col.dropna()
    if values.empty:
        return col
    if numbers:
        if values.str.lower().isin(list(_BOOLS)).all():
            return pd.Series(
                pd.array([None if pd.isna(v) else _BOOLS[v.lower()] for v in col], dtype="boolean"),
                index=col.index,
            )
        if _all(values, _INT):
            ints = [int(v) for v in values]
            if all(-(2**63) <= v < 2**63 for v in ints):
                return _to_ints(col)
            return pd.to_numeric(col).astype("float64")
        if _all(values, _FLOAT):
            return pd.to_numeric(col).astype("float64")
    if typing.get("date_format"):
        got = _to_dates(col, typing["date_format"])
        if got is not None:
            return got
    if typing.get("timestamp_format"):
        got = _to_timestamps(col, typing["timestamp_format"])
        if got is not None:
            return got
    if not numbers:  # JSON strings: dates and single-format timestamps only
        if _all(values, _DATE):
            got = _to_dates(col, None)
            return col if got is None else got
        if any(_all(values, pattern) for pattern in _JSON_TS):
            got = _to_timestamps(col, None)
            return col if got is None else got
        return col
    if _all(values, _TIME):
        return _to_times(col)
    if _all(values, _DATE):
        got = _to_dates(col, None)
        if got is not None:
            return got
    if _all(values, _TS):
        got = _to_timestamps(col, None)
        if got is not None:
            return got
    if _all(values, _TSTZ):
        got = _to_timestamps(col, None, utc=True)
        if got is not None:
            return got
    return col


def convert_column(col: pd.Series, type_name: Any, typing: dict[str, Any]) -> pd.Series:
    """Convert a text column to a type named by the user (pandas or DuckDB spelling)."""
    name = str(type_name).strip().lower()
    kind = _TYPE_NAMES.get(name)
    dec = re.fullmatch(r"(decimal|numeric)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", name)
    if dec:
        arr = pa.array([None if pd.isna(v) else v for v in col], pa.string())
        typ = pa.decimal128(int(dec.group(2)), int(dec.group(3)))
        return pd.Series(arr.cast(typ), index=col.index, dtype=pd.ArrowDtype(typ))
    if kind is None:
        raise NodeExecutionError(f"csv option 'types': unknown type '{type_name}' for the pandas engine")
    if kind == "string":
        return col
    try:
        if kind in ("int64", "int32", "int16"):
            return _to_ints(col, kind.capitalize())
        if kind in ("float64", "float32"):
            return pd.to_numeric(col).astype(kind)
        if kind == "bool":
            return pd.Series(
                pd.array([None if pd.isna(v) else _BOOLS[v.strip().lower()] for v in col], dtype="boolean"),
                index=col.index,
            )
        if kind == "time":
            return _to_times(col)
        got = (
            _to_dates(col, typing.get("date_format"))
            if kind == "date"
            else _to_timestamps(col, typing.get("timestamp_format"))
        )
        if got is None:
            raise ValueError(f"cannot parse values as {kind}")
        return got
    except (ValueError, KeyError, TypeError) as exc:
        raise NodeExecutionError(f"csv option 'types': cannot convert to {type_name}: {exc}") from None


def logical_type(typ: pa.DataType) -> str:
    """Arrow type (what DuckDB sees) → odibi logical type."""
    if pa.types.is_integer(typ) or pa.types.is_null(typ):  # DuckDB types a bare NULL as INTEGER
        return "int"
    if pa.types.is_floating(typ):
        return "float"
    if pa.types.is_decimal(typ):
        return "decimal"
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return "string"
    if pa.types.is_boolean(typ):
        return "bool"
    if pa.types.is_date(typ):
        return "date"
    if pa.types.is_timestamp(typ):
        return "timestamp"
    if pa.types.is_time(typ):
        return "time"
    return str(typ)


def pandas_logical_type(series: pd.Series) -> str:
    """pandas dtype → odibi logical type (object columns by their values)."""
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return logical_type(dtype.pyarrow_dtype)
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "string"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    return {
        "string": "string", "date": "date", "datetime": "timestamp", "datetime64": "timestamp",
        "decimal": "decimal", "boolean": "bool", "integer": "int", "floating": "float",
        "mixed-integer-float": "float", "time": "time", "empty": "int",
    }.get(inferred, "string")  # fmt: skip


# -- text output in DuckDB's spelling ------------------------------------------------------------


def _format_timestamp(value: Any) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    if value.tzinfo is not None:
        offset = value.utcoffset()
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        hh, mm = divmod(abs(minutes), 60)
        text += f"{sign}{hh:02d}" + (f":{mm:02d}" if mm else "")
    return text


def _text_frame(frame: pd.DataFrame, formats: dict[str, Any], *, for_json: bool = False) -> pd.DataFrame:
    """A copy with booleans, dates, times and timestamps as DuckDB writes them (NULLs kept)."""
    out = frame.copy()
    date_fmt, ts_fmt = formats.get("date_format"), formats.get("timestamp_format")
    for name in out.columns:
        col = out[name]
        kind = pandas_logical_type(col)
        if kind == "bool" and not for_json:
            out[name] = pd.Series(
                [None if pd.isna(v) else ("true" if v else "false") for v in col],
                index=col.index,
                dtype=object,
            )
        elif kind == "date":
            out[name] = pd.Series(
                [None if pd.isna(v) else v.strftime(date_fmt or "%Y-%m-%d") for v in col],
                index=col.index,
                dtype=object,
            )
        elif kind == "timestamp":
            out[name] = pd.Series(
                [
                    None if pd.isna(v) else (v.strftime(ts_fmt) if ts_fmt else _format_timestamp(v))
                    for v in col
                ],
                index=col.index,
                dtype=object,
            )
        elif kind == "time":
            out[name] = pd.Series(
                [None if pd.isna(v) else v.isoformat() for v in col], index=col.index, dtype=object
            )
    return out


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalar
        return value.item()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if hasattr(value, "tolist"):
        return [_json_value(v) for v in value.tolist()]
    if type(value).__name__ == "Decimal":
        return float(value)
    return value


def _expand(uri: str) -> list[str]:
    if any(ch in uri for ch in "*?["):
        paths = sorted(_glob.glob(uri, recursive=True))
        if not paths:
            raise NodeExecutionError(f"no files match {uri}")
        return paths
    return [uri]


def _with_partitions(frame: pd.DataFrame, spec: ReadSpec, paths: list[str], rows: list[int]) -> pd.DataFrame:
    """``frame`` (the rows of the hive folder's ``paths``, ``rows`` from each) with the partition columns
    the folder names give, as text, in the column order DuckDB reads (``spec.schema``)."""
    values = [hive.partition_values(spec.uri, p) for p in paths]
    for name in dict.fromkeys(k for v in values for k in v):
        column = [v.get(name) for v, n in zip(values, rows, strict=True) for _ in range(n)]
        frame[name] = pd.Series(column, index=frame.index, dtype=object)
    order = [c for c in spec.schema or {} if c in frame.columns]
    return frame[order] if len(order) == len(frame.columns) else frame


def read_csv_file(con: Any, path: str, kwargs: dict[str, Any], options: dict[str, Any], skip: bool):
    """One CSV file with pandas, malformed rows refused or skipped as on every engine: (frame, skipped).

    pandas fills a row with too few fields with NULLs without a word, so DuckDB's strict reader scans the
    file first (``con`` is the engine's in-process DuckDB): it finds every malformed row with its line,
    which pandas then skips (``skiprows`` counts lines as DuckDB does: records, blank lines included).
    pandas' own ``on_bad_lines`` catches what that scan could not see.
    """
    scan = csv_rejects(con, path, options, malformed.header_width(path, options))
    found, skipped = scan if scan is not None else ([], 0)
    fatal = next((bad for bad in found if bad.kind in ("quote", "encoding")), None)
    if found and (not skip or fatal is not None):
        raise malformed.error(found[0] if not skip else fatal)
    kwargs = {**kwargs, "on_bad_lines": "warn" if skip else "error"}
    if found:
        first = int(kwargs.get("skiprows") or 0)
        kwargs["skiprows"] = set(range(first)) | {bad.line - 1 for bad in found if bad.line}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise NodeExecutionError(
            f"file is empty: {path}", hint="a csv file needs at least a header line"
        ) from None
    except pd.errors.ParserError as exc:
        text = malformed.first_line(str(exc)).split("C error: ")[-1]
        line = re.search(r"line (\d+)", text)
        row = re.search(r"row (\d+)", text)  # "EOF inside string starting at row N": N counts from 0
        number = int(line.group(1)) if line else (int(row.group(1)) + 1 if row else None)
        raise malformed.error(malformed.BadLine(path, number, text, kind=malformed.kind_of(text))) from None
    except UnicodeDecodeError as exc:
        raise malformed.error(malformed.BadLine(path, None, str(exc), kind="encoding")) from None
    for warning in caught:
        if issubclass(warning.category, pd.errors.ParserWarning):
            skipped += str(warning.message).count("Skipping line")
    return frame, skipped


class PandasEngine:
    """Runs nodes as pandas DataFrames; SQL steps run in an in-process DuckDB over Arrow."""

    name = "pandas"
    dialect = "duckdb"
    capabilities = frozenset(
        {
            Capability.ATOMIC_OVERWRITE,
            Capability.APPEND,
            Capability.LOCAL_PANDAS,
            Capability.IN_PROCESS,
            Capability.PYTHON_PANDAS_UDF,
        }
    )
    # every relation is an Arrow table (or one parquet scan): no stack of views for DuckDB to plan
    max_view_depth = None

    def __init__(self, **config: Any) -> None:
        self._tmp, self._tmp_lock = private_tempdir("odibi-pandas-")  # swept by the next run if killed
        config.setdefault("extension_directory", f"{self._tmp}/extensions")
        config.setdefault("temp_directory", f"{self._tmp}/spill")
        self.con = duckdb.connect(config=config)
        self.con.execute("SET TimeZone = 'UTC'")
        # a relation is an Arrow table (what DuckDB scans) and its DataFrame, made on first use: a chain of
        # SQL nodes never pays for Arrow → pandas conversions it does not need
        self.frames: dict[str, pd.DataFrame] = {}
        self._arrow: dict[str, pa.Table] = {}
        # plain parquet files read lazily: a DuckDB view over read_parquet (projections and filters are
        # pushed into the scan, as on the DuckDB engine); Arrow and pandas only when asked for
        self._lazy: set[str] = set()
        self._bad_lines: dict[str, int] = {}  # read relation → malformed rows skipped (on_bad_lines: skip)

    # -- the store -------------------------------------------------------------------------------
    def _forget(self, relation: str) -> None:
        self.frames.pop(relation, None)
        if relation in self._lazy:
            self._lazy.discard(relation)
            self.con.execute(f"DROP VIEW IF EXISTS {quote_ident(relation)}")
        if self._arrow.pop(relation, None) is not None:
            self.con.unregister(relation)

    def _store(self, relation: str, table: pa.Table) -> None:
        self._forget(relation)
        self._arrow[relation] = table
        self.con.register(relation, table)

    def _arrow_of(self, relation: str) -> pa.Table:
        if relation not in self._arrow:
            if relation not in self._lazy:
                raise NodeExecutionError(f"unknown relation '{relation}'")
            self._arrow[relation] = self._query(f"SELECT * FROM {quote_ident(relation)}")
        return self._arrow[relation]

    def put(self, relation: str, frame: pd.DataFrame) -> None:
        """Register a DataFrame (e.g. a Python step's result) under ``relation``."""
        self._store(relation, to_arrow(frame))

    def to_pandas(self, relation: str) -> pd.DataFrame:
        """The relation as a pandas DataFrame (a copy: a function step may change it freely)."""
        return self.frame(relation).copy()

    def from_pandas(self, relation: str, frame: pd.DataFrame) -> None:
        """Register a function step's DataFrame under ``relation``."""
        self.put(relation, frame)

    def frame(self, relation: str) -> pd.DataFrame:
        """The relation as a pandas DataFrame."""
        if relation not in self.frames:
            self.frames[relation] = to_pandas(self._arrow_of(relation))
        return self.frames[relation]

    def _query(self, sql: str) -> pa.Table:
        result = self.con.execute(sql).arrow()
        return result.read_all() if hasattr(result, "read_all") else result

    # -- reads -----------------------------------------------------------------------------------
    def read(self, spec: ReadSpec) -> pd.DataFrame:
        """Read ``spec`` with pandas, typed as the DuckDB engine types it."""
        return self._read(spec)[0]

    def _read(self, spec: ReadSpec) -> tuple[pd.DataFrame, int]:
        """(the frame, malformed rows skipped)."""
        if spec.format == "delta":
            return to_pandas(delta.read_table(spec)), 0
        malformed.check_source(spec.uri, spec.format)
        if spec.format == "csv":
            return self._read_csv(spec)
        if spec.format == "parquet":
            return self._read_parquet(spec), 0
        if spec.format == "json":
            return self._read_json(spec), 0
        raise NodeExecutionError(f"the pandas engine cannot read format '{spec.format}' yet")

    def bad_lines(self, relation: str) -> int:
        """Malformed rows the read of ``relation`` skipped (``on_bad_lines: skip``); 0 otherwise."""
        return self._bad_lines.get(relation, 0)

    def _read_csv(self, spec: ReadSpec) -> tuple[pd.DataFrame, int]:
        kwargs, typing = csv_read_params(spec.options)
        skip = typing.pop("on_bad_lines", "error") == "skip"
        partitioned = os.path.isdir(spec.uri) and hive.is_hive_folder(spec.uri)
        paths = hive.data_files(spec.uri, "csv") if partitioned else _expand(spec.uri)
        if not paths:
            raise NodeExecutionError(f"no csv files in {spec.uri}")
        parts, skipped = [], 0
        for path in paths:
            part, count = read_csv_file(self.con, path, kwargs, spec.options, skip)
            parts.append(part)
            skipped += count
        malformed.report_skipped(spec.uri, skipped)
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if kwargs["header"] is None and "names" not in kwargs:
            width = len(str(len(frame.columns) - 1))
            frame.columns = [f"column{i:0{width}d}" for i in range(len(frame.columns))]
        if partitioned:  # typed below as DuckDB types the folder (spec.schema: DuckDB's reading of it)
            spec = spec if spec.schema is not None else replace(spec, schema=sniff_schema(spec))
            frame = _with_partitions(frame, spec, paths, [len(p) for p in parts])
        types = typing.get("types") or {}
        if isinstance(types, list | tuple):
            types = dict(zip(frame.columns, types, strict=False))
        for name in types:
            if name not in frame.columns:
                raise NodeExecutionError(f"csv option 'types': no column '{name}'")
        infer = typing.get("infer_schema", True)
        # the types odibi decided once for every engine (odibi/formats/csv_infer.py); the local inference
        # below is the fallback for types a logical name does not pin down (timestamps with or without
        # a zone, decimals)
        decided = spec.schema or {}
        for name in frame.columns:
            if name in types:
                frame[name] = convert_column(frame[name], types[name], typing)
            elif decided.get(name) in _DECIDED:
                frame[name] = convert_column(frame[name], _DECIDED[decided[name]], typing)
            elif infer:
                frame[name] = infer_column(frame[name], typing)
        return frame, skipped

    def _read_parquet(self, spec: ReadSpec) -> pd.DataFrame:
        canon = _canon("parquet", spec.options, _PARQUET_READ)
        if os.path.isdir(spec.uri) and canon.get("hive_partitioning", True) and hive.is_hive_folder(spec.uri):
            # partition values are folder names: typed as DuckDB types them (as the DuckDB engine reads)
            path = spec.uri.replace("'", "''")
            union = ", union_by_name = true" if canon.get("union_by_name") else ""
            return to_pandas(
                self._query(f"SELECT * FROM read_parquet('{path}', hive_partitioning = true{union})")
            )
        partitioning = "hive" if canon.get("hive_partitioning", True) else None
        paths = _expand(spec.uri)
        if canon.get("union_by_name") and os.path.isdir(spec.uri):
            paths = sorted(_glob.glob(os.path.join(spec.uri, "**", "*.parquet"), recursive=True))
        tables = [
            pd.read_parquet(p, partitioning=partitioning) if os.path.isdir(p) else pd.read_parquet(p)
            for p in paths
        ]
        return pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]

    def _read_json(self, spec: ReadSpec) -> pd.DataFrame:
        canon = _canon("json", spec.options, _JSON_READ)
        compression = _compression(canon.get("compression", "infer"))
        parts = []
        for path in _expand(spec.uri):
            lines = canon.get("lines")
            if lines is None:  # DuckDB detects newline-delimited vs array; so do we
                opener = gzip.open if str(path).endswith(".gz") else open
                with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
                    head = fh.read(4096).lstrip()
                lines = not head.startswith("[")
            try:
                parts.append(
                    pd.read_json(
                        path,
                        lines=bool(lines),
                        orient="records",
                        dtype=False,
                        dtype_backend="numpy_nullable",
                        compression=compression,
                    )
                )
            except ValueError as exc:  # pandas' JSON parser names a byte position: odibi names the line
                raise malformed.json_error(path, malformed.first_line(str(exc))) from None
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        for name in frame.columns:
            col = frame[name]
            if pd.api.types.is_string_dtype(col.dtype) and not pd.api.types.is_object_dtype(col.dtype):
                text = col.astype("str")
                typed = infer_column(text, canon, numbers=False)
                frame[name] = typed
        return frame

    def register_read(self, relation: str, spec: ReadSpec) -> None:
        source = _lazy_parquet(spec)
        if source is not None:
            self._forget(relation)
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(relation)} AS SELECT * FROM {source}")
            self._lazy.add(relation)
            self._bad_lines[relation] = 0
            return
        frame, self._bad_lines[relation] = self._read(spec)
        self.put(relation, frame)

    # -- relational work -------------------------------------------------------------------------
    def define(self, relation: str, sql: str, *, materialize: bool) -> None:
        self._store(relation, self._query(_narrow_hugeint(self.con, sql)))

    def alias(self, relation: str, source: str, *, materialize: bool) -> None:
        if source in self._lazy and source not in self._arrow and not materialize:
            self._forget(relation)
            self.con.execute(
                f"CREATE TEMP VIEW {quote_ident(relation)} AS SELECT * FROM {quote_ident(source)}"
            )
            self._lazy.add(relation)
            return
        table = self._arrow_of(source)
        frame = self.frames.get(source)
        self._store(relation, table)
        if frame is not None:
            self.frames[relation] = frame

    def columns(self, relation: str) -> dict[str, str]:
        if relation in self._arrow:
            schema = self._arrow[relation].schema
        elif relation in self._lazy:
            schema = self._query(f"SELECT * FROM {quote_ident(relation)} LIMIT 0").schema
        else:
            raise NodeExecutionError(f"unknown relation '{relation}'")
        return {f.name: logical_type(f.type) for f in schema}

    def scalar(self, sql: str) -> Any:
        row = self.con.execute(sql).fetchone()
        return None if row is None else row[0]

    def count(self, relation: str) -> int:
        return self._arrow_of(relation).num_rows

    def fingerprint(self, relation: str) -> str:
        if relation not in self._lazy:
            self._arrow_of(relation)  # registered with the in-process DuckDB
        return relation_fingerprint(self.con, relation)

    def sample(self, relation: str, n: int) -> list[dict[str, Any]]:
        if relation in self._lazy and relation not in self._arrow:
            return self._query(f"SELECT * FROM {quote_ident(relation)} LIMIT {int(n)}").to_pylist()
        return self._arrow_of(relation).slice(0, n).to_pylist()

    # -- writes ----------------------------------------------------------------------------------
    def write(self, relation: str, spec: WriteSpec) -> int | None:
        frame = self.frame(relation)
        if spec.format == "delta":
            return delta.write_table(to_arrow(frame), spec)[0]
        if spec.format not in ("csv", "parquet", "json"):
            raise NodeExecutionError(f"the pandas engine cannot write format '{spec.format}' yet")
        writer = {"csv": self._write_csv, "parquet": self._write_parquet, "json": self._write_json}[
            spec.format
        ]
        _ = writer  # options are checked before anything is staged
        self._check_write_options(spec)
        staged = stage(spec)
        if staged.skip:
            return None
        try:
            if staged.appends_to_file:
                existing = self.read(ReadSpec(staged.previous, spec.format, _read_back_options(spec)))
                frame = self._union_by_name(existing, frame)
            if spec.partition_by:
                self._write_partitioned(frame, staged.staging, spec)
            else:
                writer(frame, str(staged.staging), spec.options)
            staged.commit()
        except BaseException:
            staged.abort()
            raise
        return len(frame)

    def _check_write_options(self, spec: WriteSpec) -> None:
        table = {"csv": _CSV_WRITE, "parquet": _PARQUET_WRITE, "json": _JSON_WRITE}[spec.format]
        _canon(spec.format, spec.options, table)

    def _union_by_name(self, first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
        """``first UNION ALL BY NAME second`` with DuckDB's type unification (as the DuckDB engine appends)."""
        self.con.register("__odibi_a", to_arrow(first))
        self.con.register("__odibi_b", to_arrow(second))
        try:
            sql = "SELECT * FROM __odibi_a UNION ALL BY NAME SELECT * FROM __odibi_b"
            return to_pandas(self._query(_narrow_hugeint(self.con, sql)))
        finally:
            self.con.unregister("__odibi_a")
            self.con.unregister("__odibi_b")

    def _write_partitioned(self, frame: pd.DataFrame, folder: Path, spec: WriteSpec) -> None:
        """A hive-partitioned parquet or CSV folder, written by DuckDB's COPY from the frame's Arrow form
        with the DuckDB engine's options: the same folders, files, text and types as its."""
        options = copy_options(spec.format, spec.options, spec.partition_by)
        self.con.register("__odibi_w", to_arrow(frame))
        try:
            self.con.execute(f"COPY (SELECT * FROM __odibi_w) TO {literal(str(folder))} {options}")
        finally:
            self.con.unregister("__odibi_w")
        mark_output(folder)

    def _write_csv(self, frame: pd.DataFrame, path: str, options: dict[str, Any]) -> None:
        kwargs, formats = csv_write_params(options)
        _text_frame(frame, formats).to_csv(path, **kwargs)

    def _write_parquet(self, frame: pd.DataFrame, path: str, options: dict[str, Any]) -> None:
        canon = _canon("parquet", options, _PARQUET_WRITE)
        kwargs: dict[str, Any] = {"index": False}
        if "compression" in canon:
            kwargs["compression"] = _compression(canon["compression"])
        frame.to_parquet(path, **kwargs)

    def _write_json(self, frame: pd.DataFrame, path: str, options: dict[str, Any]) -> None:
        # Records are serialised with the json module (not DataFrame.to_json, which rounds floats to at
        # most 15 digits): DuckDB writes the shortest round-trip form, as Python's repr does.
        canon = _canon("json", options, _JSON_WRITE)
        compression = _compression(canon.get("compression", "infer"))
        if compression == "infer":
            compression = "gzip" if path.endswith(".gz") else None
        if compression not in (None, "gzip"):
            raise NodeExecutionError(
                f"json option 'compression': '{compression}' is not supported by the pandas engine"
            )
        text = _text_frame(frame, canon, for_json=True)
        names = [str(c) for c in text.columns]
        opener = gzip.open if compression == "gzip" else open
        with opener(path, "wt", encoding="utf-8", newline="\n") as fh:
            for row in text.itertuples(index=False, name=None):
                record = {k: _json_value(v) for k, v in zip(names, row, strict=True)}
                fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            self.frames.clear()
            self._arrow.clear()
            self._lazy.clear()
            release_dir(Path(self._tmp), self._tmp_lock)


def _lazy_parquet(spec: ReadSpec) -> str | None:
    """``read_parquet(...)`` for a plain parquet file (one file, no options, no pandas index stored in
    it), which DuckDB reads as pandas would; None when the pandas reader must decide (directories, globs,
    options, a stored index)."""
    if spec.format != "parquet" or spec.options or not os.path.isfile(spec.uri):
        return None
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(spec.uri).metadata or {}
        if b"pandas" in meta:
            index = json.loads(meta[b"pandas"]).get("index_columns", [])
            if any(not isinstance(i, dict) for i in index):  # an index stored as columns
                return None
    except Exception:
        return None
    return "read_parquet('" + spec.uri.replace("'", "''") + "')"
