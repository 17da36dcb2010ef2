"""The Markdown story: a report to read in a terminal or on GitHub.

Every value of the record is text to the document, never markup: in prose and table cells Markdown's
inline syntax (backticks, ``*``, ``_`` at word edges, brackets, pipes, a backslash before punctuation) is
backslash-escaped, ``<`` and ``>`` become ``&lt;`` and ``&gt;`` (so a viewer renders no HTML from data),
and line breaks become ``<br>``. SQL and multi-line messages go in fenced blocks whose fence is longer than
any backtick run inside, so no text can close them early. Sample cells are cut to :data:`MAX_CELL_CHARS`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from odibi.story.model import Comparison, FailureInfo, NodeDelta, NodeStory, Story

EXTENSION = "md"

MAX_CELL_CHARS = 80

# a backslash that would escape what follows it (ASCII punctuation), or end a cell / line
_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~]|[\r\n\x0b\x0c\x85\u2028\u2029]|\Z)")
# Markdown inline syntax: code spans, emphasis, links / images, table cell separators
_SYNTAX = re.compile(r"[`*\[\]|]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")  # text that a viewer would read as an entity
_NEWLINES = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_BACKTICKS = re.compile(r"`+")


def render(story: Story) -> str:
    """The story as one Markdown document."""
    out: list[str] = []
    _head(out, story)
    _summary(out, story)
    _node_table(out, story)
    for node in story.nodes:
        _node(out, node)
    if story.comparison is not None:
        _comparison(out, story.comparison)
    return "\n".join(out).rstrip("\n") + "\n"


def render_comparison(cmp: Comparison, run_id: str | None = None) -> str:
    """Only the comparison section (``odibi story diff --format md``)."""
    out: list[str] = []
    _comparison(out, cmp, run_id)
    return "\n".join(out).rstrip("\n") + "\n"


# --- escaping and formatting ---------------------------------------------------------------------------------


def esc(value: Any) -> str:
    """``value`` as Markdown text that renders as itself: inline syntax escaped, no HTML, a line
    break as ``<br>`` (so it stays inside its table cell or list item)."""
    text = _BACKSLASH.sub(r"\\\\", str(value))
    text = _SYNTAX.sub(lambda m: "\\" + m.group(0), text)
    text = _ENTITY.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    return _NEWLINES.sub("<br>", text)


def truncate(text: str, limit: int = MAX_CELL_CHARS) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def fence(code: str, info: str = "") -> list[str]:
    """A fenced code block of ``code``: the fence is longer than any backtick run in it."""
    longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0)
    marks = "`" * max(3, longest + 1)
    body = _NEWLINES.split(code.strip("\r\n"))
    return [f"{marks}{info}", *body, marks, ""]


def value_text(value: Any) -> str:
    """A sample value as text: null, true / false, numbers, strings as they are, the rest as JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def cell(value: Any, limit: int | None = None) -> str:
    text = value_text(value)
    return esc(truncate(text, limit) if limit else text)


