"""Any database SQLAlchemy reaches (SQLite, SQL Server / Azure SQL, MySQL...): tables and queries.

Reads fetch the result into Arrow (types from the values the driver returns). Writes run in one
transaction: the table is created from the batch's Arrow schema when missing, ``overwrite`` deletes the
old rows (``DELETE``, which every database rolls back, unlike ``TRUNCATE`` on some), and rows go in as
batched inserts (SQLAlchemy's insertmanyvalues; ``fast_executemany`` for pyodbc). ``upsert`` and
``append_once`` load the batch into a staging table, then ``DELETE`` the matched rows and ``INSERT`` (or
``INSERT ... WHERE NOT EXISTS``): portable SQL, atomic as the database's transactions are.
"""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from odibi import secrets
from odibi.connections.base import ConnectionCheck
from odibi.connections.sql import MERGE_MODES, JdbcTarget, SqlDatabase, first_line
from odibi.errors import EngineError, NodeExecutionError
from odibi.secrets import mask

# SQLAlchemy backend name → sqlglot dialect (for filters odibi sends to the database)
_DIALECTS = {"sqlite": "sqlite", "mssql": "tsql", "mysql": "mysql", "mariadb": "mysql", "oracle": "oracle"}
# database driver modules a URL may need → the pip package that provides them
_DRIVER_PACKAGES = {
    "pyodbc": "pyodbc",
    "pymysql": "pymysql",
    "MySQLdb": "mysqlclient",
    "oracledb": "oracledb",
}


def _sa_type(arrow_type: Any) -> Any:
    import pyarrow as pa
    import sqlalchemy as sa

    if pa.types.is_boolean(arrow_type):
        return sa.Boolean()
    if pa.types.is_integer(arrow_type):
        return sa.Integer() if arrow_type.bit_width <= 16 else sa.BigInteger()
    if pa.types.is_floating(arrow_type):
        return sa.Float(precision=53)
    if pa.types.is_decimal(arrow_type):
        return sa.Numeric(arrow_type.precision, arrow_type.scale)
    if pa.types.is_date(arrow_type):
        return sa.Date()
    if pa.types.is_timestamp(arrow_type):
        return sa.DateTime(timezone=arrow_type.tz is not None)
    return sa.UnicodeText()


