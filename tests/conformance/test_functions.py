"""Python transform functions (``function:`` steps) on every engine, against results computed in pandas.

The functions live in a module written into the project folder and listed in ``transform_modules``. The
transform registry is process-global, so every function here has a name unique to this module (``cf_``).
"""

from __future__ import annotations

import io
import logging
import textwrap

import pandas as pd
import pytest
import yaml

from tests.conformance.conftest import ENGINE_PARAMS
from tests.conformance.test_operations import _comparable, run_and_collect

SALES = """\
region,day,amount
a,1,10
a,2,20
a,3,-5
b,1,7
b,2,30
c,1,12
c,2,3
"""
REGIONS = """\
region,manager
a,Ann
b,Bob
"""

MODULE = '''
import ibis
import pandas as pd

from odibi.transforms import transform


@transform
def cf_ibis_margin(t: ibis.Table, rate: float = 0.1) -> ibis.Table:
    """Ibis style: compiled to SQL, runs on every engine."""
    kept = t.filter(t.amount > 0)
    return kept.mutate(tax=kept.amount * rate, big=kept.amount >= 20)


@transform
def cf_ibis_label(t: ibis.Table, sep: str) -> ibis.Table:
    return t.mutate(label=t.region.concat(sep, t.manager.fill_null("none")))


@transform
def cf_pandas_double(df, factor: int = 2):
    """pandas style."""
    out = df.copy()
    out["doubled"] = out["amount"] * factor
    return out


@transform
def cf_context_enrich(context, lookup):
    """ODIBI v1 style: the step input and an upstream node through the context."""
    df = context.get("df")
    other = context.get(lookup)
    return df.merge(other, on="region", how="left")


@transform
def cf_boom(df):
    raise ValueError("kaboom")


@transform
def cf_not_a_frame(df):
    return [1, 2, 3]
'''


def sales() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(SALES))


def regions() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(REGIONS))


def fn(name: str, **params) -> dict:
    return {"function": name, "params": params}


def _margin(frame: pd.DataFrame, rate: float) -> pd.DataFrame:
    out = frame[frame.amount > 0].copy()
    out["tax"] = out.amount * rate
    out["big"] = out.amount >= 20
    return out


def _chained() -> pd.DataFrame:
    s = sales()
    s = _margin(s[s.day <= 2][["region", "day", "amount"]], 0.1)
    s["total"] = s.amount + s.tax
    s = s.merge(regions(), on="region", how="left")
    s["label"] = s.region + "/" + s.manager.fillna("none")
    s = s[["region", "day", "total", "label"]]
    return s[s.total > 5]


# name → (node settings, expected frame or None for a node that must fail)
NODES = {
    "ibis_node": {
        "steps": [fn("cf_ibis_margin", rate=0.5)],
        "expected": lambda: _margin(sales(), 0.5),
        "types": {"tax": "float", "big": "bool", "amount": "int"},
    },
    "pandas_node": {
        "steps": [fn("cf_pandas_double", factor=3)],
        "expected": lambda: sales().assign(doubled=sales().amount * 3),
        "spark_fails": "pandas_on_spark",
    },
    "pandas_on_spark_node": {
        "steps": [{**fn("cf_pandas_double"), "pandas_on_spark": True}],
        "expected": lambda: sales().assign(doubled=sales().amount * 2),
    },
    "context_node": {
        "depends_on": ["sales", "regions"],
        "steps": [{**fn("cf_context_enrich", lookup="regions"), "pandas_on_spark": True}],
        "expected": lambda: sales().merge(regions(), on="region", how="left"),
    },
    "chained": {
        "depends_on": ["sales", "regions"],
        "steps": [
            "SELECT region, day, amount FROM df WHERE day <= 2",
            fn("cf_ibis_margin"),
            {"operation": "derive", "params": {"columns": {"total": "amount + tax"}}},
            {**fn("cf_context_enrich", lookup="regions"), "pandas_on_spark": True},
            fn("cf_ibis_label", sep="/"),
            {"operation": "select", "params": {"columns": ["region", "day", "total", "label"]}},
            {"sql": "SELECT * FROM df WHERE total > 5"},
        ],
        "expected": _chained,
        "types": {"region": "string", "day": "int", "total": "float", "label": "string"},
    },
    "boom_node": {
        "steps": [{**fn("cf_boom"), "pandas_on_spark": True}],
        "fails": ["cf_boom", "ValueError", "kaboom"],
    },
    "after_boom": {"depends_on": ["boom_node"], "steps": ["SELECT * FROM df"], "skipped": True},
    "not_a_frame_node": {
        "steps": [{**fn("cf_not_a_frame"), "pandas_on_spark": True}],
        "fails": ["cf_not_a_frame", "list", "DataFrame"],
    },
}


