"""Parameters of the built-in declarative operations, one pydantic model each.

A step ``{operation: NAME, params: {...}}`` is validated against the model of NAME, and the JSON Schema
has one definition per operation (the union is discriminated on ``operation``), so editors complete
each operation's own parameters. SQL fragments in params (conditions, expressions, measures) are read in
the project's SQL dialect, like SQL steps.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from odibi.config.base import OdibiModel

Columns = Annotated[list[str], Field(min_length=1, description="Column names.")]
OrderBy = Annotated[
    list[str],
    Field(
        min_length=1,
        description="Columns to order by; append ' desc' for descending.",
        examples=[["day desc"]],
    ),
]


class FilterParams(OdibiModel):
    """Keep the rows where a SQL condition holds."""

    condition: str = Field(description="A SQL boolean expression.", examples=["amount > 0 AND status <> 'x'"])


class SelectParams(OdibiModel):
    """Keep these columns, in this order."""

    columns: Columns


class DropParams(OdibiModel):
    """Remove these columns."""

    columns: Columns


class RenameParams(OdibiModel):
    """Rename columns (old name → new name); the column order is kept."""

    columns: dict[str, str] = Field(
        min_length=1, description="Old name → new name.", examples=[{"amt": "amount"}]
    )


class DeriveParams(OdibiModel):
    """Add (or replace) columns computed by SQL expressions, in order (a later one may use an earlier one)."""

    columns: dict[str, str] = Field(
        min_length=1, description="New column → SQL expression.", examples=[{"total": "price * quantity"}]
    )


class CastParams(OdibiModel):
    """Change column types (int, float, decimal(p,s), string, bool, date, timestamp or a SQL type)."""

    columns: dict[str, str] = Field(
        min_length=1, description="Column → type.", examples=[{"amount": "decimal(10,2)"}]
    )


class FillNullsParams(OdibiModel):
    """Replace NULLs by a value per column."""

    values: dict[str, Any] = Field(min_length=1, description="Column → value used where it is NULL.")


class JoinParams(OdibiModel):
    """Join the step's input (left) with another node (right)."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["on"], "properties": {"on": {"type": "array", "minItems": 1}}},
                {"required": ["condition"], "properties": {"condition": {"type": "string", "minLength": 1}}},
            ]
        }
    )

    right: str = Field(description="The node to join with (it must be in depends_on).")
    how: Literal["inner", "left", "right", "full", "semi", "anti"] = Field("inner", description="Join type.")
    on: list[str] | None = Field(
        None, description="Key columns with the same name on both sides (kept once in the output)."
    )
    condition: str | None = Field(
        None,
        description="A SQL join condition over the aliases `left` and `right`, instead of `on`.",
        examples=["left.id = right.customer_id AND right.active"],
    )
    suffix: str = Field("_right", description="Appended to right-side columns whose names clash.")

    @model_validator(mode="after")
    def _on_or_condition(self) -> JoinParams:
        if bool(self.on) == bool(self.condition):
            raise PydanticCustomError("join_keys", "join needs exactly one of 'on' or 'condition'")
        return self


class UnionParams(OdibiModel):
    """Stack other nodes under the input, matching columns by name (missing ones are NULL)."""

    nodes: Columns = Field(description="Nodes to append (they must be in depends_on).")
    distinct: bool = Field(False, description="Remove duplicate rows (UNION instead of UNION ALL).")


class AggregateParams(OdibiModel):
    """Group and aggregate."""

    group_by: list[str] = Field(default_factory=list, description="Grouping columns (none: one row).")
    measures: dict[str, str] = Field(
        min_length=1, description="Output column → SQL aggregate.", examples=[{"total": "sum(amount)"}]
    )


class PivotParams(OdibiModel):
    """Rows to columns (ODIBI v1 parameters): one column per distinct value of ``pivot_column``."""

    group_by: Columns
    pivot_column: str = Field(description="Column whose values become column names.")
    value_column: str = Field(description="Column aggregated into the new columns.")
    agg_func: Literal["sum", "avg", "mean", "min", "max", "count"] = Field(
        "sum", description="Aggregate function."
    )
    values: list[Any] | None = Field(
        None, description="The pivot values (and so the columns); read from the data when omitted."
    )


class UnpivotParams(OdibiModel):
    """Columns to rows."""

    id_columns: list[str] = Field(default_factory=list, description="Columns kept on every row.")
    value_columns: list[str] | None = Field(
        None, description="Columns turned into rows (default: all others)."
    )
    name_column: str = Field("variable", description="Output column holding the former column name.")
    value_column: str = Field("value", description="Output column holding the value.")


