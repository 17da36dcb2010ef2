"""Load a project file: YAML → validated :class:`ProjectConfig`, with pydantic errors located in the file."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from odibi.config import variables as refs
from odibi.config.compose import compose, compose_text
from odibi.config.loader import SourceMap
from odibi.config.models import ProjectConfig, suggest
from odibi.config.secret_fields import placement_errors, register_literal_secrets, register_model_secrets
from odibi.errors import ConfigError, ConfigErrors, Location


@dataclass
class Damage:
    """What schema recovery (config/recovery.py) neutralised, so that later checks say nothing about it."""

    nodes: set[tuple[int, int]] = field(default_factory=set)  # (pipeline, node) indexes: placeholders
    pipelines: set[int] = field(default_factory=set)  # pipelines replaced as a whole
    node_names: dict[int, set[str]] = field(default_factory=dict)  # pipeline → invalid names given
    placeholders: dict[int, set[str]] = field(default_factory=dict)  # pipeline → names made up for them
    connections: set[str] = field(default_factory=set)  # connections with an invalid config
    all_connections: bool = False  # `connections:` itself was invalid
    dialect: bool = False  # engine / sql_dialect invalid: the SQL cannot be read

    def connection(self, name: str) -> bool:
        """Whether ``name`` may be a connection whose config was invalid (so it is not "unknown")."""
        return self.all_connections or name in self.connections


@dataclass
class Project:
    """A loaded, schema-valid project: its config, where it came from, and its source map."""

    config: ProjectConfig
    source: SourceMap
    root: Path  # the config file's folder: relative paths resolve against it
    damage: Damage | None = None  # set only by a recovering load, whose errors are reported anyway

    @property
    def file(self) -> str:
        return self.source.file


def load_project(
    path: str | Path,
    *,
    env: dict[str, str] | None = None,
    environment: str | None = None,
    variables: dict[str, str] | None = None,
    clock: refs.Clock | None = None,
) -> Project:
    """Read and schema-validate a project file (its ``imports:`` merged); raises located
    :class:`ConfigError` s.

    ``env``: the variables ``${VAR}`` reads (default ``os.environ``). ``environment``: the overlay of
    ``environments:`` to apply (default ``$ODIBI_ENV``; none when unset); see config/compose.py.
    ``variables``: ``--var`` overrides of ``vars:``; ``clock``: today's date for ``${date:...}`` (tests)."""
    return load_effective(path, env=env, environment=environment, variables=variables, clock=clock)[0]


def load_effective(
    path: str | Path,
    *,
    env: dict[str, str] | None = None,
    environment: str | None = None,
    variables: dict[str, str] | None = None,
    clock: refs.Clock | None = None,
) -> tuple[Project, Any]:
    """Like :func:`load_project`, also returning the effective document (imports merged, the overlay
    applied) as plain data: what ``odibi config show`` prints."""
    root = Path(path).resolve().parent
    with refs.scoped(variables, clock, project_root=root) as scope:  # one set of vars, one "today"
        data, smap = compose(path, environment=environment, env=env)
    scope.check_overrides()
    return _validate(data, smap, root), data


def load_recovering(
    path: str | Path,
    *,
    env: dict[str, str] | None = None,
    environment: str | None = None,
    variables: dict[str, str] | None = None,
) -> tuple[Project | None, list[ConfigError]]:
    """Like :func:`load_project`, but schema errors are returned, not raised, with the project that is
    left once the parts they are in are neutralised (config/recovery.py): `odibi validate` checks the
    rest in the same run. The project is None when nothing sensible is left; a YAML error still raises."""
    root = Path(path).resolve().parent
    with refs.scoped(variables, None, project_root=root) as scope:
        data, smap = compose(path, environment=environment, env=env)
    scope.check_overrides()
    return _check(data, smap, root, recover=True)


def load_project_text(
    text: str,
    file: str = "<string>",
    *,
    root: Path | None = None,
    environment: str | None = None,
    variables: dict[str, str] | None = None,
    clock: refs.Clock | None = None,
) -> Project:
    """Like :func:`load_project`, from text (used by tests and editors)."""
    root = root or Path.cwd()
    with refs.scoped(variables, clock, project_root=root) as scope:
        data, smap = compose_text(text, file, root=root, environment=environment)
    scope.check_overrides()
    return _validate(data, smap, root)


def _validate(data: Any, smap: SourceMap, root: Path) -> Project:
    project, errors = _check(data, smap, root, recover=False)
    if errors or project is None:
        _raise(errors)
    return project