def _project() -> str:
    nodes: list[dict] = [
        {"name": "sales", "read": {"connection": "data", "path": "sales.csv"}},
        {"name": "regions", "read": {"connection": "data", "path": "regions.csv"}},
    ]
    for name, spec in NODES.items():
        nodes.append(
            {
                "name": name,
                "depends_on": spec.get("depends_on", ["sales"]),
                "transform": {"steps": spec["steps"]},
            }
        )
    return yaml.safe_dump(
        {
            "project": "functions",
            "transform_modules": ["cf_transforms.py"],
            "connections": {"data": {"type": "local", "base_path": "./data"}},
            "pipelines": [{"pipeline": "fns", "nodes": nodes}],
        },
        sort_keys=False,
    )


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def fn_run(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"fns-{request.param}")
    (root / "data").mkdir()
    (root / "data" / "sales.csv").write_text(SALES)
    (root / "data" / "regions.csv").write_text(REGIONS)
    (root / "cf_transforms.py").write_text(textwrap.dedent(MODULE))
    (root / "odibi.yaml").write_text(_project())
    handler = _Collect()
    logger = logging.getLogger("odibi.run")
    logger.addHandler(handler)
    try:
        result, frames = run_and_collect(root / "odibi.yaml", request.param, NODES)
    finally:
        logger.removeHandler(handler)
    return request.param, result, frames, handler.messages


def _node(result, name):
    return next(n for n in result.nodes if n.node == name)


@pytest.mark.parametrize("name", [n for n, spec in NODES.items() if "expected" in spec])
def test_function_results(fn_run, name):
    engine, result, frames, _ = fn_run
    spec = NODES[name]
    node = _node(result, name)
    if engine == "spark" and spec.get("spark_fails"):
        assert node.status == "failed"
        assert "cf_pandas_double" in node.error and spec["spark_fails"] in node.error, node.error
        return
    assert node.status == "success", node.error
    got = _comparable(frames[name])
    expected = _comparable(spec["expected"]())
    assert list(got.columns) == list(expected.columns)
    cols = list(got.columns)
    got = got.sort_values(cols, kind="mergesort").reset_index(drop=True)
    expected = expected.sort_values(cols, kind="mergesort").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=1e-9)
    for column, logical in spec.get("types", {}).items():
        assert node.columns.get(column) == logical, (column, node.columns)


@pytest.mark.parametrize("name", [n for n, spec in NODES.items() if "fails" in spec])
def test_function_failures(fn_run, name):
    _, result, _, _ = fn_run
    node = _node(result, name)
    assert node.status == "failed"
    for word in NODES[name]["fails"]:
        assert word in node.error, node.error
    assert "Traceback" not in node.error


def test_downstream_of_failed_function_is_skipped(fn_run):
    _, result, _, _ = fn_run
    node = _node(result, "after_boom")
    assert node.status == "skipped" and "boom_node" in node.error


def test_pandas_on_spark_warns(fn_run):
    engine, _, _, warnings = fn_run
    collected = [m for m in warnings if "cf_pandas_double" in m and "driver" in m]
    assert bool(collected) == (engine == "spark"), warnings


def test_ibis_function_compiles_to_sql(tmp_path):
    """Over a CSV whose schema is known, an Ibis function is SQL at compile time (no deferred run)."""
    from odibi.api import compile_project, validate

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales.csv").write_text(SALES)
    (tmp_path / "data" / "regions.csv").write_text(REGIONS)
    (tmp_path / "cf_transforms.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "odibi.yaml").write_text(_project())
    valid = validate(tmp_path / "odibi.yaml")
    assert valid.compiled[("fns", "ibis_node")].deferred is None
    assert valid.compiled[("fns", "pandas_node")].deferred
    sql = {r.node: r.sql for r in compile_project(tmp_path / "odibi.yaml", node="ibis_node")}["ibis_node"]
    assert "0.5" in sql and "tax" in sql and "big" in sql
