"""SQL written for one engine runs on the others (DESIGN.md §4): a Spark-SQL project and a DuckDB-SQL
project, each run on every engine and checked against values computed independently in plain pandas."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from odibi.api import run_project

INPUT = """\
id,name,amount,day_text
1,ann,12.5,2024-01-15
2,,3.25,2024-02-29
3,bob,,2024-12-30
4,cy,40,2023-06-01
"""

SPARK_SQL = """
project: spark sql
engine: {engine}
sql_dialect: spark
connections:
  d: {{type: local, base_path: ./data}}
  o: {{type: local, base_path: ./out}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: d, path: in.csv}}
      - name: spark_funcs
        depends_on: [src]
        transform:
          steps:
            - |
              SELECT id,
                     nvl(name, 'anon') AS who,
                     if(amount > 10, 'big', 'small') AS size,
                     to_date(day_text, 'yyyy-MM-dd') AS d,
                     date_add(to_date(day_text), 7) AS next_week,
                     datediff(to_date('2024-12-31'), to_date(day_text)) AS days_left,
                     date_format(to_date(day_text), 'yyyy/MM') AS ym,
                     concat_ws('-', nvl(name, 'anon'), CAST(id AS STRING)) AS tag,
                     substring(nvl(name, 'anon'), 1, 2) AS pre,
                     round(nvl(amount, 0D), 1) AS amount0,
                     upper(trim(nvl(name, ''))) AS up,
                     date_trunc('MON', to_date(day_text)) AS month_start,
                     trunc(to_date(day_text), 'MM') AS month_date
              FROM src
        write: {{connection: o, path: spark_funcs.parquet}}
"""

DUCKDB_SQL = """
project: duckdb sql
engine: {engine}
sql_dialect: duckdb
connections:
  d: {{type: local, base_path: ./data}}
  o: {{type: local, base_path: ./out}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: d, path: in.csv}}
      - name: duck_funcs
        depends_on: [src]
        transform:
          steps:
            - |
              SELECT id,
                     coalesce(name, 'anon') AS who,
                     strftime(CAST(day_text AS DATE), '%Y-%m') AS ym,
                     date_diff('day', CAST(day_text AS DATE), DATE '2024-12-31') AS days_left,
                     CAST(day_text AS DATE) + INTERVAL 3 DAY AS later,
                     day_text::DATE AS d,
                     name ILIKE 'A%' AS starts_a,
                     regexp_matches(coalesce(name, ''), '^[bc]') AS b_or_c,
                     floor(amount / 2) AS half_floor,
                     list_value(1, 2, 3)[2] AS second,
                     date_trunc('month', CAST(day_text AS DATE)) AS month_start
              FROM src
        write: {{connection: o, path: duck_funcs.parquet}}
"""


def _source() -> pd.DataFrame:
    from io import StringIO

    return pd.read_csv(StringIO(INPUT), dtype={"name": "string"})


def _expected_spark() -> pd.DataFrame:
    s = _source()
    day = pd.to_datetime(s.day_text).dt.date
    who = s.name.fillna("anon")
    return pd.DataFrame(
        {
            "id": s.id,
            "who": who,
            "size": ["big" if a > 10 else "small" for a in s.amount],
            "d": day,
            "next_week": [x + dt.timedelta(days=7) for x in day],
            "days_left": [(dt.date(2024, 12, 31) - x).days for x in day],
            "ym": [x.strftime("%Y/%m") for x in day],
            "tag": [f"{w}-{i}" for w, i in zip(who, s.id, strict=True)],
            "pre": who.str[:2],
            # Spark's round() is HALF_UP (pandas rounds half to even)
            "amount0": [
                float(Decimal(str(a)).quantize(Decimal("0.1"), ROUND_HALF_UP)) for a in s.amount.fillna(0)
            ],
            "up": s.name.fillna("").str.strip().str.upper(),
            "month_start": [pd.Timestamp(x.year, x.month, 1) for x in day],
            "month_date": [dt.date(x.year, x.month, 1) for x in day],
        }
    )


def _expected_duckdb() -> pd.DataFrame:
    s = _source()
    day = pd.to_datetime(s.day_text).dt.date
    return pd.DataFrame(
        {
            "id": s.id,
            "who": s.name.fillna("anon"),
            "ym": [x.strftime("%Y-%m") for x in day],
            "days_left": [(dt.date(2024, 12, 31) - x).days for x in day],
            "later": [pd.Timestamp(x) + pd.Timedelta(days=3) for x in day],
            "d": day,
            "starts_a": [None if pd.isna(n) else n.lower().startswith("a") for n in s.name],
            "b_or_c": [str(n if not pd.isna(n) else "")[:1] in ("b", "c") for n in s.name],
            "half_floor": [None if pd.isna(a) else float(a // 2) for a in s.amount],
            "second": [2] * len(s),
            "month_start": [pd.Timestamp(x.year, x.month, 1) for x in day],
        }
    )


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, dt.date)).any():
            out[col] = out[col].map(lambda v: None if v is None or pd.isna(v) else pd.Timestamp(v))
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):  # an instant: compare its UTC wall time
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].astype("datetime64[us]")
    return out.sort_values("id").reset_index(drop=True).astype(object).where(out.notna(), None)


# the logical types the SQL means in the dialect it was written in, whatever engine runs it
TYPES = {
    "spark_funcs.parquet": {"id": "int", "who": "string", "size": "string", "d": "date", "next_week": "date",
                            "days_left": "int", "ym": "string", "tag": "string", "pre": "string",
                            "amount0": "float", "up": "string", "month_start": "timestamp",
                            "month_date": "date"},
    "duck_funcs.parquet": {"id": "int", "who": "string", "ym": "string", "days_left": "int",
                           "later": "timestamp", "d": "date", "starts_a": "bool", "b_or_c": "bool",
                           "half_floor": "float", "second": "int", "month_start": "timestamp"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("project", "output", "expected"),
    [
        pytest.param(SPARK_SQL, "spark_funcs.parquet", _expected_spark, id="spark-sql"),
        pytest.param(DUCKDB_SQL, "duck_funcs.parquet", _expected_duckdb, id="duckdb-sql"),
    ],
)
@pytest.mark.parametrize("written_for", ["duckdb", "spark"])
def test_sql_of_one_dialect_runs_on_every_engine(
    make_project, tmp_path, engine, project, output, expected, written_for
):
    """The config's own engine only says how the SQL is read; --engine says where it runs."""
    cfg = make_project(project.format(engine=written_for), {"data/in.csv": INPUT})
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    assert result.nodes[-1].columns == TYPES[output]
    got = pd.read_parquet(tmp_path / "out" / output)
    want = expected()
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(_normalise(got), _normalise(want), check_dtype=False)


@pytest.mark.parametrize("project", [SPARK_SQL, DUCKDB_SQL], ids=["spark-sql", "duckdb-sql"])
def test_each_dialect_project_gives_identical_outputs_on_all_engines(make_project, project):
    from odibi.api import compare_engines

    from .conftest import runnable_engines

    cfg = make_project(project.format(engine="duckdb"), {"data/in.csv": INPUT})
    comparison = compare_engines(cfg, runnable_engines())
    assert comparison.ok, [(o.target, o.differences, o.examples) for o in comparison.outputs]
