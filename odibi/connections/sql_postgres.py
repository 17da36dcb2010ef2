"""PostgreSQL tables, read and written in bulk.

Reads go through DuckDB's ``postgres`` scanner (the ``duckdb-extension-postgres-scanner`` wheel, pinned
with duckdb): typed Arrow, in parallel, no row-by-row fetch. Writes go through PostgreSQL's ``COPY``
(psycopg) inside one transaction:

- ``overwrite``: ``TRUNCATE`` + ``COPY`` (the table, its indexes and grants stay; readers see the old rows
  or the new ones), or ``CREATE TABLE`` + ``COPY`` when it does not exist;
- ``append``: ``COPY``; ``error`` / ``ignore``: refuse or skip an existing table;
- ``upsert`` / ``append_once``: ``COPY`` into a temporary table, then one ``MERGE`` on ``keys`` (plain
  equality, so it hash-joins; NULL keys are refused), or ``INSERT ... ON CONFLICT`` before PostgreSQL 15
  (which then needs a unique index on the keys).

A table Spark staged over JDBC is published the same way (:meth:`PostgresDatabase.publish`).
"""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from odibi import secrets
from odibi.connections.base import ConnectionCheck
from odibi.connections.sql import MERGE_MODES, JdbcTarget, SqlDatabase, first_line
from odibi.errors import EngineError, NodeExecutionError
from odibi.secrets import mask


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


