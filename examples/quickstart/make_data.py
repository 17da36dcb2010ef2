"""Regenerate the quickstart's input CSVs (data/customers.csv, data/orders.csv).

The output is committed; this script only documents how it was made and lets you change it.
It is deterministic (fixed seed, no clock): running it twice writes byte-identical files.

    python examples/quickstart/make_data.py

Besides ordinary rows, the data holds the messy cases the pipeline has to clean up
(see the comments on EDGE_ORDERS and in customers.csv below):

* customer ids with stray whitespace and lower case (" c002 ", "c004"),
* orders with a NULL (empty) or blank customer id, and orders for a customer that does not exist,
* negative, zero and missing amounts (refunds / test rows / broken rows: filtered out),
* statuses in mixed case with whitespace, some cancelled, one missing,
* a missing quantity (defaults to 1), a missing country and segment,
* a customer who appears twice (the row with the later updated_at wins),
* a customer with no orders at all (kept by the LEFT JOIN),
* two customers tied on revenue and order count (ROW_NUMBER needs a tie-breaker),
* customer-months just under and exactly at the HAVING threshold, an amount on a CASE boundary.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

# customer_id, name, country, segment, signup_date, updated_at
CUSTOMERS = [
    ("C001", "Alice Martin", "US", "retail", "2023-11-02", "2024-01-01"),
    (" c002 ", "  Bob Chen ", "us", "Wholesale", "2023-12-15", "2024-01-01"),  # whitespace / case
    ("C003", "Okafor, Chidi", "NG", "retail", "2024-01-02", "2024-01-02"),  # comma inside a quoted field
    ("c004", "Dana Ruiz", " es ", "", "2023-12-20", "2023-12-20"),  # lower-case id, blank segment
    ("C005", "Eva Novak", "CZ", "RETAIL", "2023-12-01", "2023-12-01"),  # superseded by the row below
    ("C006", "Farid Haddad", "", "retail", "2023-12-11", "2023-12-11"),  # missing country
    ("C007", "Grace Kim", "KR", "wholesale", "2023-12-20", "2023-12-20"),
    ("C008", "Hugo Silva", "BR", "retail", "2023-12-01", "2023-12-01"),
    ("C009", "Ines Duarte", "PT", "retail", "2023-12-03", "2023-12-03"),  # tied with C010
    ("C010", "Jonas Berg", "SE", "wholesale", "2023-12-10", "2023-12-10"),  # tied with C009
    ("C011", "Kenji Sato", "JP", "retail", "2024-03-15", "2024-03-15"),  # no orders at all
    ("C012", "Lena Vogel", "DE", "retail", "2023-12-20", "2023-12-20"),
    ("C005", "Eva Novak-Horak", "cz", "wholesale", "2023-12-01", "2024-04-01"),  # newer record of C005
    ("", "Ghost Row", "US", "retail", "2024-01-01", "2024-01-01"),  # no id: dropped
]

# Customers that get random orders (C009/C010 get hand-made tied orders, C011 none).
RANDOM_BUYERS = ["C001", " c002 ", "C003", "c004", "C005", "C006", "C007", "C008", "C012"]
STATUSES = ["completed", "Completed", " COMPLETED ", "shipped", "Shipped "]

# order rows written after the random ones: (customer_id, order_date, amount, quantity, status)
EDGE_ORDERS = [
    ("C009", "2024-02-10", "150.00", "1", "completed"),  # C009 and C010: 2 orders, 250.00 each -> a tie
    ("C009", "2024-03-05", "100.00", "2", "completed"),
    ("C010", "2024-02-11", "100.00", "1", "completed"),
    ("C010", "2024-03-06", "150.00", "3", "shipped"),
    ("C001", "2024-05-20", "12.00", "1", "completed"),  # two orders the same day; together (24.50)
    ("C001", "2024-05-20", "12.50", "", "completed"),  # just under the HAVING threshold; no quantity -> 1
    ("c004", "2024-05-14", "25.00", "1", "shipped"),  # a month of exactly 25.00: kept by HAVING >= 25
    ("C008", "2024-03-27", "300.00", "1", "completed"),  # exactly 300.00: 'large' (CASE boundary)
    ("", "2024-02-14", "99.00", "1", "completed"),  # NULL customer id: dropped
    ("", "2024-03-01", "45.10", "2", "completed"),  # NULL customer id: dropped
    ("   ", "2024-04-01", "60.00", "1", "completed"),  # blank customer id: dropped
    ("C099", "2024-02-02", "500.00", "4", "completed"),  # unknown customer: no match in the join
    ("C003", "2024-03-12", "-40.00", "1", "completed"),  # refund: dropped
    ("C007", "2024-04-18", "0.00", "1", "completed"),  # zero amount: dropped
    ("C008", "2024-01-30", "-5.25", "1", "shipped"),  # negative: dropped
    ("C012", "2024-06-01", "", "1", "completed"),  # missing amount: dropped
    ("C006", "2024-05-09", "310.00", "2", "cancelled"),  # cancelled: dropped
    ("c004", "2024-04-22", "220.40", "2", " CANCELLED"),  # cancelled (messy): dropped
    ("C005", "2024-06-15", "89.99", "1", ""),  # missing status -> 'unknown', kept
]


def main() -> None:
    rng = random.Random(20240101)
    DATA.mkdir(parents=True, exist_ok=True)

    with (DATA / "customers.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["customer_id", "name", "country", "segment", "signup_date", "updated_at"])
        w.writerows(CUSTOMERS)

    start = dt.date(2024, 1, 1)
    rows = []
    for _ in range(70):
        cid = rng.choice(RANDOM_BUYERS)
        day = start + dt.timedelta(days=rng.randrange(0, 182))  # Jan .. Jun 2024
        amount = f"{rng.randrange(500, 60000) / 100:.2f}"
        qty = str(rng.randint(1, 5))
        status = rng.choice(STATUSES)
        rows.append((cid, day.isoformat(), amount, qty, status))
    rows.extend(EDGE_ORDERS)
    rng.shuffle(rows)  # file order is not date order: the windows must sort

    with (DATA / "orders.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["order_id", "customer_id", "order_date", "amount", "quantity", "status"])
        for i, (cid, day, amount, qty, status) in enumerate(rows, start=1001):
            w.writerow([i, cid, day, amount, qty, status])


if __name__ == "__main__":
    main()
