"""SQL databases through a SQLAlchemy URL (PostgreSQL, MySQL, ...): tables and queries, not files.

The config validates today; reading and writing tables is the tables issue's. Opened for a run, such a
connection says so clearly instead of failing inside an engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr

from odibi.connections.base import ConnectionCheck, ConnectionConfig
from odibi.errors import EngineError


class SqlConnection(ConnectionConfig):
    """Any SQL database reachable through a SQLAlchemy URL (PostgreSQL, MySQL, ...)."""

    kind = "sql"
    type: Literal["sql"] = Field(description="A SQL database through SQLAlchemy.")
    url: SecretStr = Field(description="SQLAlchemy URL; put the password in ${ENV_VAR}.")
    schema_name: str | None = Field(None, alias="schema", description="Default schema.")

    def open(self, name: str, project_root: Path) -> SqlDatabase:
        return SqlDatabase(name, self.type, "SQLAlchemy URL (masked)")


class SqlDatabase:
    """A SQL connection opened for a run: no files; every file operation explains itself."""

    remote = True

    def __init__(self, name: str, type_: str, where: str) -> None:
        self.name = name
        self.type = type_
        self.where = where

    def _not_files(self) -> EngineError:
        return EngineError(
            f"connection '{self.name}' (type {self.type}) holds tables, not files; reading and writing "
            "tables is not supported in this version of odibi",
            hint="use a file connection (local, azure_adls, s3, gcs) for now; see PHASES.md",
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

    def prepare(self) -> None:
        return None

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "root": self.where, "auth": "from the URL"}

    def check(self) -> ConnectionCheck:
        return ConnectionCheck(False, f"{self.type} connections cannot be used yet in this version of odibi")

    def close(self) -> None:
        return None
