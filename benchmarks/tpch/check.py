"""Result equality for the benchmark: same columns, same rows (sorted), floats within a relative tolerance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def load(path: Path) -> pd.DataFrame:
    """A parquet file or a Spark output directory as a DataFrame with comparable column types."""
    import pyarrow.parquet as pq

    table = pq.read_table(str(path))
    frame = table.to_pandas(date_as_object=False)
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            frame[name] = col.astype("datetime64[ns]")
        elif pd.api.types.is_bool_dtype(col):
            frame[name] = col.astype("int64")
        elif pd.api.types.is_numeric_dtype(col):
            frame[name] = col.astype("float64")
        else:
            frame[name] = col.astype(object)
    return frame


def differences(actual: pd.DataFrame, expected: pd.DataFrame, rtol: float = 1e-6) -> str | None:
    """None when equal; else a short description of the first difference."""
    if list(actual.columns) != list(expected.columns):
        return f"columns differ: {list(actual.columns)} != {list(expected.columns)}"
    if len(actual) != len(expected):
        return f"row counts differ: {len(actual)} != {len(expected)}"
    if not len(actual):
        return None
    cols = list(actual.columns)

    # sort on the non-float columns first (exact), then floats rounded (float sums differ in the last bits)
    def key(frame: pd.DataFrame) -> pd.DataFrame:
        k = frame.copy()
        for c in cols:
            if pd.api.types.is_float_dtype(k[c]):
                k[c] = k[c].map(lambda v: float(f"{v:.6g}") if pd.notna(v) else v)
        exact = [c for c in cols if not pd.api.types.is_float_dtype(frame[c])]
        floats = [c for c in cols if c not in exact]
        order = k.sort_values(exact + floats, kind="mergesort", na_position="last").index
        return frame.loc[order].reset_index(drop=True)

    a, e = key(actual), key(expected)
    for c in cols:
        x, y = a[c], e[c]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
            ok = np.isclose(x.to_numpy(), y.to_numpy(), rtol=rtol, atol=0.0, equal_nan=True)
        else:
            ok = ((x == y) | (x.isna() & y.isna())).to_numpy()
        if not ok.all():
            i = int(np.argmin(ok))
            return f"column {c!r} row {i}: {x.iloc[i]!r} != {y.iloc[i]!r}"
    return None


def compare_files(actual: Path, expected: Path, rtol: float = 1e-6) -> str | None:
    return differences(load(actual), load(expected), rtol)
