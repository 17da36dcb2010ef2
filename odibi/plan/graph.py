"""The DAG of a pipeline: dependency checks, cycles with their path, topological layers, selection.

Everything here is iterative (no recursion), so a 10,000-level chain plans as easily as a wide one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from odibi.config.models import NodeConfig, PipelineConfig, suggest
from odibi.config.project import Project
from odibi.errors import ConfigError, Problems, UsageError


@dataclass
class PipelinePlan:
    """One pipeline's nodes in a runnable order."""

    name: str
    index: int
    nodes: dict[str, NodeConfig]
    node_index: dict[str, int]
    layers: list[list[str]] = field(default_factory=list)

    @property
    def order(self) -> list[str]:
        return [n for layer in self.layers for n in layer]

    def upstream(self, name: str) -> set[str]:
        """Every ancestor of ``name`` (not including itself)."""
        seen: set[str] = set()
        todo = list(self.nodes[name].depends_on)
        while todo:
            dep = todo.pop()
            if dep in seen or dep not in self.nodes:
                continue
            seen.add(dep)
            todo.extend(self.nodes[dep].depends_on)
        return seen

    def ancestors(self, name: str) -> Ancestors:
        """The ancestors of ``name`` as a lazy set: a direct dependency answers at once, and the full set
        is walked only when asked about anything else (so compiling a deep chain stays linear)."""
        return Ancestors(self, name)

    @cached_property
    def lower_names(self) -> frozenset[str]:
        """Every node name, lower-cased (names a query may not reuse for its CTEs)."""
        return frozenset(n.lower() for n in self.nodes)

    def consumers(self) -> dict[str, list[str]]:
        """Node → the nodes that depend on it directly."""
        out: dict[str, list[str]] = {n: [] for n in self.nodes}
        for name, node in self.nodes.items():
            for dep in node.depends_on:
                if dep in out:
                    out[dep].append(name)
        return out


class Ancestors:
    """The ancestors of one node (see :meth:`PipelinePlan.ancestors`): ``in``, iteration, :meth:`find`."""

    def __init__(self, plan: PipelinePlan, name: str) -> None:
        self._plan = plan
        self._direct = [d for d in plan.nodes[name].depends_on if d in plan.nodes]
        self._name = name
        self._all: set[str] | None = None

    def _full(self) -> set[str]:
        if self._all is None:
            self._all = self._plan.upstream(self._name)
        return self._all

    def __contains__(self, other: object) -> bool:
        return other in self._direct or other in self._full()

    def __iter__(self):
        return iter(self._full())

    def __len__(self) -> int:
        return len(self._full())

    def find(self, name: str) -> str | None:
        """The ancestor spelled ``name`` ignoring case (a direct dependency first), or None."""
        low = name.lower()
        for dep in self._direct:
            if dep.lower() == low:
                return dep
        return next((v for v in self._full() if v.lower() == low), None)


@dataclass
class ProjectPlan:
    """All pipelines of a project, in list order."""

    pipelines: list[PipelinePlan]

    def get(self, name: str) -> PipelinePlan:
        for p in self.pipelines:
            if p.name == name:
                return p
        names = [p.name for p in self.pipelines]
        near = suggest(name, names)
        raise UsageError(
            f"unknown pipeline '{name}'" + (f" (did you mean '{near}'?)" if near else ""),
            hint=f"pipelines: {', '.join(names)}",
        )


def node_path(pipeline_index: int, node_index: int, *rest: object) -> tuple:
    return ("pipelines", pipeline_index, "nodes", node_index, *rest)


def build_plan(project: Project, problems: Problems) -> ProjectPlan:
    """Check references and order every pipeline; problems are collected, not raised."""
    plans = []
    for pi, pipeline in enumerate(project.config.pipelines):
        plans.append(_build_pipeline(project, pi, pipeline, problems))
    return ProjectPlan(plans)


