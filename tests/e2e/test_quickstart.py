"""End to end: examples/quickstart runs and its outputs equal what plain pandas computes from the inputs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_helpers import (
    assert_all_nodes_succeeded,
    assert_same_rows,
    read_raw_csv,
    run_example,
)

NODES = [
    ("bronze_to_silver", "raw_customers"),
    ("bronze_to_silver", "raw_orders"),
    ("bronze_to_silver", "customers"),
    ("bronze_to_silver", "orders"),
    ("bronze_to_silver", "orders_enriched"),
    ("silver_to_gold", "enriched"),
    ("silver_to_gold", "customer_monthly"),
    ("silver_to_gold", "top_customers"),
]


# logical type of every output column (DESIGN.md §4: same logical types on every engine)
LOGICAL_TYPES = {
    **dict.fromkeys(
        ["customer_id", "customer_name", "country", "segment", "status", "order_size", "month_label"],
        "string",
    ),
    **dict.fromkeys(["order_date", "month", "first_order", "last_order"], "date"),
    **dict.fromkeys(["amount", "revenue", "prev_revenue", "revenue_change", "cumulative_revenue"], "float"),
    "total_revenue": "float",
    **dict.fromkeys(
        ["order_id", "quantity", "days_since_signup", "quarter", "order_count", "units", "month_seq"], "int"
    ),
    **dict.fromkeys(["position", "revenue_rank", "last_order_month"], "int"),
}


# The config says engine: duckdb; the same project must give the same results on pandas (DESIGN.md §4).
@pytest.fixture(scope="module", params=[None, "pandas"], ids=["duckdb", "pandas"])
def run(request, cli_runs, tmp_path_factory):  # cli_runs first: the CLI runs meanwhile
    folder = tmp_path_factory.mktemp("qs_" + (request.param or "duckdb")) / "quickstart"
    return run_example("quickstart", folder, engine=request.param)


# --------------------------------------------------------------------------- the expectation, in pandas


def _text(s: pd.Series) -> pd.Series:
    """SQL's TRIM (spaces only) applied to a raw text column."""
    return s.str.strip(" ")


@pytest.fixture(scope="module")
def expected(run) -> dict[str, pd.DataFrame]:
    data = run.folder / "data"

    # customers: clean, then keep the latest record per id (ties: name)
    c = read_raw_csv(data / "customers.csv")
    c["customer_id"] = _text(c["customer_id"]).str.upper()
    c = c[c["customer_id"] != ""].copy()
    c["customer_name"] = _text(c["name"])
    c["country"] = _text(c["country"]).str.upper().replace("", "UNKNOWN")
    c["segment"] = _text(c["segment"]).str.lower().replace("", "unassigned")
    c["signup_date"] = pd.to_datetime(c["signup_date"])
    c["updated_at"] = pd.to_datetime(c["updated_at"])
    c = c.sort_values(["customer_id", "updated_at", "customer_name"], ascending=[True, False, True])
    c = c.drop_duplicates("customer_id", keep="first")
    c = c[["customer_id", "customer_name", "country", "segment", "signup_date"]]

    # orders: clean, then keep valid ones
    o = read_raw_csv(data / "orders.csv")
    o["order_id"] = o["order_id"].astype(int)
    o["customer_id"] = _text(o["customer_id"]).str.upper()
    o["order_date"] = pd.to_datetime(o["order_date"])
    o["amount"] = pd.to_numeric(o["amount"].replace("", np.nan))
    o["quantity"] = o["quantity"].replace("", "1").astype(int)
    o["status"] = _text(o["status"]).str.lower().replace("", "unknown")
    o = o[(o["customer_id"] != "") & (o["amount"] > 0) & (o["status"] != "cancelled")]

    # silver: customers LEFT JOIN orders
    e = c.merge(o, on="customer_id", how="left")
    e["order_size"] = np.select(
        [e["amount"].isna(), e["amount"] >= 300, e["amount"] >= 100],
        [None, "large", "medium"],
        default="small",
    )
    e["days_since_signup"] = (e["order_date"] - e["signup_date"]).dt.days
    silver = e[
        ["customer_id", "customer_name", "country", "segment", "order_id", "order_date", "amount",
         "quantity", "status", "order_size", "days_since_signup"]
    ]  # fmt: skip

    # gold 1: per customer and month, months under 25.00 dropped, then windows in month order
    m = silver[silver["order_id"].notna()].copy()
    m["month"] = m["order_date"].dt.to_period("M").dt.to_timestamp()
    g = m.groupby(["customer_id", "customer_name", "country", "month"], as_index=False).agg(
        order_count=("order_id", "size"), units=("quantity", "sum"), revenue=("amount", "sum")
    )
    g = g[g["revenue"] >= 25].copy()
    g["revenue"] = g["revenue"].round(2)
    g["month_label"] = g["month"].dt.strftime("%Y-%m")
    g["quarter"] = g["month"].dt.quarter
    g = g.sort_values(["customer_id", "month"])
    by_customer = g.groupby("customer_id")
    g["month_seq"] = by_customer.cumcount() + 1
    g["prev_revenue"] = by_customer["revenue"].shift(1)
    g["revenue_change"] = g["revenue"] - g["prev_revenue"]
    g["cumulative_revenue"] = by_customer["revenue"].cumsum()
    monthly = g[
        ["customer_id", "customer_name", "country", "month", "month_label", "quarter", "order_count",
         "units", "revenue", "month_seq", "prev_revenue", "revenue_change", "cumulative_revenue"]
    ]  # fmt: skip

    # gold 2: top 10 customers; ties broken by order count, then customer id
    t = silver.groupby(["customer_id", "customer_name", "country", "segment"], as_index=False).agg(
        order_count=("order_id", "count"),
        total_revenue=("amount", "sum"),  # sum of nothing = 0, like COALESCE(SUM(..), 0)
        first_order=("order_date", "min"),
        last_order=("order_date", "max"),
    )
    t["total_revenue"] = t["total_revenue"].round(2)
    t = t.sort_values(["total_revenue", "order_count", "customer_id"], ascending=[False, False, True])
    t["position"] = range(1, len(t) + 1)
    t["revenue_rank"] = t["total_revenue"].rank(method="min", ascending=False).astype(int)
    t["last_order_month"] = t["last_order"].dt.month
    t = t[t["position"] <= 10]
    top = t[
        ["position", "revenue_rank", "customer_id", "customer_name", "country", "segment", "order_count",
         "total_revenue", "first_order", "last_order", "last_order_month"]
    ]  # fmt: skip

    return {"silver": silver, "monthly": monthly, "top": top}


