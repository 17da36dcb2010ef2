"""Run summaries and dry-run plans, printed with rich."""

from __future__ import annotations

import os
import shutil

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from odibi.secrets import mask


def _console() -> Console:
    # rich assumes 80 columns when output is not a terminal (CI logs, pipes): give tables room instead
    width = shutil.get_terminal_size((140, 24)).columns if os.isatty(1) else 140
    return Console(soft_wrap=False, width=max(width, 100), file=_MaskedStdout())


class _MaskedStdout:
    """sys.stdout (looked up at each write, as rich does) with secret values masked: a second guard
    behind the masking of each cell, for text this module did not mask itself."""

    def write(self, text: str) -> int:
        import sys

        return sys.stdout.write(mask(text))

    def __getattr__(self, name: str):
        import sys

        return getattr(sys.stdout, name)


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path


_STYLE = {"success": "green", "failed": "bold red", "skipped": "yellow", "not_run": "yellow"}


# a node neither materialized nor written is a view its consumers' queries include: counting it would run it
# again, so its rows column says `lazy`, and this line under the table says what that means
LAZY_NOTE = "lazy: fused into its consumers as a view; it ran inside them (no rows counted)"

FULL_TABLE_NODES = 40  # larger runs list their notable nodes only (unless --all-nodes)
SLOWEST_SHOWN = 10


def notable(nodes: list) -> list:
    """The nodes a reader of a large run's summary needs: every one that failed, was skipped or wrote an
    output, and the slowest few; in run order."""
    slowest = {id(n) for n in sorted(nodes, key=lambda n: n.duration_s, reverse=True)[:SLOWEST_SHOWN]}
    return [
        n for n in nodes if n.status != "success" or n.written or n.notes or quality(n) or id(n) in slowest
    ]


def quality(node) -> str:
    """What a node's checks let through: ``warn: no_nulls(email) 100 rows (20.0 %); quarantined 6,430 rows
    (43.0 %): accepted_values(status) 6,430`` (empty when every check passed)."""
    results = getattr(node, "check_results", None) or []
    parts = []
    warned = [r for r in results if r.get("status") == "warned"]
    if warned:
        parts.append(
            "warn: " + ", ".join(f"{r['check']} {r['failing_rows']:,} rows{_pct(r)}" for r in warned)
        )
    quarantined = [r for r in results if r.get("status") == "quarantined"]
    if getattr(node, "quarantined", 0) or quarantined:
        checked = getattr(node, "checked_rows", None)
        share = f" ({100 * node.quarantined / checked:.1f} %)" if checked else ""
        by = ", ".join(f"{r['check']} {r['failing_rows']:,}" for r in quarantined)
        parts.append(f"quarantined {node.quarantined:,} rows{share}" + (f": {by}" if by else ""))
    return "; ".join(parts)


def _pct(check: dict) -> str:
    return f" ({check['failing_pct']:.1f} %)" if check.get("failing_pct") is not None else ""


