"""Resolved reads and writes: what a node's ``read`` / ``write`` block means once its connection has been
resolved (an absolute location, a format, options). Engines receive them; the helpers under ``formats/``
(header peeking, CSV type inference) read them without an engine.

The engine protocol's module (``engines/base.py``) re-exports both, under the names engines have always
imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odibi.connections.base import Connection


@dataclass(frozen=True)
class ReadSpec:
    """A resolved read: where (an absolute path or URI), in which format, with which options.

    ``schema`` (column → logical type) is decided once, before any engine reads, for formats whose types
    engines would otherwise infer differently (CSV); every engine must read the columns as these types.
    One value goes beyond the logical types: ``timestamp_tz``, a timestamp whose text carries an offset,
    which engines convert to UTC (it is reported as ``timestamp``).
    """

    uri: str
    format: str
    options: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, str] | None = None
    connection: Connection | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class WriteSpec:
    """A resolved write.

    ``root`` is the local folder where odibi keeps staging, write locks and the append journal for the
    target: a local connection's own folder (on the target's filesystem, so the commit is one rename,
    and out of the target folder's globs), or the project's folder for remote stores. ``connection``
    stages and commits the write (:func:`odibi.connections.staging.stage`); None means a local path.
    """

    uri: str
    format: str
    mode: str
    options: dict[str, Any] = field(default_factory=dict)
    root: str | None = None
    connection: Connection | None = field(default=None, compare=False, repr=False)
    keys: tuple[str, ...] = ()  # key columns of upsert / append_once
    partition_by: tuple[str, ...] = ()  # hive-style partition columns: the output is a folder


def read_back_options(spec: WriteSpec) -> dict[str, Any]:
    """Options to read an existing output the way it was written (an append onto a single file)."""
    keep = {"sep", "delimiter", "delim", "quote", "escape", "header", "compression"}
    return {k: v for k, v in spec.options.items() if str(k).lower() in keep}
