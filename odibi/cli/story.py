"""``odibi story``: list a project's stories, show one (Markdown, JSON, HTML), compare two.

Stories are read from the project's story folder (``odibi.story.store``): the project file is loaded for
its ``story:`` block, but no engine is started. Everything printed is masked like other commands' output.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from odibi.story.store import StoryStore

story_app = typer.Typer(
    name="story",
    help="The run reports ('stories') of a project: list them, show one, compare two.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ConfigArg = Annotated[
    Path | None,
    typer.Argument(
        help="The project's YAML file (or its folder; default: odibi.yaml here).", show_default=False
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="The project's YAML file (or its folder; default: odibi.yaml here).",
        show_default=False,
    ),
]

EnvOpt = Annotated[
    str | None,
    typer.Option("--env", help="The config's environment (its story: block may differ; default: $ODIBI_ENV)."),
]

_ORDER = ("json", "md", "html")


# --- commands ------------------------------------------------------------------------------------------------


@story_app.command("list")
def list_(
    config: ConfigArg = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Stories to list (newest first).")] = 20,
    fmt: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    env: EnvOpt = None,
) -> None:
    """List the project's stories, newest first.

    \b
    Examples:
      odibi story list odibi.yaml
      odibi story list odibi.yaml --format json
    """
    from odibi.cli.app import _fail, _guard, _usage

    if fmt not in ("text", "json"):
        _fail(_usage(f"unknown --format '{fmt}' (text, json)"))
    _guard(lambda: _list(config, limit, fmt, env), fmt)


@story_app.command("show")
def show(
    run: Annotated[
        str, typer.Argument(help="Run id (or a unique part of one), last, previous or last-success.")
    ] = "last",
    config: ConfigOpt = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="md | json | html (default: md; html with --open).")
    ] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open the HTML story in a web browser.")] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the story to this file instead of printing it."),
    ] = None,
    env: EnvOpt = None,
) -> None:
    """Print one story (the stored rendering; made from the record when it was not stored).

    \b
    Examples:
      odibi story show last -c odibi.yaml --open
      odibi story show previous -c odibi.yaml --format md
      odibi story show last-success -c odibi.yaml --format html -o report.html
    """
    from odibi.cli.app import _guard

    _guard(lambda: _show(run, config, fmt, open_, output, env), "json" if fmt == "json" else "text")


@story_app.command("diff")
def diff(
    base: Annotated[str, typer.Argument(help="The base run (e.g. previous).", show_default=False)],
    current: Annotated[str, typer.Argument(help="The run compared with it (e.g. last).", show_default=False)],
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="text | json | md")] = "text",
    env: EnvOpt = None,
) -> None:
    """Compare two stories: what changed per node (status, rows, time, columns).

    \b
    Examples:
      odibi story diff previous last -c odibi.yaml
      odibi story diff last-success last -c odibi.yaml --format json
    """
    from odibi.cli.app import _fail, _guard, _usage

    if fmt not in ("text", "json", "md"):
        _fail(_usage(f"unknown --format '{fmt}' (text, json, md)"))
    _guard(lambda: _diff(base, current, config, fmt, env), "json" if fmt == "json" else "text")


# --- implementation ------------------------------------------------------------------------------------------


def _project_file(config: Path | None) -> Path:
    from odibi.cli.project_file import project_file

    return project_file(config)


def _open_store(config: Path | None, env: str | None = None) -> StoryStore:
    from odibi.config.project import load_project
    from odibi.story.store import open_store

    return open_store(load_project(_project_file(config), environment=env))


def _echo(text: str, err: bool = False) -> None:
    from odibi.secrets import mask

    typer.echo(mask(text), nl=not text.endswith("\n"), err=err)


def _list(config: Path | None, limit: int, fmt: str, env: str | None = None) -> None:
    store = _open_store(config, env)
    try:
        entries = store.entries()[:limit]
        folder = store.display(store.folder())
        project = store.project.config.project
        if fmt == "json":
            _echo(json.dumps([dataclasses.asdict(e) for e in entries], indent=2))
        elif not entries:
            _echo(f"no stories of project {project} in {folder}")
        else:
            _print_entries(entries, project, folder)
    finally:
        store.close()


def _print_entries(entries: list[Any], project: str, folder: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from odibi.cli.runs import _duration, _styled
    from odibi.cli.summary import _console
    from odibi.secrets import mask

    table = Table(title=escape(mask(f"odibi stories: {project}")), title_justify="left")
    table.caption = escape(mask(f"newest first; folder: {folder}"))
    table.caption_justify = "left"
    for col, just in (("run id", "left"), ("status", "left"), ("started", "left"), ("duration", "right"),
                      ("nodes", "right"), ("failed", "right"), ("engine", "left"), ("files", "left")):  # fmt: skip
        table.add_column(col, justify=just, no_wrap=True)
    for e in entries:
        files = [f for f in _ORDER if f in e.files] + sorted(f for f in e.files if f not in _ORDER)
        table.add_row(
            escape(mask(e.run_id)),
            _styled(e.status),
            escape(mask(e.started_at)),
            _duration(e.duration_s),
            str(e.nodes),
            str(e.failed),
            escape(mask(e.engine)),
            escape(" ".join(files)),
        )
    _console().print(table)


def _text_of(store: StoryStore, run_id: str, fmt: str) -> str:
    """The stored rendering of the run in ``fmt``, or one made now from its JSON record."""
    from odibi.story import renderers

    if fmt in renderers.BUILTIN:
        stored = store.rendering(run_id, fmt)
        if stored is not None:
            return stored
    return renderers.render(store.load(run_id), fmt)


def _show(
    run: str, config: Path | None, fmt: str | None, open_: bool, output: Path | None, env: str | None = None
) -> None:
    from odibi.errors import UsageError
    from odibi.secrets import mask
    from odibi.story import renderers

    fmt = fmt or ("html" if open_ else "md")
    if open_ and fmt != "html":
        raise UsageError(
            f"--open shows the HTML story, not --format {fmt}", hint="drop --format (or give html)"
        )
    if fmt not in renderers.names():
        renderers.get(fmt)  # raises the usage error, with a suggestion
    store = _open_store(config, env)
    try:
        run_id = store.resolve_ref(run)
        text = mask(_text_of(store, run_id, fmt))
        if output is not None:
            _write(output, text)
            _echo(f"wrote {output}", err=True)
            if open_:
                _browse(output.resolve())
            return
        if open_:
            stored = None if store.remote else Path(store.location(run_id, "html"))
            _browse(stored.resolve() if stored is not None and stored.is_file() else _temp_html(run_id, text))
            return
        _echo(text)
    finally:
        store.close()


def _write(path: Path, text: str) -> None:
    from odibi.errors import UsageError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _temp_html(run_id: str, text: str) -> Path:
    import tempfile

    fd, name = tempfile.mkstemp(prefix=f"odibi-story-{run_id}-", suffix=".html")
    with open(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(name)


def _browse(path: Path) -> None:
    import webbrowser

    url = path.as_uri()
    opened = webbrowser.open(url)
    _echo(f"opened {url}" if opened else f"could not start a web browser; the story is at {path}")


def _diff(base: str, current: str, config: Path | None, fmt: str, env: str | None = None) -> None:
    from odibi.story.diff import compare, render_text

    store = _open_store(config, env)
    try:
        before = store.load(base)
        after = store.load(current)
    finally:
        store.close()
    cmp = compare(before, after)
    if fmt == "json":
        _echo(cmp.model_dump_json(indent=2))
    elif fmt == "md":
        from odibi.story.render_md import render_comparison

        _echo(render_comparison(cmp, after.run_id))
    else:
        _echo(render_text(cmp, after.run_id))
