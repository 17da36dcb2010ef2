"""The TPC-H queries hand-written in idiomatic, vectorised pandas: the pandas engine's baseline.

Written as a skilled pandas user would: read only the needed columns (``columns=``) with dates as
``datetime64`` (``date_as_object=False``), filter before joining, join on keys with ``merge``, aggregate
with named ``groupby().agg``, no Python loops over rows. Each function takes ``read(table, columns)`` and
returns the result with the column names of the SQL query (checked equal to DuckDB's answers by the
benchmark and by tests/unit/test_tpch_smoke.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

Reader = Callable[[str, list[str]], pd.DataFrame]


def reader(data: Path) -> Reader:
    def read(table: str, columns: list[str]) -> pd.DataFrame:
        return pd.read_parquet(
            Path(data) / f"{table}.parquet", columns=columns, to_pandas_kwargs={"date_as_object": False}
        )

    return read


def D(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def _rev(df: pd.DataFrame) -> pd.Series:
    return df.l_extendedprice * (1 - df.l_discount)


def q1(read: Reader) -> pd.DataFrame:
    li = read("lineitem", ["l_returnflag", "l_linestatus", "l_quantity", "l_extendedprice", "l_discount",
                           "l_tax", "l_shipdate"])  # fmt: skip
    li = li[li.l_shipdate <= D("1998-09-02")]
    disc_price = _rev(li)
    li = li.assign(disc_price=disc_price, charge=disc_price * (1 + li.l_tax))
    out = li.groupby(["l_returnflag", "l_linestatus"], as_index=False).agg(
        sum_qty=("l_quantity", "sum"),
        sum_base_price=("l_extendedprice", "sum"),
        sum_disc_price=("disc_price", "sum"),
        sum_charge=("charge", "sum"),
        avg_qty=("l_quantity", "mean"),
        avg_price=("l_extendedprice", "mean"),
        avg_disc=("l_discount", "mean"),
        count_order=("l_quantity", "size"),
    )
    return out.sort_values(["l_returnflag", "l_linestatus"], ignore_index=True)


def q2(read: Reader) -> pd.DataFrame:
    region = read("region", ["r_regionkey", "r_name"])
    nation = read("nation", ["n_nationkey", "n_name", "n_regionkey"])
    supplier = read("supplier", ["s_suppkey", "s_name", "s_address", "s_nationkey", "s_phone", "s_acctbal",
                                 "s_comment"])  # fmt: skip
    partsupp = read("partsupp", ["ps_partkey", "ps_suppkey", "ps_supplycost"])
    part = read("part", ["p_partkey", "p_mfgr", "p_size", "p_type"])

    europe = nation[nation.n_regionkey.isin(region.loc[region.r_name == "EUROPE", "r_regionkey"])]
    supp = supplier.merge(europe[["n_nationkey", "n_name"]], left_on="s_nationkey", right_on="n_nationkey")
    ps = partsupp.merge(supp, left_on="ps_suppkey", right_on="s_suppkey")
    part = part[(part.p_size == 15) & part.p_type.str.endswith("BRASS")]
    ps = ps[ps.ps_partkey.isin(part.p_partkey)]
    ps = ps[ps.ps_supplycost == ps.groupby("ps_partkey").ps_supplycost.transform("min")]
    out = ps.merge(part[["p_partkey", "p_mfgr"]], left_on="ps_partkey", right_on="p_partkey")
    out = out.sort_values(["s_acctbal", "n_name", "s_name", "p_partkey"], ascending=[False, True, True, True])
    cols = ["s_acctbal", "s_name", "n_name", "p_partkey", "p_mfgr", "s_address", "s_phone", "s_comment"]
    return out[cols].head(100).reset_index(drop=True)


def q3(read: Reader) -> pd.DataFrame:
    customer = read("customer", ["c_custkey", "c_mktsegment"])
    orders = read("orders", ["o_orderkey", "o_custkey", "o_orderdate", "o_shippriority"])
    li = read("lineitem", ["l_orderkey", "l_extendedprice", "l_discount", "l_shipdate"])
    cust = customer.loc[customer.c_mktsegment == "BUILDING", "c_custkey"]
    orders = orders[(orders.o_orderdate < D("1995-03-15")) & orders.o_custkey.isin(cust)]
    li = li[li.l_shipdate > D("1995-03-15")]
    j = li.merge(orders, left_on="l_orderkey", right_on="o_orderkey")
    j = j.assign(revenue=_rev(j))
    out = j.groupby(["l_orderkey", "o_orderdate", "o_shippriority"], as_index=False).agg(
        revenue=("revenue", "sum")
    )
    out = out.sort_values(["revenue", "o_orderdate"], ascending=[False, True]).head(10)
    return out[["l_orderkey", "revenue", "o_orderdate", "o_shippriority"]].reset_index(drop=True)


def q4(read: Reader) -> pd.DataFrame:
    orders = read("orders", ["o_orderkey", "o_orderdate", "o_orderpriority"])
    li = read("lineitem", ["l_orderkey", "l_commitdate", "l_receiptdate"])
    orders = orders[(orders.o_orderdate >= D("1993-07-01")) & (orders.o_orderdate < D("1993-10-01"))]
    late = li.loc[li.l_commitdate < li.l_receiptdate, "l_orderkey"].unique()
    orders = orders[orders.o_orderkey.isin(late)]
    out = orders.groupby("o_orderpriority", as_index=False).agg(order_count=("o_orderkey", "size"))
    return out.sort_values("o_orderpriority", ignore_index=True)


def q5(read: Reader) -> pd.DataFrame:
    region = read("region", ["r_regionkey", "r_name"])
    nation = read("nation", ["n_nationkey", "n_name", "n_regionkey"])
    customer = read("customer", ["c_custkey", "c_nationkey"])
    supplier = read("supplier", ["s_suppkey", "s_nationkey"])
    orders = read("orders", ["o_orderkey", "o_custkey", "o_orderdate"])
    li = read("lineitem", ["l_orderkey", "l_suppkey", "l_extendedprice", "l_discount"])

    asia = nation[nation.n_regionkey.isin(region.loc[region.r_name == "ASIA", "r_regionkey"])]
    customer = customer[customer.c_nationkey.isin(asia.n_nationkey)]
    supplier = supplier[supplier.s_nationkey.isin(asia.n_nationkey)]
    orders = orders[(orders.o_orderdate >= D("1994-01-01")) & (orders.o_orderdate < D("1995-01-01"))]
    orders = orders.merge(customer, left_on="o_custkey", right_on="c_custkey")
    j = li.merge(orders[["o_orderkey", "c_nationkey"]], left_on="l_orderkey", right_on="o_orderkey")
    j = j.merge(supplier, left_on=["l_suppkey", "c_nationkey"], right_on=["s_suppkey", "s_nationkey"])
    j = j.merge(asia[["n_nationkey", "n_name"]], left_on="s_nationkey", right_on="n_nationkey")
    j = j.assign(revenue=_rev(j))
    out = j.groupby("n_name", as_index=False).agg(revenue=("revenue", "sum"))
    return out.sort_values("revenue", ascending=False, ignore_index=True)


def q6(read: Reader) -> pd.DataFrame:
    li = read("lineitem", ["l_extendedprice", "l_discount", "l_shipdate", "l_quantity"])
    li = li[
        (li.l_shipdate >= D("1994-01-01"))
        & (li.l_shipdate < D("1995-01-01"))
        & li.l_discount.between(0.05, 0.07)
        & (li.l_quantity < 24)
    ]
    return pd.DataFrame({"revenue": [(li.l_extendedprice * li.l_discount).sum(min_count=1)]})


def q7(read: Reader) -> pd.DataFrame:
    nation = read("nation", ["n_nationkey", "n_name"])
    supplier = read("supplier", ["s_suppkey", "s_nationkey"])
    customer = read("customer", ["c_custkey", "c_nationkey"])
    orders = read("orders", ["o_orderkey", "o_custkey"])
    li = read("lineitem", ["l_orderkey", "l_suppkey", "l_shipdate", "l_extendedprice", "l_discount"])

    pair = nation[nation.n_name.isin(["FRANCE", "GERMANY"])]
    supp = supplier.merge(pair, left_on="s_nationkey", right_on="n_nationkey")[["s_suppkey", "n_name"]]
    supp = supp.rename(columns={"n_name": "supp_nation"})
    cust = customer.merge(pair, left_on="c_nationkey", right_on="n_nationkey")[["c_custkey", "n_name"]]
    cust = cust.rename(columns={"n_name": "cust_nation"})
    li = li[(li.l_shipdate >= D("1995-01-01")) & (li.l_shipdate <= D("1996-12-31"))]
    j = li.merge(supp, left_on="l_suppkey", right_on="s_suppkey")
    j = j.merge(orders, left_on="l_orderkey", right_on="o_orderkey")
    j = j.merge(cust, left_on="o_custkey", right_on="c_custkey")
    j = j[j.supp_nation != j.cust_nation]
    j = j.assign(l_year=j.l_shipdate.dt.year, volume=_rev(j))
    out = j.groupby(["supp_nation", "cust_nation", "l_year"], as_index=False).agg(revenue=("volume", "sum"))
    return out.sort_values(["supp_nation", "cust_nation", "l_year"], ignore_index=True)


def q8(read: Reader) -> pd.DataFrame:
    region = read("region", ["r_regionkey", "r_name"])
    nation = read("nation", ["n_nationkey", "n_name", "n_regionkey"])
    customer = read("customer", ["c_custkey", "c_nationkey"])
    supplier = read("supplier", ["s_suppkey", "s_nationkey"])
    orders = read("orders", ["o_orderkey", "o_custkey", "o_orderdate"])
    part = read("part", ["p_partkey", "p_type"])
    li = read("lineitem", ["l_orderkey", "l_partkey", "l_suppkey", "l_extendedprice", "l_discount"])

    america = nation.loc[nation.n_regionkey.isin(region.loc[region.r_name == "AMERICA", "r_regionkey"]),
                         "n_nationkey"]  # fmt: skip
    cust = customer.loc[customer.c_nationkey.isin(america), "c_custkey"]
    orders = orders[
        (orders.o_orderdate >= D("1995-01-01"))
        & (orders.o_orderdate <= D("1996-12-31"))
        & orders.o_custkey.isin(cust)
    ]
    parts = part.loc[part.p_type == "ECONOMY ANODIZED STEEL", "p_partkey"]
    li = li[li.l_partkey.isin(parts)]
    j = li.merge(orders[["o_orderkey", "o_orderdate"]], left_on="l_orderkey", right_on="o_orderkey")
    j = j.merge(supplier, left_on="l_suppkey", right_on="s_suppkey")
    j = j.merge(nation[["n_nationkey", "n_name"]], left_on="s_nationkey", right_on="n_nationkey")
    volume = _rev(j)
    j = j.assign(o_year=j.o_orderdate.dt.year, volume=volume, brazil=volume.where(j.n_name == "BRAZIL", 0.0))
    out = j.groupby("o_year", as_index=False).agg(brazil=("brazil", "sum"), volume=("volume", "sum"))
    out["mkt_share"] = out.brazil / out.volume
    return out[["o_year", "mkt_share"]].sort_values("o_year", ignore_index=True)


def q9(read: Reader) -> pd.DataFrame:
    nation = read("nation", ["n_nationkey", "n_name"])
    supplier = read("supplier", ["s_suppkey", "s_nationkey"])
    part = read("part", ["p_partkey", "p_name"])
    partsupp = read("partsupp", ["ps_partkey", "ps_suppkey", "ps_supplycost"])
    orders = read("orders", ["o_orderkey", "o_orderdate"])
    li = read("lineitem", ["l_orderkey", "l_partkey", "l_suppkey", "l_quantity", "l_extendedprice",
                           "l_discount"])  # fmt: skip

    parts = part.loc[part.p_name.str.contains("green", regex=False), "p_partkey"]
    li = li[li.l_partkey.isin(parts)]
    j = li.merge(partsupp, left_on=["l_suppkey", "l_partkey"], right_on=["ps_suppkey", "ps_partkey"])
    j = j.merge(supplier, left_on="l_suppkey", right_on="s_suppkey")
    j = j.merge(nation, left_on="s_nationkey", right_on="n_nationkey")
    j = j.merge(orders, left_on="l_orderkey", right_on="o_orderkey")
    j = j.assign(
        nation=j.n_name,
        o_year=j.o_orderdate.dt.year,
        amount=_rev(j) - j.ps_supplycost * j.l_quantity,
    )
    out = j.groupby(["nation", "o_year"], as_index=False).agg(sum_profit=("amount", "sum"))
    return out.sort_values(["nation", "o_year"], ascending=[True, False], ignore_index=True)


def q10(read: Reader) -> pd.DataFrame:
    nation = read("nation", ["n_nationkey", "n_name"])
    customer = read("customer", ["c_custkey", "c_name", "c_address", "c_nationkey", "c_phone", "c_acctbal",
                                 "c_comment"])  # fmt: skip
    orders = read("orders", ["o_orderkey", "o_custkey", "o_orderdate"])
    li = read("lineitem", ["l_orderkey", "l_returnflag", "l_extendedprice", "l_discount"])

    orders = orders[(orders.o_orderdate >= D("1993-10-01")) & (orders.o_orderdate < D("1994-01-01"))]
    li = li[li.l_returnflag == "R"]
    j = li.merge(orders, left_on="l_orderkey", right_on="o_orderkey")
    j = j.assign(revenue=_rev(j))
    rev = j.groupby("o_custkey", as_index=False).agg(revenue=("revenue", "sum"))
    out = rev.merge(customer, left_on="o_custkey", right_on="c_custkey")
    out = out.merge(nation, left_on="c_nationkey", right_on="n_nationkey")
    out = out.sort_values("revenue", ascending=False).head(20)
    cols = ["c_custkey", "c_name", "revenue", "c_acctbal", "n_name", "c_address", "c_phone", "c_comment"]
    return out[cols].reset_index(drop=True)


def q11(read: Reader) -> pd.DataFrame:
    nation = read("nation", ["n_nationkey", "n_name"])
    supplier = read("supplier", ["s_suppkey", "s_nationkey"])
    partsupp = read("partsupp", ["ps_partkey", "ps_suppkey", "ps_availqty", "ps_supplycost"])

    germany = nation.loc[nation.n_name == "GERMANY", "n_nationkey"]
    supp = supplier.loc[supplier.s_nationkey.isin(germany), "s_suppkey"]
    ps = partsupp[partsupp.ps_suppkey.isin(supp)]
    ps = ps.assign(value=ps.ps_supplycost * ps.ps_availqty)
    threshold = ps.value.sum() * 0.0001
    out = ps.groupby("ps_partkey", as_index=False).agg(value=("value", "sum"))
    out = out[out.value > threshold]
    return out.sort_values("value", ascending=False, ignore_index=True)


def q12(read: Reader) -> pd.DataFrame:
    orders = read("orders", ["o_orderkey", "o_orderpriority"])
    li = read("lineitem", ["l_orderkey", "l_shipmode", "l_shipdate", "l_commitdate", "l_receiptdate"])
    li = li[
        li.l_shipmode.isin(["MAIL", "SHIP"])
        & (li.l_commitdate < li.l_receiptdate)
        & (li.l_shipdate < li.l_commitdate)
        & (li.l_receiptdate >= D("1994-01-01"))
        & (li.l_receiptdate < D("1995-01-01"))
    ]
    j = li.merge(orders, left_on="l_orderkey", right_on="o_orderkey")
    high = j.o_orderpriority.isin(["1-URGENT", "2-HIGH"])
    j = j.assign(high_line_count=high.astype("int64"), low_line_count=(~high).astype("int64"))
    out = j.groupby("l_shipmode", as_index=False).agg(
        high_line_count=("high_line_count", "sum"), low_line_count=("low_line_count", "sum")
    )
    return out.sort_values("l_shipmode", ignore_index=True)


def q13(read: Reader) -> pd.DataFrame:
    customer = read("customer", ["c_custkey"])
    orders = read("orders", ["o_custkey", "o_comment"])
    orders = orders[~orders.o_comment.str.contains("special.*requests", regex=True)]
    per_customer = orders.groupby("o_custkey").size()
    c_count = customer.c_custkey.map(per_customer).fillna(0).astype("int64")
    out = c_count.value_counts().rename_axis("c_count").reset_index(name="custdist")
    return out.sort_values(["custdist", "c_count"], ascending=[False, False], ignore_index=True)


def q14(read: Reader) -> pd.DataFrame:
    part = read("part", ["p_partkey", "p_type"])
    li = read("lineitem", ["l_partkey", "l_extendedprice", "l_discount", "l_shipdate"])
    li = li[(li.l_shipdate >= D("1995-09-01")) & (li.l_shipdate < D("1995-10-01"))]
    j = li.merge(part, left_on="l_partkey", right_on="p_partkey")
    revenue = _rev(j)
    promo = revenue.where(j.p_type.str.startswith("PROMO"), 0.0).sum(min_count=1)
    return pd.DataFrame({"promo_revenue": [100.00 * promo / revenue.sum(min_count=1)]})


def q15(read: Reader) -> pd.DataFrame:
    supplier = read("supplier", ["s_suppkey", "s_name", "s_address", "s_phone"])
    li = read("lineitem", ["l_suppkey", "l_extendedprice", "l_discount", "l_shipdate"])
    li = li[(li.l_shipdate >= D("1996-01-01")) & (li.l_shipdate < D("1996-04-01"))]
    revenue = (
        li.assign(total_revenue=_rev(li))
        .groupby("l_suppkey", as_index=False)
        .agg(total_revenue=("total_revenue", "sum"))
    )
    top = revenue[revenue.total_revenue == revenue.total_revenue.max()]
    out = supplier.merge(top, left_on="s_suppkey", right_on="l_suppkey")
    return out[["s_suppkey", "s_name", "s_address", "s_phone", "total_revenue"]].sort_values(
        "s_suppkey", ignore_index=True
    )


def q16(read: Reader) -> pd.DataFrame:
    part = read("part", ["p_partkey", "p_brand", "p_type", "p_size"])
    partsupp = read("partsupp", ["ps_partkey", "ps_suppkey"])
    supplier = read("supplier", ["s_suppkey", "s_comment"])
    complaints = supplier.loc[
        supplier.s_comment.str.contains("Customer.*Complaints", regex=True), "s_suppkey"
    ]
    part = part[
        (part.p_brand != "Brand#45")
        & ~part.p_type.str.startswith("MEDIUM POLISHED")
        & part.p_size.isin([49, 14, 23, 45, 19, 3, 36, 9])
    ]
    ps = partsupp[~partsupp.ps_suppkey.isin(complaints)]
    j = ps.merge(part, left_on="ps_partkey", right_on="p_partkey")
    out = j.groupby(["p_brand", "p_type", "p_size"], as_index=False).agg(
        supplier_cnt=("ps_suppkey", "nunique")
    )
    return out.sort_values(
        ["supplier_cnt", "p_brand", "p_type", "p_size"],
        ascending=[False, True, True, True],
        ignore_index=True,
    )


def q17(read: Reader) -> pd.DataFrame:
    part = read("part", ["p_partkey", "p_brand", "p_container"])
    li = read("lineitem", ["l_partkey", "l_quantity", "l_extendedprice"])
    parts = part.loc[(part.p_brand == "Brand#23") & (part.p_container == "MED BOX"), "p_partkey"]
    li = li[li.l_partkey.isin(parts)]
    li = li[li.l_quantity < 0.2 * li.groupby("l_partkey").l_quantity.transform("mean")]
    return pd.DataFrame({"avg_yearly": [li.l_extendedprice.sum(min_count=1) / 7.0]})


def q18(read: Reader) -> pd.DataFrame:
    customer = read("customer", ["c_custkey", "c_name"])
    orders = read("orders", ["o_orderkey", "o_custkey", "o_orderdate", "o_totalprice"])
    li = read("lineitem", ["l_orderkey", "l_quantity"])
    qty = li.groupby("l_orderkey", as_index=False).agg(sum_qty=("l_quantity", "sum"))
    qty = qty[qty.sum_qty > 300]
    j = orders.merge(qty, left_on="o_orderkey", right_on="l_orderkey")
    j = j.merge(customer, left_on="o_custkey", right_on="c_custkey")
    j = j.sort_values(["o_totalprice", "o_orderdate"], ascending=[False, True]).head(100)
    cols = ["c_name", "c_custkey", "o_orderkey", "o_orderdate", "o_totalprice", "sum_qty"]
    return j[cols].reset_index(drop=True)


def q19(read: Reader) -> pd.DataFrame:
    part = read("part", ["p_partkey", "p_brand", "p_size", "p_container"])
    li = read("lineitem", ["l_partkey", "l_quantity", "l_extendedprice", "l_discount", "l_shipmode",
                           "l_shipinstruct"])  # fmt: skip
    li = li[li.l_shipmode.isin(["AIR", "AIR REG"]) & (li.l_shipinstruct == "DELIVER IN PERSON")]
    j = li.merge(part, left_on="l_partkey", right_on="p_partkey")

    def case(brand: str, containers: list[str], low: int, size: int) -> pd.Series:
        return (
            (j.p_brand == brand)
            & j.p_container.isin(containers)
            & j.l_quantity.between(low, low + 10)
            & j.p_size.between(1, size)
        )

    keep = (
        case("Brand#12", ["SM CASE", "SM BOX", "SM PACK", "SM PKG"], 1, 5)
        | case("Brand#23", ["MED BAG", "MED BOX", "MED PKG", "MED PACK"], 10, 10)
        | case("Brand#34", ["LG CASE", "LG BOX", "LG PACK", "LG PKG"], 20, 15)
    )
    return pd.DataFrame({"revenue": [_rev(j[keep]).sum(min_count=1)]})


def q20(read: Reader) -> pd.DataFrame:
    nation = read("nation", ["n_nationkey", "n_name"])
    supplier = read("supplier", ["s_suppkey", "s_name", "s_address", "s_nationkey"])
    part = read("part", ["p_partkey", "p_name"])
    partsupp = read("partsupp", ["ps_partkey", "ps_suppkey", "ps_availqty"])
    li = read("lineitem", ["l_partkey", "l_suppkey", "l_quantity", "l_shipdate"])

    forest = part.loc[part.p_name.str.startswith("forest"), "p_partkey"]
    li = li[
        (li.l_shipdate >= D("1994-01-01")) & (li.l_shipdate < D("1995-01-01")) & li.l_partkey.isin(forest)
    ]
    shipped = li.groupby(["l_partkey", "l_suppkey"], as_index=False).agg(qty=("l_quantity", "sum"))
    ps = partsupp[partsupp.ps_partkey.isin(forest)]
    ps = ps.merge(shipped, left_on=["ps_partkey", "ps_suppkey"], right_on=["l_partkey", "l_suppkey"])
    keys = ps.loc[ps.ps_availqty > 0.5 * ps.qty, "ps_suppkey"]
    canada = nation.loc[nation.n_name == "CANADA", "n_nationkey"]
    out = supplier[supplier.s_suppkey.isin(keys) & supplier.s_nationkey.isin(canada)]
    return out[["s_name", "s_address"]].sort_values("s_name", ignore_index=True)


def q21(read: Reader) -> pd.DataFrame:
    nation = read("nation", ["n_nationkey", "n_name"])
    supplier = read("supplier", ["s_suppkey", "s_name", "s_nationkey"])
    orders = read("orders", ["o_orderkey", "o_orderstatus"])
    li = read("lineitem", ["l_orderkey", "l_suppkey", "l_receiptdate", "l_commitdate"])

    saudi = nation.loc[nation.n_name == "SAUDI ARABIA", "n_nationkey"]
    supp = supplier[supplier.s_nationkey.isin(saudi)][["s_suppkey", "s_name"]]
    suppliers_per_order = li.groupby("l_orderkey").l_suppkey.nunique()
    late = li[li.l_receiptdate > li.l_commitdate]
    late_suppliers_per_order = late.groupby("l_orderkey").l_suppkey.nunique()
    multi = suppliers_per_order.index[suppliers_per_order > 1]
    only_late = late_suppliers_per_order.index[late_suppliers_per_order == 1]
    failed = orders.loc[orders.o_orderstatus == "F", "o_orderkey"]
    l1 = late[late.l_orderkey.isin(multi) & late.l_orderkey.isin(only_late) & late.l_orderkey.isin(failed)]
    j = l1.merge(supp, left_on="l_suppkey", right_on="s_suppkey")
    out = j.groupby("s_name", as_index=False).agg(numwait=("l_orderkey", "size"))
    out = out.sort_values(["numwait", "s_name"], ascending=[False, True]).head(100)
    return out.reset_index(drop=True)


def q22(read: Reader) -> pd.DataFrame:
    customer = read("customer", ["c_custkey", "c_phone", "c_acctbal"])
    orders = read("orders", ["o_custkey"])
    codes = ["13", "31", "23", "29", "30", "18", "17"]
    customer = customer.assign(cntrycode=customer.c_phone.str.slice(0, 2))
    customer = customer[customer.cntrycode.isin(codes)]
    average = customer.loc[customer.c_acctbal > 0.00, "c_acctbal"].mean()
    customer = customer[(customer.c_acctbal > average) & ~customer.c_custkey.isin(orders.o_custkey)]
    out = customer.groupby("cntrycode", as_index=False).agg(
        numcust=("c_custkey", "size"), totacctbal=("c_acctbal", "sum")
    )
    return out.sort_values("cntrycode", ignore_index=True)


QUERIES = {n: globals()[f"q{n}"] for n in range(1, 23)}


def run(n: int, data: Path, out: Path) -> None:
    """Read + query + write parquet, as a user of pandas would."""
    QUERIES[n](reader(data)).to_parquet(out, index=False)
