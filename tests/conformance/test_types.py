"""Types that engines disagree on by nature, decided once by odibi (DESIGN.md §4): integers vs floats,
decimals, NULL vs NaN, empty strings, dates, and timestamps (UTC unless the data says otherwise)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from odibi.api import run_project

CSV = """\
id,qty,price,note,day,at,at_tz
1,3,1.5,hello,2024-02-29,2024-03-10 01:30:00,2024-03-10T01:30:00+02:00
2,,2,,2024-03-01,,2024-03-10T00:00:00Z
3,7,,"",2023-12-31,2024-12-31 23:59:59.5,
"""

PROJECT = """
project: types
connections:
  d: {type: local, base_path: ./data}
  o: {type: local, base_path: ./out}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {connection: d, path: in.csv}
        write: {connection: o, path: src.parquet}
      - name: derived
        depends_on: [src]
        transform:
          steps:
            - |
              SELECT id,
                     qty * 2 AS qty2,
                     7 / 2 AS ratio,
                     CAST(price AS DECIMAL(10, 2)) AS price_dec,
                     CAST('0.1' AS DECIMAL(10, 2)) + CAST('0.2' AS DECIMAL(10, 2)) AS exact,
                     CASE WHEN id = 1 THEN CAST('NaN' AS DOUBLE) WHEN id = 2 THEN NULL ELSE 1.0 END AS maybe_nan,
                     note IS NULL AS note_is_null,
                     day + 1 AS next_day
              FROM src
        write: {connection: o, path: derived.parquet}
      - name: totals
        depends_on: [derived]
        transform:
          steps:
            - |
              SELECT sum(qty2) AS qty_total, count(maybe_nan) AS counted,
                     sum(CASE WHEN maybe_nan IS NULL THEN 1 ELSE 0 END) AS nulls,
                     sum(price_dec) AS price_total
              FROM derived
        write: {connection: o, path: totals.parquet}
"""


@pytest.fixture
def typed_run(make_project, engine, tmp_path):
    cfg = make_project(PROJECT, {"data/in.csv": CSV})
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    columns = {n.node: n.columns for n in result.nodes}
    rows = {
        name: pq.read_table(tmp_path / "out" / f"{name}.parquet").to_pylist()
        for name in ("src", "derived", "totals")
    }
    return columns, rows


def test_csv_types_are_decided_once(typed_run):
    columns, rows = typed_run
    assert columns["src"] == {
        "id": "int", "qty": "int", "price": "float", "note": "string", "day": "date",
        "at": "timestamp", "at_tz": "timestamp",
    }  # fmt: skip
    by_id = {r["id"]: r for r in rows["src"]}
    assert by_id[2]["qty"] is None and by_id[3]["price"] is None  # empty fields are NULL, not NaN or 0
    assert by_id[1]["day"] == dt.date(2024, 2, 29)
    assert by_id[3]["at"] == dt.datetime(2024, 12, 31, 23, 59, 59, 500000)


def test_empty_csv_fields_quoted_or_not_are_null(typed_run):
    """odibi's decision: an empty CSV field is NULL, quoted ("") or not, on every engine.

    It is what DuckDB (allow_quoted_nulls), Spark and pandas each do by default, so no engine surprises
    a user who moves; a string column never holds '' from a CSV read.
    """
    _, rows = typed_run
    by_id = {r["id"]: r for r in rows["src"]}
    assert by_id[2]["note"] is None
    assert by_id[3]["note"] is None


def test_timestamps_with_an_offset_are_stored_in_utc(typed_run):
    _, rows = typed_run
    by_id = {r["id"]: r for r in rows["src"]}
    first = by_id[1]["at_tz"]
    as_utc = first.astimezone(dt.timezone.utc).replace(tzinfo=None) if first.tzinfo else first
    assert as_utc == dt.datetime(2024, 3, 9, 23, 30)
    assert by_id[3]["at_tz"] is None


def test_numbers_decimals_and_nan(typed_run):
    columns, rows = typed_run
    assert columns["derived"] == {
        "id": "int", "qty2": "int", "ratio": "float", "price_dec": "decimal", "exact": "decimal",
        "maybe_nan": "float", "note_is_null": "bool", "next_day": "date",
    }  # fmt: skip
    by_id = {r["id"]: r for r in rows["derived"]}
    assert by_id[1]["ratio"] == 3.5
    assert by_id[1]["exact"] == Decimal("0.30")
    assert by_id[1]["price_dec"] == Decimal("1.50")
    assert by_id[1]["maybe_nan"] != by_id[1]["maybe_nan"]  # NaN stays NaN
    assert by_id[2]["maybe_nan"] is None  # and NULL stays NULL
    assert by_id[2]["qty2"] is None
    assert by_id[1]["next_day"] == dt.date(2024, 3, 1)
    [totals] = rows["totals"]
    assert columns["totals"]["qty_total"] == "int" and totals["qty_total"] == 20
    assert totals["counted"] == 2 and totals["nulls"] == 1
    assert totals["price_total"] == Decimal("3.50")
