"""SQL databases: tables and queries, read and written in bulk, on every engine.

``type: sql`` takes any SQLAlchemy URL. What happens with it depends on the database:

- PostgreSQL (``sql_postgres.py``): reads through DuckDB's ``postgres`` scanner (typed Arrow, in
  parallel), writes through ``COPY`` in one transaction; merges as one ``MERGE``.
- Any other database SQLAlchemy reaches (SQLite, SQL Server / Azure SQL through ``azure_sql``, MySQL...;
  ``sql_alchemy.py``): reads fetched into Arrow, writes as batched inserts in one transaction; merges as
  a staged table plus ``DELETE``/``INSERT`` in that transaction.
- On Spark, a database whose JDBC driver is on the session's classpath is read by ``spark.read.jdbc``
  and written to a staging table by the executors, then published by the connection in one transaction
  (:meth:`SqlDatabase.publish`); without the driver, rows travel through the driver process as Arrow.

This module is imported with every config, so it imports no database library itself.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr

from odibi.connections.base import ConnectionCheck, ConnectionConfig
from odibi.errors import EngineError, NodeExecutionError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
MERGE_MODES = ("upsert", "append_once")


class SqlConnection(ConnectionConfig):
    """Any SQL database reachable through a SQLAlchemy URL (PostgreSQL, SQLite, SQL Server, MySQL...)."""

    kind = "sql"
    type: Literal["sql"] = Field(description="A SQL database through SQLAlchemy.")
    url: SecretStr = Field(description="SQLAlchemy URL; put the password in ${ENV_VAR}.")
    schema_name: str | None = Field(None, alias="schema", description="Default schema.")

    def open(self, name: str, project_root: Path) -> SqlDatabase:
        url = self.url.get_secret_value()
        if re.match(r"^postgres(ql)?(\+[a-z0-9_]+)?://", url):
            from odibi.connections.sql_postgres import PostgresDatabase

            return PostgresDatabase(
                name, self.type, "SQLAlchemy URL (masked)", url=self.url, schema=self.schema_name
            )
        from odibi.connections.sql_alchemy import AlchemyDatabase

        return AlchemyDatabase(
            name, self.type, "SQLAlchemy URL (masked)", url=self.url, schema=self.schema_name,
            project_root=project_root,
        )  # fmt: skip


@dataclass(frozen=True)
class JdbcTarget:
    """How Spark reaches a database over JDBC: URL, driver class and properties (user, password...)."""

    url: str
    driver: str
    properties: dict[str, str] = field(default_factory=dict)

    def options(self) -> dict[str, str]:
        return {"url": self.url, "driver": self.driver, **self.properties}


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class SqlDatabase(ABC):
    """A SQL connection opened for a run: tables and queries, no files.

    Subclasses implement :meth:`read_arrow`, :meth:`write_arrow`, :meth:`publish`, :meth:`discard`
    (abstract: a type that forgets one fails when opened) and :meth:`check`.
    """

    remote = True  # prepared before a run (secrets), like an object store
    tables = True
    dialect = "postgres"  # sqlglot dialect of queries sent to the database

    def __init__(
        self, name: str, type_: str, where: str, *, url: SecretStr | None = None, schema: str | None = None
    ):
        self.name = name
        self.type = type_
        self.where = where
        self._url = url
        self.schema = schema

    # -- what a SQL connection is not ------------------------------------------------------------
    def _not_files(self) -> EngineError:
        return EngineError(
            f"connection '{self.name}' (type {self.type}) holds tables, not files",
            hint="read and write it with `table:` (or read it with `query:`), not `path:`",
        )

    def resolve(self, path: str, *, write: bool = False) -> str:
        raise self._not_files()

    def storage_options(self) -> dict[str, Any]:
        return {}

    def spark_conf(self) -> dict[str, str]:
        return {}

    def spark_uri(self, location: str) -> str:
        raise self._not_files()

    def local_copy(self, location: str, *, refresh: bool = False) -> str:
        raise self._not_files()

    def exists(self, location: str) -> bool:
        raise self._not_files()

    def stage(self, spec):
        raise self._not_files()

    def landed(self, entry: dict[str, Any]) -> bool:
        return False

    # -- tables -----------------------------------------------------------------------------------
    def table_name(self, table: str) -> str:
        if not _NAME.match(table):
            raise NodeExecutionError(
                f"table '{table}' is not a plain name (schema.table)", hint="e.g. public.sales"
            )
        return table if "." in table or not self.schema else f"{self.schema}.{table}"

    @abstractmethod
    def read_arrow(self, *, table: str | None = None, query: str | None = None) -> Any:
        """A table or a query's result as a pyarrow Table."""

    @abstractmethod
    def write_arrow(self, data: Any, *, table: str, mode: str, keys: list[str]) -> int:
        """Write ``data`` (a pyarrow Table) to ``table`` in one transaction; rows written."""

    @abstractmethod
    def publish(self, staged: str, *, table: str, mode: str, keys: list[str]) -> None:
        """Move the rows of the table ``staged`` (written by Spark over JDBC) into ``table`` with
        ``mode``, in one transaction, then drop ``staged`` (also when publishing fails)."""

    @abstractmethod
    def discard(self, staged: str) -> None:
        """Drop the staging table ``staged`` if a failed Spark write left it (best effort)."""

    def jdbc(self) -> JdbcTarget | None:
        """How Spark reaches this database over JDBC, or None when odibi does not know."""
        return None

    @staticmethod
    def check_write_mode(mode: str, keys: list[str]) -> None:
        if mode in MERGE_MODES and not keys:
            raise NodeExecutionError(f"mode {mode} needs keys", hint="write: {keys: [id]}")

    @staticmethod
    def null_keys_error(mode: str, keys: list[str]) -> NodeExecutionError:
        return NodeExecutionError(
            f"{mode} into a database table: key columns ({', '.join(keys)}) may not be NULL",
            hint="filter or fill the NULL keys first",
        )

    # -- run life ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        return None

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "root": self.where, "auth": "from the URL"}

    def check(self) -> ConnectionCheck:
        return ConnectionCheck(False, "odibi cannot check this connection")

    def close(self) -> None:
        return None
