"""Reader and writer options: one vocabulary for users, translated per engine.

Users write Spark-style (``inferSchema``, ``dateFormat``) or pandas-style (``sep``, ``dtype``,
``header: 0``) options. We normalise them to canonical names here; each engine maps canonical names to
its own parameters. An option no engine knows is an error naming the valid ones, never silently dropped.
"""

from __future__ import annotations

from typing import Any

from odibi.config.models import suggest

# alias (lower-case) → canonical name
CSV_ALIASES: dict[str, str] = {
    "header": "header",
    "sep": "delimiter", "delimiter": "delimiter", "delim": "delimiter",
    "quote": "quote", "quotechar": "quote",
    "escape": "escape", "escapechar": "escape",
    "dateformat": "date_format", "date_format": "date_format",
    "timestampformat": "timestamp_format", "timestamp_format": "timestamp_format",
    "nullvalue": "null_value", "na_values": "null_value", "nullstr": "null_value", "null_value": "null_value",
    "encoding": "encoding",
    "skiprows": "skip_rows", "skip": "skip_rows", "skip_rows": "skip_rows",
    "dtype": "types", "types": "types", "column_types": "types",
    "names": "names", "column_names": "names",
    "inferschema": "infer_schema", "infer_schema": "infer_schema",
    "comment": "comment",
    "compression": "compression",
    "on_bad_lines": "on_bad_lines",
}  # fmt: skip

# what a malformed row (too few or too many fields, an unterminated quote) does to a read
ON_BAD_LINES = ("error", "skip")

PARQUET_ALIASES: dict[str, str] = {
    "compression": "compression",
    "hive_partitioning": "hive_partitioning",
    "union_by_name": "union_by_name",
    "mergeschema": "union_by_name",
}

JSON_ALIASES: dict[str, str] = {
    "compression": "compression",
    "dateformat": "date_format",
    "date_format": "date_format",
    "timestampformat": "timestamp_format",
    "timestamp_format": "timestamp_format",
    "lines": "lines",
}

DELTA_ALIASES: dict[str, str] = {
    "version": "version", "versionasof": "version",
    "timestamp": "timestamp", "timestampasof": "timestamp",
    "merge_schema": "merge_schema", "mergeschema": "merge_schema",
}  # fmt: skip

ALIASES = {"csv": CSV_ALIASES, "parquet": PARQUET_ALIASES, "json": JSON_ALIASES, "delta": DELTA_ALIASES}

# canonical options that mean something when writing (the rest only apply to reading)
WRITE_OPTIONS = {
    "csv": {
        "header",
        "delimiter",
        "quote",
        "escape",
        "date_format",
        "timestamp_format",
        "null_value",
        "compression",
    },
    "parquet": {"compression"},
    "json": {"compression", "date_format", "timestamp_format"},
    "delta": {"merge_schema"},
}


_PARTITION_KEYS = ("partitionby", "partition_by")


def split_partition_by(options: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """(partition columns named in ``options`` as Spark's ``partitionBy``, the other options)."""
    cols: list[str] = []
    rest: dict[str, Any] = {}
    for key, value in options.items():
        if str(key).lower() in _PARTITION_KEYS:
            cols = [value] if isinstance(value, str) else [str(v) for v in value]
        else:
            rest[key] = value
    return cols, rest


class OptionError(ValueError):
    """An option that no engine understands (message names the valid ones)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def normalise_write(fmt: str, options: dict[str, Any]) -> dict[str, Any]:
    """Writer options under canonical names; a reader-only option is an :class:`OptionError`."""
    canon = normalise(fmt, options)
    allowed = WRITE_OPTIONS.get(fmt, set())
    for original, key in zip(options, canon, strict=True):
        if key not in allowed:
            raise OptionError(
                f"{fmt} option '{original}' applies to reading, not writing; "
                f"writer options: {', '.join(sorted(allowed)) or 'none'}",
                key=str(original),
            )
    return canon


def normalise(fmt: str, options: dict[str, Any]) -> dict[str, Any]:
    """Options under canonical names; raises :class:`OptionError` for unknown ones."""
    table = ALIASES.get(fmt, {})
    out: dict[str, Any] = {}
    for key, value in options.items():
        canonical = table.get(str(key).lower())
        if canonical is None:
            near = suggest(str(key).lower(), list(table))
            raise OptionError(
                f"unknown {fmt} option '{key}'"
                + (f" (did you mean '{near}'?)" if near else "")
                + f"; known: {', '.join(sorted(set(table))) or 'none'}",
                key=str(key),
            )
        if canonical == "header" and not isinstance(value, bool):
            value = value == 0 if isinstance(value, int) else str(value).lower() in ("true", "1", "yes")
        if canonical == "on_bad_lines":
            value = str(value).lower()
            if value not in ON_BAD_LINES:
                raise OptionError(
                    f"{fmt} option '{key}' must be one of {', '.join(ON_BAD_LINES)}, not '{value}'"
                    + (" (skipped rows are always counted and reported)" if value == "warn" else ""),
                    key=str(key),
                )
        out[canonical] = value
    return out
