"""SQL features on every engine, checked against results computed independently in plain pandas.

One project holds a node per case (inputs are small CSVs written here); it runs once per engine and each
case compares its written parquet with the pandas computation, after sorting.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import pandas as pd
import pytest

from odibi.api import run_project
from tests.conformance.conftest import ENGINE_PARAMS, runnable_engines

EMP = """\
id,name,dept,salary,hired,manager_id
1,Ann,eng,100,2020-01-15,
2,Bob,eng,80,2021-03-01,1
3,Cy,ops,70,2019-07-30,1
4,Di,ops,,2022-11-11,3
5,Ed,,60,2023-02-28,3
6,Flo,eng,80,2020-05-05,1
"""
DEPT = """\
dept,floor
eng,1
ops,2
hr,3
"""
SALES = """\
region,day,amount
a,1,10
a,2,20
a,3,20
a,4,5
b,1,7
b,2,7
b,3,1
"""


def _csv(text: str) -> pd.DataFrame:
    return pd.read_csv(pd.io.common.StringIO(text), keep_default_na=False, na_values=[""])


def emp() -> pd.DataFrame:
    frame = _csv(EMP)
    frame["hired"] = pd.to_datetime(frame.hired).dt.date
    return frame


def dept() -> pd.DataFrame:
    return _csv(DEPT)


def sales() -> pd.DataFrame:
    return _csv(SALES)


def _ntile(n: int, k: int) -> list[int]:
    """Bucket numbers 1..k for n ordered rows (the first n % k buckets get one row more)."""
    out = []
    for bucket in range(1, k + 1):
        out += [bucket] * (n // k + (1 if bucket <= n % k else 0))
    return out


def _windows() -> pd.DataFrame:
    s = sales().sort_values(["region", "day"]).reset_index(drop=True)
    g = s.groupby("region")
    by_amount = s.sort_values(["region", "amount", "day"], ascending=[True, False, True])
    s["rn"] = by_amount.groupby("region").cumcount().reindex(s.index) + 1
    s["rnk"] = g.amount.rank(method="min", ascending=False).astype(int)
    s["drnk"] = g.amount.rank(method="dense", ascending=False).astype(int)
    s["tile"] = [t for _, part in g for t in _ntile(len(part), 2)]
    s["prev"] = g.amount.shift(1)
    s["next"] = g.amount.shift(-1)
    s["running"] = g.amount.cumsum()
    s["rolling"] = g.amount.rolling(2, min_periods=1).sum().reset_index(level=0, drop=True)
    return s


def _join(how: str) -> pd.DataFrame:
    e, d = emp(), dept()
    e = e[["id", "dept"]].rename(columns={"dept": "edept"})
    m = e.merge(d, left_on="edept", right_on="dept", how=how)
    return m[["id", "dept", "floor"]]


def _case() -> pd.DataFrame:
    e = emp()
    band = ["high" if s >= 80 else ("unknown" if pd.isna(s) else "low") for s in e.salary]
    return pd.DataFrame({"id": e.id, "band": band})


def _strings() -> pd.DataFrame:
    e = emp()
    return pd.DataFrame(
        {
            "id": e.id,
            "up": e.name.str.upper(),
            "low": e.name.str.lower(),
            "len": e.name.str.len(),
            "pre": e.name.str[:2],
            "joined": e.name + "-" + e.dept.fillna(""),
            "rep": e.name.str.replace("n", "N"),
            "bang": e.name + "!",
            "like_a": e.name.str.contains("a|A"),
        }
    )


def _dates() -> pd.DataFrame:
    e = emp()
    hired = pd.to_datetime(e.hired)
    return pd.DataFrame(
        {
            "id": e.id,
            "y": hired.dt.year,
            "m": hired.dt.month,
            "next_day": (hired + pd.Timedelta(days=1)).dt.date,
            "days": (hired - pd.Timestamp("2020-01-01")).dt.days,
            "ym": hired.dt.strftime("%Y-%m"),
            "after_2021": hired >= pd.Timestamp("2021-01-01"),
        }
    )


def _casts() -> pd.DataFrame:
    e = emp()
    return pd.DataFrame(
        {
            "id": e.id,
            "id_text": e.id.astype(str),
            "salary_f": e.salary.astype(float),
            "hired_text": [d.isoformat() for d in e.hired],
            "twelve": 12,
            "d": dt.date(2024, 1, 2),
        }
    )


def _conditional() -> pd.DataFrame:
    e = emp()
    e["dept"] = e.dept.fillna("none")
    g = e.groupby("dept")
    return pd.DataFrame(
        {
            "high": g.salary.apply(lambda s: int((s >= 80).sum())),
            "low": g.salary.apply(lambda s: int((s < 80).sum())),
            "avg_sal": g.salary.mean(),
            "n": g.size(),
        }
    ).reset_index()


# name → (SQL over emp / dept / sales, expected frame)
CASES = {
    "projection": (
        "SELECT id, name, salary * 2 AS s2 FROM emp",
        lambda: emp().assign(s2=lambda f: f.salary * 2)[["id", "name", "s2"]],
    ),
    "filter_with_nulls": (
        "SELECT id, salary FROM emp WHERE salary > 70 OR dept IS NULL",
        lambda: emp().query("salary > 70 or dept.isna()")[["id", "salary"]],
    ),
    "not_equal_drops_nulls": (
        "SELECT id FROM emp WHERE dept <> 'eng'",
        lambda: emp().loc[lambda f: f.dept.notna() & (f.dept != "eng"), ["id"]],
    ),
    "inner_join": (
        "SELECT e.id, d.dept, d.floor FROM emp e JOIN dept d ON e.dept = d.dept",
        lambda: _join("inner"),
    ),
    "left_join": (
        "SELECT e.id, d.dept, d.floor FROM emp e LEFT JOIN dept d ON e.dept = d.dept",
        lambda: _join("left"),
    ),
    "full_join": (
        "SELECT e.id, d.dept, d.floor FROM emp e FULL OUTER JOIN dept d ON e.dept = d.dept",
        lambda: _join("outer"),
    ),
    "anti_join": (
        "SELECT d.dept FROM dept d WHERE NOT EXISTS (SELECT 1 FROM emp e WHERE e.dept = d.dept)",
        lambda: dept().loc[lambda f: ~f.dept.isin(emp().dept.dropna()), ["dept"]],
    ),
    "group_by_having": (
        "SELECT dept, count(*) AS n, sum(salary) AS total, max(hired) AS last_hired FROM emp"
        " WHERE dept IS NOT NULL GROUP BY dept HAVING count(*) > 1",
        lambda: (
            emp()
            .dropna(subset=["dept"])
            .groupby("dept")
            .agg(n=("id", "size"), total=("salary", "sum"), last_hired=("hired", "max"))
            .reset_index()
        ),
    ),
    "distinct": ("SELECT DISTINCT dept FROM emp", lambda: emp()[["dept"]].drop_duplicates()),
    "union": (
        "SELECT dept FROM emp UNION SELECT dept FROM dept",
        lambda: pd.concat([emp()[["dept"]], dept()[["dept"]]]).drop_duplicates(),
    ),
    "union_all": (
        "SELECT dept FROM emp UNION ALL SELECT dept FROM dept",
        lambda: pd.concat([emp()[["dept"]], dept()[["dept"]]]),
    ),
    "windows": (
        """
        SELECT region, day, amount,
          ROW_NUMBER() OVER (PARTITION BY region ORDER BY amount DESC, day) AS rn,
          RANK() OVER (PARTITION BY region ORDER BY amount DESC) AS rnk,
          DENSE_RANK() OVER (PARTITION BY region ORDER BY amount DESC) AS drnk,
          NTILE(2) OVER (PARTITION BY region ORDER BY day) AS tile,
          LAG(amount) OVER (PARTITION BY region ORDER BY day) AS prev,
          LEAD(amount) OVER (PARTITION BY region ORDER BY day) AS next,
          SUM(amount) OVER (PARTITION BY region ORDER BY day
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,
          SUM(amount) OVER (PARTITION BY region ORDER BY day ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS rolling
        FROM sales
        """,
        _windows,
    ),
    "case": (
        "SELECT id, CASE WHEN salary >= 80 THEN 'high' WHEN salary IS NULL THEN 'unknown' ELSE 'low' END"
        " AS band FROM emp",
        _case,
    ),
    "coalesce": (
        "SELECT id, COALESCE(dept, 'none') AS dept, COALESCE(salary, 0) AS salary FROM emp",
        lambda: emp().assign(dept=lambda f: f.dept.fillna("none"), salary=lambda f: f.salary.fillna(0))[
            ["id", "dept", "salary"]
        ],
    ),
    "strings": (
        "SELECT id, UPPER(name) AS up, LOWER(name) AS low, LENGTH(name) AS len, SUBSTR(name, 1, 2) AS pre,"
        " CONCAT(name, '-', COALESCE(dept, '')) AS joined, REPLACE(name, 'n', 'N') AS rep,"
        " name || '!' AS bang, name ILIKE '%a%' AS like_a FROM emp",
        _strings,
    ),
    "dates": (
        "SELECT id, year(hired) AS y, month(hired) AS m, CAST(hired + INTERVAL 1 DAY AS DATE) AS next_day,"
        " date_diff('day', DATE '2020-01-01', hired) AS days, strftime(hired, '%Y-%m') AS ym,"
        " hired >= DATE '2021-01-01' AS after_2021 FROM emp",
        _dates,
    ),
    "casts": (
        "SELECT id, CAST(id AS VARCHAR) AS id_text, CAST(salary AS DOUBLE) AS salary_f,"
        " CAST(hired AS VARCHAR) AS hired_text, CAST('12' AS INTEGER) AS twelve,"
        " CAST('2024-01-02' AS DATE) AS d FROM emp",
        _casts,
    ),
    "conditional_aggregation": (
        "SELECT COALESCE(dept, 'none') AS dept, SUM(CASE WHEN salary >= 80 THEN 1 ELSE 0 END) AS high,"
        " COUNT(*) FILTER (WHERE salary < 80) AS low, AVG(salary) AS avg_sal, COUNT(*) AS n"
        " FROM emp GROUP BY COALESCE(dept, 'none')",
        _conditional,
    ),
}


def _project(cases: dict[str, tuple[str, object]]) -> str:
    nodes = [
        f"      - name: {t}\n        read: {{connection: data, path: {t}.csv}}\n"
        for t in ("emp", "dept", "sales")
    ]
    for name, (sql, _) in cases.items():
        body = textwrap.indent(textwrap.dedent(sql).strip(), " " * 14)
        refs = [t for t in ("emp", "dept", "sales") if f"FROM {t}" in sql or f"JOIN {t}" in sql]
        nodes.append(
            f"      - name: {name}\n        depends_on: [{', '.join(refs)}]\n"
            f"        transform:\n          steps:\n            - |\n{body}\n"
            f"        write: {{connection: out, path: {name}.parquet}}\n"
        )
    return (
        "project: features\nconnections:\n  data: {type: local, base_path: ./data}\n"
        "  out: {type: local, base_path: ./out}\npipelines:\n  - pipeline: features\n    nodes:\n"
        + "".join(nodes)
    )


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def feature_run(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"features-{request.param}")
    (root / "data").mkdir()
    for name, text in (("emp", EMP), ("dept", DEPT), ("sales", SALES)):
        (root / "data" / f"{name}.csv").write_text(text)
    cfg = root / "odibi.yaml"
    cfg.write_text(_project(CASES))
    result = run_project(cfg, engine=request.param)
    return root, result


def _norm(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.convert_dtypes()
    frame = frame.sort_values(list(frame.columns), na_position="first").reset_index(drop=True)
    return frame


@pytest.mark.parametrize("case", list(CASES))
def test_sql_feature(feature_run, case):
    root, result = feature_run
    node = next(n for n in result.nodes if n.node == case)
    assert node.status == "success", node.error
    got = pd.read_parquet(root / "out" / f"{case}.parquet")
    expected = CASES[case][1]()
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(_norm(got), _norm(expected), check_dtype=False)


def test_logical_types_of_features(feature_run):
    _, result = feature_run
    cols = {n.node: n.columns for n in result.nodes}
    assert cols["emp"] == {
        "id": "int", "name": "string", "dept": "string", "salary": "int", "hired": "date", "manager_id": "int",
    }  # fmt: skip
    assert cols["group_by_having"] == {"dept": "string", "n": "int", "total": "int", "last_hired": "date"}
    assert cols["dates"]["next_day"] == "date" and cols["dates"]["after_2021"] == "bool"
    assert cols["casts"] == {
        "id": "int", "id_text": "string", "salary_f": "float", "hired_text": "string", "twelve": "int", "d": "date",
    }  # fmt: skip
    assert cols["conditional_aggregation"]["avg_sal"] == "float"
    assert cols["windows"]["prev"] == "int" and cols["windows"]["running"] == "int"


ROUND_TRIP = """\
id,flag,day,at,amount,label
1,true,2024-01-02,2024-01-02 03:04:05.5,1.5,"a, b"
2,false,,2024-02-03 00:00:00.25,,"say ""hi"" ok"
3,,2024-03-04,,-2,
"""


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_round_trip(make_project, engine, tmp_path, fmt):
    cfg = make_project(
        f"""
        project: rt
        connections:
          d: {{type: local, base_path: ./d}}
        pipelines:
          - pipeline: first
            nodes:
              - name: src
                read: {{connection: d, path: in.csv}}
                write: {{connection: d, path: out.{fmt}}}
          - pipeline: second
            nodes:
              - name: back
                read: {{connection: d, path: out.{fmt}}}
        """,
        {"d/in.csv": ROUND_TRIP},
    )
    result = run_project(cfg, engine=engine)
    assert result.ok, [n.error for n in result.nodes]
    cols = {n.node: n.columns for n in result.nodes}
    assert cols["src"] == {
        "id": "int", "flag": "bool", "day": "date", "at": "timestamp", "amount": "float", "label": "string",
    }  # fmt: skip
    assert cols["back"] == cols["src"]
    expected = pd.read_csv(tmp_path / "d/in.csv", keep_default_na=False, na_values=[""])
    path = tmp_path / f"d/out.{fmt}"
    if fmt == "csv":
        got = pd.read_csv(path, keep_default_na=False, na_values=[""])
    elif fmt == "parquet":
        got = pd.read_parquet(path)
        got["day"] = got.day.astype(str).replace({"None": ""}).replace("", float("nan"))
        got["at"] = got["at"].astype(str).replace("NaT", float("nan"))
        expected["at"] = (
            pd.to_datetime(expected["at"], format="ISO8601").astype(str).replace("NaT", float("nan"))
        )
    else:
        got = pd.read_json(path, lines=True, dtype=False)
    if fmt != "parquet":
        got["at"] = pd.to_datetime(got["at"], format="ISO8601")
        expected["at"] = pd.to_datetime(expected["at"], format="ISO8601")
    got["flag"] = got.flag.map({True: True, False: False, "true": True, "false": False})
    expected["flag"] = expected.flag.map({True: True, False: False, "true": True, "false": False})
    pd.testing.assert_frame_equal(_norm(got), _norm(expected), check_dtype=False)


def test_written_text_is_identical_across_engines(make_project, tmp_path):
    """CSV and JSON files written by each engine are byte-for-byte equal (booleans, dates, NULLs, quoting)."""
    engines = runnable_engines()
    outputs: dict[str, dict[str, bytes]] = {}
    for name in engines:
        cfg = make_project(
            f"""
            project: same
            connections:
              d: {{type: local, base_path: ./d}}
              o: {{type: local, base_path: ./o_{name}}}
            pipelines:
              - pipeline: p
                nodes:
                  - name: src
                    read: {{connection: d, path: in.csv}}
                    transform:
                      steps: ["SELECT *, amount / 3 AS third, CAST(id AS DECIMAL(10, 2)) AS dec FROM df"]
                    write: {{connection: o, path: out.csv}}
                  - name: js
                    depends_on: [src]
                    write: {{connection: o, path: out.json}}
            """,
            {"d/in.csv": ROUND_TRIP},
        )
        result = run_project(cfg, engine=name)
        assert result.ok, [n.error for n in result.nodes]
        outputs[name] = {f: (tmp_path / f"o_{name}" / f).read_bytes() for f in ("out.csv", "out.json")}
    first = outputs[engines[0]]
    for name in engines[1:]:
        assert outputs[name] == first
