"""Run a node step by step, for nodes whose SQL can only be built at run time.

A node is "deferred" when an operation needs its input's columns or data (pivot values), or when a step
is a Python function. Each step then becomes its own relation (``<node>__step<n>``, the last one the
node itself): SQL and operation steps are built with the columns the engine reports and defined as
(lazy) relations; Ibis functions get an unbound table of the input's schema and compile to SQL; pandas
and ODIBI v1 context functions get pandas DataFrames.
"""

from __future__ import annotations

import logging

from sqlglot import exp

from odibi.compile import ops
from odibi.compile.fidelity import preserve_meaning
from odibi.compile.node import CompiledNode, StepPlan, bind_input
from odibi.compile.sql import render
from odibi.engines.base import Capability, Engine
from odibi.errors import NodeExecutionError
from odibi.transforms import TransformContext
from odibi.transforms.user_code import function_error

log = logging.getLogger("odibi.run")

MAX_PIVOT_VALUES = 10_000


def run_steps(
    engine: Engine,
    node: CompiledNode,
    visible: list[str],
    *,
    materialize: bool,
    trace: list[str] | None = None,
) -> None:
    """Define ``node.name`` on ``engine`` by running its steps one after the other; ``trace`` (when
    given) receives what each step ran: its SQL in the engine's dialect, or the Python function."""
    previous = node.input_name
    count = len(node.plan_steps)
    for i, step in enumerate(node.plan_steps):
        last = i == count - 1
        relation = node.name if last else f"{node.name}__step{i + 1}"
        if step.kind == "function" and step.transform is not None and step.transform.style != "ibis":
            if trace is not None:
                trace.append(f"step {i + 1}: Python function {step.transform.name} ({step.transform.style})")
            _run_python(engine, step, previous, relation, visible, index=i)
        else:
            query = _step_query(engine, node, step, previous)
            bound = bind_input(query, previous)
            sql = render(
                preserve_meaning(bound, node.dialect, engine.dialect),
                engine.dialect,
                pretty=False,
                copy=False,
            )  # `bound` was built for this call alone
            if trace is not None:
                trace.append(f"step {i + 1}: {sql}")
            engine.define(relation, sql, materialize=materialize and last)
        previous = relation


def _step_query(engine: Engine, node: CompiledNode, step: StepPlan, previous: str | None) -> exp.Query:
    if step.kind == "sql":
        query = step.written()
        assert query is not None
        return query
    if step.kind == "function":
        from odibi.compile.ibis_steps import ibis_step_sql

        return ibis_step_sql(step, dict(engine.columns(previous)))
    types = dict(engine.columns(previous)) if previous else None
    ctx = ops.OpContext(
        node.dialect,
        step.src,
        list(types) if types is not None else None,
        lambda other: list(engine.columns(other)),
        lambda column: _distinct(engine, previous, column, f"{node.name}__pivot_values"),
        types=types,
    )
    return ops.build(step.operation, ctx)


def _distinct(engine: Engine, relation: str | None, column: str, holder: str) -> list:
    """The sorted non-NULL values of a column (pivot columns), read from the data into ``holder`` (named
    after the node: nodes pivoting the same input may run at the same time)."""
    if relation is None:
        return []
    query = (
        exp.select(exp.column(column, quoted=True))
        .distinct()
        .from_(exp.to_table(relation, quoted=True))
        .where(exp.column(column, quoted=True).is_(exp.null()).not_())
        .order_by(exp.column(column, quoted=True))
    )
    engine.define(holder, render(query, engine.dialect, pretty=False), materialize=True)
    rows = engine.sample(holder, MAX_PIVOT_VALUES + 1)
    if len(rows) > MAX_PIVOT_VALUES:
        raise NodeExecutionError(
            f"pivot column '{column}' has more than {MAX_PIVOT_VALUES:,} values", hint="give `values:`"
        )
    return [next(iter(r.values())) for r in rows]


def _run_python(
    engine: Engine, step: StepPlan, previous: str | None, relation: str, visible: list[str], *, index: int
) -> None:
    assert step.transform is not None
    name = step.transform.name
    local = Capability.LOCAL_PANDAS in engine.capabilities
    if not local and not step.pandas_on_spark:
        raise NodeExecutionError(
            f"function '{name}' works on pandas DataFrames; on spark that collects its input to the driver",
            hint="set pandas_on_spark: true on the step if the data fits in the driver's memory, "
            "or write the function with Ibis tables (runs on every engine)",
        )
    if not local:
        log.warning("function '%s' collects its input to the Spark driver as pandas", name)
    if previous is None:
        raise NodeExecutionError(f"function '{name}' has no input (the node has no read and no depends_on)")
    try:
        if step.transform.style == "context":
            names = ["df", *visible]
            context = TransformContext(lambda n: engine.to_pandas(previous if n == "df" else n), names)
            result = step.transform.func(context, **step.params)
        else:
            result = step.transform.func(engine.to_pandas(previous), **step.params)
    except NodeExecutionError:
        raise
    except Exception as exc:  # the user's code failed: say where in it (not in odibi or a library)
        message, hint = function_error(name, exc)
        raise NodeExecutionError(message, hint=hint, step=index) from exc
    import pandas as pd

    if not isinstance(result, pd.DataFrame):
        raise NodeExecutionError(
            f"function '{name}' returned {type(result).__name__}, not a pandas DataFrame"
        )
    engine.from_pandas(relation, result)
