"""Arrow ↔ pandas, the one way every engine does it.

A pandas function step sees the same DataFrame on every engine: the pandas engine keeps its relations as
these frames, and the DuckDB and Spark engines convert their results with :func:`to_pandas` (DuckDB and
Spark hand over Arrow). Frames come back through :func:`to_arrow`. Integers and booleans with NULLs stay
integers and booleans (pandas nullable ``Int64`` / ``boolean``), decimals keep their precision
(``ArrowDtype(decimal128)``), dates are ``datetime.date`` objects.

Imports pandas and pyarrow: engines that do not hold pandas frames import it only when a step needs it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from odibi.errors import NodeExecutionError


def arrow_type_mapper(typ: pa.DataType) -> Any:
    """The pandas dtype of an Arrow type where it differs from pyarrow's default (None: the default)."""
    if pa.types.is_integer(typ):
        return {
            pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
            pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
            pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(),
        }[typ]  # fmt: skip
    if pa.types.is_boolean(typ):
        return pd.BooleanDtype()
    if pa.types.is_decimal(typ):
        return pd.ArrowDtype(typ)
    return None


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow → the engine's DataFrame: nullable ints/bools only where NULLs occur, dates as objects."""
    frame = table.to_pandas(types_mapper=arrow_type_mapper)
    for field in table.schema:
        if pa.types.is_floating(field.type):
            column = table.column(field.name)
            has_nan = pc.any(pc.is_nan(column)).as_py() if len(column) else False
            if column.null_count and has_nan:
                # NULL and NaN are different values; numpy float64 would merge them (and pandas' own
                # Float64 turns NaN into NA), so this column stays Arrow-backed
                frame[field.name] = pd.Series(column.to_pandas(types_mapper=pd.ArrowDtype), index=frame.index)
    for name in frame.columns:
        dtype = frame[name].dtype
        if (
            isinstance(dtype, pd.BooleanDtype | pd.core.arrays.integer.IntegerDtype)
            and not frame[name].hasnans
        ):
            frame[name] = frame[name].astype(dtype.numpy_dtype)
    return frame


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame as Arrow (what DuckDB scans and Spark creates a DataFrame from), without its index."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise NodeExecutionError(f"cannot hand this DataFrame to SQL: {exc}") from None