def table(
    header: list[str], rows: list[list[Any]], right: set[int] | None = None, limit: int | None = None
) -> list[str]:
    """A GFM table; every row is cut or padded to the header's width so data cannot reshape it."""
    right = right or set()
    width = len(header)
    lines = ["| " + " | ".join(esc(h) for h in header) + " |"]
    lines.append("|" + "|".join("---:" if i in right else "---" for i in range(width)) + "|")
    for row in rows:
        cells = [cell(v, limit) for v in row[:width]] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)} min {sec:.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min"


def count(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def _is_multiline(text: str) -> bool:
    return _NEWLINES.search(text.strip("\r\n")) is not None


# --- sections ------------------------------------------------------------------------------------------------


def _head(out: list[str], story: Story) -> None:
    out += [f"# {esc(story.project)}: run {esc(story.status)}", ""]
    if story.description:
        out += [esc(story.description), ""]
    if story.notes:
        out += [*(f"> {esc(note)}" for note in story.notes), ""]
    if story.error:
        if _is_multiline(story.error):
            out += ["**The run stopped:**", "", *fence(story.error, "text")]
        else:
            out += [f"**The run stopped:** {esc(story.error)}", ""]


def _summary(out: list[str], story: Story) -> None:
    t = story.totals
    nodes = f"{t.nodes}: {t.success} succeeded, {t.failed} failed, {t.skipped} skipped, {t.not_run} not run"
    config = story.config_file or ""
    config = f"{config} (hash {story.config_hash})" if config else f"hash {story.config_hash}"
    rows: list[list[Any]] = [
        ["Run id", story.run_id],
        ["Status", story.status],
        ["Pipelines", ", ".join(story.pipelines)],
        ["Engine", story.engine],
        ["Started", story.started_at],
        ["Ended", story.ended_at],
        ["Duration", duration(story.duration_s)],
        ["Workers", story.workers],
        ["On error", story.on_error],
        ["Nodes", nodes],
        ["Rows written", count(t.rows_written)],
    ]
    if t.quarantined:
        rows.append(["Quarantined rows", count(t.quarantined)])
    if t.checks_failed or t.checks_warned:
        rows.append(["Checks", f"{t.checks_failed} failed, {t.checks_warned} warned"])
    rows.append(["Versions", ", ".join(f"{k} {v}" for k, v in story.versions.items())])
    rows.append(["Config", config])
    if story.resumed_from:
        rows.append(["Resumed from", story.resumed_from])
    rows.append(["Verbosity", story.verbosity])
    out += ["## Summary", "", *table(["", ""], rows)]


def _written(node: NodeStory) -> str:
    parts = [w.target if w.role == "output" else f"{w.target} (quarantine)" for w in node.writes]
    return ", ".join(parts)


def _node_table(out: list[str], story: Story) -> None:
    out += ["## Nodes", ""]
    if not story.nodes:
        out += ["No nodes ran.", ""]
        return
    rows = [
        [n.key, n.status + (" (lazy)" if n.lazy else ""), count(n.rows_in), count(n.rows_out),
         duration(n.duration_s) if n.status in ("success", "failed") else "", n.attempts, _written(n)]
        for n in story.nodes
    ]  # fmt: skip
    header = ["Node", "Status", "Rows in", "Rows out", "Duration", "Attempts", "Written to"]
    out += table(header, rows, right={2, 3, 4, 5})


def _failure(out: list[str], failure: FailureInfo) -> None:
    """The failure as a block quote (so it stands apart from the node's facts)."""
    lines = [f"**Failed** ({esc(failure.kind)} error)", ""]
    lines.append(f"- Stage: {esc(failure.stage)}")
    if failure.location:
        lines.append(f"- Location: {esc(failure.location)}")
    if failure.error_type:
        lines.append(f"- Error type: {esc(failure.error_type)}")
    multiline = _is_multiline(failure.message)
    lines.append("- Message: (below)" if multiline else f"- Message: {esc(failure.message)}")
    if failure.hint:
        lines.append(f"- Hint: {esc(failure.hint)}")
    if failure.retryable:
        reason = f" ({esc(failure.retry_reason)})" if failure.retry_reason else ""
        lines.append(f"- Retryable: yes{reason}")
    lines.append("")
    if multiline:
        lines += fence(failure.message, "text")
    if failure.traceback:
        lines += ["Traceback:", "", *fence(failure.traceback, "text")]
    while lines and not lines[-1]:
        lines.pop()
    out += [f"> {line}" if line else ">" for line in lines]
    out.append("")


def _node(out: list[str], node: NodeStory) -> None:
    out += [f"### {esc(node.key)} ({esc(node.status)})", ""]
    if node.failure is not None:
        _failure(out, node.failure)
    if node.status in ("skipped", "not_run"):
        label = "Skipped" if node.status == "skipped" else "Not run"
        out += [f"**{label}:** {esc(node.reason or 'no reason recorded')}", ""]

    facts = []
    if node.action == "recomputed":
        facts.append("- Recomputed (its output was needed downstream)")
    if node.lazy:
        facts.append("- Lazy: fused into its consumers as a view")
    if node.source:
        facts.append(f"- Source: {esc(node.source)}")
    if node.inputs:
        facts.append(f"- Inputs: {esc(', '.join(node.inputs))}")
    if node.started_at or node.ended_at:
        facts.append(f"- Started {esc(node.started_at or '?')}, ended {esc(node.ended_at or '?')}")
    if node.status in ("success", "failed"):
        facts.append(f"- Duration: {duration(node.duration_s)}, attempts: {node.attempts}")
    if node.rows_in is not None or node.rows_out is not None:
        facts.append(f"- Rows in: {count(node.rows_in) or '?'}, rows out: {count(node.rows_out) or '?'}")
    if node.quarantined:
        facts.append(f"- Quarantined rows: {count(node.quarantined)}")
    if facts:
        out += [*facts, ""]

    if node.steps:
        out += ["**Steps**", ""]
        out += [f"{i}. {esc(step)}" for i, step in enumerate(node.steps, 1)]
        out.append("")
    if node.sql:
        out += ["**SQL**", "", *fence(node.sql, "sql")]
    if node.columns:
        out += ["**Output schema**", "", *table(["Column", "Type"], [[c.name, c.type] for c in node.columns])]
    changes = node.schema_changes
    if changes is not None and not changes.empty:
        out += [f"**Schema changes** (against {esc(', '.join(changes.against))})", ""]
        if changes.added:
            out.append(f"- Added: {esc(', '.join(changes.added))}")
        if changes.removed:
            out.append(f"- Removed: {esc(', '.join(changes.removed))}")
        for r in changes.retyped:
            out.append(f"- Retyped: {esc(r.name)}: {esc(r.before)} → {esc(r.after)}")
        out.append("")
    if node.checks:
        rows = [[c.check, c.status, count(c.failing_rows), c.message] for c in node.checks]
        out += ["**Checks**", "", *table(["Check", "Status", "Failing rows", "Message"], rows, right={2})]
    if node.writes:
        rows = [
            [w.target, w.connection or "", w.format or "", w.mode, count(w.rows),
             "" if w.version is None else w.version, w.role]
            for w in node.writes
        ]  # fmt: skip
        header = ["Target", "Connection", "Format", "Mode", "Rows", "Version", "Role"]
        out += ["**Writes**", "", *table(header, rows, right={4, 5})]
    sample = node.sample
    if sample is not None and sample.columns:
        what = f"first {len(sample.rows)} row" + ("" if len(sample.rows) == 1 else "s")
        if sample.source == "output":
            what += ", read back from what it wrote"
        if sample.masked:
            what += f"; masked: {esc(', '.join(sample.masked))}"
        out += [f"**Sample** ({what})", ""]
        out += table(sample.columns, sample.rows, limit=MAX_CELL_CHARS)
    if node.notes:
        out += ["**Notes**", ""]
        out += [f"- {esc(note)}" for note in node.notes]
        out.append("")
    if node.retries:
        out += ["**Retried**", ""]
        for i, r in enumerate(node.retries, 1):
            reason = f" ({esc(r.retry_reason)})" if r.retry_reason else ""
            out.append(f"- Attempt {i}: {esc(r.kind)} error in {esc(r.stage)}: {esc(r.message)}{reason}")
        out.append("")


def _arrow(before: Any, after: Any) -> str:
    return f"{before} → {after}"


def _delta_rows(d: NodeDelta) -> str:
    before, after = d.rows_before, d.rows_after
    if before is not None and after is not None and before != after:
        return f"{before:,} → {after:,} ({after - before:+,})"
    return count(after if after is not None else before)


def _delta_status(d: NodeDelta) -> str:
    if d.change == "new":
        return d.status_after or ""
    if d.change == "gone":
        return d.status_before or ""
    if d.status_before and d.status_after and d.status_before != d.status_after:
        return _arrow(d.status_before, d.status_after)
    return d.status_after or d.status_before or ""


def _delta_duration(d: NodeDelta) -> str:
    if d.duration_before_s is None and d.duration_after_s is None:
        return ""
    if d.duration_before_s is None or d.duration_after_s is None:
        return duration(d.duration_after_s if d.duration_after_s is not None else d.duration_before_s)
    return _arrow(duration(d.duration_before_s), duration(d.duration_after_s))


def _delta_schema(d: NodeDelta) -> str:
    parts = []
    if d.added:
        parts.append("added: " + ", ".join(d.added))
    if d.removed:
        parts.append("removed: " + ", ".join(d.removed))
    if d.retyped:
        parts.append("retyped: " + ", ".join(f"{r.name} {r.before} → {r.after}" for r in d.retyped))
    return "; ".join(parts)


def _comparison(out: list[str], cmp: Comparison, run_id: str | None = None) -> None:
    head = f"Run {esc(run_id)} compared with run" if run_id else "Compared with run"
    out += [f"## {head} {esc(cmp.base_run_id)}", ""]
    facts = []
    if cmp.base_status:
        facts.append(f"base run: {esc(cmp.base_status)}")
    if cmp.base_started_at:
        facts.append(f"started {esc(cmp.base_started_at)}")
    if cmp.duration_before_s is not None and cmp.duration_after_s is not None:
        facts.append(f"run time {duration(cmp.duration_before_s)} → {duration(cmp.duration_after_s)}")
    facts.append(f"{cmp.unchanged} node{'' if cmp.unchanged == 1 else 's'} unchanged")
    text = ", ".join(facts)
    out += [text[:1].upper() + text[1:] + ".", ""]
    if not cmp.nodes:
        out += ["No node changed.", ""]
        return
    rows = [
        [
            f"{d.pipeline}.{d.name}",
            d.change,
            _delta_status(d),
            _delta_rows(d),
            _delta_duration(d),
            _delta_schema(d),
        ]
        for d in cmp.nodes
    ]
    out += table(["Node", "Change", "Status", "Rows", "Duration", "Schema"], rows)
