"""Every declarative operation on every engine, checked against results computed independently in pandas.

One project holds a node per case (small CSV inputs written here); it runs once per engine and each case
compares its written parquet with the plain-pandas computation (after sorting, unless the case is about
order), and the logical types odibi reports where they matter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pandas as pd
import pytest
import yaml

from odibi.api import validate
from odibi.engines import registry
from odibi.run.runner import run_plan
from tests.conformance.conftest import ENGINE_PARAMS

EMP = """\
id,name,dept,salary,bonus,hired
1,Ann,eng,100,5.5,2020-01-15
2,Bob,eng,80,,2021-03-01
3,Cy,ops,70,1.25,2019-07-30
4,Di,ops,,2.0,2022-11-11
5,Ed,,60,0.5,2023-02-28
6,Flo,eng,80,3.0,2020-05-05
7,Gus,hr,90,1.234,2018-09-09
"""
DEPT = """\
dept,floor,name
eng,1,Engineering
ops,2,Operations
fin,3,Finance
"""
EXTRA = """\
name,id,country
Hal,8,FR
Ann,1,
Bob,2,DE
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
STOCK = """\
store,product,qty
s1,apple,3
s1,apple,4
s1,pear,2
s2,apple,1
s2,plum,
s2,plum,6
s3,pear,5
"""
WIDE = """\
id,q1,q2,q3
1,10,20,30
2,,5,7
3,1,,
"""
EVENTS = """\
key,ts,val
a,3,x
a,1,y
a,,z
b,,p
b,2,q
c,,r
"""
KEYS = """\
i,s,f,d,t
1,x,1.5,2024-01-02,2024-01-02 03:04:05
2,,2.0,,2024-12-31 23:59:59
,y z,,2023-06-30,
3,Ünï,0.25,1999-12-31,2000-01-01 00:00:00
"""
TABLES = {
    "emp": EMP, "dept": DEPT, "extra": EXTRA, "sales": SALES, "stock": STOCK, "wide": WIDE,
    "events": EVENTS, "keys": KEYS,
}  # fmt: skip


def _csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])


def emp() -> pd.DataFrame:
    frame = _csv(EMP)
    frame["hired"] = pd.to_datetime(frame.hired).dt.date
    return frame


def dept() -> pd.DataFrame:
    return _csv(DEPT)


def sales() -> pd.DataFrame:
    return _csv(SALES)


def stock() -> pd.DataFrame:
    return _csv(STOCK)


def events() -> pd.DataFrame:
    return _csv(EVENTS)


def keys() -> pd.DataFrame:
    frame = _csv(KEYS)
    frame["d"] = pd.to_datetime(frame.d).dt.date
    frame["t"] = pd.to_datetime(frame.t)
    return frame


# --------------------------------------------------------------------------- expected, in plain pandas


def _derive() -> pd.DataFrame:
    e = emp()
    e["name"] = e.name.str.upper()
    e["salary2"] = e.salary * 2
    e["salary4"] = e.salary2 * 2
    return e


def _cast_numeric() -> pd.DataFrame:
    e = emp()
    return pd.DataFrame(
        {
            "id": e.id.astype(str),
            "salary": e.salary.astype(float),
            "bonus": [None if pd.isna(b) else round(b, 2) for b in e.bonus],
            "hired": pd.to_datetime(e.hired),
        }
    )


def _cast_text() -> pd.DataFrame:
    e = emp()
    return pd.DataFrame(
        {
            "id": e.id,
            "s_txt": e.salary.astype("Int64"),
            "d_txt": e.hired,
            "t_txt": pd.to_datetime(e.hired) + pd.Timedelta(hours=8, minutes=30),
            "b_txt": e.bonus,
        }
    )


def _fill_nulls() -> pd.DataFrame:
    e = emp()
    return e.assign(dept=e.dept.fillna("none"), salary=e.salary.fillna(0), bonus=e.bonus.fillna(-1.5))


