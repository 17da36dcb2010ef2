"""The ``odibi`` command line (typer + rich).

Exit codes: 0 ok, 1 a node failed, 2 bad input (config or usage). Errors are printed located and without
a traceback; ``--debug`` shows the traceback too.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from odibi import __version__
from odibi.errors import OdibiError
from odibi.secrets import install_output_masking, mask

app = typer.Typer(
    name="odibi",
    help="Declarative YAML data pipelines on DuckDB, Pandas or Spark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False}

ConfigArg = Annotated[Path, typer.Argument(help="Path to the project YAML file.", show_default=False)]
PipelineOpt = Annotated[
    str | None, typer.Option("--pipeline", "-p", help="Only this pipeline (earlier ones are not run).")
]
NodeOpt = Annotated[
    str | None,
    typer.Option(
        "--node", "-n", help="Only this node and its upstream (with earlier pipelines' writers of its input)."
    ),
]
EngineOpt = Annotated[
    str | None, typer.Option("--engine", "-e", help="duckdb | pandas | spark (overrides the config).")
]
StrictOpt = Annotated[
    bool,
    typer.Option("--strict", help="Translation warnings (SQL whose meaning another dialect changes) are errors."),
]
EnvOpt = Annotated[
    str | None,
    typer.Option("--env", help="Apply this overlay of the config's environments: (default: $ODIBI_ENV)."),
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        help="name=value: override a value of the config's vars: (repeatable; the name must be declared).",
        show_default=False,
    ),
]


def _variables(items: list[str] | None, fmt: str = "text") -> dict[str, str]:
    """``--var name=value`` options as a mapping (a malformed one is a usage error, exit 2)."""
    from odibi.config.variables import parse_assignments

    return _guard(lambda: parse_assignments(items), fmt)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"odibi {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _state["debug"] = debug


def _fail(error: OdibiError, fmt: str = "text") -> None:
    from odibi.cli.render import render_json, render_text

    if _state["debug"]:
        import traceback

        typer.echo(mask("".join(traceback.format_exception(error))), err=True, nl=False)
    if fmt == "json":
        typer.echo(render_json(error))
    else:
        typer.echo(render_text(error), err=True)
    raise typer.Exit(error.exit_code)


def _guard(fn, fmt: str = "text"):
    try:
        return fn()
    except OdibiError as err:
        _fail(err, fmt)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


@app.command()
def validate(
    config: ConfigArg,
    pipeline: PipelineOpt = None,
    node: NodeOpt = None,
    engine: Annotated[
        str | None, typer.Option("--engine", "-e", help="Also check that this engine can run every SQL step.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    env: EnvOpt = None,
    var: VarOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Check a project without running its nodes: schema, references, cycles and every SQL step.

    Not a sandbox: it imports the project's transform_modules (or a transforms.py beside the config) to
    check function steps against their signatures, which executes those Python files, and it reads the
    first bytes of local input files to check column names. Validate only projects you trust.

    \b
    Examples:
      odibi validate odibi.yaml
      odibi validate odibi.yaml --engine spark      # also: can Spark run every SQL step?
      odibi validate odibi.yaml --env prod --var run_date=2026-01-31 --format json
    """
    from odibi import api

    if engine:
        from odibi.engines.registry import spec

        _guard(lambda: spec(engine), fmt)
    variables = _variables(var, fmt)
    valid = _guard(
        lambda: api.validate(
            config, pipeline=pipeline, node=node, engine=engine, environment=env, variables=variables,
            strict=strict,
        ),
        fmt,
    )
    if fmt == "json":  # errors, else `[]`; checks skipped come as items of kind "note" (exit 0)
        import json

        from odibi.secrets import mask_data

        items = [n.to_dict() for n in valid.notes] + [{**w.to_dict(), "kind": "warning"} for w in valid.warnings]
        typer.echo(mask(json.dumps([mask_data(i) for i in items], indent=2)))
        return
    for warning in valid.warnings:
        typer.echo(mask(f"{warning.where()}: warning: {warning.message}"), err=True)
    nodes = sum(len(names) for _, names in valid.selection)
    skipped = f"; {len(valid.notes)} check(s) skipped (notes below)" if valid.notes else ""
    typer.echo(mask(f"{config}: valid ({len(valid.selection)} pipeline(s), {nodes} node(s)){skipped}"))
    for note in valid.notes:
        typer.echo(mask(str(note)), err=True)


