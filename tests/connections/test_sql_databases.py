"""SQL databases beyond PostgreSQL's fast path, and Spark over JDBC.

- SQLite (a real database, through SQLAlchemy): the generic path every other SQLAlchemy database takes
  (read into Arrow, batched inserts and merges in one transaction), on duckdb, pandas and spark.
- Spark with PostgreSQL's JDBC driver on its classpath (Debian's libpostgresql-jdbc-java, put there by
  tests/conftest.py): the executors read and stage the rows, the connection publishes them in one
  transaction, and the rows equal what DuckDB wrote through COPY. Without a driver (SQLite here) Spark
  goes through Arrow in the driver process and the node says so.
- Azure SQL cannot run here (no SQL Server, no Microsoft ODBC driver): what odibi builds for it (the ODBC
  connection string per authentication mode, the JDBC URL, the SQL of a merge) is tested as text, and a
  missing driver is a clear error without the secret.
"""

from __future__ import annotations

import sqlite3
import textwrap
import uuid
from pathlib import Path

import pytest

from odibi import api
from tests.conformance.conftest import ENGINE_PARAMS, engine_param

SQLITE_PROJECT = """
project: lite
connections:
  db: {{type: sql, url: "sqlite:///app.db"}}
  files: {{type: local, base_path: ./files}}
pipelines:
  - pipeline: load
    nodes:
      - name: orders
        read: {{connection: db, table: orders, incremental: {{column: updated_at}}}}
      - name: customers
        read: {{connection: files, path: customers.csv}}
      - name: enriched
        depends_on: [orders, customers]
        transform:
          steps:
            - sql: |
                SELECT o.order_id, o.updated_at, c.name, o.amount
                FROM orders o JOIN customers c ON c.customer_id = o.customer_id
        write: {{connection: db, table: enriched, mode: {mode}, keys: [order_id]}}
"""


def _sqlite_project(folder: Path, mode: str = "upsert") -> Path:
    (folder / "files").mkdir(parents=True, exist_ok=True)
    (folder / "files" / "customers.csv").write_text("customer_id,name\n10,Ada\n11,Grace\n")
    with sqlite3.connect(folder / "app.db") as db:
        db.execute(
            "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL, updated_at TEXT)"
        )
        db.execute(
            "INSERT INTO orders VALUES (1, 10, 5.5, '2026-01-01 10:00'), (2, 11, 7.25, '2026-01-02 10:00'), "
            "(3, 10, 1.0, '2026-01-03 10:00')"
        )
    cfg = folder / "odibi.yaml"
    cfg.write_text(textwrap.dedent(SQLITE_PROJECT.format(mode=mode)).lstrip())
    return cfg


