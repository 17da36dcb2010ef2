"""``odibi runs``: the recent runs of a project, or one run's nodes, from its run-state store.

Reads the project file lightly (``yaml.safe_load``, key ``project``): listing runs needs no config model,
engine or connection.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from odibi.errors import ConfigError, OdibiError, UsageError
from odibi.run.state import RunRecord, RunStateStore
from odibi.secrets import mask

_STYLE = {
    "success": "green",
    "failed": "bold red",
    "died": "bold magenta",
    "running": "cyan",
    "skipped": "yellow",
    "not_run": "yellow",
}


def runs_command(config: Path | None, limit: int, run_id: str | None, fmt: str) -> int:
    """Print the newest runs of the project (or, with ``run_id``, that run's nodes); returns the exit code:
    0, or 2 for a bad config path, an unknown run id or format (the error is printed like other commands')."""
    try:
        if fmt not in ("text", "json"):
            raise UsageError(f"unknown format '{fmt}': text or json")
        root, project = _project(config)
        store = RunStateStore(root)
        try:
            if run_id is not None:
                run = store.get_run(run_id)
                if run is None:
                    raise UsageError(
                        f"no run '{run_id}' recorded for project {project} (state: {store.path})",
                        hint="`odibi runs` lists the recorded runs",
                    )
                _print_run(run, fmt)
                return 0
            runs = store.list_runs(project, limit)
        finally:
            store.close()
    except OdibiError as error:
        from odibi.cli.render import render_json, render_text

        if fmt == "json":
            _out(render_json(error))
        else:
            print(render_text(error), file=sys.stderr)
        return error.exit_code
    if fmt == "json":
        _out(json.dumps([dataclasses.asdict(r) for r in runs], indent=2))
    elif not runs:
        _out(f"no runs recorded for project {project} (state: {store.path})")
    else:
        _print_runs(runs, project, store.path)
    return 0


def _project(config: Path | None) -> tuple[Path, str]:
    """The project root (the config file's folder) and the project's name."""
    import yaml

    from odibi.cli.project_file import project_file

    path = project_file(config)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"cannot read {path}: {exc}", hint="`odibi validate` points at the problem"
        ) from exc
    project = data.get("project") if isinstance(data, dict) else None
    if not isinstance(project, str) or not project:
        raise ConfigError(f"{path} names no project (key 'project')", hint="`odibi validate` checks the file")
    return path.resolve().parent, project


def _out(text: str) -> None:
    sys.stdout.write(mask(text) + "\n")


def _when(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s"


def _styled(status: str) -> str:
    style = _STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def _print_runs(runs: list[RunRecord], project: str, state: Path) -> None:
    from rich.markup import escape
    from rich.table import Table

    from odibi.cli.summary import _console

    table = Table(title=escape(mask(f"odibi runs: {project}")), title_justify="left")
    table.caption = escape(mask(f"newest first; state: {state}"))
    table.caption_justify = "left"
    for col, just in (("run id", "left"), ("status", "left"), ("engine", "left"), ("started (UTC)", "left"),
                      ("duration", "right"), ("ok", "right"), ("failed", "right"), ("skipped", "right"),
                      ("not run", "right"), ("resumed from", "left")):  # fmt: skip
        table.add_column(col, justify=just, no_wrap=True)
    for run in runs:
        counts = {s: 0 for s in ("success", "failed", "skipped", "not_run")}
        for node in run.nodes:
            counts[node.status] = counts.get(node.status, 0) + 1
        table.add_row(
            escape(mask(run.run_id)),
            _styled(run.status),
            escape(run.engine),
            _when(run.started_at),
            _duration(run.duration_s),
            str(counts["success"]),
            str(counts["failed"]),
            str(counts["skipped"]),
            str(counts["not_run"]),
            escape(mask(run.resumed_from or "")),
        )
    _console().print(table)


def _print_run(run: RunRecord, fmt: str) -> None:
    if fmt == "json":
        _out(json.dumps(dataclasses.asdict(run), indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    from odibi.cli.summary import _console

    console = _console()
    facts = [
        f"run {run.run_id} of {run.project} on {run.engine}: {run.status}",
        f"started {_when(run.started_at)}",
    ]
    if run.duration_s is not None:
        facts.append(f"took {_duration(run.duration_s)}")
    if run.resumed_from:
        facts.append(f"resumed from {run.resumed_from}")
    if run.workers:
        facts.append(f"{run.workers} workers")
    console.print(escape(mask(", ".join(facts))))
    table = Table(title_justify="left")
    for col, just in (("pipeline", "left"), ("node", "left"), ("status", "left"), ("action", "left"),
                      ("attempts", "right"), ("rows", "right"), ("time", "right")):  # fmt: skip
        table.add_column(col, justify=just, no_wrap=True)
    table.add_column("failure", overflow="fold")
    recorded = {(n.pipeline, n.node) for n in run.nodes}
    for n in run.nodes:
        failure = ""
        if n.failure:
            where = "/".join(str(n.failure[k]) for k in ("kind", "stage") if n.failure.get(k))
            message = str(n.failure.get("message") or "")
            failure = f"{where}: {message}" if where and message else where or message
        table.add_row(
            escape(mask(n.pipeline)),
            escape(mask(n.node)),
            _styled(n.status),
            n.action,
            str(n.attempts),
            "" if n.rows is None else f"{n.rows:,}",
            f"{n.duration_s:.2f}s",
            escape(mask(failure)),
        )
    for pipeline, node in run.planned:  # planned but never recorded (the run failed or died first)
        if (pipeline, node) not in recorded:
            table.add_row(escape(mask(pipeline)), escape(mask(node)), "[dim]no record[/]", "", "", "", "", "")
    console.print(table)
