"""TPC-H data generated locally with DuckDB's tpch extension (``dbgen``), written as one parquet file per table.

    python -m benchmarks.tpch.data --sf 0.1 [--out benchmarks/data]

The extension comes from the ``duckdb-extension-tpch`` wheel (with ``duckdb-extensions``): DuckDB cannot
download extensions here. DECIMAL columns are written as DOUBLE (as the polars/pandas TPC-H benchmarks
do): hand-written pandas gets float64 columns instead of Python ``Decimal`` objects, and results of every
engine compare with a relative float tolerance. Dates stay DATE.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

TABLES = ("lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region")
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "data"


class TpchUnavailable(RuntimeError):
    """The tpch extension wheel is not installed."""


def tpch_available() -> bool:
    try:
        import duckdb_extension_tpch  # noqa: F401
        import duckdb_extensions  # noqa: F401
    except ImportError:
        return False
    return True


def connect_tpch(tmp: str):
    """A DuckDB connection with the tpch extension loaded from the wheel (extensions kept under ``tmp``)."""
    import duckdb

    try:
        import duckdb_extensions
    except ImportError as exc:
        raise TpchUnavailable(
            "the DuckDB tpch extension is not installed: pip install duckdb-extensions duckdb-extension-tpch"
        ) from exc
    con = duckdb.connect(config={"extension_directory": f"{tmp}/extensions"})
    try:
        duckdb_extensions.import_extension("tpch", con=con)
    except Exception as exc:  # the loader raises its own error types when the wheel is missing
        con.close()
        raise TpchUnavailable(f"cannot load the DuckDB tpch extension: {exc}") from exc
    return con


def sf_label(sf: float) -> str:
    return f"{sf:g}"


def data_dir(sf: float, root: Path | None = None) -> Path:
    return Path(root or DEFAULT_ROOT) / f"tpch_sf{sf_label(sf)}"


def generate(sf: float, root: Path | None = None, *, force: bool = False) -> Path:
    """Parquet files for every TPC-H table at ``sf`` under ``root``; reuses them when already there."""
    out = data_dir(sf, root)
    marker = out / "_COMPLETE"
    if marker.exists() and not force:
        return out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tmp = tempfile.mkdtemp(prefix="odibi-tpch-gen-")
    try:
        con = connect_tpch(tmp)
        try:
            con.execute(f"CALL dbgen(sf={sf})")
            for table in TABLES:
                cols = con.execute(f"DESCRIBE {table}").fetchall()
                select = ", ".join(
                    f"CAST({name} AS DOUBLE) AS {name}" if str(typ).upper().startswith("DECIMAL") else name
                    for name, typ, *_ in cols
                )
                con.execute(
                    f"COPY (SELECT {select} FROM {table}) TO '{out / table}.parquet' (FORMAT PARQUET)"
                )
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    marker.write_text(f"sf={sf}\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sf", type=float, default=0.1)
    parser.add_argument("--out", default=str(DEFAULT_ROOT))
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    print(generate(args.sf, Path(args.out), force=args.force))


if __name__ == "__main__":
    main()
