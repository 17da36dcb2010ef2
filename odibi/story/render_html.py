"""The HTML story: one self-contained page (inline CSS, inline SVG DAG, no script, no network).

The page is ``templates/story.html.j2`` rendered by Jinja2 with autoescape on: every value of the record
(project names, column names, sample values, messages) is text to the page, never markup. Its
Content-Security-Policy (``default-src 'none'``) blocks scripts and requests even if escaping ever failed.

The DAG layout is computed here (:func:`dag_layout`) and drawn by the template: within each pipeline a
node's layer is the longest path from a root; layers run top to bottom, wide layers wrap onto more rows
so the picture stays a bounded width, and pipelines are stacked.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

    from odibi.story.model import NodeStory, Story

EXTENSION = "html"

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "story.html.j2"

MAX_CELL_CHARS = 200
OPEN_ALL_UP_TO = 12  # stories with at most this many nodes show every panel's sections open

# DAG geometry (SVG user units)
NODE_W = 200
NODE_H = 46
GAP_X = 24
GAP_Y = 46
MARGIN = 16
BAND_HEADER = 30
BAND_GAP = 24
MAX_PER_ROW = 5
LABEL_CHARS = 22


def render(story: Story) -> str:
    """The story as one HTML page."""
    return _template().render(**_context(story))


# --- ids and value formatting ------------------------------------------------------------------------------


def slug(key: str) -> str:
    """An HTML id for a node key: readable part (lowercase, non-alphanumerics as '-') plus a short hash of
    the key, so distinct keys never share an id and any name gives a safe one."""
    readable = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")[:48].strip("-")
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    return f"node-{readable}-{digest}" if readable else f"node-{digest}"


def fmt_int(n: int | None) -> str | None:
    """Thousands separators (``12,345``); None stays None (the template shows a muted null)."""
    return None if n is None else f"{n:,}"


def fmt_duration(s: float | None) -> str | None:
    """As the Markdown story writes it; None stays None (the template shows a muted null)."""
    from odibi.story.render_md import duration

    return None if s is None else duration(s)


def fmt_time(ts: str | None) -> str | None:
    return None if ts is None else ts.replace("T", " ", 1)


def fmt_time_short(ts: str | None, ref: str | None) -> str | None:
    """A node's time without the date when it is the run's start date (the full time is in a title)."""
    if ts is None:
        return None
    if ref and len(ts) > 11 and ts[:10] == ref[:10] and ts[10] in "T ":
        return ts[11:]
    return fmt_time(ts)


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters: the start and an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def truncate_middle(text: str, limit: int) -> str:
    """At most ``limit`` characters: the start, an ellipsis, the end (names often differ at the end)."""
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 3
    return text[: limit - 1 - tail] + "…" + text[len(text) - tail :]


@dataclass(frozen=True)
class Cell:
    text: str | None  # None: a null
    title: str | None = None  # the full text when ``text`` is truncated
    numeric: bool = False


def cell(value: Any) -> Cell:
    """One sample value for a table cell: null, JSON-ish text, truncated with the full text kept."""
    if value is None:
        return Cell(None)
    if isinstance(value, bool):
        return Cell("true" if value else "false")
    if isinstance(value, (int, float)):
        return Cell(repr(value) if isinstance(value, float) else str(value), numeric=True)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_CELL_CHARS:
        return Cell(truncate(text, MAX_CELL_CHARS), title=text)
    return Cell(text)


# --- DAG layout --------------------------------------------------------------------------------------------


@dataclass
class DagNode:
    key: str
    slug: str
    status: str
    lazy: bool
    label: str  # the name, truncated to fit the box
    full: str  # pipeline.name, for the <title> tooltip
    detail: str  # second line: rows and duration, or the status
    layer: int
    x: int = 0
    y: int = 0


@dataclass
class DagEdge:
    path: str
    status: str  # the target's status: edges into skipped / not_run nodes are dashed


@dataclass
class DagBand:
    pipeline: str
    y: int
    height: int


@dataclass
class DagLayout:
    width: int
    height: int
    nodes: list[DagNode] = field(default_factory=list)
    edges: list[DagEdge] = field(default_factory=list)
    bands: list[DagBand] = field(default_factory=list)
    node_w: int = NODE_W
    node_h: int = NODE_H


def _layers(names: list[str], preds: dict[str, list[str]]) -> dict[str, int]:
    """Longest path from a root (Kahn's order, no recursion); nodes on a cycle get a layer after their
    placed predecessors."""
    succs: dict[str, list[str]] = defaultdict(list)
    indeg = dict.fromkeys(names, 0)
    for n in names:
        for p in preds[n]:
            succs[p].append(n)
            indeg[n] += 1
    layer = dict.fromkeys(names, 0)
    ready = [n for n in names if indeg[n] == 0]
    done: set[str] = set()
    while ready:
        n = ready.pop(0)
        done.add(n)
        for s in succs[n]:
            layer[s] = max(layer[s], layer[n] + 1)
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    for n in names:  # a cycle: not reached by Kahn's order
        if n not in done:
            placed = [layer[p] for p in preds[n] if p in done]
            layer[n] = max(placed, default=0) + 1
    return layer


def _detail(node: NodeStory) -> str:
    if node.status in ("skipped", "not_run"):
        return node.status.replace("_", " ")
    parts = []
    if node.rows_out is not None:
        parts.append(f"{node.rows_out:,} rows")
    if node.status == "failed":
        parts.append("failed")
    elif node.duration_s:
        parts.append(fmt_duration(node.duration_s) or "")
    if node.lazy:
        parts.append("lazy")
    return " · ".join(p for p in parts if p) or node.status


def _predecessors(
    pipeline: str, names: list[str], nodes: list[NodeStory], story: Story
) -> dict[str, list[str]]:
    """Each node's upstream nodes within its pipeline: its ``inputs`` and the story's edges."""
    nodeset = set(names)
    preds: dict[str, list[str]] = {n: [] for n in names}
    pairs = [(i, n.name) for n in nodes for i in n.inputs]
    pairs += [(e.source, e.target) for e in story.edges if e.pipeline == pipeline]
    for source, target in pairs:
        if source in nodeset and target in nodeset and source != target and source not in preds[target]:
            preds[target].append(source)
    return preds


def _ordered_layers(names: list[str], preds: dict[str, list[str]], layer: dict[str, int]) -> list[list[str]]:
    """Names by layer; one barycenter sweep down orders each layer by the mean position of its
    predecessors above (fewer crossings), ties kept in the story's order."""
    index = {name: i for i, name in enumerate(names)}
    by_layer: dict[int, list[str]] = defaultdict(list)
    for name in names:
        by_layer[layer[name]].append(name)
    position: dict[str, int] = {}

    def barycenter(name: str) -> tuple[float, int]:
        ps = [position[p] for p in preds[name] if p in position]
        return (sum(ps) / len(ps) if ps else float(index[name]), index[name])

    ordered = []
    for lay in sorted(by_layer):
        row = by_layer[lay] if lay == 0 else sorted(by_layer[lay], key=barycenter)
        position.update((name, i) for i, name in enumerate(row))
        ordered.append(row)
    return ordered


def dag_layout(story: Story, slugs: dict[str, str] | None = None) -> DagLayout:
    """Positions of the DAG's boxes and edges (SVG user units) for the template to draw."""
    slugs = slugs or _slugs(story)
    order = list(story.pipelines) + [n.pipeline for n in story.nodes if n.pipeline not in story.pipelines]
    pipelines = list(dict.fromkeys(order))
    by_pipeline: dict[str, list[NodeStory]] = defaultdict(list)
    for n in story.nodes:
        by_pipeline[n.pipeline].append(n)

    placed: list[tuple[DagNode, list[str]]] = []  # (node, pred keys)
    bands: list[DagBand] = []
    band_rows: list[tuple[DagBand, list[list[DagNode]]]] = []
    for pipeline in pipelines:
        nodes = by_pipeline.get(pipeline, [])
        if not nodes:
            continue
        names = list(dict.fromkeys(n.name for n in nodes))
        preds = _predecessors(pipeline, names, nodes, story)
        layer = _layers(names, preds)
        by_layer = _ordered_layers(names, preds, layer)
        first = {n.name: n for n in reversed(nodes)}  # the first node of each name
        rows: list[list[DagNode]] = []
        for names_in in by_layer:
            lay = layer[names_in[0]]
            for start in range(0, len(names_in), MAX_PER_ROW):
                row_nodes = []
                for name in names_in[start : start + MAX_PER_ROW]:
                    n = first[name]
                    dn = DagNode(
                        key=n.key,
                        slug=slugs[n.key],
                        status=n.status,
                        lazy=n.lazy,
                        label=truncate_middle(n.name, LABEL_CHARS),
                        full=n.key,
                        detail=_detail(n),
                        layer=lay,
                    )
                    row_nodes.append(dn)
                    placed.append((dn, [f"{pipeline}.{p}" for p in preds[name]]))
                rows.append(row_nodes)
        band = DagBand(pipeline=pipeline, y=0, height=0)
        bands.append(band)
        band_rows.append((band, rows))

    widest = max((len(r) for _, rows in band_rows for r in rows), default=1)
    width = MARGIN * 2 + widest * NODE_W + (widest - 1) * GAP_X
    y = MARGIN
    for band, rows in band_rows:
        band.y = y
        ry = y + BAND_HEADER
        for row in rows:
            row_w = len(row) * NODE_W + (len(row) - 1) * GAP_X
            x0 = (width - row_w) // 2
            for i, dn in enumerate(row):
                dn.x = x0 + i * (NODE_W + GAP_X)
                dn.y = ry
            ry += NODE_H + GAP_Y
        band.height = ry - GAP_Y + 14 - y
        y += band.height + BAND_GAP
    height = max(y - BAND_GAP + MARGIN, MARGIN * 2 + NODE_H)

    at = {dn.key: dn for dn, _ in placed}
    edges: list[DagEdge] = []
    for dn, pred_keys in placed:
        for pk in pred_keys:
            src = at.get(pk)
            if src is None:
                continue
            sx, sy = src.x + NODE_W // 2, src.y + NODE_H
            tx, ty = dn.x + NODE_W // 2, dn.y - 2  # stop short of the box: the arrowhead stays visible
            if ty > sy:
                bend = max((ty - sy) // 2, 12)
                path = f"M{sx},{sy} C{sx},{sy + bend} {tx},{ty - bend} {tx},{ty}"
            else:  # a cycle (or a wrapped row): go around the side
                side = max(src.x, dn.x) + NODE_W + GAP_X // 2
                sy2, ty2 = src.y + NODE_H // 2, dn.y + NODE_H // 2
                path = f"M{src.x + NODE_W},{sy2} C{side},{sy2} {side},{ty2} {dn.x + NODE_W},{ty2}"
            edges.append(DagEdge(path=path, status=dn.status))
    return DagLayout(width=width, height=height, nodes=[dn for dn, _ in placed], edges=edges, bands=bands)


# --- the page ----------------------------------------------------------------------------------------------


def _slugs(story: Story) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for n in story.nodes:
        if n.key in out:
            continue
        s = slug(n.key)
        base, k = s, 2
        while s in used:  # a hash collision (or a duplicate key): still one id per node
            s, k = f"{base}-{k}", k + 1
        used.add(s)
        out[n.key] = s
    return out


@dataclass
class Panel:
    node: NodeStory
    slug: str
    open: bool  # long sections (<details>) open


@dataclass
class DeltaRow:
    delta: Any
    key: str
    slug: str | None  # the panel to link to (None for a node gone from this run)
    rows_change: str | None
    duration_change: str | None


def _change(before: float | None, after: float | None, *, integer: bool) -> str | None:
    if before is None or after is None:
        return None
    diff = after - before
    if diff == 0:
        return "±0"
    sign = "+" if diff > 0 else "\N{MINUS SIGN}"
    amount = f"{abs(int(diff)):,}" if integer else (fmt_duration(abs(diff)) or "")
    pct = f" ({sign}{abs(diff) / before:.0%})" if before else ""
    return f"{sign}{amount}{pct}"


def _context(story: Story) -> dict[str, Any]:
    slugs = _slugs(story)
    layout = dag_layout(story, slugs)
    open_all = len(story.nodes) <= OPEN_ALL_UP_TO
    seen: set[str] = set()
    ordered: list[NodeStory] = []
    by_key = {}
    for n in story.nodes:
        by_key.setdefault(n.key, n)
    for dn in layout.nodes:  # DAG order (pipelines, layers), failed nodes first
        if dn.key not in seen:
            seen.add(dn.key)
            ordered.append(by_key[dn.key])
    ordered.sort(key=lambda n: n.status != "failed")
    panels = [Panel(node=n, slug=slugs[n.key], open=open_all or n.status == "failed") for n in ordered]
    deltas = []
    if story.comparison is not None:
        for d in story.comparison.nodes:
            key = f"{d.pipeline}.{d.name}"
            deltas.append(
                DeltaRow(
                    delta=d,
                    key=key,
                    slug=slugs.get(key),
                    rows_change=_change(d.rows_before, d.rows_after, integer=True),
                    duration_change=_change(d.duration_before_s, d.duration_after_s, integer=False),
                )
            )
    return {
        "story": story,
        "t": story.totals,
        "layout": layout,
        "panels": panels,
        "slugs": slugs,
        "failed": [p for p in panels if p.node.status == "failed"],
        "deltas": deltas,
        "run_duration_change": (
            _change(story.comparison.duration_before_s, story.comparison.duration_after_s, integer=False)
            if story.comparison
            else None
        ),
        "statuses": ["success", "failed", "skipped", "not_run"],
    }


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        bytecode_cache=_bytecode_cache(jinja2),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=fmt_int,
        dur=fmt_duration,
        ts=fmt_time,
        tshort=fmt_time_short,
        cell=cell,
        trunc=truncate,
        slug=slug,
    )
    return env.get_template(TEMPLATE_NAME)


def _bytecode_cache(jinja2):
    """Compiling the template costs ~0.1 s, in every ``odibi run`` process: Jinja2 keeps the compiled
    code in the user's cache folder (``$XDG_CACHE_HOME/odibi/jinja2``, else ``~/.cache/...``) and checks
    it against the template's source and the Python version. None when no cache folder can be made."""
    import os
    import tempfile

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "odibi", "jinja2")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(folder)