def _join(how: str) -> pd.DataFrame:
    e = emp()[["id", "name", "dept"]]
    d = dept()
    if how in ("semi", "anti"):
        inside = e.dept.isin(d.dept.dropna())
        return e[inside if how == "semi" else ~inside]
    merged = e.merge(d, on="dept", how={"full": "outer"}.get(how, how), suffixes=("", "_right"))
    return merged[["id", "name", "dept", "floor", "name_right"]]


def _join_condition() -> pd.DataFrame:
    e = emp()[["id", "name", "dept"]]
    d = dept()
    d = d[d.floor > 1].rename(columns={"dept": "dept_right", "name": "name_right"})
    merged = e.merge(d, left_on="dept", right_on="dept_right", how="left")
    return merged[["id", "name", "dept", "dept_right", "floor", "name_right"]]


def _union(distinct: bool) -> pd.DataFrame:
    a = emp()[["id", "name", "dept"]]
    b = _csv(EXTRA)
    out = pd.concat([a, b[["id", "name", "country"]]], ignore_index=True)[["id", "name", "dept", "country"]]
    return out.drop_duplicates() if distinct else out


def _aggregate() -> pd.DataFrame:
    e = emp()
    e = e[e.dept.notna()]
    return (
        e.groupby("dept")
        .agg(n=("id", "size"), total=("salary", "sum"), avg_bonus=("bonus", "mean"), top=("hired", "max"))
        .reset_index()
    )


def _aggregate_all() -> pd.DataFrame:
    e = emp()
    return pd.DataFrame(
        {
            "n": [len(e)],
            "n_salary": [e.salary.count()],
            "max_salary": [e.salary.max()],
            "avg": [e.salary.mean()],
        }
    )


def _pivot(agg: str, values: list[str] | None = None) -> pd.DataFrame:
    s = stock()
    if agg == "count":
        table = s.pivot_table(index="store", columns="product", values="qty", aggfunc="count", dropna=False)
    else:
        func = {"avg": "mean"}.get(agg, agg)
        table = s.pivot_table(index="store", columns="product", values="qty", aggfunc=func)
    products = values if values is not None else sorted(s["product"].unique())
    table = table.reindex(columns=products)
    if agg == "count":  # COUNT over no rows is 0, not NULL
        table = table.fillna(0)
    out = table.reset_index()
    out.columns = ["store", *products]
    return out


def _unpivot(value_columns: list[str]) -> pd.DataFrame:
    w = _csv(WIDE)
    return w.melt(id_vars=["id"], value_vars=value_columns, var_name="quarter", value_name="amount")


def _dedup(keep: str, desc: bool = False) -> pd.DataFrame:
    """One row per key; NULLs in the ordering never win over a non-NULL value."""
    e = events()
    out = []
    for _, part in e.groupby("key"):
        known = part[part.ts.notna()]
        if known.empty:
            out.append(part.iloc[[0]])
            continue
        want_max = (keep == "last") != desc
        out.append(known.loc[[known.ts.idxmax() if want_max else known.ts.idxmin()]])
    return pd.concat(out)


def _ntile(n: int, k: int) -> list[int]:
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
    s["tile"] = [t for _, part in g for t in _ntile(len(part), 3)]
    s["prev"] = g.amount.shift(1)
    s["next2"] = g.amount.shift(-2)
    s["running"] = g.amount.cumsum()
    s["rolling"] = g.amount.rolling(2, min_periods=1).mean().reset_index(level=0, drop=True)
    s["total"] = g.amount.transform("sum")
    s["total_ordered"] = g.amount.transform("sum")
    s["n"] = g.amount.transform("size")
    return s


def _surrogate() -> pd.DataFrame:
    """md5 of the columns' text joined with '|', NULL as '<NULL>' (ints without '.0', floats as Python
    prints them, dates ISO, timestamps 'YYYY-MM-DD HH:MM:SS')."""
    k = keys()

    def text(v) -> str:
        return "<NULL>" if v is None or pd.isna(v) else str(v)

    def key(row) -> str:
        i = None if pd.isna(row.i) else int(row.i)
        parts = [text(i), text(row.s), text(row.f), text(row.d), text(row.t)]
        return hashlib.md5("|".join(parts).encode("utf-8")).hexdigest()

    return k.assign(sk=[key(r) for r in k.itertuples()])


