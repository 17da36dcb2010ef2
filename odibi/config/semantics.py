"""Checks the schema cannot express: references to connections, formats a path implies, known types."""

from __future__ import annotations

from odibi.config.models import suggest
from odibi.config.project import Project
from odibi.errors import ConfigError, OdibiError, Problems
from odibi.formats.options import OptionError, normalise, normalise_write, split_partition_by

LOGICAL_TYPES = {
    "int": "int", "integer": "int", "int32": "int", "int64": "int", "long": "int", "bigint": "int",
    "float": "float", "double": "float", "float64": "float", "float32": "float",
    "decimal": "decimal", "numeric": "numeric", "number": "numeric",
    "str": "string", "string": "string", "object": "string", "varchar": "string", "text": "string",
    "bool": "bool", "boolean": "bool",
    "date": "date",
    "timestamp": "timestamp", "datetime": "timestamp", "datetime64": "timestamp",
}  # fmt: skip

EXTENSION_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json",
                     ".jsonl": "json", ".ndjson": "json", ".avro": "avro"}  # fmt: skip


def infer_format(path: str | None) -> str | None:
    """The format a path's extension implies (``.csv`` → csv), or None."""
    if not path:
        return None
    lower = path.lower().rstrip("/")
    for ext, fmt in EXTENSION_FORMATS.items():
        if lower.endswith(ext):
            return fmt
    return None


def check_semantics(project: Project, problems: Problems) -> None:
    """Add every semantic problem of the project to ``problems``."""
    cfg, smap = project.config, project.source
    names = list(cfg.connections)

    def check_connection(conn: str, path: tuple, what: str) -> None:
        if conn in cfg.connections or (project.damage is not None and project.damage.connection(conn)):
            return  # known, or defined with an invalid config (reported where it is defined)
        near = suggest(conn, names)
        problems.add(
            ConfigError(
                f"{what} uses unknown connection '{conn}'" + (f" (did you mean '{near}'?)" if near else ""),
                location=smap.locate(path),
                hint=None
                if near
                else (f"connections: {', '.join(names)}" if names else "define `connections:`"),
            )
        )

    for name, conn in cfg.connections.items():
        for key, message in conn.config_problems():
            problems.add(
                ConfigError(
                    f"connection '{name}': {message}", location=smap.locate(("connections", name, key))
                )
            )
    if cfg.story and cfg.story.connection:
        check_connection(cfg.story.connection, ("story", "connection"), "story")
        story_conn = cfg.connections.get(cfg.story.connection)
        if story_conn is not None and story_conn.kind == "sql":
            problems.add(
                ConfigError(
                    f"story: connection '{cfg.story.connection}' ({story_conn.type}) holds tables; stories "
                    "are files",
                    location=smap.locate(("story", "connection")),
                    hint="give a file connection (local, azure_adls, s3, gcs, local_dbfs), or leave it out "
                    "to write stories beside the project",
                )
            )
    for pi, pipeline in enumerate(cfg.pipelines):
        for ni, node in enumerate(pipeline.nodes):
            base = ("pipelines", pi, "nodes", ni)
            for key, io in (("read", node.read), ("write", node.write)):
                if io is None:
                    continue
                check_connection(io.connection, (*base, key, "connection"), f"node '{node.name}' {key}")
                conn_cfg = cfg.connections.get(io.connection)
                if conn_cfg is not None and (conn_cfg.kind == "sql") != (io.path is None):
                    problems.add(
                        ConfigError(
                            f"node '{node.name}' {key}: connection '{io.connection}' ({conn_cfg.type}) holds "
                            + (
                                "tables: use `table:` or `query:`"
                                if conn_cfg.kind == "sql"
                                else "files: use `path:`"
                            ),
                            location=smap.locate((*base, key, "path" if io.path else "connection")),
                            node=node.name,
                        )
                    )
                incremental = getattr(io, "incremental", None)
                if incremental is not None:
                    _check_incremental(node.name, incremental, (*base, key, "incremental"), smap, problems)
                _check_path(project, node.name, io, (*base, key), key, problems)
                if key == "write" and io.mode in ("upsert", "append_once") and not io.keys:
                    problems.add(
                        ConfigError(
                            f"node '{node.name}' write: mode '{io.mode}' needs keys",
                            location=smap.locate((*base, key, "mode")),
                            node=node.name,
                            hint="the columns that identify a row, e.g. keys: [customer_id]",
                        )
                    )
                fmt = io.format or infer_format(io.path)
                options = io.options
                if key == "write":
                    named, options = split_partition_by(io.options)
                    parts = io.partition_by or named
                    if io.partition_by and named and list(io.partition_by) != named:
                        problems.add(
                            ConfigError(
                                f"node '{node.name}' write: partition_by {io.partition_by} and options "
                                f"partitionBy {named} disagree",
                                location=smap.locate((*base, key, "partition_by")),
                                node=node.name,
                                hint="give the columns once",
                            )
                        )
                    if parts and str(fmt) not in ("parquet", "delta", "csv"):
                        problems.add(
                            ConfigError(
                                f"node '{node.name}' write: partition_by is supported for parquet, delta "
                                f"and csv outputs (not {fmt} yet)",
                                location=smap.locate(
                                    (*base, key, "partition_by" if io.partition_by else "options")
                                ),
                                node=node.name,
                                hint="write format: parquet, delta or csv, or drop partition_by",
                            )
                        )
                    # DuckDB reads a folder's *.csv files: compressed partitions would not read back
                    plain = ("none", "uncompressed", "auto", "infer")
                    codec = next((k for k, v in options.items() if str(k).lower() == "compression"
                                  and str(v).lower() not in plain), None)  # fmt: skip
                    if parts and str(fmt) == "csv" and codec is not None:
                        problems.add(
                            ConfigError(
                                f"node '{node.name}' write: a partitioned csv output cannot be compressed yet",
                                location=smap.locate((*base, key, "options", codec), key=True),
                                node=node.name,
                                hint="drop the compression option, or write format: parquet",
                            )
                        )
                if fmt and options:
                    try:
                        (normalise if key == "read" else normalise_write)(str(fmt), options)
                    except OptionError as exc:
                        problems.add(
                            ConfigError(
                                f"node '{node.name}' {key}: {exc}",
                                location=smap.locate(
                                    (*base, key, "options", *([exc.key] if exc.key else [])), key=True
                                ),
                                node=node.name,
                            )
                        )
                if io.format is None and io.path and infer_format(io.path) is None:
                    problems.add(
                        ConfigError(
                            f"node '{node.name}' {key}: cannot tell the format of '{io.path}'",
                            location=smap.locate((*base, key, "path")),
                            hint="add format: csv | parquet | json",
                        )
                    )
            if node.validation is not None:
                _check_validation(project, node, base, problems, check_connection)
            if node.validation and node.validation.schema_:
                for col, typ in node.validation.schema_.types.items():
                    if str(typ).lower() not in LOGICAL_TYPES:
                        near = suggest(str(typ).lower(), list(LOGICAL_TYPES))
                        problems.add(
                            ConfigError(
                                f"node '{node.name}': unknown type '{typ}' for column '{col}'"
                                + (f" (did you mean '{near}'?)" if near else ""),
                                location=smap.locate((*base, "validation", "schema", "types", col)),
                                hint="types: int, float, decimal, numeric, string, bool, date, timestamp",
                            )
                        )


