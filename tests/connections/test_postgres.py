"""PostgreSQL as a connection, against a real throwaway cluster: a project reads a table and a CSV, joins
them, upserts into a PostgreSQL table and into a Delta table, and loads incrementally on a second run
(only the new rows are read from the database), with identical results on duckdb and pandas."""

from __future__ import annotations

import textwrap
import uuid

import deltalake
import pytest

from odibi import api

PROJECT = """
project: pg
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
      - name: to_lake
        depends_on: [enriched]
        transform: {{steps: ["SELECT * FROM enriched"]}}
        write: {{connection: files, path: lake/enriched_{engine}, format: delta, mode: upsert, keys: [order_id]}}
"""


@pytest.fixture
def database(postgres):
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
    return postgres, name


def _project(tmp_path, url: str, engine: str):
    (tmp_path / "files").mkdir(parents=True, exist_ok=True)
    (tmp_path / "files" / "customers.csv").write_text("customer_id,name\n10,Ada\n11,Grace\n")
    cfg = tmp_path / f"odibi_{engine}.yaml"
    cfg.write_text(textwrap.dedent(PROJECT.format(url=url, engine=engine)).lstrip())
    return cfg


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_read_join_upsert_and_incremental_load(database, tmp_path, engine):
    server, name = database
    cfg = _project(tmp_path, server.url(name), engine)
    first = api.run_project(cfg, engine=engine)
    assert first.ok, [n.error for n in first.nodes]
    assert {n.node: n.rows_read for n in first.nodes}["orders"] == 3
    # new and changed rows arrive
    server.execute("INSERT INTO orders VALUES (4, 11, 9.00, '2026-01-04 10:00')", name)
    server.execute(
        "UPDATE orders SET amount = 6.00, updated_at = '2026-01-05 10:00' WHERE order_id = 1", name
    )
    second = api.run_project(cfg, engine=engine)
    assert second.ok, [n.error for n in second.nodes]
    assert {n.node: n.rows_read for n in second.nodes}[
        "orders"
    ] == 2  # only what is new came from the database
    rows = server.execute(f"SELECT order_id, name, amount FROM enriched_{engine} ORDER BY order_id", name)
    assert [(r[0], r[1], float(r[2])) for r in rows] == [
        (1, "Ada", 6.0),
        (2, "Grace", 7.25),
        (3, "Ada", 1.0),
        (4, "Grace", 9.0),
    ]
    lake = deltalake.DeltaTable(str(tmp_path / "files" / "lake" / f"enriched_{engine}")).to_pandas()
    assert sorted(zip(lake["order_id"], lake["amount"].astype(float), strict=True)) == [
        (1, 6.0),
        (2, 7.25),
        (3, 1.0),
        (4, 9.0),
    ]


def test_duckdb_and_pandas_write_the_same_table(database, tmp_path):
    server, name = database
    for engine in ("duckdb", "pandas"):
        assert api.run_project(_project(tmp_path / engine, server.url(name), engine), engine=engine).ok
    duck = server.execute("SELECT order_id, updated_at, name, amount FROM enriched_duckdb ORDER BY 1", name)
    pand = server.execute("SELECT order_id, updated_at, name, amount FROM enriched_pandas ORDER BY 1", name)
    assert duck == pand and len(duck) == 3
    types = server.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_name LIKE 'enriched_%' ORDER BY table_name, ordinal_position",
        name,
    )
    by_table: dict[str, list] = {}
    for table, column, kind in types:
        by_table.setdefault(table, []).append((column, kind))
    assert by_table["enriched_duckdb"] == by_table["enriched_pandas"]


def test_overwrite_keeps_the_table_and_append_once_does_not_duplicate(database, tmp_path):
    server, name = database
    server.execute("CREATE TABLE target (order_id BIGINT, amount NUMERIC(10,2))", name)
    server.execute("CREATE INDEX target_by_id ON target (order_id)", name)
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        project: t
        connections: {{db: {{type: sql, url: "{server.url(name)}"}}}}
        pipelines:
          - pipeline: p
            nodes:
              - name: o
                read: {{connection: db, query: "SELECT order_id, amount FROM orders WHERE order_id < 3"}}
                write: {{connection: db, table: target, mode: overwrite}}
        """).lstrip()
    )
    for _ in range(2):
        assert api.run_project(cfg).ok
    assert server.execute("SELECT count(*) FROM target", name) == [(2,)]
    assert server.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'target'", name) == [
        ("target_by_id",)
    ]
    cfg.write_text(
        cfg.read_text()
        .replace("mode: overwrite", "mode: append_once, keys: [order_id]")
        .replace("< 3", "< 4")
    )
    for _ in range(2):
        assert api.run_project(cfg).ok
    assert server.execute("SELECT order_id FROM target ORDER BY 1", name) == [(1,), (2,), (3,)]


def test_a_path_on_a_sql_connection_and_a_wrong_password_are_clear(database, tmp_path):
    server, _name = database
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        project: t
        connections: {{db: {{type: sql, url: "postgresql://nobody:s3cretpassw0rd@127.0.0.1:{server.port}/nodb"}}}}
        pipelines:
          - pipeline: p
            nodes:
              - {{name: o, read: {{connection: db, table: orders}}}}
        """).lstrip()
    )
    result = api.run_project(cfg)
    error = result.nodes[0].error or ""
    assert "connection 'db'" in error and "s3cretpassw0rd" not in error


def test_null_keys_are_refused_for_a_database_upsert(database, tmp_path):
    server, name = database
    server.execute("CREATE TABLE withnull (k BIGINT, v TEXT)", name)
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        project: t
        connections: {{db: {{type: sql, url: "{server.url(name)}"}}}}
        pipelines:
          - pipeline: p
            nodes:
              - name: o
                read: {{connection: db, query: "SELECT CAST(NULL AS BIGINT) AS k, 'x' AS v"}}
                write: {{connection: db, table: withnull, mode: upsert, keys: [k]}}
        """).lstrip()
    )
    server.execute("INSERT INTO withnull VALUES (1, 'a')", name)
    result = api.run_project(cfg)
    assert "may not be NULL" in (result.nodes[0].error or "")
    assert server.execute("SELECT count(*) FROM withnull", name) == [(1,)]