def _rows(folder: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(folder / "app.db") as db:
        return db.execute(sql).fetchall()


def _new_orders(folder: Path) -> None:
    with sqlite3.connect(folder / "app.db") as db:
        db.execute("INSERT INTO orders VALUES (4, 11, 9.0, '2026-01-04 10:00')")
        db.execute("UPDATE orders SET amount = 6.0, updated_at = '2026-01-05 10:00' WHERE order_id = 1")


@pytest.mark.parametrize("engine", ENGINE_PARAMS)
def test_sqlite_read_join_upsert_and_incremental_load(tmp_path, engine):
    cfg = _sqlite_project(tmp_path)
    first = api.run_project(cfg, engine=engine)
    assert first.ok, [n.error for n in first.nodes]
    assert {n.node: n.rows_read for n in first.nodes}["orders"] == 3
    _new_orders(tmp_path)
    second = api.run_project(cfg, engine=engine)
    assert second.ok, [n.error for n in second.nodes]
    assert {n.node: n.rows_read for n in second.nodes}["orders"] == 2  # the filter ran in SQLite
    assert _rows(tmp_path, "SELECT order_id, name, amount FROM enriched ORDER BY order_id") == [
        (1, "Ada", 6.0),
        (2, "Grace", 7.25),
        (3, "Ada", 1.0),
        (4, "Grace", 9.0),
    ]
    assert not _rows(tmp_path, "SELECT name FROM sqlite_master WHERE name LIKE 'odibi_stage_%'")
    if engine == "spark":  # no SQLite JDBC driver here: through the driver process, and said
        notes = " ".join(n for r in second.nodes for n in r.notes)
        assert "org.sqlite.JDBC is not on the Spark classpath" in notes


def test_sqlite_append_once_twice_equals_once_and_overwrite_replaces(tmp_path):
    cfg = _sqlite_project(tmp_path, mode="append_once")
    for _ in range(2):
        assert api.run_project(cfg, full_refresh=True).ok
    assert _rows(tmp_path, "SELECT count(*), count(DISTINCT order_id) FROM enriched") == [(3, 3)]
    cfg.write_text(cfg.read_text().replace("mode: append_once", "mode: overwrite"))
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("DELETE FROM orders WHERE order_id = 3")
    assert api.run_project(cfg, full_refresh=True).ok
    assert _rows(tmp_path, "SELECT order_id FROM enriched ORDER BY 1") == [(1,), (2,)]


def test_a_failed_sqlite_merge_leaves_the_table_as_it_was(tmp_path):
    """NULL keys are refused inside the transaction: the earlier rows stay, no staging table is left."""
    cfg = _sqlite_project(tmp_path)
    assert api.run_project(cfg).ok
    before = _rows(tmp_path, "SELECT * FROM enriched ORDER BY 1")
    cfg.write_text(
        cfg.read_text().replace(
            "SELECT o.order_id,", "SELECT CASE WHEN o.order_id = 2 THEN NULL ELSE o.order_id END AS order_id,"
        )
    )
    result = api.run_project(cfg, full_refresh=True)
    assert not result.ok
    error = next(n.error for n in result.nodes if n.node == "enriched")
    assert "may not be NULL" in error
    assert _rows(tmp_path, "SELECT * FROM enriched ORDER BY 1") == before
    assert not _rows(tmp_path, "SELECT name FROM sqlite_master WHERE name LIKE 'odibi_stage_%'")


def test_a_missing_database_driver_is_a_clear_error(make_project, monkeypatch):
    cfg = make_project(
        """
        project: m
        connections:
          db: {type: sql, url: "mysql+pymysql://app:${MYSQL_PASSWORD}@127.0.0.1:1/shop"}
        pipelines:
          - pipeline: p
            nodes:
              - name: o
                read: {connection: db, table: orders}
        """
    )
    monkeypatch.setenv("MYSQL_PASSWORD", "canary-s3cret")
    result = api.run_project(cfg, story=False)
    said = f"{result.nodes[0].error} {result.nodes[0].failure}"
    assert "pymysql" in said and "canary-s3cret" not in said


# ------------------------------------------------------------------------------------------ Spark JDBC
PG_PROJECT = """
project: pgspark
connections:
  db: {{type: sql, url: "{url}"}}
  files: {{type: local, base_path: ./files}}
pipelines:
  - pipeline: load
    nodes:
      - name: orders
        read: {{connection: db, table: public.orders, incremental: {{column: updated_at}}}}
      - name: customers
        read: {{connection: files, path: customers.csv}}
      - name: enriched
        depends_on: [orders, customers]
        transform:
          steps:
            - sql: |
                SELECT o.order_id, o.updated_at, c.name, o.amount
                FROM orders o JOIN customers c ON c.customer_id = o.customer_id
        write: {{connection: db, table: public.enriched_{engine}, mode: upsert, keys: [order_id]}}
"""

PG_JDBC = Path("/usr/share/java/postgresql.jar")


@pytest.mark.spark
@pytest.mark.parametrize("engine", [engine_param("spark")])
def test_spark_reads_and_writes_postgres_over_jdbc_like_duckdb(postgres, tmp_path, engine):
    import os

    if not PG_JDBC.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must install libpostgresql-jdbc-java (Spark's PostgreSQL JDBC driver)")
        pytest.skip("PostgreSQL's JDBC driver is not installed (apt-get install libpostgresql-jdbc-java)")
    name = f"db_{uuid.uuid4().hex[:8]}"
    postgres.execute(f"CREATE DATABASE {name}")
    postgres.execute(
        "CREATE TABLE orders (order_id BIGINT PRIMARY KEY, customer_id BIGINT, amount NUMERIC(10,2), "
        "updated_at TIMESTAMP)",
        name,
    )
    postgres.execute(
        "INSERT INTO orders VALUES (1, 10, 5.50, '2026-01-01 10:00'), (2, 11, 7.25, '2026-01-02 10:00'), "
        "(3, 10, 1.00, '2026-01-03 10:00')",
        name,
    )
    results = {}
    for eng in ("duckdb", "spark"):
        folder = tmp_path / eng
        (folder / "files").mkdir(parents=True)
        (folder / "files" / "customers.csv").write_text("customer_id,name\n10,Ada\n11,Grace\n")
        cfg = folder / "odibi.yaml"
        cfg.write_text(textwrap.dedent(PG_PROJECT.format(url=postgres.url(name), engine=eng)).lstrip())
        results[eng] = cfg
        first = api.run_project(cfg, engine=eng)
        assert first.ok, [n.error for n in first.nodes]
        notes = " ".join(n for r in first.nodes for n in r.notes)
        assert "not on the Spark classpath" not in notes  # the executors did the work
    postgres.execute("INSERT INTO orders VALUES (4, 11, 9.00, '2026-01-04 10:00')", name)
    postgres.execute(
        "UPDATE orders SET amount = 6.00, updated_at = '2026-01-05 10:00' WHERE order_id = 1", name
    )
    for eng, cfg in results.items():
        second = api.run_project(cfg, engine=eng)
        assert second.ok, [n.error for n in second.nodes]
        assert {n.node: n.rows_read for n in second.nodes}["orders"] == 2, eng
    spark_rows = postgres.execute(
        "SELECT order_id, updated_at, name, amount FROM enriched_spark ORDER BY 1", name
    )
    duck_rows = postgres.execute(
        "SELECT order_id, updated_at, name, amount FROM enriched_duckdb ORDER BY 1", name
    )
    assert spark_rows == duck_rows and len(spark_rows) == 4
    assert (
        postgres.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'odibi_stage_%'", name) == []
    )
    # a publish that fails (NULL keys) rolls back: the table is as it was, the staged rows are dropped
    cfg = results["spark"]
    cfg.write_text(
        cfg.read_text().replace(
            "SELECT o.order_id,", "SELECT CASE WHEN o.order_id = 2 THEN NULL ELSE o.order_id END AS order_id,"
        )
    )
    failed = api.run_project(cfg, engine="spark", full_refresh=True, story=False)
    assert not failed.ok
    assert "may not be NULL" in next(n.error for n in failed.nodes if n.node == "enriched")
    after = postgres.execute("SELECT order_id, updated_at, name, amount FROM enriched_spark ORDER BY 1", name)
    assert after == spark_rows
    assert (
        postgres.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'odibi_stage_%'", name) == []
    )


# ------------------------------------------------------------------------------------------ Azure SQL
def _azure(**fields):
    from odibi.connections.azure_sql import AzureSqlConnection

    base = {"type": "azure_sql", "server": "srv.database.windows.net", "database": "sales"}
    return AzureSqlConnection.model_validate({**base, **fields}).open("warehouse", Path("."))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"username": "etl", "password": "pa;ss}"}, ["UID=etl", "PWD={pa;ss}}}", "Encrypt=yes"]),
        ({"auth_mode": "aad_msi"}, ["Authentication=ActiveDirectoryMsi"]),
        (
            {"auth_mode": "aad_service_principal", "client_id": "app-1", "client_secret": "s"},
            ["Authentication=ActiveDirectoryServicePrincipal", "UID=app-1", "PWD=s"],
        ),
        (
            {"auth_mode": "aad_password", "username": "u@x.com", "password": "p"},
            ["Authentication=ActiveDirectoryPassword", "UID=u@x.com"],
        ),
    ],
    ids=["sql", "aad_msi", "service_principal", "aad_password"],
)
def test_azure_sql_builds_the_odbc_connection_string(fields, expected):
    text = _azure(**fields).odbc_connection_string()
    assert text.startswith("Driver={ODBC Driver 18 for SQL Server};Server=tcp:srv.database.windows.net,1433;")
    assert "Database=sales;" in text
    for part in expected:
        assert part in text.split(";") or part in text


