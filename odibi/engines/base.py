"""The engine protocol: a handful of methods, and the differences between engines as data.

The runner talks to engines only through this protocol. A node's relational work arrives as SQL text in
the engine's dialect (transpiled by sqlglot from the config's dialect); reads and writes arrive as
resolved :class:`ReadSpec` / :class:`WriteSpec` values (absolute locations, a format, options).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable


class Capability(str, Enum):
    """Things an engine may or may not do; checked before anything runs."""

    ATOMIC_OVERWRITE = "atomic_overwrite"
    APPEND = "append"
    MERGE = "merge"
    PYTHON_PANDAS_UDF = "python_pandas_udf"
    # the data is in this process: pandas function steps get it without collecting it from a cluster
    LOCAL_PANDAS = "local_pandas"
    # nothing of the engine outlives close() (no JVM, server session or scratch folder), so the CLI may
    # end the process at once instead of tearing the interpreter down
    IN_PROCESS = "in_process"


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


@dataclass(frozen=True)
class WriteSpec:
    """A resolved write.

    ``root`` is the folder of the connection that owns the target (local connections): staging files,
    write locks and the append journal live under its ``.odibi/`` folder, on the target's filesystem
    (so the commit is one rename) and out of the target folder's globs.
    """

    uri: str
    format: str
    mode: str
    options: dict[str, Any] = field(default_factory=dict)
    root: str | None = None


@runtime_checkable
class Engine(Protocol):
    """What every engine implements."""

    name: str
    dialect: str
    capabilities: frozenset[Capability]

    def register_read(self, relation: str, spec: ReadSpec) -> None:
        """Make the data at ``spec`` available under ``relation``."""

    def define(self, relation: str, sql: str, *, materialize: bool) -> None:
        """Register the result of ``sql`` (in the engine's dialect) under ``relation``."""

    def alias(self, relation: str, source: str, *, materialize: bool) -> None:
        """Register ``source`` under a second name."""

    def columns(self, relation: str) -> dict[str, str]:
        """Column name → logical type (int, float, decimal, string, bool, date, timestamp, other)."""

    def scalar(self, sql: str) -> Any:
        """Run a query returning one value."""

    def count(self, relation: str) -> int:
        """Rows in ``relation``."""

    def sample(self, relation: str, n: int) -> list[dict[str, Any]]:
        """The first ``n`` rows as dicts."""

    def write(self, relation: str, spec: WriteSpec) -> int | None:
        """Write ``relation``; returns the rows written when known."""

    def fingerprint(self, relation: str) -> str:
        """Row count and an order-independent hash of every row (what an append journals)."""

    def close(self) -> None:
        """Release the engine's resources."""
