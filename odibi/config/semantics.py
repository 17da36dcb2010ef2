"""Checks the schema cannot express: references to connections, formats a path implies, known types."""

from __future__ import annotations

from odibi.config.models import suggest
from odibi.config.project import Project
from odibi.errors import ConfigError, Problems
from odibi.formats.options import OptionError, normalise, normalise_write

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
        if conn in cfg.connections:
            return
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

    if cfg.story and cfg.story.connection:
        check_connection(cfg.story.connection, ("story", "connection"), "story")
    for pi, pipeline in enumerate(cfg.pipelines):
        for ni, node in enumerate(pipeline.nodes):
            base = ("pipelines", pi, "nodes", ni)
            for key, io in (("read", node.read), ("write", node.write)):
                if io is None:
                    continue
                check_connection(io.connection, (*base, key, "connection"), f"node '{node.name}' {key}")
                fmt = io.format or infer_format(io.path)
                if fmt and io.options:
                    try:
                        (normalise if key == "read" else normalise_write)(str(fmt), io.options)
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
