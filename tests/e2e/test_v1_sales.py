"""End to end: examples/v1_sales (a config in the ODIBI v1 shape, engine pandas) loads, runs unchanged,
and its outputs equal what plain pandas computes from the input CSVs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_helpers import (
    EXAMPLES,
    assert_all_nodes_succeeded,
    assert_same_rows,
    read_raw_csv,
    run_example,
)

NODES = [
    ("bronze_to_silver", "load_raw_sales"),
    ("bronze_to_silver", "load_products"),
    ("bronze_to_silver", "clean_sales"),
    ("bronze_to_silver", "save_silver"),
    ("bronze_to_silver", "load_customers"),
    ("bronze_to_silver", "customer_sales"),
    ("silver_to_gold", "load_silver"),
    ("silver_to_gold", "load_customer_sales"),
    ("silver_to_gold", "sales_by_category"),
    ("silver_to_gold", "daily_sales"),
    ("silver_to_gold", "segment_channel_revenue"),
]


# The config says engine: pandas; the same project must give the same results on duckdb (DESIGN.md §4).
@pytest.fixture(scope="module", params=[None, "duckdb"], ids=["pandas", "duckdb"])
def run(request, cli_runs, tmp_path_factory):  # cli_runs first: the CLI runs meanwhile
    folder = tmp_path_factory.mktemp("v1_" + (request.param or "pandas")) / "v1_sales"
    return run_example("v1_sales", folder, engine=request.param)


@pytest.fixture(scope="module")
def expected(run) -> dict[str, pd.DataFrame]:
    bronze = run.folder / "data" / "bronze"

    s = read_raw_csv(bronze / "sales.csv")
    s["transaction_id"] = s["transaction_id"].astype(int)
    s["amount"] = s["amount"].astype(float)
    s["quantity"] = s["quantity"].astype(int)
    s = s[s["amount"] > 0].copy()
    s["customer_id"] = s["customer_id"].str.strip(" ").str.upper()
    s = s[s["customer_id"] != ""].copy()  # an empty CSV field is NULL
    s["product_id"] = s["product_id"].str.strip(" ").str.upper()
    s["channel"] = s["channel"].str.strip(" ").str.lower()
    s["sale_date"] = pd.to_datetime(s["sale_date"])

    p = read_raw_csv(bronze / "products.csv", sep=";")
    p["unit_cost"] = p["unit_cost"].astype(float)
    p["category"] = p["category"].replace("", np.nan)

    silver = s.merge(p, on="product_id", how="left")
    silver["product_name"] = silver["product_name"].fillna("unknown product")
    silver["category"] = silver["category"].fillna("Uncategorised")
    silver["margin"] = (silver["amount"] - silver["quantity"] * silver["unit_cost"]).round(2)
    silver = silver[
        ["transaction_id", "customer_id", "product_id", "product_name", "category", "channel",
         "sale_date", "quantity", "amount", "margin"]
    ]  # fmt: skip

    by_cat = silver.groupby(["category", "channel"], as_index=False).agg(
        transactions=("transaction_id", "size"),
        customers=("customer_id", "nunique"),
        units=("quantity", "sum"),
        revenue=("amount", "sum"),
        avg_ticket=("amount", "mean"),
        margin=("margin", "sum"),  # NULL margins (unknown product) are ignored, like SQL's SUM
    )
    by_cat["revenue"] = by_cat["revenue"].round(2)
    by_cat["margin"] = by_cat["margin"].round(2)

    daily = silver.groupby("sale_date", as_index=False).agg(
        transactions=("transaction_id", "size"), revenue=("amount", "sum")
    )
    daily["revenue"] = daily["revenue"].round(2)
    daily = daily.sort_values("sale_date")
    daily["running_revenue"] = daily["revenue"].cumsum()

    c = read_raw_csv(bronze / "customers.csv")
    customer_sales = silver.merge(c, on="customer_id", how="left")
    customer_sales["customer_name"] = customer_sales["customer_name"].fillna("unknown customer")
    customer_sales["segment"] = customer_sales["segment"].replace("", np.nan).fillna("unassigned")
    customer_sales = customer_sales[
        ["transaction_id", "customer_id", "customer_name", "segment", "channel", "amount"]
    ]
    by_segment = customer_sales.pivot_table(
        index="segment", columns="channel", values="amount", aggfunc="sum"
    )
    by_segment = by_segment[sorted(by_segment.columns)].reset_index()
    by_segment.columns.name = None

    return {
        "silver": silver, "by_category": by_cat, "daily": daily, "customer_sales": customer_sales,
        "by_segment": by_segment,
    }  # fmt: skip


def test_config_is_v1_shaped():
    """The example keeps the v1 keys this test is about (guards against the example drifting)."""
    cfg = yaml.safe_load((EXAMPLES / "v1_sales" / "odibi.yaml").read_text())
    assert cfg["engine"] == "pandas"
    assert {"story", "retry", "logging"} <= set(cfg)
    assert all("pipeline" in p for p in cfg["pipelines"])
    steps = [
        st for p in cfg["pipelines"] for n in p["nodes"] for st in (n.get("transform") or {}).get("steps", [])
    ]
    assert any(isinstance(st, str) for st in steps) and any(
        isinstance(st, dict) and "sql" in st for st in steps
    )
    # a v1 context-style function step (transforms.py beside the config) and a v1 pivot operation
    functions = [st for st in steps if isinstance(st, dict) and "function" in st]
    assert functions and functions[0]["function"] == "enrich_with_customer_data"
    assert (
        "def enrich_with_customer_data(context, customers_table)"
        in (EXAMPLES / "v1_sales" / "transforms.py").read_text()
    )
    pivots = [st for st in steps if isinstance(st, dict) and st.get("operation") == "pivot"]
    assert pivots and set(pivots[0]["params"]) == {"group_by", "pivot_column", "value_column", "agg_func"}
    validations = [n["validation"] for p in cfg["pipelines"] for n in p["nodes"] if "validation" in n]
    assert {"not_empty", "no_nulls", "schema"} <= {k for v in validations for k in v}


def test_every_node_succeeds(run, expected):
    assert_all_nodes_succeeded(run.result, NODES)
    rows = {n.node: n.rows for n in run.result.nodes}
    assert rows["save_silver"] == len(expected["silver"])
    assert rows["sales_by_category"] == len(expected["by_category"])
    assert rows["daily_sales"] == len(expected["daily"])
    assert rows["customer_sales"] == len(expected["customer_sales"])
    assert rows["segment_channel_revenue"] == len(expected["by_segment"])
    # the v1 validation ran (and passed) where it is configured
    nodes = {n.node: n for n in run.result.nodes}
    checks = " ".join(nodes["clean_sales"].checks)
    for check in ("not_empty", "schema", "transaction_id", "customer_id"):
        assert check in checks, nodes["clean_sales"].checks
    assert nodes["sales_by_category"].checks and nodes["daily_sales"].checks
    # logical types, the same on every engine
    assert nodes["clean_sales"].columns == {
        "transaction_id": "int", "customer_id": "string", "product_id": "string", "product_name": "string",
        "category": "string", "channel": "string", "sale_date": "date", "quantity": "int", "amount": "float",
        "margin": "float",
    }  # fmt: skip
    assert nodes["daily_sales"].columns == {
        "sale_date": "date", "transactions": "int", "revenue": "float", "running_revenue": "float"
    }  # fmt: skip


def test_silver_sales(run, expected):
    actual = pd.read_parquet(run.out("silver/sales.parquet"))
    assert_same_rows(actual, expected["silver"], sort_by=["transaction_id"], dates=("sale_date",))
    # the planted cases
    assert actual["amount"].gt(0).all()
    assert actual["customer_id"].notna().all() and actual["customer_id"].str.match(r"^CU\d{3}$").all()
    assert set(actual["channel"]) == {"online", "store", "marketplace"}
    unknown = actual[actual["product_id"] == "P99"]
    assert len(unknown) == 1 and unknown["category"].tolist() == ["Uncategorised"]
    assert unknown["margin"].isna().all()


def test_gold_sales_by_category(run, expected):
    actual = pd.read_csv(run.out("gold/sales_by_category.csv"))
    assert_same_rows(actual, expected["by_category"], sort_by=["category", "channel"])


def test_gold_daily_sales_json(run, expected):
    lines = run.out("gold/daily_sales.json").read_text().splitlines()
    actual = pd.DataFrame([json.loads(line) for line in lines if line.strip()])  # newline-delimited
    assert_same_rows(actual, expected["daily"], sort_by=["sale_date"], dates=("sale_date",))


def test_silver_customer_sales(run, expected):
    """Written by the v1 context function (pandas) followed by a SQL step."""
    actual = pd.read_parquet(run.out("silver/customer_sales.parquet"))
    assert_same_rows(actual, expected["customer_sales"], sort_by=["transaction_id"])
    assert {"unassigned", "consumer", "business"} == set(actual["segment"])
    assert (actual["customer_name"] == "unknown customer").any()  # CU107 is not in customers.csv


def test_gold_segment_channel_revenue(run, expected):
    """The v1 pivot: one column per channel found in the data (sorted), revenue summed."""
    actual = pd.read_csv(run.out("gold/segment_channel_revenue.csv"))
    assert list(actual.columns) == ["segment", "marketplace", "online", "store"]
    assert_same_rows(actual, expected["by_segment"], sort_by=["segment"])
    nodes = {n.node: n for n in run.result.nodes}
    assert nodes["segment_channel_revenue"].columns == {
        "segment": "string", "marketplace": "float", "online": "float", "store": "float"
    }  # fmt: skip


def test_cli_run(cli_runs):
    cli = cli_runs["v1_sales"]
    proc = cli.wait()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for _, node in NODES:
        assert node in proc.stdout, f"{node} missing from the CLI summary:\n{proc.stdout}"
    assert (cli.folder / "output" / "gold" / "daily_sales.json").is_file()
    assert not (cli.folder.parent / "cwd" / "output").exists()