def _sorted(by: list[str], ascending: list[bool]) -> pd.DataFrame:
    return emp().sort_values(by, ascending=ascending, na_position="last", kind="mergesort")


def _deferred() -> pd.DataFrame:
    out = _pivot("sum").rename(columns={"apple": "apples"}).drop(columns=["plum"])
    return out


def op(operation: str, /, **params) -> dict:
    return {"operation": operation, "params": params}


# name → node settings (depends_on, steps) + expected frame; "ordered": compare in the written order
CASES: dict[str, dict] = {
    "filter": {
        "steps": [op("filter", condition="salary >= 80 AND dept = 'eng'")],
        "expected": lambda: emp().query("salary >= 80 and dept == 'eng'"),
    },
    "filter_nulls": {
        "steps": [op("filter", condition="dept IS NULL OR salary < 80")],
        "expected": lambda: emp().loc[lambda f: f.dept.isna() | (f.salary < 80)],
    },
    "select": {
        "steps": [op("select", columns=["name", "id"])],
        "expected": lambda: emp()[["name", "id"]],
    },
    "drop": {
        "steps": [op("drop", columns=["bonus", "hired"])],
        "expected": lambda: emp().drop(columns=["bonus", "hired"]),
    },
    "rename": {
        "steps": [op("rename", columns={"name": "full_name", "dept": "department"})],
        "expected": lambda: emp().rename(columns={"name": "full_name", "dept": "department"}),
    },
    "derive": {
        "steps": [
            op("derive", columns={"salary2": "salary * 2", "salary4": "salary2 * 2", "name": "upper(name)"})
        ],
        "expected": _derive,
        "types": {"name": "string", "salary2": "int", "salary4": "int"},
    },
    "cast_numeric": {
        "steps": [
            op("select", columns=["id", "salary", "bonus", "hired"]),
            op(
                "cast",
                columns={"id": "string", "salary": "float", "bonus": "decimal(10,2)", "hired": "timestamp"},
            ),
        ],
        "expected": _cast_numeric,
        "types": {"id": "string", "salary": "float", "bonus": "decimal", "hired": "timestamp"},
    },
    # a fractional number cast to int is truncated toward zero (as pandas, Python and Spark do)
    "cast_int": {
        "steps": [
            "SELECT id, bonus, -bonus AS neg, CAST(bonus AS DECIMAL(10, 3)) AS dec FROM df",
            op("cast", columns={"bonus": "int", "neg": "int", "dec": "int"}),
        ],
        "expected": lambda: pd.DataFrame(
            {
                "id": emp().id,
                "bonus": [None if pd.isna(b) else int(b) for b in emp().bonus],
                "neg": [None if pd.isna(b) else int(-b) for b in emp().bonus],
                "dec": [None if pd.isna(b) else int(b) for b in emp().bonus],
            }
        ),
        "types": {"bonus": "int", "neg": "int", "dec": "int"},
    },
    "cast_text": {
        "steps": [
            "SELECT id, CAST(salary AS VARCHAR) AS s_txt, CAST(hired AS VARCHAR) AS d_txt,"
            " CAST(hired AS VARCHAR) || ' 08:30:00' AS t_txt, CAST(bonus AS VARCHAR) AS b_txt FROM df",
            op("cast", columns={"s_txt": "int", "d_txt": "date", "t_txt": "timestamp", "b_txt": "float"}),
        ],
        "expected": _cast_text,
        "types": {"id": "int", "s_txt": "int", "d_txt": "date", "t_txt": "timestamp", "b_txt": "float"},
    },
    "fill_nulls": {
        "steps": [op("fill_nulls", values={"dept": "none", "salary": 0, "bonus": -1.5})],
        "expected": _fill_nulls,
        "types": {"dept": "string", "salary": "int", "bonus": "float"},
    },
    **{
        f"join_{how}": {
            "depends_on": ["emp", "dept"],
            "steps": [
                op("select", columns=["id", "name", "dept"]),
                op("join", right="dept", how=how, on=["dept"]),
            ],
            "expected": (lambda how=how: _join(how)),
        }
        for how in ("inner", "left", "right", "full", "semi", "anti")
    },
    "join_condition": {
        "depends_on": ["emp", "dept"],
        "steps": [
            op("select", columns=["id", "name", "dept"]),
            op("join", right="dept", how="left", condition="l.dept = r.dept AND r.floor > 1"),
        ],
        "expected": _join_condition,
        "types": {"dept_right": "string", "floor": "int", "name_right": "string"},
    },
    "join_condition_left_right": {
        "depends_on": ["emp", "dept"],
        "steps": [
            op("select", columns=["id", "name", "dept"]),
            op("join", right="dept", how="left", condition="left.dept = right.dept AND right.floor > 1"),
        ],
        "expected": _join_condition,
    },
    "union": {
        "depends_on": ["emp", "extra"],
        "steps": [op("select", columns=["id", "name", "dept"]), op("union", nodes=["extra"])],
        "expected": lambda: _union(False),
        "types": {"id": "int", "name": "string", "dept": "string", "country": "string"},
    },
    "union_distinct": {
        "depends_on": ["emp", "extra"],
        "steps": [
            op("select", columns=["id", "name", "dept"]),
            "SELECT id, name, dept FROM df UNION ALL SELECT id, name, dept FROM df WHERE id = 2",
            op("union", nodes=["extra"], distinct=True),
        ],
        "expected": lambda: _union(True),
    },
    "aggregate": {
        "steps": [
            op("filter", condition="dept IS NOT NULL"),
            op(
                "aggregate",
                group_by=["dept"],
                measures={
                    "n": "count(*)",
                    "total": "sum(salary)",
                    "avg_bonus": "avg(bonus)",
                    "top": "max(hired)",
                },
            ),
        ],
        "expected": _aggregate,
        "types": {"dept": "string", "n": "int", "total": "int", "avg_bonus": "float", "top": "date"},
    },
    "aggregate_all": {
        "steps": [
            op(
                "aggregate",
                measures={
                    "n": "count(*)",
                    "n_salary": "count(salary)",
                    "max_salary": "max(salary)",
                    "avg": "avg(salary)",
                },
            )
        ],
        "expected": _aggregate_all,
        "types": {"n": "int", "n_salary": "int", "max_salary": "int", "avg": "float"},
    },
    **{
        f"pivot_{agg}": {
            "depends_on": ["stock"],
            "steps": [
                op("pivot", group_by=["store"], pivot_column="product", value_column="qty", agg_func=agg)
            ],
            "expected": (lambda agg=agg: _pivot(agg)),
            "types": {
                "store": "string",
                "apple": {"sum": "int", "avg": "float", "min": "int", "max": "int", "count": "int"}[agg],
            },
        }
        for agg in ("sum", "avg", "min", "max", "count")
    },
    "pivot_values": {
        "depends_on": ["stock"],
        "steps": [
            op(
                "pivot",
                group_by=["store"],
                pivot_column="product",
                value_column="qty",
                values=["pear", "apple", "kiwi"],
            )
        ],
        "expected": lambda: _pivot("sum", ["pear", "apple", "kiwi"]),
        "types": {"store": "string", "pear": "int", "apple": "int", "kiwi": "int"},
    },
    "unpivot": {
        "depends_on": ["wide"],
        "steps": [
            op(
                "unpivot",
                id_columns=["id"],
                value_columns=["q1", "q3"],
                name_column="quarter",
                value_column="amount",
            )
        ],
        "expected": lambda: _unpivot(["q1", "q3"]),
        "types": {"id": "int", "quarter": "string", "amount": "int"},
    },
    "unpivot_default": {
        "depends_on": ["wide"],
        "steps": [op("unpivot", id_columns=["id"], name_column="quarter", value_column="amount")],
        "expected": lambda: _unpivot(["q1", "q2", "q3"]),
    },
    "dedup_first": {
        "depends_on": ["events"],
        "steps": [op("deduplicate", keys=["key"], order_by=["ts"])],
        "expected": lambda: _dedup("first"),
    },
    "dedup_last": {
        "depends_on": ["events"],
        "steps": [op("deduplicate", keys=["key"], order_by=["ts"], keep="last")],
        "expected": lambda: _dedup("last"),
    },
    "dedup_desc": {
        "depends_on": ["events"],
        "steps": [op("deduplicate", keys=["key"], order_by=["ts desc"])],
        "expected": lambda: _dedup("first", desc=True),
    },
    "window": {
        "depends_on": ["sales"],
        "steps": [
            op(
                "window",
                name="rn",
                function="row_number",
                partition_by=["region"],
                order_by=["amount desc", "day"],
            ),
            op("window", name="rnk", function="rank", partition_by=["region"], order_by=["amount desc"]),
            op(
                "window",
                name="drnk",
                function="dense_rank",
                partition_by=["region"],
                order_by=["amount desc"],
            ),
            op("window", name="tile", function="ntile", offset=3, partition_by=["region"], order_by=["day"]),
            op(
                "window",
                name="prev",
                function="lag",
                column="amount",
                partition_by=["region"],
                order_by=["day"],
            ),
            op(
                "window",
                name="next2",
                function="lead",
                column="amount",
                offset=2,
                partition_by=["region"],
                order_by=["day"],
            ),
            op(
                "window",
                name="running",
                function="sum",
                column="amount",
                partition_by=["region"],
                order_by=["day"],
            ),
            op(
                "window",
                name="rolling",
                function="avg",
                column="amount",
                partition_by=["region"],
                order_by=["day"],
                frame="rolling",
                rows=2,
            ),
            op("window", name="total", function="sum", column="amount", partition_by=["region"]),
            op(
                "window",
                name="total_ordered",
                function="sum",
                column="amount",
                partition_by=["region"],
                order_by=["day"],
                frame="partition",
            ),
            op("window", name="n", function="count", partition_by=["region"]),
        ],
        "expected": _windows,
        "types": {
            "rn": "int",
            "rnk": "int",
            "drnk": "int",
            "tile": "int",
            "prev": "int",
            "next2": "int",
            "running": "int",
            "rolling": "float",
            "total": "int",
            "n": "int",
        },
    },
    "sort_asc": {
        "steps": [op("sort", by=["salary", "id"])],
        "expected": lambda: _sorted(["salary", "id"], [True, True]),
        "ordered": True,
    },
    "sort_desc": {
        "steps": [op("sort", by=["dept desc", "salary desc", "id"])],
        "expected": lambda: _sorted(["dept", "salary", "id"], [False, False, True]),
        "ordered": True,
    },
    "limit": {
        "steps": [op("sort", by=["salary desc", "id"]), op("limit", n=3, offset=1)],
        "expected": lambda: _sorted(["salary", "id"], [False, True]).iloc[1:4],
        "ordered": True,
    },
    "surrogate_key": {
        "depends_on": ["keys"],
        "steps": [op("surrogate_key", columns=["i", "s", "f", "d", "t"], name="sk")],
        "expected": _surrogate,
        "types": {"i": "int", "s": "string", "f": "float", "d": "date", "t": "timestamp", "sk": "string"},
    },
    "mixed_steps": {
        "depends_on": ["emp", "dept"],
        "steps": [
            op("filter", condition="dept IS NOT NULL"),
            "SELECT id, name, dept, salary * 10 AS pay FROM df",
            op("join", right="dept", on=["dept"]),
            op("rename", columns={"name_right": "dept_name"}),
            "SELECT dept, dept_name, sum(pay) AS pay FROM df GROUP BY dept, dept_name",
        ],
        "expected": lambda: (
            emp()
            .dropna(subset=["dept"])
            .merge(dept(), on="dept", suffixes=("", "_right"))
            .assign(pay=lambda f: f.salary * 10)
            .groupby(["dept", "name_right"], as_index=False)
            .pay.sum()
            .rename(columns={"name_right": "dept_name"})
        ),
        "types": {"dept": "string", "dept_name": "string", "pay": "int"},
    },
    # the pivot's columns come from the data, so this node's columns are only known at run time: the
    # rename and drop after `SELECT *` are built then
    "deferred": {
        "depends_on": ["pivot_sum"],
        "steps": [
            "SELECT * FROM df",
            op("rename", columns={"apple": "apples"}),
            op("drop", columns=["plum"]),
        ],
        "expected": _deferred,
        "types": {"store": "string", "apples": "int", "pear": "int"},
    },
}