class PostgresDatabase(SqlDatabase):
    """A PostgreSQL database opened for a run."""

    dialect = "postgres"

    def _postgres_url(self) -> str:
        assert self._url is not None
        return _libpq_url(self._url.get_secret_value())

    def _qualified(self, table: str) -> str:
        name = self.table_name(table)
        return name if "." in name else f"public.{name}"

    def _error(self, exc: BaseException) -> NodeExecutionError:
        return NodeExecutionError(mask(f"connection '{self.name}': {first_line(exc)}"))

    # -- reads ------------------------------------------------------------------------------------
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
                sql = f"SELECT * FROM odibi_pg.{_quote(self._qualified(table))}"
            else:
                sql = "SELECT * FROM postgres_query('odibi_pg', ?)"
            result = con.execute(sql, [query] if table is None else [])
            data = result.arrow()
            return data.read_all() if hasattr(data, "read_all") else data
        except duckdb.Error as exc:
            raise self._error(exc) from None
        finally:
            con.close()

    # -- writes -----------------------------------------------------------------------------------
    def write_arrow(self, data: Any, *, table: str, mode: str, keys: list[str]) -> int:
        """Write ``data`` (a pyarrow Table) to ``table`` with COPY, in one transaction; rows written."""
        import psycopg
        import pyarrow.csv as pacsv

        self.check_write_mode(mode, keys)
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
                exists = self._exists(cur, table)
                if exists and mode == "error":
                    raise NodeExecutionError(
                        f"table {name} already exists", hint="mode: error refuses to replace it"
                    )
                if exists and mode == "ignore":
                    return 0
                if not exists:
                    cur.execute(f"CREATE TABLE {target} ({ddl})")
                if mode in MERGE_MODES and exists:
                    cur.execute(f"CREATE TEMP TABLE odibi_batch ({ddl}) ON COMMIT DROP")
                    self._copy(cur, "odibi_batch", col_list, payload)
                    self._merge(cur, conn, target, "odibi_batch", cols, mode, keys)
                else:
                    if mode == "overwrite" and exists:
                        cur.execute(f"TRUNCATE {target}")
                    self._copy(cur, target, col_list, payload)
                conn.commit()
        except psycopg.Error as exc:
            raise self._error(exc) from None
        return data.num_rows

    def publish(self, staged: str, *, table: str, mode: str, keys: list[str]) -> None:
        import psycopg

        self.check_write_mode(mode, keys)
        name = self.table_name(table)
        target, source = _quote(name), _quote(self._qualified(staged))
        try:
            with psycopg.connect(self._postgres_url(), autocommit=False) as conn:
                try:
                    with conn.cursor() as cur:
                        cur.execute(f"SELECT * FROM {source} LIMIT 0")
                        cols = [d.name for d in cur.description or []]
                        col_list = ", ".join(_quote(c) for c in cols)
                        exists = self._exists(cur, table)
                        if exists and mode == "error":
                            raise NodeExecutionError(
                                f"table {name} already exists", hint="mode: error refuses to replace it"
                            )
                        if not (exists and mode == "ignore"):
                            if not exists:
                                cur.execute(f"CREATE TABLE {target} (LIKE {source})")
                            if mode in MERGE_MODES and exists:
                                self._merge(cur, conn, target, source, cols, mode, keys)
                            else:
                                if mode == "overwrite" and exists:
                                    cur.execute(f"TRUNCATE {target}")
                                cur.execute(
                                    f"INSERT INTO {target} ({col_list}) SELECT {col_list} FROM {source}"
                                )
                        cur.execute(f"DROP TABLE {source}")
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    with conn.cursor() as cur:  # the staged rows are never left behind
                        cur.execute(f"DROP TABLE IF EXISTS {source}")
                    conn.commit()
                    raise
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def discard(self, staged: str) -> None:
        import psycopg

        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(self._postgres_url(), autocommit=True) as conn,
        ):
            conn.execute(f"DROP TABLE IF EXISTS {_quote(self._qualified(staged))}")

    def _exists(self, cur: Any, table: str) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [self._qualified(table)])
        return bool(cur.fetchone()[0])

    @staticmethod
    def _copy(cur: Any, target: str, col_list: str, payload: bytes) -> None:
        with cur.copy(f"COPY {target} ({col_list}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(payload)

    def _merge(
        self, cur, conn, target: str, source: str, cols: list[str], mode: str, keys: list[str]
    ) -> None:
        # plain equality, so PostgreSQL can hash-join the batch to the table (IS NOT DISTINCT FROM cannot
        # be hashed: a nested loop, quadratic); keys are therefore required to be non-NULL
        col_list = ", ".join(_quote(c) for c in cols)
        nulls = " OR ".join(f"{_quote(k)} IS NULL" for k in keys)
        cur.execute(f"SELECT count(*) FROM {source} WHERE {nulls}")
        if cur.fetchone()[0]:
            raise self.null_keys_error(mode, keys)
        match = " AND ".join(f"t.{_quote(k)} = s.{_quote(k)}" for k in keys)
        values = ", ".join(f"s.{_quote(c)}" for c in cols)
        if conn.info.server_version >= 150000:
            sets = ", ".join(f"{_quote(c)} = s.{_quote(c)}" for c in cols if c not in keys)
            update = f"WHEN MATCHED THEN UPDATE SET {sets} " if mode == "upsert" and sets else ""
            cur.execute(
                f"MERGE INTO {target} AS t USING {source} AS s ON {match} "
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
            f"INSERT INTO {target} ({col_list}) SELECT {col_list} FROM {source} ON CONFLICT ({conflict}) {action}"
        )

    # -- Spark ------------------------------------------------------------------------------------
    def jdbc(self) -> JdbcTarget:
        """``jdbc:postgresql://host:port/db`` with the URL's user and password as properties."""
        parts = urlsplit(self._postgres_url())
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        props = {"user": unquote(parts.username or "")}
        if parts.password:
            props["password"] = unquote(parts.password)
            secrets.register(props["password"])  # masked if a JVM message ever echoes it
        query = f"?{parts.query}" if parts.query else ""
        return JdbcTarget(
            f"jdbc:postgresql://{host}{port}{parts.path}{query}", "org.postgresql.Driver", props
        )

    # -- run life ---------------------------------------------------------------------------------
    def check(self) -> ConnectionCheck:
        try:
            import psycopg

            with psycopg.connect(self._postgres_url(), connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return ConnectionCheck(True, "the database answers")
        except Exception as exc:
            return ConnectionCheck(False, mask(first_line(exc)))