class DeduplicateParams(OdibiModel):
    """Keep one row per key: the first (or last) by an ordering."""

    keys: Columns
    order_by: OrderBy
    keep: Literal["first", "last"] = Field("first", description="Which row of each key to keep.")


def _when(function_names: list[str], required: str, schema: dict) -> dict:
    return {
        "if": {"properties": {"function": {"enum": function_names}}, "required": ["function"]},
        "then": {"required": [required], "properties": {required: schema}},
    }


class WindowParams(OdibiModel):
    """Add one column computed by a window function."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                _when(
                    ["lag", "lead", "sum", "avg", "min", "max"], "column", {"type": "string", "minLength": 1}
                ),
                _when(
                    ["row_number", "rank", "dense_rank", "ntile", "lag", "lead"],
                    "order_by",
                    {"type": "array", "minItems": 1},
                ),
                {
                    "if": {"properties": {"frame": {"const": "rolling"}}, "required": ["frame"]},
                    "then": {"required": ["rows"], "properties": {"rows": {"type": "integer"}}},
                },
            ]
        }
    )

    name: str = Field(description="Output column.")
    function: Literal[
        "row_number", "rank", "dense_rank", "ntile", "lag", "lead", "sum", "avg", "min", "max", "count"
    ] = Field(description="Window function.")
    column: str | None = Field(None, description="Input column (lag, lead and aggregates).")
    partition_by: list[str] = Field(default_factory=list, description="Partition columns.")
    order_by: list[str] = Field(default_factory=list, description="Ordering; append ' desc' for descending.")
    offset: int = Field(1, ge=1, description="Offset for lag / lead, buckets for ntile.")
    frame: Literal["running", "rolling", "partition"] | None = Field(
        None,
        description="Aggregates: running (from the start), rolling (last `rows` rows), or whole partition.",
    )
    rows: int | None = Field(None, ge=1, description="Rolling window size in rows (frame: rolling).")

    @model_validator(mode="after")
    def _needs(self) -> WindowParams:
        if self.function in ("lag", "lead", "sum", "avg", "min", "max") and not self.column:
            raise PydanticCustomError(
                "window_column", "window function '{f}' needs 'column'", {"f": self.function}
            )
        if (
            self.function in ("row_number", "rank", "dense_rank", "ntile", "lag", "lead")
            and not self.order_by
        ):
            raise PydanticCustomError(
                "window_order", "window function '{f}' needs 'order_by'", {"f": self.function}
            )
        if self.frame == "rolling" and not self.rows:
            raise PydanticCustomError("window_rows", "frame: rolling needs 'rows'")
        return self


class SortParams(OdibiModel):
    """Order the rows."""

    by: OrderBy


class LimitParams(OdibiModel):
    """Keep the first n rows (after an optional offset)."""

    n: int = Field(ge=0, description="Number of rows.")
    offset: int = Field(0, ge=0, description="Rows skipped first.")


class SurrogateKeyParams(OdibiModel):
    """Add a stable hash of columns (the same value on every engine)."""

    columns: Columns
    name: str = Field("surrogate_key", description="Output column.")


PARAMS: dict[str, type[OdibiModel]] = {
    "filter": FilterParams, "select": SelectParams, "drop": DropParams, "rename": RenameParams,
    "derive": DeriveParams, "cast": CastParams, "fill_nulls": FillNullsParams, "join": JoinParams,
    "union": UnionParams, "aggregate": AggregateParams, "pivot": PivotParams, "unpivot": UnpivotParams,
    "deduplicate": DeduplicateParams, "window": WindowParams, "sort": SortParams, "limit": LimitParams,
    "surrogate_key": SurrogateKeyParams,
}  # fmt: skip


def _step_model(name: str, params: type[OdibiModel]) -> type[OdibiModel]:
    """``{operation: name, params: <params model>}`` as its own model (one JSON Schema definition each)."""
    from pydantic import create_model

    title = "".join(part.title() for part in name.split("_")) + "Operation"
    model = create_model(
        title,
        __base__=OdibiModel,
        __doc__=params.__doc__,
        operation=(Literal[name], Field(description=f"The '{name}' operation. {params.__doc__}")),
        params=(params, Field(description="The operation's parameters.")),
    )
    return model


STEP_MODELS: dict[str, type[OdibiModel]] = {name: _step_model(name, p) for name, p in PARAMS.items()}