def _project() -> str:
    nodes: list[dict] = [{"name": t, "read": {"connection": "data", "path": f"{t}.csv"}} for t in TABLES]
    for name, case in CASES.items():
        nodes.append(
            {
                "name": name,
                "depends_on": case.get("depends_on", ["emp"]),
                "transform": {"steps": case["steps"]},
            }
        )
    return yaml.safe_dump(
        {
            "project": "operations",
            "connections": {"data": {"type": "local", "base_path": "./data"}},
            "pipelines": [{"pipeline": "ops", "nodes": nodes}],
        },
        sort_keys=False,
        allow_unicode=True,
    )


def _write_project(root) -> None:
    (root / "data").mkdir()
    for name, text in TABLES.items():
        (root / "data" / f"{name}.csv").write_text(text, encoding="utf-8")
    (root / "odibi.yaml").write_text(_project(), encoding="utf-8")


def run_and_collect(config, engine: str, names) -> tuple:
    """Run a project like ``run_project`` does and read each named node's result back from the engine
    (no writes: Spark spends over a second on each file it commits, and writes are tested elsewhere)."""
    valid = validate(config, engine=engine)
    eng = registry.create(engine, **valid.project.config.options_for(engine))
    try:
        result = run_plan(valid.project, eng, valid.selection, valid.compiled)
        frames = {
            n.node: eng.to_pandas(n.node) for n in result.nodes if n.status == "success" and n.node in names
        }
    finally:
        eng.close()
    return result, frames


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def ops_run(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"ops-{request.param}")
    _write_project(root)
    return run_and_collect(root / "odibi.yaml", request.param, CASES)


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(frame)))
    for c in frame.columns:
        s = frame[c].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.astype("datetime64[ns]")
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            s = s.astype("float64")
        else:  # text, dates, decimals: compare as Python objects, None for NULL
            s = s.astype(object).where(s.notna(), None)
            s = s.map(lambda v: float(v) if hasattr(v, "as_tuple") else v)
        out[c] = s
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_operation(ops_run, case):
    result, frames = ops_run
    spec = CASES[case]
    node = next(n for n in result.nodes if n.node == case)
    assert node.status == "success", node.error
    got = _comparable(frames[case])
    expected = _comparable(spec["expected"]())
    assert list(got.columns) == list(expected.columns)
    if not spec.get("ordered"):
        cols = list(got.columns)
        got = got.sort_values(cols, na_position="last", kind="mergesort").reset_index(drop=True)
        expected = expected.sort_values(cols, na_position="last", kind="mergesort").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=1e-9)
    for column, logical in spec.get("types", {}).items():
        assert node.columns.get(column) == logical, (column, node.columns)


def test_deferred_node_is_built_at_run_time(tmp_path):
    """The node after the data-driven pivot has no columns at compile time: its operations wait."""
    _write_project(tmp_path)
    valid = validate(tmp_path / "odibi.yaml")
    compiled = valid.compiled[("ops", "deferred")]
    assert compiled.query is None and compiled.deferred
    assert valid.compiled[("ops", "rename")].deferred is None  # input columns known: one query


def test_surrogate_key_text_form():
    """The documented string form: columns cast to text, NULL as '<NULL>', joined with '|'."""
    assert _surrogate().sk.iloc[0] == hashlib.md5(b"1|x|1.5|2024-01-02|2024-01-02 03:04:05").hexdigest()
    assert _surrogate().sk.iloc[2] == hashlib.md5(b"<NULL>|y z|<NULL>|2023-06-30|<NULL>").hexdigest()
    assert dt.date(2024, 1, 2).isoformat() == "2024-01-02"