def _check_incremental(node: str, incr, where: tuple, smap, problems: Problems) -> None:
    from odibi.run.incremental import parse_lookback

    if incr.mode == "rolling_window" and not incr.lookback:
        problems.add(
            ConfigError(
                f"node '{node}' read: incremental mode rolling_window needs lookback",
                location=smap.locate((*where, "mode")),
                node=node,
                hint="e.g. lookback: 3d",
            )
        )
    if incr.lookback:
        try:
            parse_lookback(incr.lookback)
        except ValueError as exc:
            problems.add(
                ConfigError(
                    f"node '{node}' read: {exc}",
                    location=smap.locate((*where, "lookback")),
                    node=node,
                    hint="a whole number and a unit (s, m, h, d, w), e.g. lookback: 3d",
                )
            )


def _check_path(project: Project, node: str, io, where: tuple, kind: str, problems: Problems) -> None:
    """A path stays inside its connection's root; a local write replaces only what odibi owns. Text
    only for remote stores: validation does no network I/O."""
    conn = project.config.connections.get(io.connection)
    if conn is None or io.path is None or conn.kind != "files":
        return
    from pathlib import Path

    from odibi.connections.base import PathRuleError, is_glob
    from odibi.connections.local import check_target

    write = kind == "write"
    try:
        opened = conn.open(io.connection, project.root)
        uri = opened.resolve(io.path, write=write)
        if write and not opened.remote and not is_glob(uri):
            check_target(Path(uri), str(io.mode) if hasattr(io, "mode") else "overwrite")
    except (PathRuleError, OdibiError) as exc:
        problems.add(
            ConfigError(
                f"node '{node}' {kind}: {exc.message}",
                location=project.source.locate((*where, "path")),
                node=node,
                hint=exc.hint,
            )
        )


def _check_validation(project: Project, node, base: tuple, problems: Problems, check_connection) -> None:
    """Quarantine target, SQL conditions and regular expressions of a node's checks."""
    import re

    smap = project.source
    checks = node.validation
    vpath = (*base, "validation")
    if checks.quarantine is not None:
        check_connection(
            checks.quarantine.connection,
            (*vpath, "quarantine", "connection"),
            f"node '{node.name}' quarantine",
        )
        _check_path(project, node.name, checks.quarantine, (*vpath, "quarantine"), "write", problems)
        if checks.quarantine.format is None and infer_format(checks.quarantine.path) is None:
            problems.add(ConfigError(f"node '{node.name}' quarantine: cannot tell the format of '{checks.quarantine.path}'",
                                     location=smap.locate((*vpath, "quarantine", "path")), hint="add format: csv | parquet | json"))  # fmt: skip
    for name, condition in checks.custom_sql.items():
        import sqlglot

        try:
            sqlglot.parse_one(condition, read=project.config.read_dialect())
        except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
            first = str(exc).strip().splitlines()[0]
            problems.add(ConfigError(f"node '{node.name}' custom_sql '{name}': SQL syntax error: {first}",
                                     location=smap.locate((*vpath, "custom_sql", name)), node=node.name))  # fmt: skip
    names = checks.row_check_names()
    kinds = {name.split("(", 1)[0] for name in names}
    for key in checks.thresholds:
        if key not in names and key not in kinds:
            near = suggest(key, [*names, *sorted(kinds)])
            problems.add(ConfigError(f"node '{node.name}' thresholds: '{key}' is not a row-level check of this node"
                                     + (f" (did you mean '{near}'?)" if near else ""), node=node.name,
                                     location=smap.locate((*vpath, "thresholds", key)),
                                     hint="checks: " + (", ".join(names) or "none")))  # fmt: skip
    for column, pattern in checks.regex_match.items():
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.add(ConfigError(f"node '{node.name}' regex_match '{column}': bad regular expression: {exc}",
                                     location=smap.locate((*vpath, "regex_match", column)), node=node.name))  # fmt: skip