def test_azure_sql_jdbc_url_carries_the_same_authentication():
    target = _azure(auth_mode="aad_service_principal", client_id="app-1", client_secret="s").jdbc()
    assert target.url.startswith(
        "jdbc:sqlserver://srv.database.windows.net:1433;databaseName=sales;encrypt=true"
    )
    assert "authentication=ActiveDirectoryServicePrincipal" in target.url
    assert target.properties == {"user": "app-1", "password": "s"}
    assert target.driver == "com.microsoft.sqlserver.jdbc.SQLServerDriver"


def test_azure_sql_key_vault_password_is_fetched_once_at_prepare(monkeypatch):
    """Key Vault cannot run here: the SDK call is replaced at its boundary (key_vault_secret)."""
    calls = []

    def fake_secret(vault, secret, timeout):
        calls.append((vault, secret))
        return "from-the-vault"

    monkeypatch.setattr("odibi.connections.azure_adls.key_vault_secret", fake_secret)
    db = _azure(auth_mode="key_vault", username="etl", key_vault_name="kv1", secret_name="sql-pw")
    db.prepare()
    assert "PWD=from-the-vault" in db.odbc_connection_string()
    db.jdbc()
    assert calls == [("kv1", "sql-pw")]


def test_azure_sql_modes_name_what_they_need(make_project):
    from typer.testing import CliRunner

    from odibi.cli.app import app

    cfg = make_project(
        """
        project: a
        connections:
          wh: {type: azure_sql, server: s.database.windows.net, database: d, auth_mode: aad_service_principal}
        pipelines:
          - pipeline: p
            nodes:
              - name: o
                read: {connection: wh, table: dbo.orders}
        """
    )
    out = CliRunner().invoke(app, ["validate", str(cfg)])
    assert out.exit_code == 2
    assert "auth_mode aad_service_principal needs `client_id`" in out.output