# --------------------------------------------------------------------------- tests


def test_every_node_succeeds(run, expected):
    assert_all_nodes_succeeded(run.result, NODES)
    # row counts are reported for nodes that are written (lazy nodes may report None)
    rows = {n.node: n.rows for n in run.result.nodes}
    assert rows["orders_enriched"] == len(expected["silver"])
    assert rows["customer_monthly"] == len(expected["monthly"])
    assert rows["top_customers"] == len(expected["top"]) == 10
    # logical types of the written tables, the same on every engine
    columns = {n.node: n.columns for n in run.result.nodes}
    for node, frame in (
        ("orders_enriched", expected["silver"]),
        ("customer_monthly", expected["monthly"]),
        ("top_customers", expected["top"]),
    ):
        assert columns[node] == {c: LOGICAL_TYPES[c] for c in frame.columns}, node


def test_silver_orders_enriched(run, expected):
    actual = pd.read_parquet(run.out("silver/orders_enriched.parquet"))
    assert_same_rows(actual, expected["silver"], sort_by=["customer_id", "order_id"], dates=("order_date",))


def test_silver_tricky_rows(run):
    """The edge cases planted by make_data.py, checked by hand rather than by recomputation."""
    s = pd.read_parquet(run.out("silver/orders_enriched.parquet"))
    ids = set(s["customer_id"])
    assert ids == {f"C{i:03d}" for i in range(1, 13)}  # trimmed, upper-cased, ghost and orphan gone
    no_orders = s[s["customer_id"] == "C011"]
    assert len(no_orders) == 1 and no_orders["order_id"].isna().all()  # kept by the LEFT JOIN
    assert s.loc[s["order_id"].notna(), "amount"].gt(0).all()
    assert not s["status"].isin(["cancelled"]).any()
    assert s.loc[s["customer_id"] == "C005", "customer_name"].unique().tolist() == ["Eva Novak-Horak"]
    assert s.loc[s["customer_id"] == "C006", "country"].unique().tolist() == ["UNKNOWN"]
    assert s.loc[s["customer_id"] == "C004", "segment"].unique().tolist() == ["unassigned"]
    assert s.loc[s["customer_id"] == "C003", "customer_name"].unique().tolist() == ["Okafor, Chidi"]
    sizes = s.dropna(subset=["amount"]).groupby("amount")["order_size"].first()
    assert sizes[300.0] == "large" and sizes[100.0] == "medium"  # CASE boundaries


def test_gold_customer_monthly(run, expected):
    actual = pd.read_parquet(run.out("gold/customer_monthly.parquet"))
    assert_same_rows(actual, expected["monthly"], sort_by=["customer_id", "month"], dates=("month",))
    # HAVING SUM(amount) >= 25: C001's May (12.00 + 12.50) is out, C004's May (25.00) is in
    months = set(zip(actual["customer_id"], actual["month_label"], strict=True))
    assert ("C001", "2024-05") not in months
    assert ("C004", "2024-05") in months


def test_gold_top_customers(run, expected):
    actual = pd.read_csv(run.out("gold/top_customers.csv"))
    assert_same_rows(actual, expected["top"], sort_by=["position"], dates=("first_order", "last_order"))
    # C009 and C010 tie on revenue (250.00) and order count (2): the customer id decides who is 10th
    tie = actual.set_index("customer_id")
    assert tie.loc["C009", "position"] == 10 and tie.loc["C009", "revenue_rank"] == 10
    assert "C010" not in tie.index


def test_cli_run(cli_runs):
    cli = cli_runs["quickstart"]
    proc = cli.wait()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for _, node in NODES:
        assert node in proc.stdout, f"{node} missing from the CLI summary:\n{proc.stdout}"
    # a relative base_path is resolved against the config's folder, not the working directory
    assert (cli.folder / "output" / "gold" / "top_customers.csv").is_file()
    assert not (cli.folder.parent / "cwd" / "output").exists()
