"""Malformed input fails loudly, and the same way on every engine.

A ragged CSV row (too few or too many fields), an unterminated quote, bytes that are not in the file's
encoding, an empty file, a folder where a file is expected: each is a :class:`NodeExecutionError` naming
the file, the line and the reader's own explanation. The read option ``on_bad_lines: skip`` drops
malformed rows instead; the engines count the rows they drop (``engine.bad_lines(relation)``) and log
them on the ``odibi.read`` logger. An unterminated quote is an error even then: the reader cannot tell
where the row ends, and skipping it would drop the rest of the file.

DuckDB reports exact line numbers; pandas says nothing about short rows and Spark never gives a line. So
DuckDB is odibi's line oracle: the pandas engine scans each CSV file with DuckDB's strict reader
(:func:`odibi.formats.duckdb_read.csv_rejects`), and the Spark engine looks up the record Spark rejected.
"""

from __future__ import annotations

import glob as _glob
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any

from odibi.errors import NodeExecutionError
from odibi.formats import hive

log = logging.getLogger("odibi.read")

JSON_HINT = "fix the file: one JSON value per line, or one JSON array"
BAD_LINES_HINT = (
    "fix the file, or set the read option on_bad_lines: skip to drop malformed rows (they are counted)"
)
QUOTE_HINT = (
    "close the quote in the file, or set the read option quote to the character the file uses; "
    "on_bad_lines: skip cannot skip it (the row's end is unknown)"
)
# DuckDB's own advice (its "Possible Solution"), kept where the reader's message is not at hand
ENCODING_HINT = "Set the correct encoding, if available, to read this CSV File (e.g., encoding='UTF-16')"

# the explanations DuckDB's CSV reader gives (csv_error.cpp), first line of each
_DUCKDB_EXPLANATIONS = (
    "Expected Number of Columns",
    "Value with unterminated quote",
    "Invalid unicode",
    "Error when converting column",
    "Maximum line size",
    "The CSV Parser state machine",
)