def test_azure_sql_without_its_driver_says_what_to_install(make_project, monkeypatch):
    cfg = make_project(
        """
        project: a
        connections:
          wh: {type: azure_sql, server: 127.0.0.1, database: d, username: etl, password: "${SQL_PASSWORD}", timeout: 1}
        pipelines:
          - pipeline: p
            nodes:
              - name: o
                read: {connection: wh, table: dbo.orders}
        """
    )
    monkeypatch.setenv("SQL_PASSWORD", "canary-s3cret")
    result = api.run_project(cfg, story=False)
    said = f"{result.nodes[0].error} {result.nodes[0].failure}"
    assert "canary-s3cret" not in said
    assert "pyodbc" in said or "ODBC Driver 18 for SQL Server" in said


def test_merges_on_other_databases_are_portable_sql():
    """The generic merge is DELETE/INSERT with EXISTS: SQLAlchemy renders it for SQL Server too."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import mssql

    md = sa.MetaData()
    target = sa.Table("t", md, sa.Column("id", sa.BigInteger), sa.Column("v", sa.UnicodeText), schema="dbo")
    source = sa.Table(
        "odibi_stage_x", md, sa.Column("id", sa.BigInteger), sa.Column("v", sa.UnicodeText), schema="dbo"
    )
    match = target.c.id == source.c.id
    sql = str(target.delete().where(sa.exists().where(match)).compile(dialect=mssql.dialect()))
    assert sql.startswith("DELETE FROM dbo.t WHERE EXISTS (SELECT * \nFROM dbo.odibi_stage_x")


def test_the_jdbc_password_is_masked_wherever_it_is_echoed():
    """Spark gets the password as a JDBC property; a JVM message that echoed it would be masked."""
    from odibi import secrets
    from odibi.connections.sql import SqlConnection

    config = SqlConnection.model_validate(
        {"type": "sql", "url": "postgresql://etl:pa%40ss-canary@db:5432/sales"}
    )
    target = config.open("db", Path(".")).jdbc()
    assert target.url == "jdbc:postgresql://db:5432/sales"
    assert target.properties == {"user": "etl", "password": "pa@ss-canary"}
    assert "pa@ss-canary" not in secrets.mask("java.sql.SQLException: password pa@ss-canary rejected")
