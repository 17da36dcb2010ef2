"""SQL helpers of the engines that run DuckDB in this process (the DuckDB engine, and the pandas engine
for its SQL steps): both must type and fingerprint results identically. Imports no engine library: each
function takes the engine's DuckDB connection.
"""

from __future__ import annotations

from typing import Any


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def narrow_hugeint(con: Any, sql: str, columns: list[tuple[str, str]] | None = None) -> str:
    """Cast HUGEINT columns (DuckDB's type for SUM of integers) to BIGINT.

    Other engines return BIGINT for an integer sum, and DuckDB's parquet writer turns HUGEINT into DOUBLE;
    BIGINT keeps the logical type "int" everywhere. An overflow raises instead of losing digits.
    ``columns``, when given, receives the result's (name, type) as the returned SQL produces them.
    """
    described = con.execute(f"DESCRIBE {sql}").fetchall()
    wide = [name for name, typ, *_ in described if str(typ).upper() in ("HUGEINT", "UHUGEINT")]
    if columns is not None:
        columns.extend((name, "BIGINT" if name in wide else str(typ)) for name, typ, *_ in described)
    if not wide:
        return sql
    casts = ", ".join(f"CAST({quote_ident(c)} AS BIGINT) AS {quote_ident(c)}" for c in wide)
    return f"SELECT * REPLACE ({casts}) FROM ({sql})"


def relation_fingerprint(con: Any, relation: str) -> str:
    """Row count and an order-independent hash of the rows (DuckDB's ``hash`` of each row, summed)."""
    rows, total = con.execute(
        f"SELECT count(*), sum(hash(t)) FROM (SELECT * FROM {quote_ident(relation)}) AS t"
    ).fetchone()
    return f"duckdb:{rows}:{total or 0}"
