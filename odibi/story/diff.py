"""Two stories compared: what changed per node between a base run and a current one.

Nodes are matched by (pipeline, name). A matched node gets a :class:`NodeDelta` when its status, its
output rows, its columns (added, removed, retyped) or, noticeably, its duration changed; nodes only in the
current run are ``new``, nodes only in the base run are ``gone``. ``odibi story diff`` prints the result
with :func:`render_text`; the runner stores it as ``Story.comparison``.
"""

from __future__ import annotations

import re

from odibi.story.model import Comparison, NodeDelta, NodeStory, Retyped, Story
from odibi.story.render_md import count, duration

# a duration change counts when it is both this relative change and this many seconds
DURATION_RATIO = 0.20
DURATION_MIN_S = 0.05


def compare(base: Story, current: Story) -> Comparison:
    """``current`` against ``base``: the nodes that differ, and how many matched nodes did not."""
    before = {(n.pipeline, n.name): n for n in base.nodes}
    after = {(n.pipeline, n.name): n for n in current.nodes}
    deltas: list[NodeDelta] = []
    unchanged = 0
    for key, node in after.items():
        old = before.get(key)
        if old is None:
            deltas.append(_new(node))
            continue
        delta = node_delta(old, node)
        if delta is None:
            unchanged += 1
        else:
            deltas.append(delta)
    deltas += [_gone(node) for key, node in before.items() if key not in after]
    return Comparison(
        base_run_id=base.run_id,
        base_started_at=base.started_at,
        base_status=base.status,
        nodes=deltas,
        unchanged=unchanged,
        duration_before_s=base.duration_s,
        duration_after_s=current.duration_s,
    )


def duration_changed(before: float, after: float) -> bool:
    """True when a duration moved by more than 20 % and more than 0.05 s."""
    change = abs(after - before)
    return change > DURATION_MIN_S and change > DURATION_RATIO * before


def node_delta(old: NodeStory, new: NodeStory) -> NodeDelta | None:
    """How one node changed between two runs, or None when nothing worth telling did."""
    old_types = {c.name: c.type for c in old.columns}
    new_types = {c.name: c.type for c in new.columns}
    added = [c.name for c in new.columns if c.name not in old_types]
    removed = [c.name for c in old.columns if c.name not in new_types]
    retyped = [
        Retyped(name=c.name, before=old_types[c.name], after=c.type)
        for c in new.columns
        if c.name in old_types and old_types[c.name] != c.type
    ]
    status = old.status != new.status
    rows = old.rows_out != new.rows_out
    slower = duration_changed(old.duration_s, new.duration_s)
    if not (status or rows or slower or added or removed or retyped):
        return None
    return NodeDelta(
        pipeline=new.pipeline,
        name=new.name,
        change="changed",
        status_before=old.status,
        status_after=new.status,
        rows_before=old.rows_out,
        rows_after=new.rows_out,
        duration_before_s=old.duration_s,
        duration_after_s=new.duration_s,
        added=added,
        removed=removed,
        retyped=retyped,
    )


def _new(node: NodeStory) -> NodeDelta:
    return NodeDelta(
        pipeline=node.pipeline,
        name=node.name,
        change="new",
        status_after=node.status,
        rows_after=node.rows_out,
        duration_after_s=node.duration_s,
    )


def _gone(node: NodeStory) -> NodeDelta:
    return NodeDelta(
        pipeline=node.pipeline,
        name=node.name,
        change="gone",
        status_before=node.status,
        rows_before=node.rows_out,
        duration_before_s=node.duration_s,
    )


# --- text for the command line -------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # no terminal escape sequence from a name or a column


def _clean(text: object) -> str:
    return _CONTROL.sub("?", str(text))


def _duration(seconds: float | None) -> str:
    return duration(seconds) or "?"


def _rows(n: int | None) -> str:
    return count(n) or "?"


def _details(d: NodeDelta) -> list[str]:
    """The facts of one delta, one short phrase each."""
    facts = []
    if d.change == "new":
        facts.append(f"status {d.status_after}")
        if d.rows_after is not None:
            facts.append(f"rows {_rows(d.rows_after)}")
    elif d.change == "gone":
        facts.append(f"was {d.status_before}")
        if d.rows_before is not None:
            facts.append(f"rows {_rows(d.rows_before)}")
    else:
        if d.status_before != d.status_after:
            facts.append(f"status {d.status_before} -> {d.status_after}")
        if d.rows_before != d.rows_after:
            diff = ""
            if d.rows_before is not None and d.rows_after is not None:
                diff = f" ({d.rows_after - d.rows_before:+,})"
            facts.append(f"rows {_rows(d.rows_before)} -> {_rows(d.rows_after)}{diff}")
        if (
            d.duration_before_s is not None
            and d.duration_after_s is not None
            and duration_changed(d.duration_before_s, d.duration_after_s)
        ):
            facts.append(f"time {_duration(d.duration_before_s)} -> {_duration(d.duration_after_s)}")
        if d.added:
            facts.append("columns added: " + ", ".join(d.added))
        if d.removed:
            facts.append("columns removed: " + ", ".join(d.removed))
        if d.retyped:
            facts.append("retyped: " + ", ".join(f"{r.name} {r.before} -> {r.after}" for r in d.retyped))
    return facts


def render_text(cmp: Comparison, current_run_id: str | None = None) -> str:
    """The comparison as plain text for a terminal: a head line, then one block per changed node."""
    head = f"compared with run {cmp.base_run_id}"
    if current_run_id:
        head = f"run {current_run_id} " + head
    base = [
        s for s in (cmp.base_status, f"started {cmp.base_started_at}" if cmp.base_started_at else None) if s
    ]
    if base:
        head += f" ({', '.join(base)})"
    lines = [head]
    if cmp.duration_before_s is not None and cmp.duration_after_s is not None:
        lines.append(f"run time: {_duration(cmp.duration_before_s)} -> {_duration(cmp.duration_after_s)}")
    counts = {c: sum(1 for d in cmp.nodes if d.change == c) for c in ("changed", "new", "gone")}
    lines.append(
        f"nodes: {counts['changed']} changed, {counts['new']} new, {counts['gone']} gone, "
        f"{cmp.unchanged} unchanged"
    )
    if not cmp.nodes:
        lines.append("no node changed")
        return _clean_lines(lines)
    width = max(len(f"{d.pipeline}.{d.name}") for d in cmp.nodes)
    lines.append("")
    for d in cmp.nodes:
        key = f"{d.pipeline}.{d.name}"
        facts = _details(d)
        first = f"  {key:<{width}}  {d.change:<7}"
        lines.append(f"{first}  {facts[0]}" if facts else first.rstrip())
        lines += [f"  {'':<{width}}  {'':<7}  {fact}" for fact in facts[1:]]
    return _clean_lines(lines)


def _clean_lines(lines: list[str]) -> str:
    return "\n".join(_clean(line) for line in lines) + "\n"