def _build_pipeline(project: Project, pi: int, pipeline: PipelineConfig, problems: Problems) -> PipelinePlan:
    smap = project.source
    name = str(pipeline.pipeline)
    nodes: dict[str, NodeConfig] = {}
    index: dict[str, int] = {}
    for ni, node in enumerate(pipeline.nodes):
        if node.name in nodes:
            problems.add(
                ConfigError(
                    f"duplicate node name '{node.name}' in pipeline '{name}' "
                    f"(first defined at line {smap.locate(node_path(pi, index[node.name], 'name')).line})",
                    location=smap.locate(node_path(pi, ni, "name")),
                    pipeline=name,
                    node=node.name,
                    hint="node names must be unique within a pipeline",
                )
            )
            continue
        nodes[node.name] = node
        index[node.name] = ni

    damage = project.damage
    invalid = damage.node_names.get(pi, set()) if damage is not None else set()
    made_up = damage.placeholders.get(pi, set()) if damage is not None else set()
    shown = [n for n in nodes if n not in made_up]
    for node_name, node in nodes.items():
        ni = index[node_name]
        for di, dep in enumerate(node.depends_on):
            if dep not in nodes and dep not in invalid:  # a node whose name is invalid is reported there
                near = suggest(dep, [n for n in shown if n != node_name])
                problems.add(
                    ConfigError(
                        f"node '{node_name}' has unknown dependency '{dep}'"
                        + (f" (did you mean '{near}'?)" if near else ""),
                        location=smap.locate(node_path(pi, ni, "depends_on", di)),
                        pipeline=name,
                        node=node_name,
                        hint=None if near else f"nodes in pipeline '{name}': {', '.join(shown)}",
                    )
                )
        has_steps = bool(node.transform and node.transform.steps)
        if node.read is None and not node.depends_on and not has_steps and (node.write or node.validation):
            problems.add(
                ConfigError(
                    f"node '{node_name}' has nothing to {'write' if node.write else 'validate'}: "
                    "it has no read, no depends_on and no transform steps",
                    location=smap.locate(
                        node_path(pi, ni, "write" if node.write else "validation"), key=True
                    ),
                    pipeline=name,
                    node=node_name,
                    hint="add a read, or depends_on: [the node whose result to write]",
                )
            )

    layers, cyclic = _layers(nodes)
    if cyclic:
        cycle = _find_cycle(nodes, cyclic)
        first = cycle[0]
        problems.add(
            ConfigError(
                f"dependency cycle in pipeline '{name}': {' -> '.join(cycle)}",
                location=smap.locate(node_path(pi, index[first], "depends_on"), key=True),
                pipeline=name,
                node=first,
                hint="remove one of these depends_on entries",
            )
        )
    return PipelinePlan(name=name, index=pi, nodes=nodes, node_index=index, layers=layers)


def _layers(nodes: dict[str, NodeConfig]) -> tuple[list[list[str]], set[str]]:
    """Kahn's algorithm by levels; returns the layers and the nodes left in cycles."""
    indegree = {n: 0 for n in nodes}
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for name, node in nodes.items():
        for dep in dict.fromkeys(node.depends_on):
            if dep in nodes:
                indegree[name] += 1
                children[dep].append(name)
    current = [n for n in nodes if indegree[n] == 0]
    layers: list[list[str]] = []
    done = 0
    while current:
        layers.append(current)
        done += len(current)
        nxt = []
        for n in current:
            for c in children[n]:
                indegree[c] -= 1
                if indegree[c] == 0:
                    nxt.append(c)
        current = nxt
    cyclic = {n for n, d in indegree.items() if d > 0} if done < len(nodes) else set()
    return layers, cyclic


def _find_cycle(nodes: dict[str, NodeConfig], cyclic: set[str]) -> list[str]:
    """One cycle among ``cyclic`` nodes, as a closed path (a -> b -> a), found iteratively."""
    order = {n: i for i, n in enumerate(nodes)}
    start = min(cyclic, key=order.__getitem__)
    path = [start]
    pos = {start: 0}
    cur = start
    while True:
        nxt = next(d for d in nodes[cur].depends_on if d in cyclic)
        if nxt in pos:
            cycle = [*path[pos[nxt] :], nxt]
            return list(reversed(cycle))
        pos[nxt] = len(path)
        path.append(nxt)
        cur = nxt


def select(
    plan: ProjectPlan, pipeline: str | None = None, node: str | None = None
) -> list[tuple[PipelinePlan, list[str]]]:
    """The nodes to run: everything, one pipeline, or one node with its upstream.

    A node's upstream crosses pipelines: the earlier pipelines' nodes that write what it reads (and their
    own upstream) come with it (``odibi.plan.lineage``), so ``--node`` never runs on a stale file. A
    whole pipeline (``--pipeline gold``) does not pull in earlier pipelines: the user asked for that
    pipeline alone, and its reads of earlier outputs read what is there."""
    chosen = [plan.get(pipeline)] if pipeline else list(plan.pipelines)
    if node is None:
        return [(p, p.order) for p in chosen]
    hits = [p for p in chosen if node in p.nodes]
    if not hits:
        every = [n for p in chosen for n in p.nodes]
        near = suggest(node, every)
        raise UsageError(
            f"unknown node '{node}'" + (f" (did you mean '{near}'?)" if near else ""),
            hint="use --pipeline to pick the pipeline" if pipeline is None else None,
        )
    if len(hits) > 1:
        raise UsageError(
            f"node '{node}' exists in several pipelines ({', '.join(p.name for p in hits)})",
            hint="say which with --pipeline",
        )
    return _with_writers(plan, hits[0], node)


def _with_writers(plan: ProjectPlan, p: PipelinePlan, node: str) -> list[tuple[PipelinePlan, list[str]]]:
    """``node`` of ``p`` with its upstream, following reads to their writers in earlier pipelines."""
    from odibi.plan.lineage import of_plan

    feeds = of_plan(plan)
    by_name = {q.name: q for q in plan.pipelines}
    wanted: dict[str, set[str]] = {}
    todo = [(p.name, node)]
    while todo:
        pipe, name = todo.pop()
        if name in wanted.get(pipe, set()):
            continue
        closure = by_name[pipe].upstream(name) | {name}
        wanted.setdefault(pipe, set()).update(closure)
        todo += [f.writer for n in closure for f in feeds.get((pipe, n), [])]
    return [(q, [n for n in q.order if n in wanted[q.name]]) for q in plan.pipelines if q.name in wanted]


__all__ = ["Ancestors", "PipelinePlan", "ProjectPlan", "build_plan", "select"]
