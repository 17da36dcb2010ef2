"""Column names of a data file without an engine: a CSV header or the first JSON record.

Used by ``odibi validate`` to check the columns SQL steps refer to; formats it cannot read cheaply
(parquet without pyarrow loaded, headerless CSV, JSON arrays) give None, and the check is skipped.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

from odibi.formats.options import normalise
from odibi.formats.specs import ReadSpec

_PEEK_BYTES = 1 << 16


def _open_text(path: Path, encoding: str) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, errors="replace")
    return path.open("r", encoding=encoding, errors="replace", newline="")


def peek_columns(spec: ReadSpec) -> dict[str, str | None] | None:
    """The file's column names (types unknown), or None when they cannot be read cheaply."""
    path = Path(spec.uri)
    if not path.is_file():
        return None
    options = normalise(spec.format, spec.options) if spec.format in ("csv", "json") else {}
    encoding = str(options.get("encoding", "utf-8"))
    if spec.format == "csv":
        if options.get("header") is False or options.get("names") or options.get("skip_rows"):
            return None
        delimiter = str(options.get("delimiter", ","))
        quote = str(options.get("quote", '"'))
        with _open_text(path, encoding) as handle:
            sample = handle.read(_PEEK_BYTES)
        # no delimiter sniffing: every engine reads "," unless told otherwise (duckdb_read.csv_params)
        first = next(csv.reader(io.StringIO(sample), delimiter=delimiter, quotechar=quote), None)
        return {name: None for name in first} if first else None
    if spec.format == "json":
        with _open_text(path, encoding) as handle:
            line = handle.readline(_PEEK_BYTES).strip()
        if not line.startswith("{"):
            return None
        try:
            record = json.loads(line)
        except ValueError:
            return None
        return {name: None for name in record} if isinstance(record, dict) else None
    return None