def print_summary(result, *, all_nodes: bool = False) -> None:
    """A per-node table (status, rows, time, detail) and a one-line total.

    A run of more than FULL_TABLE_NODES nodes lists its notable nodes (see :func:`notable`): a table of
    a thousand successes hides the one failure, and rendering it costs more than a small run itself.
    """
    console = _console()
    nodes = result.nodes if all_nodes or len(result.nodes) <= FULL_TABLE_NODES else notable(result.nodes)
    table = Table(title=mask(f"odibi run: {result.project} on {result.engine}"), title_justify="left")
    if len(nodes) < len(result.nodes):
        table.caption = (
            f"{len(result.nodes) - len(nodes)} more nodes succeeded; odibi run --all-nodes lists every node"
        )
        table.caption_justify = "left"
    for col, just in (("pipeline", "left"), ("node", "left"), ("status", "left"), ("rows", "right"),
                      ("time", "right")):  # fmt: skip
        table.add_column(col, justify=just, no_wrap=True)
    table.add_column("detail", overflow="fold")
    for n in nodes:
        detail = n.error or (f"wrote {_short(n.written)}" if n.written else "")
        failure = getattr(n, "failure", None)
        if failure:  # where it is in the YAML, and why it was (or was not) tried again
            if failure.get("location"):
                detail += f" (at {failure['location']})"
            if n.attempts > 1 or failure.get("retryable"):
                detail += (
                    f" [{n.attempts} attempt{'s' if n.attempts != 1 else ''}: {failure['retry_reason']}]"
                )
            if failure.get("traceback"):
                detail += "\n" + failure["traceback"]
        checked = quality(n) if n.status == "success" else ""  # a failed node's error says it all
        # plain text, not rich markup: `df[col]` in a user's code or a message must print as written
        detail = escape(mask("; ".join(part for part in (detail, checked, *n.notes) if part)))
        # a node that was neither materialized nor written stays a lazy view fused into its consumers;
        # counting it would run it again, so we say so instead
        rows = f"{n.rows:,}" if n.rows is not None else ("lazy" if n.status == "success" else "")
        table.add_row(
            mask(n.pipeline),
            mask(n.node),
            f"[{_STYLE[n.status]}]{n.status}[/]",
            rows,
            f"{n.duration_s:.2f}s",
            detail,
        )
    console.print(table)
    if any(n.rows is None and n.status == "success" for n in nodes):
        console.print(LAZY_NOTE)
    counts = {
        s: sum(1 for n in result.nodes if n.status == s) for s in ("success", "failed", "skipped", "not_run")
    }
    verdict = "[green]ok[/]" if result.ok else "[bold red]failed[/]"
    not_run = f", {counts['not_run']} not run" if counts["not_run"] else ""
    run = f" (run {result.run_id}" + (f", resuming {result.resumed_from})" if result.resumed_from else ")")
    console.print(
        f"{verdict}: {counts['success']} succeeded, {counts['failed']} failed, {counts['skipped']} skipped"
        f"{not_run} in {result.duration_s:.2f}s" + (run if result.run_id else "") + _let_through(result)
    )
    story = getattr(result, "story", None) or {}
    if story:
        shown = story.get("html") or story.get("md") or story.get("json") or ""
        shown = _short(shown) if shown.startswith("/") else shown
        console.print(mask(f"story: {shown}"), soft_wrap=True)
    elif getattr(result, "story_error", None):
        console.print(mask(f"[yellow]story not written:[/] {result.story_error}"), soft_wrap=True)


def _let_through(result) -> str:
    """``; 1 node warned, 6,430 rows quarantined``: an ok run whose checks let bad rows through says so."""
    totals = getattr(result, "quality", None) or {}
    warned, quarantined = totals.get("nodes_warned", 0), totals.get("rows_quarantined", 0)
    parts = [f"{warned} node{'s' if warned != 1 else ''} warned"] if warned else []
    parts += [f"{quarantined:,} rows quarantined"] if quarantined else []
    return f"; [yellow]{', '.join(parts)}[/]" if parts else ""


def print_plan(valid, engine: str) -> None:
    """What a run would do, layer by layer."""
    console = _console()
    console.print(
        mask(
            f"dry run of {valid.project.config.project} on {engine}: no node runs and nothing is written "
            "(transform_modules were imported to check function steps)"
        )
    )
    for pplan, names in valid.selection:
        console.print(f"pipeline [bold]{pplan.name}[/]")
        wanted = set(names)
        for i, layer in enumerate(pplan.layers):
            members = [n for n in layer if n in wanted]
            if members:
                console.print(f"  layer {i + 1}: {', '.join(members)}")


def print_comparison(comparison) -> None:
    """Each engine's run, then one line per output: agree, or what differs and the first differing rows."""
    console = _console()
    for result in comparison.runs.values():
        print_summary(result)
    table = Table(title="portability check", title_justify="left")
    table.add_column("output", no_wrap=True)
    table.add_column("engines", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("differences", overflow="fold")
    for out in comparison.outputs:
        verdict = "[green]agree[/]" if out.agree else "[bold red]differ[/]"
        table.add_row(mask(out.target), ", ".join(out.engines), verdict, mask("\n".join(out.differences)))
    console.print(table)
    for out in comparison.outputs:
        if out.examples:
            console.print(mask(f"first differing rows of {out.target} (sorted):"))
            for example in out.examples:
                console.print(mask(f"  {example}"))
    if not comparison.outputs:
        console.print("no outputs were written, nothing to compare")
    console.print(
        "[green]engines agree[/]" if comparison.ok else "[bold red]engines disagree or a run failed[/]"
    )
