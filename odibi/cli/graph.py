"""``odibi graph``: the node DAG and the pipeline order of a project, as text, Mermaid, DOT or JSON.

It loads the project and builds its plan (``odibi.plan.graph``) the way ``validate`` does, but stops there:
no transform module is imported and no data file is read, so it is safe to run on any project file. The
renderers take a :class:`Graph` (what to show) and return text; :func:`graph_command` picks and prints.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from odibi.config.models import NodeConfig
from odibi.config.project import Project
from odibi.errors import UsageError
from odibi.plan.graph import PipelinePlan, ProjectPlan

FORMATS = ("ascii", "mermaid", "dot", "json")
MAX_WIDTH = 120  # piped output, and the widest a terminal line gets
NAME_COLUMN = 30  # node names longer than this push their details right instead of widening every row

NodeKey = tuple[str, str]  # (pipeline, node)


@dataclass
class View:
    """One pipeline as shown: its plan and the nodes kept, in run order."""

    plan: PipelinePlan
    names: list[str]
    layer: dict[str, int]  # node → 1-based layer of the whole pipeline


@dataclass
class Graph:
    """What a rendering shows, and the context it needs (pipeline order, links between pipelines)."""

    project: str
    plan: ProjectPlan
    views: list[View]
    selected: str | None = None
    scope: str = ""
    # a node that reads what an earlier pipeline's node wrote (same connection and path or table) → writers
    fed_by: dict[NodeKey, list[NodeKey]] = field(default_factory=dict)
    medallion: dict[str, str | None] = field(default_factory=dict)  # pipeline → its `layer:` (bronze, ...)

    def shown(self) -> set[NodeKey]:
        return {(v.plan.name, n) for v in self.views for n in v.names}

    def links(self) -> list[tuple[NodeKey, NodeKey]]:
        """Cross-pipeline edges (writer → reader) whose two ends are shown."""
        shown = self.shown()
        return [(w, r) for r, ws in self.fed_by.items() for w in ws if r in shown and w in shown]


# --- loading and picking -----------------------------------------------------------------------------------


def load_graph(config: Path) -> tuple[Project, ProjectPlan]:
    """The project and its plan; schema, duplicate names, unknown dependencies and cycles raise located."""
    from odibi.config.project import load_project
    from odibi.errors import Problems
    from odibi.plan.graph import build_plan

    project = load_project(config)
    problems = Problems()
    plan = build_plan(project, problems)
    problems.raise_if_any()
    return project, plan


def pick(
    project: Project,
    plan: ProjectPlan,
    pipeline: str | None = None,
    node: str | None = None,
    upstream: bool = False,
    downstream: bool = False,
) -> Graph:
    """The views to show: every pipeline, one, or one node with its neighbours / ancestors / descendants."""
    from odibi.plan.graph import select

    if (upstream or downstream) and node is None:
        raise UsageError("--upstream and --downstream need --node", hint="e.g. --node clean_sales --upstream")
    chosen = select(plan, pipeline, node)  # unknown or ambiguous names raise with a did-you-mean
    medallion = {str(pc.pipeline): pc.layer for pc in project.config.pipelines}
    graph = Graph(str(project.config.project), plan, [], fed_by=_fed_by(plan), medallion=medallion)
    if node is None:
        graph.views = [_view(p, set(p.nodes)) for p, _ in chosen]
        return graph
    p = chosen[-1][0]  # the node's pipeline (earlier ones hold the writers of what it reads)
    consumers = p.consumers()
    keep = {node}
    if upstream:
        keep |= p.upstream(node)
    if downstream:
        keep |= _descendants(consumers, node)
    if not (upstream or downstream):
        keep |= {d for d in p.nodes[node].depends_on if d in p.nodes} | set(consumers[node])
    graph.views = [_view(p, keep)]
    graph.selected = node
    what = " and ".join(w for w, on in (("upstream", upstream), ("downstream", downstream)) if on)
    graph.scope = f"node {node} with its {what or 'direct neighbours'}"
    return graph


def _view(p: PipelinePlan, keep: set[str]) -> View:
    layer = {n: i + 1 for i, names in enumerate(p.layers) for n in names}
    return View(p, [n for n in p.order if n in keep], layer)


def _descendants(consumers: dict[str, list[str]], name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(consumers[name])
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(consumers[n])
    return seen


def _target(io) -> str:
    from odibi.plan.lineage import normalise_path

    return normalise_path(io.path) if io.path else (io.table or "")


def _fed_by(plan: ProjectPlan) -> dict[NodeKey, list[NodeKey]]:
    """Reads of a later pipeline matched to the earlier writes of the same connection and path/table
    (the rule is ``odibi.plan.lineage``'s, which the runner and validate use too)."""
    from odibi.plan.lineage import of_plan

    return {reader: [f.writer for f in feeds] for reader, feeds in of_plan(plan).items()}


# --- describing a node ---------------------------------------------------------------------------------------


def _format_of(io) -> str | None:
    from odibi.config.semantics import infer_format

    return io.format or infer_format(io.path)


def _step_label(step) -> str:
    if isinstance(step, str) or hasattr(step, "sql"):
        return "sql"
    return str(getattr(step, "function", None) or getattr(step, "operation", "step"))


def _steps(node: NodeConfig) -> list[str]:
    return [_step_label(s) for s in node.transform.steps] if node.transform else []


def kinds(node: NodeConfig) -> list[str]:
    """What a node does, in the order it does it: read, transform, validate, write."""
    out = ["read"] if node.read else []
    out += ["transform"] if _steps(node) else []
    out += ["validate"] if node.validation else []
    return out + (["write"] if node.write else [])


def describe_parts(node: NodeConfig) -> list[str]:
    """What a node does, a short phrase per stage: ``read csv data:in/x.csv``, ``transform sql, dedupe``,
    ``validate``, ``write parquet out:y (overwrite)``."""
    parts = []
    if node.read:
        target = "query" if node.read.query else _target(node.read)
        fmt = _format_of(node.read)
        incremental = " incremental" if node.read.incremental else ""
        parts.append(f"read {fmt + ' ' if fmt else ''}{node.read.connection}:{target}{incremental}")
    steps = _steps(node)
    if steps:
        shown = ", ".join(steps[:3]) + (f" +{len(steps) - 3}" if len(steps) > 3 else "")
        parts.append(f"transform {shown}")
    if node.validation:
        parts.append("validate")
    if node.write:
        fmt = _format_of(node.write)
        target = f"{node.write.connection}:{_target(node.write)}"
        parts.append(f"write {fmt + ' ' if fmt else ''}{target} ({node.write.mode})")
    return parts or ["pass-through"]  # the node's result is its first dependency's


def describe(node: NodeConfig) -> str:
    return " · ".join(describe_parts(node))


# --- renderers ------------------------------------------------------------------------------------------------


def _style(text: str, color: bool, **kw) -> str:
    if not color:
        return text
    import typer

    return typer.style(text, **kw)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


def render_ascii(graph: Graph, width: int = MAX_WIDTH, color: bool = False) -> str:
    """Pipeline order, then each pipeline layer by layer: one row per node with what it does and its inputs.

    Rows never exceed ``width``: long details are cut with …, and long input lists wrap under the row."""
    plan = graph.plan
    shown = {v.plan.name for v in graph.views}
    total = sum(len(p.nodes) for p in plan.pipelines)
    head = _style(f"project {graph.project}", color, bold=True)
    lines = [f"{head}: {_n(len(plan.pipelines), 'pipeline')}, {_n(total, 'node')}"]
    if graph.selected:
        count = sum(len(v.names) for v in graph.views)
        lines.append(f"showing {graph.scope} ({count} of {total} nodes; * marks {graph.selected})")
    lines.append("pipeline order:")
    feeds = _pipeline_feeds(graph)
    pad = max(len(p.name) for p in plan.pipelines)
    for p in plan.pipelines:
        row = f"  {p.index + 1}. {p.name:<{pad}}  {_n(len(p.nodes), 'node')} in {_n(len(p.layers), 'layer')}"
        if feeds.get(p.name):
            row += f", reads from {', '.join(feeds[p.name])}"
        if p.name not in shown:
            row += " (not shown)"
        lines.append(_cut(row, width))
    for view in graph.views:
        lines.append("")
        lines.extend(_ascii_pipeline(graph, view, width, color))
    return "\n".join(lines)


def _pipeline_feeds(graph: Graph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for (reader, _), writers in graph.fed_by.items():
        for writer, _ in writers:
            if writer not in out.setdefault(reader, []):
                out[reader].append(writer)
    return out


def _ascii_pipeline(graph: Graph, view: View, width: int, color: bool) -> list[str]:
    """A heading, then a row per node in run order; the layer number labels the first row of each layer."""
    p = view.plan
    medallion = graph.medallion.get(p.name)
    head = f"pipeline {p.index + 1}. {p.name}" + (f"  [{medallion}]" if medallion else "")
    lines = [_style(head, color, bold=True)]
    gutter = len(f"  layer {max(view.layer[n] for n in view.names)}  ")
    mark = 2 if graph.selected else 0
    names_w = min(max(len(n) for n in view.names), NAME_COLUMN)
    column = min(gutter + mark + names_w + 2, width // 2)
    labelled: set[int] = set()
    for name in view.names:
        number = view.layer[name]
        label = "" if number in labelled else f"  layer {number}"
        labelled.add(number)
        lead = _style(label, color, dim=True) + " " * (gutter - len(label))
        lines.extend(_ascii_node(graph, p, name, lead, gutter + mark, column, width, color))
    return lines


def _ascii_node(
    graph: Graph, p: PipelinePlan, name: str, lead: str, at: int, column: int, width: int, color: bool
) -> list[str]:
    """A node's row: ``lead`` (layer label), the * mark, the name at ``at``, what it does at ``column``, its
    inputs; what does not fit wraps onto rows under ``column``."""
    node = p.nodes[name]
    room = width - column
    parts = describe_parts(node)
    fed = graph.fed_by.get((p.name, name))
    if fed and node.read:
        parts.insert(1, "written by " + ", ".join(f"{wp}.{wn}" for wp, wn in fed))
    rows = _pack([_cut(part, room) for part in parts], " · ", room)
    deps = list(dict.fromkeys(node.depends_on))
    inputs = "← " + ", ".join(deps) if deps else ""
    tail: list[str] = []
    if inputs and len(rows[-1]) + 2 + len(inputs) <= room:
        rows[-1] += "  " + _style(inputs, color, dim=True)
    elif inputs:
        wrapped = textwrap.wrap(inputs, room, subsequent_indent="  ", break_on_hyphens=False)
        tail = [_style(w, color, dim=True) for w in wrapped]
    selected = name == graph.selected
    mark = ("* " if selected else "  ") if graph.selected else ""
    head = lead + _style(mark + name, color, bold=True, fg="cyan") if selected else lead + mark + name
    if at + len(name) + 2 > column:  # a name wider than the column gets a row of its own
        lines = [head]
    else:
        lines, rows = [head + " " * (column - at - len(name)) + rows[0]], rows[1:]
    return lines + [" " * column + r for r in [*rows, *tail]]


def _pack(parts: list[str], sep: str, room: int) -> list[str]:
    """Parts joined by ``sep`` into as few rows of at most ``room`` characters as they fit in."""
    rows = [parts[0]]
    for part in parts[1:]:
        if len(rows[-1]) + len(sep) + len(part) <= room:
            rows[-1] += sep + part
        else:
            rows.append(part)
    return rows


_MERMAID_ESCAPES = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}


def _mermaid_id(pipeline_index: int, name: str) -> str:
    """A Mermaid-safe id: letters, digits and _ (other characters as _hex_), prefixed by the pipeline,
    so that names such as ``end`` or ones shared by two pipelines cannot clash."""
    safe = re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", name)
    return f"p{pipeline_index + 1}_{safe}"


def _mermaid_label(text: str) -> str:
    return '"' + "".join(_MERMAID_ESCAPES.get(c, c) for c in text) + '"'


def render_mermaid(graph: Graph) -> str:
    """A ``flowchart LR``: a subgraph per pipeline; reads are stadiums, writes cylinders; dashed edges join a
    write to the later pipeline's read of it; the --node node has the class ``selected``."""
    ids = {(v.plan.name, n): _mermaid_id(v.plan.index, n) for v in graph.views for n in v.names}
    lines = ["flowchart LR"]
    for view in graph.views:
        p = view.plan
        lines.append(f"  subgraph p{p.index + 1}[{_mermaid_label(f'{p.index + 1}. {p.name}')}]")
        for n in view.names:
            node, label = p.nodes[n], _mermaid_label(n)
            shape = f"[({label})]" if node.write else f"([{label}])" if node.read else f"[{label}]"
            lines.append(f"    {ids[(p.name, n)]}{shape}")
        lines.append("  end")
    for view in graph.views:
        for n in view.names:
            for dep in dict.fromkeys(view.plan.nodes[n].depends_on):
                if (view.plan.name, dep) in ids:
                    lines.append(f"  {ids[(view.plan.name, dep)]} --> {ids[(view.plan.name, n)]}")
    for writer, reader in graph.links():
        lines.append(f"  {ids[writer]} -.-> {ids[reader]}")
    if graph.selected:
        lines.append("  classDef selected stroke-width:3px,stroke:#d62728")
        lines.append(f"  class {ids[(graph.views[0].plan.name, graph.selected)]} selected")
    return "\n".join(lines)


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(graph: Graph) -> str:
    """A Graphviz ``digraph``: a cluster per pipeline, node ids ``"pipeline.node"`` (quoted), dashed edges
    between pipelines, the --node node drawn bold."""
    lines = ["digraph odibi {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    lines.append(f"  label={_dot_quote(graph.project)};")
    for view in graph.views:
        p = view.plan
        lines.append(f"  subgraph {_dot_quote(f'cluster_{p.index + 1}')} {{")
        lines.append(f"    label={_dot_quote(f'{p.index + 1}. {p.name}')};")
        for n in view.names:
            node = p.nodes[n]
            attrs = [f"label={_dot_quote(n)}", f"tooltip={_dot_quote(describe(node))}"]
            if node.write:
                attrs.append("shape=cylinder")
            elif node.read:
                attrs.append("shape=ellipse")
            if n == graph.selected:
                attrs.append("penwidth=3")
            lines.append(f"    {_dot_quote(f'{p.name}.{n}')} [{', '.join(attrs)}];")
        lines.append("  }")
    shown = graph.shown()
    for view in graph.views:
        p = view.plan
        for n in view.names:
            for dep in dict.fromkeys(p.nodes[n].depends_on):
                if (p.name, dep) in shown:
                    lines.append(f"  {_dot_quote(f'{p.name}.{dep}')} -> {_dot_quote(f'{p.name}.{n}')};")
    for (wp, wn), (rp, rn) in graph.links():
        lines.append(f"  {_dot_quote(f'{wp}.{wn}')} -> {_dot_quote(f'{rp}.{rn}')} [style=dashed];")
    lines.append("}")
    return "\n".join(lines)


def _io(io, write: bool) -> dict:
    out = {"connection": io.connection, "format": _format_of(io)}
    for key in ("path", "table") + (() if write else ("query",)):
        if getattr(io, key, None):
            out[key] = getattr(io, key)
    if write:
        out["mode"] = io.mode
    return out


def render_json(graph: Graph) -> str:
    """``{"project", "selected", "pipelines": [{"name", "index", "order", "reads_from", "nodes": [...]}]}``,
    each node ``{"name", "layer", "kind", "depends_on", "reads", "writes", "steps", "written_by"}``."""
    feeds = _pipeline_feeds(graph)
    pipelines = []
    for view in graph.views:
        p = view.plan
        nodes = []
        for n in view.names:
            node = p.nodes[n]
            nodes.append(
                {
                    "name": n,
                    "layer": view.layer[n],
                    "kind": kinds(node),
                    "depends_on": list(dict.fromkeys(node.depends_on)),
                    "reads": [_io(node.read, False)] if node.read else [],
                    "writes": [_io(node.write, True)] if node.write else [],
                    "steps": _steps(node),
                    "written_by": [f"{wp}.{wn}" for wp, wn in graph.fed_by.get((p.name, n), [])],
                }
            )
        pipelines.append(
            {
                "name": p.name,
                "index": p.index + 1,
                "order": view.names,
                "reads_from": feeds.get(p.name, []),
                "nodes": nodes,
            }
        )
    doc = {"project": graph.project, "selected": graph.selected, "pipelines": pipelines}
    return json.dumps(doc, indent=2, default=str)


# --- the command ----------------------------------------------------------------------------------------------


def graph_command(
    config: Path,
    pipeline: str | None,
    node: str | None,
    upstream: bool,
    downstream: bool,
    fmt: str,
) -> None:
    """Load, pick and print (colour on a terminal for ascii; plain when piped or NO_COLOR is set)."""
    import os
    import shutil
    import sys

    import typer

    from odibi.config.models import suggest
    from odibi.secrets import mask

    if fmt not in FORMATS:
        near = suggest(fmt, FORMATS)
        raise UsageError(
            f"unknown --format '{fmt}'" + (f" (did you mean '{near}'?)" if near else ""),
            hint=f"formats: {', '.join(FORMATS)}",
        )
    project, plan = load_graph(config)
    graph = pick(project, plan, pipeline, node, upstream, downstream)
    if fmt == "ascii":
        tty = sys.stdout.isatty()
        width = min(shutil.get_terminal_size((MAX_WIDTH, 24)).columns, MAX_WIDTH) if tty else MAX_WIDTH
        color = tty and not os.environ.get("NO_COLOR")
        text = render_ascii(graph, width=max(width, 60), color=color)
    else:
        text = {"mermaid": render_mermaid, "dot": render_dot, "json": render_json}[fmt](graph)
    typer.echo(mask(text))