@dataclass(frozen=True)
class BadLine:
    """One malformed row: where it is and what the reader said about it."""

    path: str
    line: int | None
    explanation: str
    text: str = ""
    kind: str = "row"  # row | quote | encoding
    hint: str | None = None  # the reader's own advice, when it gave one


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def _local(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri


def local_files(uri: str) -> list[str]:
    """The local files ``uri`` names (a glob expanded, a hive-partitioned folder's data files), or [] for
    remote URIs."""
    if not is_local(uri):
        return []
    path = _local(uri)
    if any(ch in path for ch in "*?["):
        return [p for p in sorted(_glob.glob(path, recursive=True)) if os.path.isfile(p)]
    if hive.is_hive_folder(path):
        return hive.data_files(path)
    return [path] if os.path.isfile(path) else []


def check_source(uri: str, fmt: str) -> None:
    """Refuse a folder where a file is expected and an empty file, before any reader sees them.

    A CSV or JSON read names a file or a glob (or, for CSV, a hive-partitioned folder, as ``partition_by``
    writes it); any other folder is a parquet dataset's shape. DuckDB says "No files found" for a folder and
    reads a 0-byte CSV as one column ``column0``; both are mistakes.
    """
    if fmt not in ("csv", "json") or not is_local(uri):
        return
    path = _local(uri)
    if os.path.isdir(path) and not (fmt == "csv" and hive.is_hive_folder(path)):
        raise NodeExecutionError(
            f"{uri} is a folder; give a file or a glob such as {uri.rstrip('/')}/*.{fmt}",
            hint=f"a {fmt} read names one file, a glob of files"
            + (", or a folder of col=value/ partitions" if fmt == "csv" else ""),
        )
    for file in local_files(uri):
        if os.path.getsize(file) == 0:
            what = "a header line" if fmt == "csv" else "one record"
            raise NodeExecutionError(
                f"file is empty: {file}", hint=f"a {fmt} file needs at least {what}; remove it or fill it"
            )


def error(bad: BadLine, fmt: str = "CSV") -> NodeExecutionError:
    """The error for a malformed row: file, line, the reader's explanation, and what to do."""
    where = f"{bad.path}, line {bad.line}" if bad.line else bad.path
    text = next((line for line in bad.text.splitlines() if line.strip()), "")
    shown = f" (the line: {text[:60]!r}{'...' if len(text) > 60 else ''})" if text else ""
    if bad.kind == "encoding":
        hint = bad.hint or ENCODING_HINT
        return NodeExecutionError(f"cannot decode {where}: {bad.explanation}{shown}", hint=hint)
    hint = bad.hint or (QUOTE_HINT if bad.kind == "quote" else BAD_LINES_HINT)
    return NodeExecutionError(f"malformed {fmt} in {where}: {bad.explanation}{shown}", hint=hint)


def kind_of(explanation: str) -> str:
    low = explanation.lower()
    if "unterminated quote" in low:
        return "quote"
    if "unicode" in low or "encod" in low:
        return "encoding"
    return "row"


def from_duckdb_text(text: str, default_path: str) -> BadLine | None:
    """The malformed row a DuckDB ``CSV Error on Line: N`` message describes, or None."""
    found = re.search(r"CSV Error on Line: (\d+)", text)
    if not found:
        return None
    body = text[found.end() :].split("\nPossible ", 1)[0]
    original = re.search(r"Original Line: ?(.*)", body)
    lines = [line.strip() for line in body.splitlines()]
    explanation = next((line for line in lines if line.startswith(_DUCKDB_EXPLANATIONS)), None)
    if explanation is None:  # an explanation odibi does not know: the first line after the row
        rest = body[original.end() :] if original else body
        explanation = next((line for line in rest.splitlines()[1:] if line.strip()), "malformed row").strip()
    file = re.search(r"^\s*file = (.+)$", text, re.M)
    advice = re.search(r"Possible Solution: (.*encoding.*)", text)
    return BadLine(
        path=file.group(1).strip() if file else default_path,
        line=int(found.group(1)),
        explanation=explanation,
        text=original.group(1) if original else "",
        kind=kind_of(explanation),
        hint=advice.group(1).strip() if advice else None,
    )


def first_line(text: str) -> str:
    """The first meaningful line of an engine's error (no 'Invalid Input Error:' prefix, no SQL echo)."""
    for line in str(text).strip().splitlines():
        line = line.strip()
        if line:
            return re.sub(r"^[A-Za-z ]*Error: ", "", line)
    return str(text)


def header_width(path: str, options: dict[str, Any]) -> int | None:
    """How many fields the first row of a local CSV file has (after ``skip_rows``), or None."""
    import csv
    import io

    from odibi.formats.options import normalise

    if not os.path.isfile(path):
        return None
    canon = normalise("csv", options)
    quote = str(canon.get("quote", '"'))
    comment = str(canon.get("comment") or "")
    opener: Any = open
    if path.endswith(".gz"):
        import gzip

        opener = gzip.open
    try:
        with opener(
            path, "rt", encoding=str(canon.get("encoding", "utf-8")), errors="replace", newline=""
        ) as fh:
            for _ in range(int(canon.get("skip_rows") or 0)):
                fh.readline()
            sample = fh.read(1 << 16)
    except (OSError, LookupError, ValueError):
        return None
    kept = [
        line
        for line in sample.splitlines(keepends=True)
        if line.strip() and not (comment and line.startswith(comment))
    ]
    reader = csv.reader(
        io.StringIO("".join(kept)),
        delimiter=str(canon.get("delimiter", ",")),
        quotechar=quote or None,
        quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
    )
    try:
        first = next(reader, None)
    except csv.Error:
        return None
    return len(first) if first else None


# -- JSON --------------------------------------------------------------------------------------------


def json_bad_line(path: str, encoding: str = "utf-8") -> BadLine | None:
    """The first record of a local JSON file that does not parse, with its line (Python's json module).

    Newline-delimited files are checked line by line (a malformed line is its own record); a JSON array
    is parsed whole, when it is small enough to do so on an error path.
    """
    if not os.path.isfile(path):
        return None
    opener: Any = open
    if path.endswith(".gz"):
        import gzip

        opener = gzip.open
    with opener(path, "rt", encoding=encoding, errors="replace") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith("["):
        if os.path.getsize(path) > 64 << 20:
            return None
        with opener(path, "rt", encoding=encoding, errors="replace") as fh:
            try:
                json.load(fh)
            except json.JSONDecodeError as exc:
                return BadLine(path, exc.lineno, exc.msg)
        return None
    with opener(path, "rt", encoding=encoding, errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except json.JSONDecodeError as exc:
                return BadLine(path, number, exc.msg, text=line.rstrip("\r\n"))
    return None


def json_array(uri: str) -> bool:
    """Whether the (first) local file of ``uri`` holds a JSON array rather than one value per line."""
    files = local_files(uri)
    if not files:
        return False
    opener: Any = open
    if files[0].endswith(".gz"):
        import gzip

        opener = gzip.open
    try:
        with opener(files[0], "rt", encoding="utf-8", errors="replace") as fh:
            return fh.read(4096).lstrip().startswith("[")
    except OSError:
        return False


def json_error(uri: str, explanation: str, encoding: str = "utf-8") -> NodeExecutionError:
    """A JSON read failed with ``explanation`` (the reader's words): name the file and line."""
    for path in local_files(uri):
        bad = json_bad_line(path, encoding)
        if bad is not None:
            return error(BadLine(path, bad.line, explanation, bad.text, hint=JSON_HINT), "JSON")
    return error(BadLine(uri, None, explanation, hint=JSON_HINT), "JSON")


# -- records an engine rejected without a line number (Spark) ------------------------------------------


def locate_record(uri: str, record: str, encoding: str = "utf-8") -> tuple[str, int] | None:
    """(file, line) of the first line of ``record`` in the local files of ``uri``, or None."""
    wanted = record.splitlines()[0] if record else ""
    if not wanted:
        return None
    for path in local_files(uri):
        opener: Any = open
        if path.endswith(".gz"):
            import gzip

            opener = gzip.open
        try:
            with opener(path, "rt", encoding=encoding, errors="replace", newline="") as fh:
                for number, line in enumerate(fh, 1):
                    if line.rstrip("\r\n") == wanted:
                        return path, number
        except (OSError, LookupError):
            return None
    return None


def is_utf8(encoding: str) -> bool:
    import codecs

    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def undecodable(uri: str, encoding: str = "utf-8") -> BadLine | None:
    """The first line of the local files of ``uri`` that is not in ``encoding`` (Spark does not say: it
    reads such bytes as U+FFFD), or None."""
    for path in local_files(uri):
        opener: Any = open
        if path.endswith(".gz"):
            import gzip

            opener = gzip.open
        with opener(path, "rb") as fh:
            for number, raw in enumerate(fh, 1):
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    text = raw.decode(encoding, "replace").rstrip("\r\n")
                    explanation = f"this file is not {encoding} encoded ({exc.reason})"
                    return BadLine(path, number, explanation, text, kind="encoding")
                except LookupError:
                    return None
    return None


def report_skipped(uri: str, count: int) -> None:
    """Log the rows ``on_bad_lines: skip`` dropped from ``uri``."""
    if count:
        log.warning("%s: skipped %d malformed row(s) (on_bad_lines: skip)", uri, count)
