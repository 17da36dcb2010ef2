"""Hive-partitioned folders (``col=value/`` sub-folders), as ``partition_by`` writes them.

DuckDB is the reference reader: it reads a folder as every ``*.<format>`` file below it, with the
partition columns taken from the folder names (percent-decoded; Hive's NULL marker is NULL). Engines that
read files themselves (pandas' CSV reader) use these helpers to see the same files and values.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

# the folder value Hive, Spark and DuckDB write for a NULL partition value
NULL_VALUE = "__HIVE_DEFAULT_PARTITION__"


def is_hive_folder(path: str) -> bool:
    """A local folder with ``name=value`` sub-folders (a hive-partitioned dataset)."""
    try:
        return any(e.is_dir() and "=" in e.name for e in os.scandir(path))
    except OSError:
        return False


def _visible(rel: Path) -> bool:
    """Not hidden (``.odibi-output``) nor a writer's bookkeeping (``_SUCCESS``), at any depth."""
    return not any(part.startswith((".", "_")) for part in rel.parts)


def data_files(folder: str, fmt: str | None = None) -> list[str]:
    """The data files of a hive folder, sorted: those ending in ``.<fmt>`` (what DuckDB reads for a
    folder), or every visible file when ``fmt`` is None."""
    root = Path(folder)
    files = (p for p in root.rglob("*" if fmt is None else f"*.{fmt}") if p.is_file())
    return sorted(str(p) for p in files if _visible(p.relative_to(root)))


def partition_values(folder: str, file: str) -> dict[str, str | None]:
    """The partition columns of ``file`` (inside ``folder``) and their values as text, in folder order."""
    out: dict[str, str | None] = {}
    for part in Path(file).relative_to(folder).parent.parts:
        key, sep, value = part.partition("=")
        if sep:
            text = unquote(value)
            out[unquote(key)] = None if text == NULL_VALUE else text
    return out