@app.command("compile")
def compile_(
    config: ConfigArg,
    pipeline: PipelineOpt = None,
    node: NodeOpt = None,
    engine: EngineOpt = None,
    dialect: Annotated[
        str | None,
        typer.Option("--dialect", "-d", help="Any sqlglot dialect: snowflake, bigquery, tsql, ..."),
    ] = None,
    env: EnvOpt = None,
    var: VarOpt = None,
    fmt: Annotated[
        str, typer.Option("--format", help="sql | json (a list of {pipeline, node, comment, sql, warnings})")
    ] = "sql",
    strict: StrictOpt = False,
) -> None:
    """Print the SQL each node runs, in the engine's dialect or any other.

    Like validate, it imports the project's transform_modules (executing those Python files) and peeks at
    the headers of local input files; it runs no node.

    \b
    Examples:
      odibi compile odibi.yaml                      # the SQL DuckDB runs
      odibi compile odibi.yaml --dialect snowflake --node clean_sales
      odibi compile odibi.yaml --format json
    """
    from odibi import api

    if fmt not in ("sql", "json"):
        _fail(_usage(f"unknown --format '{fmt}': sql or json"))
    out_fmt = "json" if fmt == "json" else "text"
    if engine and dialect:
        _fail(_usage("give --engine or --dialect, not both"), out_fmt)
    variables = _variables(var, out_fmt)
    rendered = _guard(
        lambda: api.compile_project(
            config,
            dialect=dialect,
            engine=engine,
            pipeline=pipeline,
            node=node,
            environment=env,
            variables=variables,
            strict=strict,
        ),
        out_fmt,
    )
    if fmt == "json":
        import json
        from dataclasses import asdict

        typer.echo(mask(json.dumps([asdict(item) for item in rendered], indent=2)))
        return
    chunks = []
    for item in rendered:
        text = f"-- {item.comment}"
        for warning in item.warnings:
            text += f"\n-- warning: {warning}"
        if item.sql is not None:
            text += f"\n{item.sql};"
        chunks.append(text)
    typer.echo(mask("\n\n".join(chunks)))


def _usage(message: str) -> OdibiError:
    from odibi.errors import UsageError

    return UsageError(message)


@app.command()
def run(
    config: ConfigArg,
    engine: EngineOpt = None,
    pipeline: PipelineOpt = None,
    node: NodeOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Validate and show the plan; no node runs and nothing is written. Like validate, it "
            "imports the project's transform_modules (executing their code) and peeks at input headers.",
        ),
    ] = False,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            help="DEBUG | INFO | WARNING | ERROR (default: the project's logging.level, else WARNING).",
        ),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(
            "--compare",
            help="Portability check: run on these engines (e.g. duckdb,pandas,spark) into scratch folders "
            "and compare every output.",
        ),
    ] = None,
    all_nodes: Annotated[
        bool,
        typer.Option(
            "--all-nodes", help="List every node in the summary (large runs list the notable ones)."
        ),
    ] = False,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Incremental reads read everything (their marks are ignored, then renewed).",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Nodes run at once (default: the project's workers:, else the engine's).",
        ),
    ] = None,
    on_error: Annotated[
        str | None,
        typer.Option(
            "--on-error",
            help="fail_fast: stop at the first failure; continue: skip only the failed node's downstream "
            "(default: the project's on_error, else continue). A node's own on_error wins.",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Run again only what failed, was skipped or did not finish in the project's last run, "
            "and what depends on it.",
        ),
    ] = False,
    no_story: Annotated[
        bool,
        typer.Option("--no-story", help="Write no story for this run (default: the project's story: block)."),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="text | json (the run record on stdout).")] = "text",
    env: EnvOpt = None,
    var: VarOpt = None,
) -> None:
    """Run the project's pipelines (all, one pipeline, or one node with its upstream).

    \b
    Examples:
      odibi run odibi.yaml
      odibi run odibi.yaml --engine spark --pipeline silver
      odibi run odibi.yaml --resume                 # only what failed or did not run last time
    """
    from odibi import api
    from odibi.cli.summary import print_comparison, print_plan, print_summary

    if log_level is not None and not isinstance(getattr(logging, log_level.upper(), None), int):
        _fail(_usage(f"unknown log level '{log_level}' (DEBUG, INFO, WARNING, ERROR)"))
    if on_error is not None and on_error not in ("fail_fast", "continue"):
        _fail(_usage(f"unknown --on-error '{on_error}' (fail_fast, continue)"))
    if fmt not in ("text", "json"):
        _fail(_usage(f"unknown --format '{fmt}' (text, json)"))
    _configure_logging(log_level, None)
    variables = _variables(var)
    if dry_run:
        valid = _guard(
            lambda: api.validate(config, pipeline=pipeline, node=node, environment=env, variables=variables)
        )
        if engine:
            from odibi.engines.registry import spec

            _guard(lambda: spec(engine))
        print_plan(valid, engine or valid.engine)
        return
    if compare:
        if engine:
            _fail(_usage("give --engine or --compare, not both"))
        engines = [e.strip() for e in compare.split(",") if e.strip()]
        comparison = _guard(
            lambda: api.compare_engines(
                config, engines, pipeline=pipeline, node=node, environment=env, variables=variables
            )
        )
        print_comparison(comparison)
        raise typer.Exit(0 if comparison.ok else 1)
    from odibi.cli.progress import RunProgress
    from odibi.config.project import load_project

    project = _guard(lambda: load_project(config, environment=env, variables=variables))
    _configure_logging(log_level, project.config.logging)
    with RunProgress(live=False if fmt == "json" and not sys.stderr.isatty() else None) as progress:
        result = _guard(
            lambda: api.run_project(
                project,
                engine=engine,
                pipeline=pipeline,
                node=node,
                full_refresh=full_refresh,
                workers=workers,
                on_error=on_error,
                resume=resume,
                listener=progress,
                debug=_state["debug"],
                story=not no_story,
            )
        )
    if fmt == "json":
        import json

        from odibi.secrets import mask

        typer.echo(mask(json.dumps(result.to_dict(), indent=2, default=str)))
    elif resume and not result.nodes:
        typer.echo(
            f"nothing to resume: the last recorded run of {result.project} ({result.resumed_from}) succeeded"
        )
    else:
        print_summary(result, all_nodes=all_nodes)
    # an in-process engine is closed by now; others (Spark: a JVM, scratch folders) exit normally
    _state["exit_now"] = result.in_process
    raise typer.Exit(0 if result.ok else 1)