def _transactional_ddl(engine: Any) -> None:
    """Make SQLite transactions hold DDL too: Python's sqlite3 commits before a ``CREATE TABLE`` on its
    own, so a failed write would leave its new table behind. SQLAlchemy's documented recipe: the driver
    stops managing transactions and every SQLAlchemy transaction starts with an explicit ``BEGIN``."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def _arrow_column(values: list[Any]) -> Any:
    """A column of Python values as Arrow; a column with no value to type it by becomes text."""
    import pyarrow as pa

    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array([None if v is None else str(v) for v in values], pa.string())
    return array.cast(pa.string()) if pa.types.is_null(array.type) else array


class AlchemyDatabase(SqlDatabase):
    """A database reached through a SQLAlchemy URL (or a URL and connect arguments built for it)."""

    def __init__(
        self, name: str, type_: str, where: str, *, url: SecretStr | None = None, schema: str | None = None,
        project_root: Path | None = None, engine_kwargs: dict[str, Any] | None = None,
    ):  # fmt: skip
        super().__init__(name, type_, where, url=url, schema=schema)
        self._project_root = project_root
        self._engine_kwargs = engine_kwargs or {}
        self._engine: Any = None
        if url is not None:  # a type that builds its URL (azure_sql) sets its own dialect
            self.dialect = _DIALECTS.get(self._backend(), "postgres")

    def _url_text(self) -> str:
        assert self._url is not None
        return self._url.get_secret_value()

    def _backend(self) -> str:
        return self._url_text().split(":", 1)[0].split("+", 1)[0].lower()

    def _sa_url(self) -> Any:
        from sqlalchemy.engine import make_url

        url = make_url(self._url_text())
        # a relative SQLite file is relative to the project, not to wherever odibi was started
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            path = Path(url.database)
            if not path.is_absolute() and self._project_root is not None:
                url = url.set(database=str(self._project_root / path))
        return url

    def engine(self) -> Any:
        """The SQLAlchemy engine, made on first use; a missing driver is a clear error."""
        if self._engine is not None:
            return self._engine
        try:
            import sqlalchemy as sa
        except ImportError:
            raise EngineError(
                f"connection '{self.name}' needs the package 'sqlalchemy'", hint='pip install "odibi[sql]"'
            ) from None
        try:
            url = self._sa_url()
            kwargs = dict(self._engine_kwargs)
            if url.get_driver_name() == "pyodbc":
                kwargs.setdefault("fast_executemany", True)
            self._engine = sa.create_engine(url, **kwargs)
            if url.get_backend_name() == "sqlite":
                _transactional_ddl(self._engine)
        except ImportError as exc:
            module = getattr(exc, "name", None) or first_line(exc)
            package = _DRIVER_PACKAGES.get(module or "", module)
            raise EngineError(
                mask(
                    f"connection '{self.name}' needs the database driver '{module}', which cannot be imported"
                ),
                hint=f"pip install {package}" + self._driver_hint(),
            ) from None
        except Exception as exc:  # a malformed URL, an unknown dialect
            raise EngineError(
                mask(f"connection '{self.name}': {first_line(exc)}"),
                hint="a SQLAlchemy URL, e.g. sqlite:///data/app.db or mssql+pyodbc://...",
            ) from None
        return self._engine

    def _driver_hint(self) -> str:
        return ""

    def _error(self, exc: BaseException) -> NodeExecutionError:
        text = first_line(getattr(exc, "orig", None) or exc)
        return NodeExecutionError(mask(f"connection '{self.name}': {text}"), hint=self._error_hint(text))

    def _error_hint(self, text: str) -> str | None:
        return None

    def _split(self, table: str) -> tuple[str | None, str]:
        name = self.table_name(table)
        schema, _, base = name.rpartition(".")
        return schema or None, base

    def _quoted(self, table: str) -> str:
        prep = self.engine().dialect.identifier_preparer
        schema, base = self._split(table)
        return (f"{prep.quote_schema(schema)}." if schema else "") + prep.quote(base)

    # -- reads ------------------------------------------------------------------------------------
    def read_arrow(self, *, table: str | None = None, query: str | None = None) -> Any:
        import pyarrow as pa
        import sqlalchemy as sa

        sql = f"SELECT * FROM {self._quoted(table)}" if table is not None else str(query)
        try:
            with self.engine().connect() as conn:
                result = conn.execute(sa.text(sql))
                names = [str(k) for k in result.keys()]  # noqa: SIM118 (a Result, not a dict)
                rows = result.fetchall()
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(exc) from None
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return pa.table({n: _arrow_column(list(col)) for n, col in zip(names, columns, strict=True)})

    # -- writes -----------------------------------------------------------------------------------
    def write_arrow(self, data: Any, *, table: str, mode: str, keys: list[str]) -> int:
        import sqlalchemy as sa

        self.check_write_mode(mode, keys)
        schema, base = self._split(table)
        rows = data.to_pylist()
        stage_name = (f"{schema}." if schema else "") + f"odibi_stage_{uuid.uuid4().hex[:12]}"
        try:
            with self.engine().begin() as conn:
                exists = sa.inspect(conn).has_table(base, schema=schema)
                if exists and mode == "error":
                    raise NodeExecutionError(
                        f"table {self.table_name(table)} already exists",
                        hint="mode: error refuses to replace it",
                    )
                if exists and mode == "ignore":
                    return 0
                columns = [sa.Column(f.name, _sa_type(f.type)) for f in data.schema]
                target = sa.Table(base, sa.MetaData(), *columns, schema=schema)
                if not exists:
                    target.create(conn)
                if mode in MERGE_MODES and exists:
                    staged = sa.Table(
                        stage_name.rpartition(".")[2], sa.MetaData(), *[sa.Column(f.name, _sa_type(f.type)) for f in data.schema],
                        schema=schema,
                    )  # fmt: skip
                    staged.create(conn)
                    if rows:
                        conn.execute(staged.insert(), rows)
                    self._merge(conn, target, staged, mode, keys)
                    staged.drop(conn)
                else:
                    if mode == "overwrite" and exists:
                        conn.execute(target.delete())
                    if rows:
                        conn.execute(target.insert(), rows)
        except sa.exc.SQLAlchemyError as exc:
            self.discard(stage_name)
            raise self._error(exc) from None
        except BaseException:
            self.discard(stage_name)  # rolled back with the transaction, except where DDL is not (MySQL)
            raise
        return data.num_rows

    def publish(self, staged: str, *, table: str, mode: str, keys: list[str]) -> None:
        import sqlalchemy as sa

        self.check_write_mode(mode, keys)
        schema, base = self._split(table)
        stage_schema, stage_base = self._split(staged)
        engine = self.engine()
        try:
            try:
                with engine.begin() as conn:
                    source = sa.Table(stage_base, sa.MetaData(), schema=stage_schema, autoload_with=conn)
                    exists = sa.inspect(conn).has_table(base, schema=schema)
                    if exists and mode == "error":
                        raise NodeExecutionError(
                            f"table {self.table_name(table)} already exists",
                            hint="mode: error refuses to replace it",
                        )
                    if not (exists and mode == "ignore"):
                        if exists:
                            target = sa.Table(base, sa.MetaData(), schema=schema, autoload_with=conn)
                        else:
                            columns = [sa.Column(c.name, c.type) for c in source.columns]
                            target = sa.Table(base, sa.MetaData(), *columns, schema=schema)
                            target.create(conn)
                        if mode in MERGE_MODES and exists:
                            self._merge(conn, target, source, mode, keys)
                        else:
                            if mode == "overwrite" and exists:
                                conn.execute(target.delete())
                            names = [c.name for c in source.columns]
                            conn.execute(target.insert().from_select(names, sa.select(*source.columns)))
                    source.drop(conn)
            finally:  # the staged rows are never left behind, published or not
                with engine.begin() as conn:
                    sa.Table(stage_base, sa.MetaData(), schema=stage_schema).drop(conn, checkfirst=True)
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(exc) from None

    def discard(self, staged: str) -> None:
        import sqlalchemy as sa

        schema, base = self._split(staged)
        with contextlib.suppress(sa.exc.SQLAlchemyError), self.engine().begin() as conn:
            sa.Table(base, sa.MetaData(), schema=schema).drop(conn, checkfirst=True)

    def _merge(self, conn: Any, target: Any, source: Any, mode: str, keys: list[str]) -> None:
        import sqlalchemy as sa

        if conn.execute(
            sa.select(sa.func.count())
            .select_from(source)
            .where(sa.or_(*[source.c[k].is_(None) for k in keys]))
        ).scalar():
            raise self.null_keys_error(mode, keys)
        match = sa.and_(*[target.c[k] == source.c[k] for k in keys])
        names = [c.name for c in source.columns]
        if mode == "upsert":
            conn.execute(target.delete().where(sa.exists().where(match)))
            conn.execute(target.insert().from_select(names, sa.select(*source.columns)))
            return
        fresh = sa.select(*source.columns).where(~sa.exists().where(match).correlate(source))
        conn.execute(target.insert().from_select(names, fresh))

    # -- Spark ------------------------------------------------------------------------------------
    def jdbc(self) -> JdbcTarget | None:
        url = self._sa_url()
        backend = url.get_backend_name()
        props = {k: v for k, v in (("user", url.username), ("password", url.password)) if v}
        if "password" in props:
            secrets.register(props["password"])  # masked if a JVM message ever echoes it
        if backend == "sqlite" and url.database:
            return JdbcTarget(f"jdbc:sqlite:{url.database}", "org.sqlite.JDBC", {})
        if backend in ("mysql", "mariadb"):
            port = f":{url.port}" if url.port else ""
            return JdbcTarget(
                f"jdbc:mysql://{url.host}{port}/{url.database}", "com.mysql.cj.jdbc.Driver", props
            )
        return None

    # -- run life ---------------------------------------------------------------------------------
    def describe(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "root": self.where, "auth": "from the URL"}

    def check(self) -> ConnectionCheck:
        import sqlalchemy as sa

        try:
            with self.engine().connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return ConnectionCheck(True, "the database answers")
        except Exception as exc:
            return ConnectionCheck(False, mask(first_line(getattr(exc, "orig", None) or exc)))

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
