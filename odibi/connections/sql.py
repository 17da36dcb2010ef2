"""SQL databases through a URL: tables and queries, read and written in bulk. PostgreSQL today.

Reads go through DuckDB's ``postgres`` scanner (the ``duckdb-extension-postgres-scanner`` wheel, pinned
with duckdb): typed Arrow, in parallel, no row-by-row fetch. Writes go through PostgreSQL's ``COPY``
(psycopg) inside one transaction:

- ``overwrite``: ``TRUNCATE`` + ``COPY`` (the table, its indexes and grants stay; readers see the old rows
  or the new ones), or ``CREATE TABLE`` + ``COPY`` when it does not exist;
- ``append``: ``COPY``; ``error`` / ``ignore``: refuse or skip an existing table;
- ``upsert`` / ``append_once``: ``COPY`` into a temporary table, then one ``MERGE`` on ``keys`` (plain
  equality, so it hash-joins; NULL keys are refused), or ``INSERT ... ON CONFLICT`` before PostgreSQL 15
  (which then needs a unique index on the keys).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr

from odibi.connections.base import ConnectionCheck, ConnectionConfig
from odibi.errors import EngineError, NodeExecutionError
from odibi.secrets import mask

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


class SqlConnection(ConnectionConfig):
    """Any SQL database reachable through a SQLAlchemy URL (PostgreSQL, MySQL, ...)."""

    kind = "sql"
    type: Literal["sql"] = Field(description="A SQL database through SQLAlchemy.")
    url: SecretStr = Field(description="SQLAlchemy URL; put the password in ${ENV_VAR}.")
    schema_name: str | None = Field(None, alias="schema", description="Default schema.")

    def open(self, name: str, project_root: Path) -> SqlDatabase:
        return SqlDatabase(name, self.type, "SQLAlchemy URL (masked)", url=self.url, schema=self.schema_name)


def _libpq_url(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it (``postgresql+psycopg://`` → ``postgresql://``)."""
    return re.sub(r"^postgres(ql)?(\+[a-z0-9_]+)?://", "postgresql://", url)