def _check(
    data: Any, smap: SourceMap, root: Path, *, recover: bool
) -> tuple[Project | None, list[ConfigError]]:
    if data is None:
        raise ConfigError("config is empty", location=Location(smap.file, 1, 1), hint="see `odibi init`")
    if not isinstance(data, dict):
        raise ConfigError(
            f"config must be a mapping of keys (project, connections, pipelines), not a {type(data).__name__}",
            location=smap.locate(()),
        )
    register_literal_secrets(data)
    refused = placement_errors(data, smap)  # secrets outside their fields (secret_fields.py)
    damage = None
    try:
        config: ProjectConfig | None = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        errors = [_locate(err, data, smap) for err in exc.errors(include_url=False, include_input=False)]
        refused.extend(errors)
        if not recover:
            return None, refused
        from odibi.config.recovery import revalidate

        config, damage, later = revalidate(data, exc, smap)
        refused.extend(later)
    if config is None:
        return None, refused
    register_model_secrets(config)
    return Project(config=config, source=smap, root=root, damage=damage), refused


def _raise(errors: list[ConfigError]) -> typing.NoReturn:
    errors.sort(key=error_order)
    raise (errors[0] if len(errors) == 1 else ConfigErrors(errors)) from None


def error_order(error: ConfigError) -> tuple:
    """Sort key of located errors: by file (a project may span several), then line and column."""
    loc = error.location
    return (loc.file, loc.line, loc.col) if loc else ("", 0, 0)


def _data_path(loc: tuple, data: Any) -> tuple[tuple, list]:
    """Map a pydantic error location onto a path in the data (skipping union tags)."""
    path: list = []
    skipped: list = []
    cur = data
    for part in loc:
        if (isinstance(cur, dict) and part in cur) or (
            isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        ):
            path.append(part)
            cur = cur[part]
        else:
            skipped.append(part)
    return tuple(path), skipped


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _locate(err: dict, data: Any, smap: SourceMap) -> ConfigError:
    loc = tuple(err["loc"])
    path, skipped = _data_path(loc, data)
    etype = err["type"]
    ctx = err.get("ctx") or {}
    where = _dotted(path)
    hint = None
    if etype == "unknown_key":
        key = ctx["key"]
        location = smap.locate((*path, key), key=True)
        message = err["msg"]
        if where:
            message += f" in {where}"
        near = suggest(key, ctx.get("allowed", []))
        hint = f"valid keys: {', '.join(ctx.get('allowed', []))}" if not near else None
        return ConfigError(message, location=location, hint=hint)
    if etype == "missing":
        field = skipped[-1] if skipped else loc[-1]
        return ConfigError(
            f"missing required key '{field}'" + (f" in {where}" if where else ""),
            location=smap.locate(path, key=True),
        )
    if etype == "union_tag_invalid":
        tag = ctx.get("tag")
        expected = ctx.get("expected_tags", "")
        options = [t.strip().strip("'") for t in str(expected).split(",")]
        near = suggest(str(tag), options)
        disc = str(ctx.get("discriminator", "type")).strip("'")
        kind = "connection type" if "connections" in path else disc
        message = f"unknown {kind} '{tag}' at {where}"
        message += f" (did you mean '{near}'?)" if near else ""
        return ConfigError(message, location=smap.locate((*path, disc)), hint=f"expected one of: {expected}")
    if etype == "literal_error" or etype == "enum":
        given = _value_at(data, path)
        expected = ctx.get("expected", "")
        options = [t.strip().strip("'") for t in str(expected).replace(" or ", ", ").split(",")]
        near = suggest(str(given), options) if given is not None else None
        message = f"{where}: invalid value '{given}'; expected {expected}"
        message += f" (did you mean '{near}'?)" if near else ""
        return ConfigError(message, location=smap.locate(path))
    if etype == "union_tag_not_found":
        return ConfigError(f"{where}: missing 'type' (the kind of connection)", location=smap.locate(path))
    msg = _FRIENDLY.get(etype, err["msg"])
    message = f"{where}: {msg}" if where else msg
    return ConfigError(message, location=smap.locate(path), hint=hint)


_FRIENDLY = {
    "model_type": "expected a mapping (key: value pairs)",
    "model_attributes_type": "expected a mapping (key: value pairs)",
    "dict_type": "expected a mapping (key: value pairs)",
    "list_type": "expected a list",
    "string_type": "expected a string",
    "bool_parsing": "expected a boolean (true or false)",
    "bool_type": "expected a boolean (true or false)",
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
}


def _value_at(data: Any, path: tuple) -> Any:
    cur = data
    for p in path:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


__all__ = [
    "ConfigErrors",
    "Damage",
    "Project",
    "load_effective",
    "load_project",
    "load_project_text",
    "load_recovering",
]