def _configure_logging(flag: str | None, config) -> None:
    """The run's logging: ``--log-level`` wins over the project's ``logging.level``; WARNING when neither
    says (quiet: retries and failures only). ``logging.structured`` prints JSON lines."""
    from odibi.run.events import configure

    level_name = flag or (config.level if config is not None else "WARNING")
    level = getattr(logging, level_name.upper())
    structured = bool(config is not None and config.structured)
    metadata = dict(config.metadata) if config is not None else {}
    configure(level, structured=structured, metadata=metadata)
    # other libraries' records: their warnings only (DEBUG from py4j or urllib3 would drown odibi's)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


@app.command()
def runs(
    config: Annotated[
        Path | None,
        typer.Argument(help="The project's YAML file (or its folder; default: odibi.yaml here)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Runs to list (newest first).")] = 20,
    run_id: Annotated[str | None, typer.Option("--run", help="Show one run's nodes.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text | json")] = "text",
) -> None:
    """List the project's recent runs (from its run state), or one run's nodes.

    \b
    Examples:
      odibi runs odibi.yaml
      odibi runs odibi.yaml --run 20261202T125850.123Z-7d19bb17 --format json
    """
    from odibi.cli.runs import runs_command

    if fmt not in ("text", "json"):
        _fail(_usage(f"unknown --format '{fmt}' (text, json)"))
    raise typer.Exit(_guard(lambda: runs_command(config, limit, run_id, fmt)))


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Print the JSON Schema of odibi configs (for editors).

    \b
    Examples:
      odibi schema -o odibi.schema.json             # then start odibi.yaml with
                                                    # "# yaml-language-server: $schema=./odibi.schema.json"
    """
    from odibi.config.schema import schema_text

    text = schema_text()
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder of the new project.")] = Path("."),
    name: Annotated[str | None, typer.Option("--name", help="Project name (default: the folder's).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    template: Annotated[
        str,
        typer.Option(
            "--template", "-t", help="quickstart | medallion | spark_sql | star_schema (see above)."
        ),
    ] = "quickstart",
) -> None:
    """Write a small runnable starter project (odibi.yaml, its JSON Schema for editors, sample CSVs).

    \b
    Templates:
      quickstart   one pipeline: read a CSV, clean it with SQL, write a CSV (default)
      medallion    bronze (raw CSV -> parquet), silver (types, dedupe, quality checks), gold (aggregates)
      spark_sql    SQL written in Spark SQL (sql_dialect: spark), run on DuckDB or --engine spark
      star_schema  customer, product and date dimensions with surrogate keys, and a sales fact
    All but quickstart also write a README.md and tests/test_pipeline.py (pytest).

    \b
    Example:
      odibi init sales --template medallion && odibi run sales/odibi.yaml
    """
    from odibi.cli.init_project import init_project

    written = _guard(lambda: init_project(directory, name, force, template))
    for path in written:
        typer.echo(mask(f"wrote {path}"))
    typer.echo(f"next: odibi run {directory / 'odibi.yaml'}")


@app.command()
def doctor(
    config: Annotated[
        Path | None,
        typer.Argument(help="A project file: also validate it and check its connections.", show_default=False),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds each connection check may take.")
    ] = 10.0,
) -> None:
    """Check this machine (Python, odibi's pins, engines, Java for Spark) and a project's config and
    connections; each problem comes with a fix.

    \b
    Examples:
      odibi doctor                            # this machine
      odibi doctor odibi.yaml --format json   # also the project and its connections

    Exit codes: 0 all well (warnings allowed); 1 a problem: a core package outside its pins, the
    config's engine cannot start, a connection unreachable; 2 the config cannot be read or is invalid.
    """
    from odibi.cli.doctor import doctor_command

    if fmt not in ("text", "json"):
        _fail(_usage(f"unknown --format '{fmt}' (text, json)"))
    raise typer.Exit(_guard(lambda: doctor_command(config, fmt, timeout)))


@app.command("list")
def list_(
    what: Annotated[str, typer.Argument(help="operations | transforms | engines")],
    config: Annotated[
        Path | None, typer.Argument(help="Project file (loads its transform_modules).", show_default=False)
    ] = None,
) -> None:
    """List the built-in operations, the registered transform functions, or the engines.

    \b
    Examples:
      odibi list operations
      odibi list transforms odibi.yaml
      odibi list engines
    """
    from odibi.cli.listing import list_engines, list_operations, list_transforms
    from odibi.cli.summary import _console

    console = _console()
    if what in ("operations", "ops"):
        list_operations(console)
    elif what in ("transforms", "functions"):
        _guard(lambda: list_transforms(console, config))
    elif what == "engines":
        list_engines(console)
    else:
        _fail(_usage(f"unknown list '{what}': operations, transforms or engines"))


@app.command()
def graph(
    config: ConfigArg,
    pipeline: PipelineOpt = None,
    node: Annotated[
        str | None,
        typer.Option(
            "--node", "-n", help="Only this node and its direct neighbours (see --upstream/--downstream)."
        ),
    ] = None,
    upstream: Annotated[
        bool, typer.Option("--upstream", help="With --node: the node and all its ancestors.")
    ] = False,
    downstream: Annotated[
        bool, typer.Option("--downstream", help="With --node: the node and all its descendants.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="ascii | mermaid | dot | json")] = "ascii",
) -> None:
    """Print the node DAG of a project and its pipeline order (no transform module, data or engine).

    ascii lists the pipeline order, then each pipeline layer by layer: a row per node with what it does
    (read / transform steps / validate / write, with format and connection:path) and its inputs (← a, b).
    --node keeps that node (marked *) and its direct neighbours; --upstream adds every ancestor,
    --downstream every descendant (within its pipeline), both give both. Dashed edges (mermaid, dot) and "written by" join a
    read to the earlier pipeline's write of the same connection and path.

    \b
    json: {"project", "selected", "pipelines": [{"name", "index", "order", "reads_from",
           "nodes": [{"name", "layer", "kind", "depends_on", "reads", "writes", "steps", "written_by"}]}]}
    (depends_on lists every dependency, even one outside a --node selection)

    \b
    Examples:
      odibi graph odibi.yaml
      odibi graph odibi.yaml --node clean_sales --upstream
      odibi graph odibi.yaml --pipeline silver --format mermaid > silver.mmd
      odibi graph odibi.yaml --format dot | dot -Tsvg > dag.svg
    """
    from odibi.cli.graph import graph_command

    _guard(lambda: graph_command(config, pipeline, node, upstream, downstream, fmt))


from odibi.cli.story import story_app  # noqa: E402  (a light module: its commands import what they use)

app.add_typer(story_app, name="story")

from odibi.cli.config_show import config_app  # noqa: E402  (light, like story)

app.add_typer(config_app, name="config")

# Commands that only read files and print: no engine, session, temporary file or atexit hook to clean up.
_READ_ONLY_COMMANDS = frozenset({"validate", "compile", "schema", "list", "runs", "story", "graph", "config"})


def main() -> None:
    """Console entry point.

    A read-only command (validate, compile, schema, list) runs without Python's cycle collector and ends
    with ``os._exit`` once its output is flushed. On a 1,000-node project the collector walking the
    growing heap of parsed SQL trees, and the interpreter tearing that heap down at exit, took 0.4 s
    more than compiling it. The process is short-lived and leaves nothing to clean up, so neither
    buys anything. ``run`` on an engine with ``Capability.IN_PROCESS`` (duckdb, pandas) also ends with ``os._exit`` once
    its engine is closed and its summary printed (teardown was ~0.1 s of a 1 s run); it keeps the
    collector (pandas runs can be long). Spark runs and ``init`` exit normally.
    """
    import gc
    import os

    read_only = _command(sys.argv[1:]) in _READ_ONLY_COMMANDS
    install_output_masking()  # logs, warnings and uncaught tracebacks of this process (SECURITY.md)
    if read_only:
        gc.disable()
    try:
        app()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if not (read_only or _state.get("exit_now")):
        sys.exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


def _command(args: list[str]) -> str | None:
    """The subcommand named on the command line (the first word that is not an option)."""
    return next((a for a in args if not a.startswith("-")), None)
