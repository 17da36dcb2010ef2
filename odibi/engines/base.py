"""The engine protocol: a handful of methods, and the differences between engines as data.

The runner talks to engines only through this protocol. A node's relational work arrives as SQL text in
the engine's dialect (transpiled by sqlglot from the config's dialect); reads and writes arrive as
resolved :class:`ReadSpec` / :class:`WriteSpec` values (absolute locations, a format, options), defined in
:mod:`odibi.formats.specs` and re-exported here.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol, runtime_checkable

from odibi.formats.specs import ReadSpec, WriteSpec

__all__ = ["Capability", "Engine", "ReadSpec", "WriteSpec"]


class Capability(str, Enum):
    """Things an engine may or may not do; checked before anything runs."""

    ATOMIC_OVERWRITE = "atomic_overwrite"
    APPEND = "append"
    MERGE = "merge"
    PYTHON_PANDAS_UDF = "python_pandas_udf"
    # the data is in this process: pandas function steps get it without collecting it from a cluster
    LOCAL_PANDAS = "local_pandas"
    # reads and writes a remote store's URIs itself (given the connection's Spark/Hadoop settings);
    # engines without it read local copies and write local staging files that the connection publishes
    REMOTE_STORAGE = "remote_storage"
    # nothing of the engine outlives close() (no JVM, server session or scratch folder), so the CLI may
    # end the process at once instead of tearing the interpreter down
    IN_PROCESS = "in_process"
    # several threads may define and query distinct relations at once (each sees the relations the others
    # defined); the runner serializes every call to an engine without it
    CONCURRENT = "concurrent"


@runtime_checkable
class Engine(Protocol):
    """What every engine implements.

    An engine is one module holding a class with these attributes and methods, plus one line in
    :data:`odibi.engines.registry.BUILTIN` (or an ``odibi.engines`` entry point for a plugin).
    """

    name: str
    dialect: str  # sqlglot's name of the SQL dialect ``define`` receives (and what the registry reports)
    capabilities: frozenset[Capability]
    # How many lazy views may stack up before the runner materializes a node: a node that would sit on
    # more views than this (counted since the last materialized relation) is defined with
    # ``materialize=True``. None: no limit (an engine that materializes every relation anyway, or whose
    # planner copes with any depth).
    max_view_depth: int | None

    def register_read(self, relation: str, spec: ReadSpec) -> None:
        """Make the data at ``spec`` available under ``relation``."""

    def define(self, relation: str, sql: str, *, materialize: bool) -> None:
        """Register the result of ``sql`` (in the engine's dialect) under ``relation``."""

    def alias(self, relation: str, source: str, *, materialize: bool) -> None:
        """Register ``source`` under a second name."""

    def to_pandas(self, relation: str) -> Any:
        """``relation`` as a pandas DataFrame the caller may change freely, typed as the pandas engine
        types its frames (:func:`odibi.engines.arrow_frames.to_pandas`).

        The runner calls it for a function step (``@transform`` on pandas DataFrames): once for the
        step's input, or once per relation a context-style function asks for. An engine without
        ``Capability.LOCAL_PANDAS`` is only asked when the step opts in (``pandas_on_spark``), as the data
        is collected to this process.
        """

    def from_pandas(self, relation: str, frame: Any) -> None:
        """Register a pandas DataFrame under ``relation`` (the result of a function step, which the
        runner hands over right after the function returns); anything else is a NodeExecutionError."""

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
