"""Run a compiled project on an engine: pipelines in list order, nodes in dependency order.

A node runs read → steps → validation → write, and its result is registered under its name. A node that
fails is recorded with its error; everything downstream of it is skipped and reported, and the other
branches go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from odibi.compile.node import CompiledNode
from odibi.compile.project import render_node
from odibi.config.project import Project
from odibi.connections.resolve import read_spec, write_spec
from odibi.engines.base import Capability, ReadSpec, WriteSpec
from odibi.errors import NodeExecutionError, OdibiError
from odibi.formats.csv_infer import with_inferred_schema
from odibi.plan.graph import PipelinePlan
from odibi.run.checks import run_checks
from odibi.run.steps import run_steps

Redirect = Callable[[str, str], str]  # (resolved location, "read" | "write") -> location to use


@dataclass
class NodeResult:
    """What happened to one node."""

    pipeline: str
    node: str
    status: str  # success | failed | skipped
    rows: int | None = None
    duration_s: float = 0.0
    error: str | None = None
    written: str | None = None
    checks: list[str] = field(default_factory=list)  # names of the checks that passed
    check_results: list[dict[str, Any]] = field(default_factory=list)  # every check: status, failing rows
    quarantined: int = 0
    columns: dict[str, str] = field(default_factory=dict)


@dataclass
class RunResult:
    """A whole run."""

    project: str
    engine: str
    nodes: list[NodeResult]
    duration_s: float
    in_process: bool = False  # the engine declares Capability.IN_PROCESS (nothing outlives its close())

    @property
    def ok(self) -> bool:
        return all(n.status == "success" for n in self.nodes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "engine": self.engine,
            "ok": self.ok,
            "duration_s": round(self.duration_s, 4),
            "nodes": [n.__dict__ for n in self.nodes],
        }


def run_plan(
    project: Project,
    engine,
    selection: list[tuple[PipelinePlan, list[str]]],
    compiled: dict[tuple[str, str], CompiledNode],
    log=None,
    redirect: Redirect | None = None,
    *,
    consume: bool = False,
) -> RunResult:
    """Execute the selected nodes on ``engine``.

    ``redirect`` (used by the portability check) maps every resolved read/write location elsewhere.
    ``consume``: ``compiled`` serves this run only, so each node's tree is rendered without a copy.
    """
    started = time.perf_counter()
    results: list[NodeResult] = []
    for pplan, names in selection:
        consumers = pplan.consumers()
        wanted = set(names)
        status: dict[str, str] = {}
        depth: dict[str, int] = {}  # views stacked under a node since the last materialized relation
        max_depth = getattr(engine, "max_view_depth", None)
        for name in names:
            node = compiled[(pplan.name, name)]
            bad = [d for d in _inputs(node) if status.get(d) in ("failed", "skipped")]
            if bad:
                status[name] = "skipped"
                results.append(
                    NodeResult(
                        pplan.name, name, "skipped", error=f"upstream node '{bad[0]}' {status[bad[0]]}"
                    )
                )
                continue
            uses = len([c for c in consumers.get(name, []) if c in wanted])
            depth[name] = 1 + max((depth.get(d, 0) for d in _inputs(node)), default=0)
            deep = max_depth is not None and depth[name] > max_depth
            if deep or uses > 1 or node.config.cache or node.config.validation:
                depth[name] = 0
            result = _run_node(project, engine, node, uses, redirect, deep=deep, consume=consume)
            status[name] = result.status
            results.append(result)
            if log:
                log(result)
    return RunResult(
        project.config.project,
        engine.name,
        results,
        time.perf_counter() - started,
        in_process=Capability.IN_PROCESS in getattr(engine, "capabilities", ()),
    )


def project_plan_upstream(node: CompiledNode) -> list[str]:
    """Nodes a function step may read through the v1 context (its dependencies and their inputs)."""
    return list(dict.fromkeys([*node.config.depends_on, *node.reads]))


def _inputs(node: CompiledNode) -> list[str]:
    return list(dict.fromkeys([*node.config.depends_on, *node.reads]))


def _run_node(
    project: Project,
    engine,
    node: CompiledNode,
    uses: int,
    redirect: Redirect | None,
    *,
    deep: bool = False,
    consume: bool = False,
) -> NodeResult:
    cfg = node.config
    started = time.perf_counter()
    result = NodeResult(node.pipeline, node.name, "success")
    stage = "read"
    try:
        materialize = bool(cfg.cache or cfg.validation or uses > 1 or deep)
        # a node that only reads is registered under its own name: no second relation over the read
        # (on Spark each relation costs a SQL analysis and a temp view, ~35 ms)
        plain_read = cfg.read is not None and node.query is None and not node.deferred and not materialize
        if cfg.read is not None:
            spec = _read_spec(project, cfg.read, redirect)
            engine.register_read(node.name if plain_read else node.read_relation, spec)
        stage = "transform"
        if not plain_read:
            _define(engine, node, materialize, consume)
        if cfg.validation is not None:
            stage = "validation"
            qspec = None
            if cfg.validation.quarantine is not None:
                qspec = _write_spec(project, cfg.validation.quarantine, redirect)
            report = run_checks(engine, node.name, cfg.validation, quarantine_spec=qspec)
            result.checks = report.passed
            result.check_results = [r.__dict__ for r in report.results]
            result.quarantined = report.quarantined
        stage = "schema"
        result.columns = engine.columns(node.name)
        if cfg.write is not None:
            stage = "write"
            spec = _write_spec(project, cfg.write, redirect)
            written = engine.write(node.name, spec)
            result.written = spec.uri if written is not None or cfg.write.mode != "ignore" else None
            # an append to a single file rewrites old + new rows: report the node's own rows
            result.rows = engine.count(node.name) if spec.mode == "append" else written
        if materialize:
            result.rows = engine.count(node.name)
    except OdibiError as exc:
        result.status = "failed"
        result.error = f"{stage}: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else "")
    except Exception as exc:  # an engine's own error: keep its first line, attach where it happened
        result.status = "failed"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        result.error = f"{stage}: {first}"
    result.duration_s = time.perf_counter() - started
    return result


def _define(engine, node: CompiledNode, materialize: bool, consume: bool) -> None:
    """Give the engine the node's relation: its steps, its query, or its input under its name."""
    if node.deferred:
        run_steps(engine, node, sorted(project_plan_upstream(node)), materialize=materialize)
    elif node.query is not None:
        sql = render_node(node, engine.dialect, consume=consume).sql
        engine.define(node.name, sql or "", materialize=materialize)
    elif node.input_name is not None:
        engine.alias(node.name, node.input_name, materialize=materialize)
    else:
        raise NodeExecutionError("node has no input and no steps")


def _read_spec(project: Project, read, redirect: Redirect | None = None) -> ReadSpec:
    return with_inferred_schema(read_spec(project, read, redirect))


def _write_spec(project: Project, write, redirect: Redirect | None = None) -> WriteSpec:
    return write_spec(project, write, redirect)