def _quote(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


_PG_TYPE = {
    "int8": "SMALLINT", "int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT",
    "uint8": "SMALLINT", "uint16": "INTEGER", "uint32": "BIGINT", "uint64": "NUMERIC(20)",
    "float": "REAL", "halffloat": "REAL", "double": "DOUBLE PRECISION", "bool": "BOOLEAN",
    "string": "TEXT", "large_string": "TEXT", "date32[day]": "DATE",
}  # fmt: skip


def _pg_type(arrow_type: Any) -> str:
    text = str(arrow_type)
    if text in _PG_TYPE:
        return _PG_TYPE[text]
    if text.startswith("timestamp"):
        return "TIMESTAMPTZ" if "tz=" in text else "TIMESTAMP"
    if text.startswith("decimal"):
        return f"NUMERIC({arrow_type.precision}, {arrow_type.scale})"
    return "TEXT"


class SqlDatabase:
    """A SQL connection opened for a run: tables and queries (PostgreSQL), no files."""

    remote = True
    tables = True

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
    def _postgres_url(self) -> str:
        if self._url is None:
            raise EngineError(
                f"connections of type '{self.type}' cannot be used yet in this version of odibi"
            )
        url = _libpq_url(self._url.get_secret_value())
        if not url.startswith("postgresql://"):
            raise EngineError(
                f"connection '{self.name}': only PostgreSQL URLs can be read and written in this version of odibi",
                hint="postgresql://user:${PASSWORD}@host:5432/db",
            )
        return url

    def table_name(self, table: str) -> str:
        if not _NAME.match(table):
            raise NodeExecutionError(
                f"table '{table}' is not a plain name (schema.table)", hint="e.g. public.sales"
            )
        return table if "." in table or not self.schema else f"{self.schema}.{table}"

    def read_arrow(self, *, table: str | None = None, query: str | None = None) -> Any:
        """A table or a query's result as a pyarrow Table, through DuckDB's postgres scanner."""
        import duckdb

        url = self._postgres_url()
        con = duckdb.connect()
        try:
            try:
                import duckdb_extensions

                duckdb_extensions.import_extension("postgres_scanner", con=con)
            except ImportError:
                raise EngineError(
                    "reading PostgreSQL needs the package 'duckdb-extension-postgres-scanner'",
                    hint='pip install "odibi[sql]"',
                ) from None
            literal = "'" + url.replace("'", "''") + "'"  # ATTACH takes no parameters
            con.execute(f"ATTACH {literal} AS odibi_pg (TYPE postgres, READ_ONLY)")
            if table is not None:
                qualified = self.table_name(table)
                qualified = qualified if "." in qualified else f"public.{qualified}"
                sql = f"SELECT * FROM odibi_pg.{_quote(qualified)}"
            else:
                sql = "SELECT * FROM postgres_query('odibi_pg', ?)"
            result = con.execute(sql, [query] if table is None else [])
            data = result.arrow()
            return data.read_all() if hasattr(data, "read_all") else data
        except duckdb.Error as exc:
            raise NodeExecutionError(
                mask(f"connection '{self.name}': {str(exc).strip().splitlines()[0]}")
            ) from None
        finally:
            con.close()

    def write_arrow(self, data: Any, *, table: str, mode: str, keys: list[str]) -> int:
        """Write ``data`` (a pyarrow Table) to ``table`` with COPY, in one transaction; rows written."""
        import psycopg
        import pyarrow.csv as pacsv

        name = self.table_name(table)
        target = _quote(name)
        cols = [str(c) for c in data.column_names]
        col_list = ", ".join(_quote(c) for c in cols)
        buf = io.BytesIO()
        pacsv.write_csv(
            data, buf, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed")
        )
        payload = buf.getvalue()
        ddl = ", ".join(f"{_quote(f.name)} {_pg_type(f.type)}" for f in data.schema)
        try:
            with psycopg.connect(self._postgres_url(), autocommit=False) as conn, conn.cursor() as cur:
                cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name if "." in name else f"public.{name}"])
                exists = bool(cur.fetchone()[0])
                if exists and mode == "error":
                    raise NodeExecutionError(
                        f"table {name} already exists", hint="mode: error refuses to replace it"
                    )
                if exists and mode == "ignore":
                    return 0
                if not exists:
                    cur.execute(f"CREATE TABLE {target} ({ddl})")
                if mode in ("upsert", "append_once") and exists:
                    self._merge(cur, conn, target, cols, col_list, ddl, payload, mode, keys)
                else:
                    if mode == "overwrite" and exists:
                        cur.execute(f"TRUNCATE {target}")
                    self._copy(cur, target, col_list, payload)
                conn.commit()
        except psycopg.Error as exc:
            raise NodeExecutionError(
                mask(f"connection '{self.name}': {str(exc).strip().splitlines()[0]}")
            ) from None
        return data.num_rows

    @staticmethod
    def _copy(cur: Any, target: str, col_list: str, payload: bytes) -> None:
        with cur.copy(f"COPY {target} ({col_list}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(payload)

    def _merge(self, cur, conn, target, cols, col_list, ddl, payload, mode, keys) -> None:
        cur.execute(f"CREATE TEMP TABLE odibi_batch ({ddl}) ON COMMIT DROP")
        self._copy(cur, "odibi_batch", col_list, payload)
        # plain equality, so PostgreSQL can hash-join the batch to the table (IS NOT DISTINCT FROM cannot
        # be hashed: a nested loop, quadratic); keys are therefore required to be non-NULL
        nulls = " OR ".join(f"{_quote(k)} IS NULL" for k in keys)
        cur.execute(f"SELECT count(*) FROM odibi_batch WHERE {nulls}")
        if cur.fetchone()[0]:
            raise NodeExecutionError(
                f"{mode} into a database table: key columns ({', '.join(keys)}) may not be NULL",
                hint="filter or fill the NULL keys first",
            )
        match = " AND ".join(f"t.{_quote(k)} = s.{_quote(k)}" for k in keys)
        values = ", ".join(f"s.{_quote(c)}" for c in cols)
        if conn.info.server_version >= 150000:
            sets = ", ".join(f"{_quote(c)} = s.{_quote(c)}" for c in cols if c not in keys)
            update = f"WHEN MATCHED THEN UPDATE SET {sets} " if mode == "upsert" and sets else ""
            cur.execute(
                f"MERGE INTO {target} AS t USING odibi_batch AS s ON {match} "
                f"{update}WHEN NOT MATCHED THEN INSERT ({col_list}) VALUES ({values})"
            )
            return
        conflict = ", ".join(_quote(k) for k in keys)
        action = (
            "DO UPDATE SET " + ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in cols if c not in keys)
            if mode == "upsert"
            else "DO NOTHING"
        )
        cur.execute(
            f"INSERT INTO {target} ({col_list}) SELECT {col_list} FROM odibi_batch ON CONFLICT ({conflict}) {action}"
        )

    # -- run life ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        return None

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "root": self.where, "auth": "from the URL"}

    def check(self) -> ConnectionCheck:
        try:
            import psycopg

            with psycopg.connect(self._postgres_url(), connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return ConnectionCheck(True, "the database answers")
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return ConnectionCheck(False, mask(first))

    def close(self) -> None:
        return None
